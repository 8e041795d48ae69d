import FireWatchStore
import Foundation
import Testing

/// Fault tests for the edge → office path with real processes and a real broker. Pass rule for each:
/// every event raised (journaled) at the edge is stored exactly once at the office, no sequence gaps,
/// `PRAGMA integrity_check` ok on every database, memory bounded (OfficeRig.expectNothingLost).
@Suite("Faults on the way to the fire office: nothing lost", .serialized)
struct FaultTests {
    @Test("a broker kill -9 during a burst of 10,000 events loses nothing; the office ignores the resent ones")
    func brokerKilledDuringBurst() throws {
        let rig = try OfficeRig()
        defer { rig.remove() }
        try rig.broker.start()
        try rig.startOffice()
        let edge = try rig.startEdge(count: 10_000, rate: 2500, exitWhenDelivered: true)
        rig.during(1.5, [(edge, "edge")])
        rig.broker.kill9()
        rig.during(1.5, [(edge, "edge")])
        try rig.broker.start()
        #expect(rig.finish(edge))
        try rig.expectNothingLost(count: 10_000)
    }

    @Test("an edge whose data directory was wiped renumbers its new events above what the office holds: none is taken for a duplicate")
    func edgeDataWiped() throws {
        let rig = try OfficeRig(heartbeatTimeout: 60)
        defer { rig.remove() }
        try rig.broker.start()
        try rig.startOffice()
        let first = try rig.startEdge(count: 300, exitWhenDelivered: true)
        #expect(rig.finish(first))
        try rig.expectNothingLost(count: 300)
        // The box is reinstalled: same edge id, empty data directory, a new journal counting from 1 again.
        try FileManager.default.removeItem(at: rig.edgeData)
        let second = try rig.startEdge(count: 50, exitWhenDelivered: true)
        #expect(rig.finish(second))
        #expect(second.stderr.contains("its data directory was reset. Renumbered"), "\(second.stderr.suffix(2000))")
        // Every event of both journals is stored once: 1...300 from the first, 301...350 from the second.
        try rig.expectNothingLost(count: 350)
        let edge = try SQLiteConnection(path: rig.edgeDB, readOnly: true)
        #expect(try edge.scalar("SELECT MIN(sequence) FROM edge_events")?.integer == 301)
    }

    @Test("an edge killed with kill -9 again and again during a burst resumes from its journal; nothing announced twice")
    func edgeKilledRepeatedly() throws {
        let rig = try OfficeRig(heartbeatTimeout: 60)
        defer { rig.remove() }
        try rig.broker.start()
        try rig.startOffice()
        for round in 0..<4 {
            let edge = try rig.startEdge(count: 10_000, rate: 3000)
            rig.during(0.8 + Double(round) * 0.3, [(edge, "edge")])
            edge.kill9()
        }
        let edge = try rig.startEdge(count: 10_000, exitWhenDelivered: true)
        #expect(rig.finish(edge))
        try rig.expectNothingLost(count: 10_000)
    }

    @Test("an office kill -9 during a burst: the broker's persistent session and the edge's resends fill every gap")
    func officeKilledDuringBurst() throws {
        let rig = try OfficeRig()
        defer { rig.remove() }
        try rig.broker.start()
        try rig.startOffice()
        let edge = try rig.startEdge(count: 10_000, rate: 2500, exitWhenDelivered: true)
        rig.during(1.5, [(edge, "edge"), (rig.office!, "office")])
        rig.office?.kill9()
        rig.during(1.5, [(edge, "edge")])
        try rig.startOffice()
        #expect(rig.finish(edge))
        try rig.expectNothingLost(count: 10_000)
    }

