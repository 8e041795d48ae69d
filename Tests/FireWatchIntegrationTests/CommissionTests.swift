import FireWatchCore
import FireWatchEdge
import FireWatchStore
import Foundation
import Synchronization
import Testing

/// `device commission` against pymodbus slaves serving the generic-1r4t register layout
/// (Devices/generic-1r4t.json5): a healthy detector, one with a temperature probe open, and a unit
/// that never answers.
@Suite("Commissioning against pymodbus", .serialized)
struct CommissionTests {
    /// Holding registers of a generic-1r4t detector at rest: 40 mA, 26–29 °C, 220 V, 3 A, set values 300 mA / 55 °C.
    static func unit(probeOpen: Bool = false) -> [String: Any] {
        var words = [Int](repeating: 0, count: 0x41)
        words[0x00] = 400                                   // residual 40.0 mA (× 0.1)
        for i in 0..<4 { words[0x01 + i] = (26 + i + 50) * 10 } // temperature raw / 10 − 50
        for i in 0..<3 { words[0x05 + i] = 2200; words[0x08 + i] = 30 }
        if probeOpen { words[0x12] = 5; words[0x02] = 0 }     // temperature.2: state 5 = probe open
        words[0x20] = 3000                                  // residual set value 300 mA
        for i in 0..<4 { words[0x21 + i] = (55 + 50) * 10 } // temperature set values 55 °C
        words[0x40] = 0x1304
        return ["holding": [["address": 0, "words": words]], "size": 128]
    }

    struct Fixture {
        let dir = TestSupport.temporaryDirectory("commission")
        let port = TestSupport.freePort()
        var db: String { dir.appendingPathComponent("gov.db").path }
        var reports: String { dir.appendingPathComponent("reports").path }
        let peer: ChildProcess

        init() throws {
            peer = try ModbusPeers.pymodbus(spec: ["units": ["1": CommissionTests.unit(), "2": CommissionTests.unit(probeOpen: true)]],
                                            tcpPort: port, in: dir)
            let store = try SQLiteGovernanceStore(path: db)
            try store.upsertMarket(Market(id: "fc", name: "凤池市场"), now: 1)
            _ = try store.upsertPremises(Premises(platformID: "FS-001", qrCode: "QR-0001", name: "陈记五金", kind: .marketStall,
                                                  address: "海北路1号", marketID: "fc"), now: 1)
            let service = RegistrationService(store: store, profiles: try ProfileCatalog.load(directory: TestSupport.devicesDir))
            for unit in 1...3 {
                let r = try service.register(RegistrationRequest(
                    premises: "QR-0001", profile: "generic-1r4t", transport: .modbusTCP(host: "127.0.0.1", port: port, unit: unit),
                    location: "A区01档口配电箱", setpoints: ["residual_current.1": 300, "temperature.1": 55], cable: .pvc,
                    id: "D-\(unit)", actor: "张工"), rules: try RuleSet.load(directory: TestSupport.rulesDir), now: 2)
                if case .failure(let p) = r { Issue.record("register: \(p)") }
            }
        }

        func commission(_ id: String, _ extra: [String] = [], rules: String = TestSupport.rulesDir) throws -> (status: Int32, out: String, err: String) {
            try firewatch(["device", "commission", "--db", db, "--devices-dir", TestSupport.devicesDir, "--rules", rules,
                           "--by", "张工", "--report-dir", reports, "--response-timeout", "0.5", id] + extra, timeout: 120)
        }

