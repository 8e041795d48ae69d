import FireWatchStore
import Foundation
import Testing

/// The two-box setup on loopback for uplink and fault tests: a real mosquitto (own port, config and
/// persistence directory), a real `firewatch office` process and `firewatch uplink burst` edge
/// processes, with the checks that define "nothing lost".
final class OfficeRig: @unchecked Sendable {
    // @unchecked: used from one test task only.
    let dir: URL
    let broker: MQTTTestBroker
    let edgeID: String
    var office: ChildProcess?
    private var officeGeneration = 0
    private var edgeGeneration = 0
    /// Highest resident set size seen per process label, in KiB.
    private(set) var peakRSS: [String: Int] = [:]

    var officeDB: String { dir.appendingPathComponent("office-data/office.db").path }
    var edgeData: URL
    var edgeDB: String { edgeData.appendingPathComponent("edge.db").path }
    var notices: URL { dir.appendingPathComponent("notices.jsonl") }

    init(edgeID: String = "market-1", heartbeatTimeout: Double = 4, edgeData: URL? = nil, devices: [String] = [],
         telemetryCapacity: Int = 50_000, hookDelaySeconds: Int = 0) throws {
        dir = TestSupport.temporaryDirectory("office-rig")
        broker = MQTTTestBroker(directory: dir.appendingPathComponent("broker"))
        self.edgeID = edgeID
        self.edgeData = edgeData ?? dir.appendingPathComponent("edge-data")
        let hook = dir.appendingPathComponent("sms-gateway.sh")
        try "#!/bin/sh\nsleep \(hookDelaySeconds)\ncat >> '\(notices.path)'\n".write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        try """
        { office: "office", broker: { url: "mqtt://127.0.0.1:\(broker.port)" }, data: "office-data",
          heartbeatTimeoutSeconds: \(heartbeatTimeout), notify: { command: "\(hook.path)", signals: ["alarm", "fault"] } }
        """.write(to: dir.appendingPathComponent("office.json5"), atomically: true, encoding: .utf8)
        let deviceList = devices.map { "{ id: \"\($0)\", profile: \"burst\", premises: \"-\", transport: \"mqtt://\($0)\" }" }
            .joined(separator: ", ")
        try """
        { edge: "\(edgeID)", data: "\(self.edgeData.path)", office: { url: "mqtt://127.0.0.1:\(broker.port)" },
          uplink: { heartbeatSeconds: 1, ackTimeoutSeconds: 2, batchSize: 100, maxInFlight: 1000, telemetryCapacity: \(telemetryCapacity) },
          devices: [\(deviceList)] }
        """.write(to: dir.appendingPathComponent("edge.json5"), atomically: true, encoding: .utf8)
    }

    func startOffice() throws {
        officeGeneration += 1
        office = try ChildProcess(TestSupport.firewatchBinary, ["office", "--config", dir.appendingPathComponent("office.json5").path],
                                  directory: dir, label: "office-\(officeGeneration)")
        #expect(TestSupport.wait(timeout: 20) { FileManager.default.fileExists(atPath: officeDB) }, "office did not open its database")
    }

    /// Starts an edge burst process that journals until the journal holds `count` events.
    func startEdge(count: Int, rate: Int? = nil, exitWhenDelivered: Bool = false, timeout: Double = 150,
                   extra: [String] = []) throws -> ChildProcess {
        edgeGeneration += 1
        var args = ["uplink", "burst", "--config", dir.appendingPathComponent("edge.json5").path, "--count", "\(count)",
                    "--timeout", "\(Int(timeout))"] + extra
        if let rate { args += ["--rate", "\(rate)"] }
        if exitWhenDelivered { args.append("--exit-when-delivered") }
        return try ChildProcess(TestSupport.firewatchBinary, args, directory: dir, label: "edge-\(edgeGeneration)")
    }

    /// Waits for an edge started with `exitWhenDelivered` to finish, sampling memory; true on exit 0.
    func finish(_ edge: ChildProcess, timeout: Double = 150) -> Bool {
        let ok = TestSupport.wait(timeout: timeout) {
            sample(edge, "edge")
            if let office { sample(office, "office") }
            return !edge.isRunning
        }
        #expect(ok, "edge did not finish in \(timeout) s:\n\(edge.stderr.suffix(3000))")
        guard ok else { edge.kill9(); return false }
        let status = edge.process.terminationStatus
        #expect(status == 0, "edge exited \(status):\n\(edge.stderr.suffix(3000))")
        return status == 0
    }

    /// Runs `body` for `seconds` while sampling memory.
    func during(_ seconds: Double, _ processes: [(ChildProcess, String)]) {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            for (p, label) in processes { sample(p, label) }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    func sample(_ p: ChildProcess, _ label: String) {
        guard p.isRunning, let status = try? String(contentsOfFile: "/proc/\(p.pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return }
        peakRSS[label] = max(peakRSS[label] ?? 0, kb)
    }

    /// The pass rule: every sequence 1...count of the edge stored exactly once, no gaps, the office's
    /// acknowledged mark at count, integrity ok on every database, memory bounded.
    func expectNothingLost(count: Int64, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let db = try SQLiteConnection(path: officeDB, readOnly: true)
        let row = try db.query("""
            SELECT COUNT(*), COUNT(DISTINCT sequence), IFNULL(MIN(sequence), 0), IFNULL(MAX(sequence), 0)
            FROM alarm_events WHERE edge_id = ?
            """, [.text(edgeID)]) { [$0.int(0), $0.int(1), $0.int(2), $0.int(3)] }.first ?? []
        #expect(row == [count, count, 1, count], "stored (count, distinct, min, max) for \(edgeID)", sourceLocation: sourceLocation)
        let through = try db.scalar("SELECT stored_through FROM edge_links WHERE edge_id = ?", [.text(edgeID)])?.integer
        #expect(through == count, "office acknowledged mark", sourceLocation: sourceLocation)
        #expect(try db.integrityCheck() == "ok", "office.db integrity", sourceLocation: sourceLocation)
        let edge = try SQLiteConnection(path: edgeDB, readOnly: true)
        #expect(try edge.integrityCheck() == "ok", "edge.db integrity", sourceLocation: sourceLocation)
        let last = try edge.scalar("SELECT IFNULL(MAX(sequence), 0) FROM edge_events")?.integer
        let pending = try edge.scalar("SELECT COUNT(*) FROM edge_events WHERE delivered = 0")?.integer
        #expect(last == count && pending == 0, "edge journal holds \(String(describing: last)), \(String(describing: pending)) pending",
                sourceLocation: sourceLocation)
        for (label, kb) in peakRSS {
            #expect(kb < 400 * 1024, "\(label) peak RSS \(kb / 1024) MiB", sourceLocation: sourceLocation)
        }
    }

    func officeCounter(_ sql: String) throws -> Int64 {
        try SQLiteConnection(path: officeDB, readOnly: true).scalar(sql)?.integer ?? -1
    }

    func stopAll() {
        office?.stop()
        broker.stop()
    }

    func remove() {
        stopAll()
        try? FileManager.default.removeItem(at: dir)
    }
}