    @Test("the broker down for a while (compressed): the office flags the edge offline, the backlog arrives in order, marked late")
    func brokerDownForAWhile() throws {
        let rig = try OfficeRig(heartbeatTimeout: 3)
        defer { rig.remove() }
        try rig.broker.start()
        try rig.startOffice()
        let edge = try rig.startEdge(count: 6000, rate: 500, exitWhenDelivered: true)
        rig.during(2, [(edge, "edge")])
        rig.broker.stop()
        let downAt = Date().timeIntervalSince1970
        rig.during(8, [(edge, "edge"), (rig.office!, "office")])
        try rig.broker.start()
        #expect(rig.finish(edge))
        try rig.expectNothingLost(count: 6000)
        let db = try SQLiteConnection(path: rig.officeDB, readOnly: true)
        // Events journaled while the broker was down reached the office marked late, with their original time.
        let lateDuringOutage = try db.scalar("SELECT COUNT(*) FROM alarm_events WHERE edge_id = 'market-1' AND late = 1 AND event_time > ? AND event_time < ?",
                                             [.real(downAt + 0.5), .real(downAt + 7.5)])?.integer ?? 0
        #expect(lateDuringOutage > 1000)
        let storedLateAfterOutage = try db.scalar("""
            SELECT COUNT(*) FROM alarm_events WHERE edge_id = 'market-1' AND late = 1 AND received_at - event_time > 2
            """)?.integer ?? 0
        #expect(storedLateAfterOutage > 1000)
        // In order: no event stored before one with a smaller sequence, except across the outage's in-flight resend.
        let inversions = try db.scalar("""
            SELECT COUNT(*) FROM alarm_events a JOIN alarm_events b ON a.edge_id = b.edge_id AND b.id = a.id + 1
            WHERE a.edge_id = 'market-1' AND b.sequence < a.sequence
            """)?.integer ?? -1
        #expect(inversions == 0)
        // Supervision saw the silence and its end: an edge_offline fault opened, then cleared.
        let offline = try db.query("SELECT condition_active, event_count FROM hazards WHERE kind = 'edge_offline' AND device_id = 'market-1'") {
            ($0.int(0), $0.int(1))
        }
        #expect(offline.count == 1 && offline.first?.0 == 0 && (offline.first?.1 ?? 0) >= 2, "edge_offline hazard \(offline)")
    }