        func stop() {
            peer.stop()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    @Test("a healthy detector passes, its test alarm is stored as a test without a hazard, and the report is written")
    func healthy() throws {
        let f = try Fixture()
        defer { f.stop() }
        let r = try f.commission("D-1")
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("调试合格"))
        let store = try SQLiteGovernanceStore(path: f.db)
        let d = try #require(try store.device(id: "D-1"))
        #expect(d.status == .commissioned && d.commissionedBy == "张工")
        let report = try JSONDecoder().decode(CommissionReport.self, from: Data(try #require(d.commissionReport).utf8))
        #expect(report.passed && report.testAlarm?.confirmed == true)
        #expect(report.values.contains { $0.channel == "residual_current.1" && $0.value == 40 })
        // The loaded rules watch its residual-current and temperature channels; the arc rules never fire for it.
        let rules = try #require(report.checks.first { $0.id == "rules" })
        #expect(rules.passed == true && rules.detail.contains("residual_current_alarm") && rules.detail.contains("fault_arc_alarm"), "\(rules)")
        #expect(report.checks.contains { $0.id == "temperature.4" && $0.passed == true })
        #expect(try store.db.scalar("SELECT COUNT(*) FROM alarm_events WHERE device_id = 'D-1' AND is_test = 1 AND hazard_id IS NULL")?.integer == 1)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM hazards")?.integer == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: f.reports)
        #expect(files.contains { $0.hasSuffix(".html") } && files.contains { $0.hasSuffix(".json") })
        let html = try String(contentsOfFile: f.reports + "/" + files.first { $0.hasSuffix(".html") }!, encoding: .utf8)
        #expect(html.contains("调试合格") && html.contains("陈记五金") && html.contains("@media print"))
    }

    @Test("against a rules folder with only an arc rule the healthy detector fails: no rule could alarm on it")
    func rulesCannotAlarm() throws {
        let f = try Fixture()
        defer { f.stop() }
        let rules = f.dir.appendingPathComponent("arc-rules")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        try "rule arc_only on arc.* {\n    signal alarm\n    when value >= 14\n}\n"
            .write(to: rules.appendingPathComponent("arc.rules"), atomically: true, encoding: .utf8)
        let r = try f.commission("D-1", rules: rules.path)
        #expect(r.status == 1, "\(r.out)\(r.err)")
        #expect(r.out.contains("不合格  报警规则监视该探测器的通道") && r.out.contains("arc-rules/arc.rules") && r.out.contains("stays registered"),
                "\(r.out)")
        // Temperatures are not read-checked when no loaded rule watches them.
        #expect(!r.out.contains("温度 temperature.1"), "\(r.out)")
        let store = try SQLiteGovernanceStore(path: f.db)
        #expect(try store.device(id: "D-1")?.status == .registered)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM alarm_events")?.integer == 0)
    }

    @Test("an open temperature probe fails: the device stays registered and the output says what to fix")
    func probeOpen() throws {
        let f = try Fixture()
        defer { f.stop() }
        let r = try f.commission("D-2")
        #expect(r.status == 1, "\(r.out)\(r.err)")
        #expect(r.out.contains("探头开路") && r.out.contains("检查") && r.out.contains("stays registered"))
        let store = try SQLiteGovernanceStore(path: f.db)
        #expect(try store.device(id: "D-2")?.status == .registered)
        #expect(try store.deviceHistory(id: "D-2").last?.action == "commission_failed")
        // No test alarm for a device that failed its checks.
        #expect(try store.db.scalar("SELECT COUNT(*) FROM alarm_events")?.integer == 0)
    }

    @Test("a unit that never answers fails the read within its timeout and points at the wiring")
    func silent() throws {
        let f = try Fixture()
        defer { f.stop() }
        let started = Date()
        let r = try f.commission("D-3")
        #expect(r.status == 1)
        #expect(r.out.contains("读取全部通道") && r.out.contains("检查接线"), "\(r.out)")
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(try SQLiteGovernanceStore(path: f.db).device(id: "D-3")?.status == .registered)
    }

    @Test("through a running edge: the test alarm goes into the journal and passes once it is delivered and acknowledged")
    func throughEdgeJournal() throws {
        let f = try Fixture()
        defer { f.stop() }
        let data = f.dir.appendingPathComponent("edge-data").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        _ = try EventJournal(path: data + "/edge.db", edgeID: "edge-fc-1")
        // The standalone edge's delivery path, on its own thread with its own connections, as the edge runs it.
        let stop = Mutex(false)
        let failure = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let db = f.db
        let t = Thread {
            defer { done.signal() }
            do {
                let journal = try EventJournal(path: data + "/edge.db", edgeID: "edge-fc-1")
                let delivery = LocalLedgerDelivery(store: try SQLiteGovernanceStore(path: db), journal: journal)
                while !stop.withLock({ $0 }) {
                    try delivery.catchUp(now: Date().timeIntervalSince1970)
                    Thread.sleep(forTimeInterval: 0.2)
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        t.start()
        let r = try f.commission("D-1", ["--data", data, "--timeout", "30"])
        stop.withLock { $0 = true }
        done.wait()
        #expect(failure.withLock { $0 } == nil)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let store = try SQLiteGovernanceStore(path: f.db)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM alarm_events WHERE edge_id = 'edge-fc-1' AND is_test = 1 AND hazard_id IS NULL")?.integer == 1)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM hazards")?.integer == 0)
    }

    @Test("through an edge whose uplink is down: the check fails after the timeout, the alarm stays queued")
    func edgeUnreachable() throws {
        let f = try Fixture()
        defer { f.stop() }
        let data = f.dir.appendingPathComponent("edge-data").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        _ = try EventJournal(path: data + "/edge.db", edgeID: "edge-fc-1")
        let r = try f.commission("D-1", ["--data", data, "--timeout", "1"])
        #expect(r.status == 1 && r.out.contains("未收到消防办公室确认"), "\(r.out)")
        #expect(try EventJournal(path: data + "/edge.db", edgeID: "edge-fc-1").undelivered(limit: 10).first?.isTest == true)
        #expect(try SQLiteGovernanceStore(path: f.db).device(id: "D-1")?.status == .registered)
    }
}

/// `device commission` of a 4G detector over a real mosquitto: the reading comes from that device's
/// next message, not from another detector publishing on the same topic filter.
@Suite("Commissioning an MQTT detector", .serialized)
struct CommissionMQTTTests {
    static func payload(serial: String, residual: Double, temperature: Double) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "Asia/Shanghai")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return #"{"serialNo":"\#(serial)","residualCurrent":\#(residual),"aTemperature":\#(temperature),"bTemperature":30,"#
            + #""cTemperature":31,"aVoltage":220,"bVoltage":221,"cVoltage":222,"aCurrent":3,"bCurrent":3,"cCurrent":3,"alarm":0,"#
            + #""collectTime":"\#(f.string(from: Date()))"}"#
    }

    @Test("the detector's own message is read and checked; a hot neighbour on the same topic does not count")
    func mqttDetector() throws {
        let dir = TestSupport.temporaryDirectory("commission-mqtt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let broker = MQTTTestBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let db = dir.appendingPathComponent("gov.db").path
        let store = try SQLiteGovernanceStore(path: db)
        _ = try store.upsertPremises(Premises(platformID: "FS-001", qrCode: "QR-0001", name: "陈记五金", kind: .marketStall), now: 1)
        let service = RegistrationService(store: store, profiles: try ProfileCatalog.load(directory: TestSupport.devicesDir))
        if case .failure(let p) = try service.register(RegistrationRequest(
            premises: "QR-0001", profile: "json-4g-detector", transport: .mqtt(deviceID: "SN-1"), location: "档口电箱",
            setpoints: ["residual_current.1": 300], id: "SN-1", actor: "张工"),
            rules: try RuleSet.load(directory: TestSupport.rulesDir), now: 2) {
            Issue.record("register: \(p)")
        }
        let child = try ChildProcess(TestSupport.firewatchBinary,
                                     ["device", "commission", "--db", db, "--devices-dir", TestSupport.devicesDir, "--rules", TestSupport.rulesDir,
                                      "--by", "张工", "--report-dir", dir.path, "--broker", "mqtt://127.0.0.1:\(broker.port)", "--timeout", "60", "SN-1"],
                                     directory: dir, label: "commission")
        defer { child.stop() }
        let deadline = Date().addingTimeInterval(60)
        while child.isRunning, Date() < deadline {
            try broker.publish([("4g/acme/data", Self.payload(serial: "SN-2", residual: 900, temperature: 95)),
                                ("4g/acme/data", Self.payload(serial: "SN-1", residual: 42, temperature: 27))])
            Thread.sleep(forTimeInterval: 0.3)
        }
        #expect(child.waitForExit(timeout: 10) == 0, "\(child.stdout)\(child.stderr)")
        let d = try #require(try SQLiteGovernanceStore(path: db).device(id: "SN-1"))
        #expect(d.status == .commissioned)
        let report = try JSONDecoder().decode(CommissionReport.self, from: Data(try #require(d.commissionReport).utf8))
        #expect(report.values.contains { $0.channel == "residual_current.1" && $0.value == 42 })
        #expect(report.values.contains { $0.channel == "temperature.1" && $0.value == 27 })
    }
}