    @Test("the edge's data directory full (small tmpfs): events wait, the reserve keeps the priority lane, all arrives once there is room",
          .enabled(if: Tmpfs.isPermitted, "mounting a tmpfs needs root (CAP_SYS_ADMIN); not permitted here"))
    func edgeDiskFull() throws {
        let mountPoint = TestSupport.temporaryDirectory("edge-tmpfs")
        let tmpfs = try Tmpfs(at: mountPoint, size: "24m")
        defer { tmpfs.unmount(); try? FileManager.default.removeItem(at: mountPoint) }
        let rig = try OfficeRig(heartbeatTimeout: 60, edgeData: mountPoint.appendingPathComponent("edge-data"))
        defer { rig.remove() }
        try rig.broker.start()
        try rig.startOffice()
        let edge = try rig.startEdge(count: 8000, rate: 2000, exitWhenDelivered: true, extra: ["--reserve", "1048576"])
        rig.during(1, [(edge, "edge")])
        let filler = mountPoint.appendingPathComponent("filler")
        Tmpfs.fill(filler)
        rig.during(4, [(edge, "edge")])
        #expect(edge.isRunning, "the edge survives a full disk")
        #expect(edge.stderr.contains("data directory full"), "the edge reports the full disk:\n\(edge.stderr.suffix(2000))")
        // The heartbeat's storage fault is a fault hazard at the office, with no premises (an edge-level fault).
        let storage = "SELECT COUNT(*) FROM alarm_events WHERE edge_id = 'office' AND rule = 'office.storage' AND transition = "
        #expect(TestSupport.wait(timeout: 20) { (try? rig.officeCounter(storage + "'raise'")) ?? 0 >= 1 },
                "no edge_storage fault at the office:\n\(rig.office?.stderr.suffix(2000) ?? "")")
        #expect(try rig.officeCounter("SELECT COUNT(*) FROM hazards WHERE kind = 'edge_storage' AND premises_id IS NULL") == 1)
        try? FileManager.default.removeItem(at: filler)
        #expect(rig.finish(edge))
        try rig.expectNothingLost(count: 8000)
    }

    @Test("a real edge polling simulated detectors keeps forwarding alarms while its data directory is full",
          .enabled(if: Tmpfs.isPermitted, "mounting a tmpfs needs root (CAP_SYS_ADMIN); not permitted here"))
    func realEdgeDiskFull() throws {
        let mountPoint = TestSupport.temporaryDirectory("edge-tmpfs")
        let tmpfs = try Tmpfs(at: mountPoint, size: "24m")
        defer { tmpfs.unmount(); try? FileManager.default.removeItem(at: mountPoint) }
        let rig = try OfficeRig(heartbeatTimeout: 60, edgeData: mountPoint.appendingPathComponent("edge-data"))
        defer { rig.remove() }
        let simPort = TestSupport.freePort()
        let devices = (1...4).map { i in
            "{ id: \"FC-ARCM-00\(i)\", profile: \"generic-1r4t\", premises: \"440605-DL-00100\(i)\", transport: \"tcp://127.0.0.1:\(simPort)#\(i)\" }"
        }.joined(separator: ", ")
        let config = rig.dir.appendingPathComponent("edge-real.json5")
        try """
        { edge: "market-1", data: "\(rig.edgeData.path)", devicesDir: "\(TestSupport.devicesDir)", rulesDir: "\(TestSupport.rulesDir)",
          pollPeriod: 1, office: { url: "mqtt://127.0.0.1:\(rig.broker.port)" }, uplink: { heartbeatSeconds: 1, ackTimeoutSeconds: 2 },
          devices: [\(devices)] }
        """.write(to: config, atomically: true, encoding: .utf8)
        try rig.broker.start()
        try FileManager.default.createDirectory(at: rig.dir.appendingPathComponent("office-data"), withIntermediateDirectories: true)
        #expect(try firewatch(["office", "seed-demo", "--db", rig.officeDB, "--stalls", "4"]).status == 0)
        try rig.startOffice()
        let sim = try ChildProcess(TestSupport.firewatchBinary, ["simulate", "--devices", "4", "--port", "\(simPort)", "--script", "demo",
                                                                 "--devices-dir", TestSupport.devicesDir],
                                   directory: rig.dir, label: "simulate")
        defer { sim.stop() }
        #expect(TestSupport.waitForPort(simPort, timeout: 20))
        let edge = try ChildProcess(TestSupport.firewatchBinary, ["edge", "--config", config.path], directory: rig.dir, label: "edge-real")
        defer { edge.stop() }
        #expect(TestSupport.wait(timeout: 20) { FileManager.default.fileExists(atPath: rig.edgeDB) })
        rig.during(2, [(edge, "edge")])
        let filler = mountPoint.appendingPathComponent("filler")
        Tmpfs.fill(filler)
        // The demo script's residual current passes 300 mA at about 10 s; 10 s on-delay; then journal → office.
        func residualHazard() -> Bool {
            ((try? rig.officeCounter("""
                SELECT COUNT(*) FROM hazards WHERE kind = 'residual_current_over' AND premises_id = '440605-DL-001001'
                """)) ?? 0) > 0
        }
        let arrived = TestSupport.wait(timeout: 90) { rig.sample(edge, "edge"); return residualHazard() }
        #expect(arrived, "no residual-current hazard at the office while the edge's disk is full:\n\(edge.stderr.suffix(3000))")
        #expect(edge.isRunning, "the edge survives a full disk")
        #expect(edge.stderr.contains("readings archive refused a write"), "the full disk was hit:\n\(edge.stderr.suffix(2000))")
        try? FileManager.default.removeItem(at: filler)
        rig.during(8, [(edge, "edge")])
        edge.stop(grace: 10)
        // Everything the edge journaled is at the office, once, without gaps.
        let journal = try SQLiteConnection(path: rig.edgeDB, readOnly: true)
        let last = try journal.scalar("SELECT IFNULL(MAX(sequence), 0) FROM edge_events")?.integer ?? 0
        #expect(last > 0)
        let pending = try journal.scalar("SELECT COUNT(*) FROM edge_events WHERE delivered = 0")?.integer ?? -1
        if pending == 0 { try rig.expectNothingLost(count: last) }
        else {
            // Events journaled in the last moment before the stop may still wait for the next start.
            let stored = try rig.officeCounter("SELECT stored_through FROM edge_links WHERE edge_id = 'market-1'")
            #expect(stored == last - pending, "office stored through \(stored), edge journal \(last) with \(pending) pending")
        }
        let readings = try SQLiteConnection(path: rig.edgeData.appendingPathComponent("readings.db").path, readOnly: true)
        #expect(try readings.integrityCheck() == "ok")
    }
}

/// A size-limited tmpfs mounted for one test (root only), always unmounted.
struct Tmpfs {
    let path: String

    static let isPermitted: Bool = {
        guard getuid() == 0 else { return false }
        let dir = TestSupport.temporaryDirectory("tmpfs-probe")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let t = try? Tmpfs(at: dir, size: "1m") else { return false }
        t.unmount()
        return true
    }()

    init(at dir: URL, size: String) throws {
        path = dir.path
        let r = try runCommand("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path], timeout: 10)
        guard r.status == 0 else { throw StoreRefusal("mount tmpfs on \(path) failed: \(r.err)") }
    }

    func unmount() { _ = try? runCommand("/bin/umount", ["-l", path], timeout: 10) }

    /// Writes zeros to `file` until the file system refuses.
    static func fill(_ file: URL) {
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: file.path) else { return }
        defer { try? h.close() }
        for size in [64 * 1024, 4096, 512] {
            let chunk = Data(count: size)
            while (try? h.write(contentsOf: chunk)) != nil {}
        }
    }
}
