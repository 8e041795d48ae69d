import FireWatchCore
import FireWatchEdge
import FireWatchModbus
import FireWatchStore
import Foundation
import Synchronization
import Testing

/// Collects what the edge reports, for assertions.
final class RecordingObserver: EdgeObserver {
    let events = Mutex<[AlarmEvent]>([])
    let lines = Mutex<[String]>([])
    func eventStored(_ event: AlarmEvent, outcome: IngestOutcome?, premises: Premises?) { events.withLock { $0.append(event) } }
    func log(_ line: String) { lines.withLock { $0.append(line) } }
}

@Suite("spine: simulated market → Modbus TCP → rules → hazards linked to premises", .serialized)
struct SpineTests {
    @Test("residual-current excess, over-temperature, probe open and a silent device become hazards on the right premises")
    func endToEnd() throws {
        let dir = TestSupport.temporaryDirectory("spine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let profile = try ModbusProfile.resolve("generic-1r4t", in: ModbusProfile.loadAll(directory: TestSupport.devicesDir))
        let script = SimulationScript(incidents: [
            .init(device: 1, kind: .residualCurrentRise, start: 0, ramp: 2),
            .init(device: 2, kind: .temperatureRise, start: 0, channel: 4, ramp: 3),
            .init(device: 3, kind: .probeOpen, start: 1, channel: 2),
            .init(device: 4, kind: .silent, start: 2),
        ])
        // Two ports, three devices each, as two serial-to-Ethernet gateways would serve them.
        let simulator = MarketSimulator(.init(deviceCount: 6, profile: profile, script: script, seed: 3, devicesPerPort: 3))
        let endpoints = try simulator.start()
        defer { simulator.stop() }
        #expect(Set(endpoints.map(\.port)).count == 2)

        let premises = DemoMarket.premises(count: 6)
        let db = dir.appendingPathComponent("gov.db").path
        let config = EdgeConfig(
            edge: "test-edge", market: DemoMarket.market, data: dir.appendingPathComponent("data").path, governance: db,
            devicesDir: TestSupport.devicesDir, rulesDir: TestSupport.rulesDir, pollPeriod: 1, premises: premises,
            devices: endpoints.map { ep in
                .init(id: "D\(ep.device)", profile: profile.id, premises: premises[ep.device].platformID,
                      transport: ep.transport.description, setpoints: ["residual_current.1": 300])
            })
        let observer = RecordingObserver()
        let edge = try EdgeAssembly(config: config, observer: observer)
        try edge.start()
        let store = try SQLiteGovernanceStore(path: db)
        let kinds: Set<String> = ["residual_current_over", "cable_temperature_over", "temperature_probe_fault", "comm_loss"]
        let complete = try TestSupport.wait(timeout: 100) {
            Set(try store.hazards(HazardFilter()).map(\.kind)).isSuperset(of: kinds)
        }
        edge.stop()
        let seen = try store.hazards(HazardFilter()).map(\.kind)
        #expect(complete, "hazards seen: \(seen); log: \(observer.lines.withLock { $0 })")

        let hazards = try store.hazards(HazardFilter())
        func hazard(_ kind: String) -> Hazard? { hazards.first { $0.kind == kind } }
        #expect(hazard("residual_current_over")?.device == "D1")
        #expect(hazard("residual_current_over")?.premisesID == premises[1].platformID)
        #expect(hazard("residual_current_over")?.premisesName == premises[1].name)
        #expect(hazard("residual_current_over")?.signal == .alarm)
        #expect(hazard("cable_temperature_over")?.device == "D2")
        #expect(hazard("temperature_probe_fault")?.premisesID == premises[3].platformID)
        #expect(hazard("temperature_probe_fault")?.signal == .fault)
        #expect(hazard("comm_loss")?.device == "D4")
        #expect(hazard("comm_loss")?.signal == .fault)
        // Calm devices raise nothing; one open hazard per premises + device + kind.
        #expect(!hazards.contains { $0.device == "D0" || $0.device == "D5" })
        let keys = hazards.map { "\($0.premisesID)|\($0.device)|\($0.kind)" }
        #expect(Set(keys).count == keys.count)
        // Every stored event has a unique (edge, sequence) with no gaps, and the file is sound.
        let seqs = try store.db.query("SELECT sequence FROM alarm_events WHERE edge_id = 'test-edge' ORDER BY sequence") { $0.int(0) }
        #expect(seqs == Array(1...Int64(seqs.count)))
        #expect(try store.db.integrityCheck() == "ok")
    }

    @Test("a restart neither re-announces an active alarm nor loses it")
    func restartKeepsState() throws {
        let dir = TestSupport.temporaryDirectory("restart")
        defer { try? FileManager.default.removeItem(at: dir) }
        let profile = try ModbusProfile.resolve("generic-1r4t", in: ModbusProfile.loadAll(directory: TestSupport.devicesDir))
        let simulator = MarketSimulator(.init(deviceCount: 2, profile: profile,
                                              script: SimulationScript(incidents: [.init(device: 0, kind: .residualCurrentRise, start: 0, ramp: 1)])))
        let endpoints = try simulator.start()
        defer { simulator.stop() }
        let premises = DemoMarket.premises(count: 2)
        let db = dir.appendingPathComponent("gov.db").path
        let config = EdgeConfig(
            edge: "restart-edge", market: DemoMarket.market, data: dir.appendingPathComponent("data").path, governance: db,
            devicesDir: TestSupport.devicesDir, rulesDir: TestSupport.rulesDir, pollPeriod: 1, premises: premises,
            devices: endpoints.map { .init(id: "D\($0.device)", profile: profile.id, premises: premises[$0.device].platformID,
                                            transport: $0.transport.description) })
        let store = try SQLiteGovernanceStore(path: db)
        func raises() throws -> Int64 {
            try store.db.scalar("SELECT COUNT(*) FROM alarm_events WHERE rule = 'residual_current_alarm' AND transition = 'raise'")?.integer ?? 0
        }
        let first = try EdgeAssembly(config: config, observer: RecordingObserver())
        try first.start()
        let raised = try TestSupport.wait(timeout: 40) { try raises() == 1 }
        first.stop()
        #expect(raised)
        let second = try EdgeAssembly(config: config, observer: RecordingObserver())
        try second.start()
        Thread.sleep(forTimeInterval: 15)
        second.stop()
        #expect(try raises() == 1)
        #expect(try store.hazards(HazardFilter()).filter { $0.kind == "residual_current_over" }.count == 1)
    }
}

@Suite("firewatch binary: demo, hazard list, bad input")
struct CommandLineTests {
    @Test("demo leaves hazards linked to premises that hazard list --json prints")
    func demoThenList() throws {
        let dir = TestSupport.temporaryDirectory("demo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("demo.db").path
        let run = try firewatch(["demo", "--db", db, "--duration", "40", "--stalls", "20", "--poll", "1",
                                 "--devices-dir", TestSupport.devicesDir, "--rules", TestSupport.rulesDir], timeout: 120)
        #expect(run.status == 0, "stderr: \(run.err)")
        #expect(run.out.contains("报警触发"))
        let list = try firewatch(["hazard", "list", "--db", db, "--json"])
        #expect(list.status == 0)
        let rows = list.out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(rows.count >= 3)
        for key in ["id", "premises_id", "premises_name", "device", "kind", "severity", "status", "opened_at", "event_count"] {
            #expect(rows.allSatisfy { $0[key] != nil }, "missing \(key)")
        }
        let kinds = Set(rows.compactMap { $0["kind"] as? String })
        #expect(kinds.isSuperset(of: ["residual_current_over", "cable_temperature_over", "temperature_probe_fault"]))
        #expect(rows.allSatisfy { ($0["premises_id"] as? String)?.hasPrefix("440605-DL-") == true })
    }

    @Test("usage errors exit 64 and name the command")
    func usage() throws {
        let r = try firewatch(["hazard", "list", "--bogus"])
        #expect(r.status == 64)
        #expect(r.err.contains("unknown option '--bogus'"))
        #expect(try firewatch(["nonsense"]).status == 64)
        #expect(try firewatch(["edge"]).status == 64)
        #expect(try firewatch(["hazard", "ack", "1"]).err.contains("--by"))
        let help = try firewatch(["hazard", "list", "--help"])
        #expect(help.status == 0)
        #expect(help.out.contains("--json"))
    }

    @Test("a config with errors names the file, line and field and exits 65 without starting")
    func badConfig() throws {
        let dir = TestSupport.temporaryDirectory("badcfg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("edge.json5")
        try """
        {
          edge: "e1",
          governance: "g.db",
          devices: [
            { id: "D1", profile: "generic-1r4t", premises: "P1",
              transport: "tcp://127.0.0.1#1" },
          ],
        }
        """.write(to: file, atomically: true, encoding: .utf8)
        let r = try firewatch(["edge", "--config", file.path])
        #expect(r.status == 65)
        #expect(r.err.contains("edge.json5:6"))
        #expect(r.err.contains("devices[0].transport"))
        try "{ edge: \"e1\", devices: [ }".write(to: file, atomically: true, encoding: .utf8)
        let syntax = try firewatch(["edge", "--config", file.path])
        #expect(syntax.status == 65)
        #expect(syntax.err.contains("edge.json5"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("g.db").path))
    }

    @Test("hazard lifecycle from the command line, with refusals that say why")
    func lifecycle() throws {
        let dir = TestSupport.temporaryDirectory("life")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("g.db").path
        do {
            let store = try SQLiteGovernanceStore(path: db)
            _ = try store.upsertPremises(Premises(platformID: "P1", qrCode: "Q1", name: "A区01号", kind: .marketStall), now: 1)
            try store.saveDevice(Device(id: "D1", profileID: "generic-1r4t", premisesID: "P1",
                                        transport: .modbusTCP(host: "127.0.0.1", port: 502, unit: 1)),
                                 action: "registered", actor: "t", detail: "", now: 1)
            _ = try store.ingest(AlarmEvent(edgeID: "e", sequence: 1, device: "D1", channel: "residual_current.1", rule: "r",
                                            signal: .alarm, transition: .raise, value: 400, time: 100,
                                            hazard: HazardSpec(category: "electrical", kind: "residual_current_over",
                                                               severity: .high, title: "剩余电流超限报警")),
                                 receivedAt: 100, late: false)
        }
        #expect(try firewatch(["hazard", "ack", "1", "--by", "值班员", "--db", db]).status == 0)
        let bad = try firewatch(["hazard", "verify", "1", "--by", "x", "--db", db])
        #expect(bad.status == 1)
        #expect(bad.err.contains("acknowledged"))
        #expect(try firewatch(["hazard", "dispatch", "1", "--by", "值班员", "--note", "派网格员", "--db", db]).status == 0)
        #expect(try firewatch(["hazard", "rectify", "1", "--by", "电工", "--db", db]).status == 0)
        #expect(try firewatch(["hazard", "verify", "1", "--by", "监督员", "--note", "复查合格", "--db", db]).status == 0)
        let show = try firewatch(["hazard", "show", "1", "--db", db, "--json"])
        #expect(show.out.contains("\"status\":\"verified\""))
        #expect(show.out.contains("复查合格"))
    }
}

@Suite("a detector registered at the edge is polled", .serialized)
struct RegisteredDevicePollingTests {
    @Test("device register, then an edge whose config lists no devices polls it and opens its hazard")
    func registeredThenPolled() throws {
        let dir = TestSupport.temporaryDirectory("regpoll")
        defer { try? FileManager.default.removeItem(at: dir) }
        let profile = try ModbusProfile.resolve("generic-1r4t", in: ModbusProfile.loadAll(directory: TestSupport.devicesDir))
        let simulator = MarketSimulator(.init(deviceCount: 1, profile: profile,
                                              script: SimulationScript(incidents: [.init(device: 0, kind: .residualCurrentRise, start: 0, ramp: 1)])))
        let endpoints = try simulator.start()
        defer { simulator.stop() }
        let db = dir.appendingPathComponent("gov.db").path
        let premises = DemoMarket.premises(count: 1)
        do {
            let store = try SQLiteGovernanceStore(path: db)
            try store.upsertMarket(DemoMarket.market, now: 1)
            _ = try store.upsertPremises(premises[0], now: 1)
        }
        let ep = endpoints[0]
        let reg = try firewatch(["device", "register", "--db", db, "--devices-dir", TestSupport.devicesDir, "--rules", TestSupport.rulesDir,
                                 "--premises", premises[0].qrCode, "--profile", profile.id, "--tcp", "\(ep.host):\(ep.port)",
                                 "--unit", String(ep.unit), "--location", "A区01号档口配电箱", "--id", "REG-1", "--by", "技术员"])
        #expect(reg.status == 0, "\(reg.out) \(reg.err)")
        let config = EdgeConfig(edge: "reg-edge", market: DemoMarket.market, data: dir.appendingPathComponent("data").path,
                                governance: db, devicesDir: TestSupport.devicesDir, rulesDir: TestSupport.rulesDir,
                                pollPeriod: 1, devices: [])
        let edge = try EdgeAssembly(config: config, observer: RecordingObserver())
        #expect(edge.devices.map(\.id) == ["REG-1"])
        try edge.start()
        defer { edge.stop() }
        let store = try SQLiteGovernanceStore(path: db)
        #expect(try TestSupport.wait(timeout: 40) {
            try store.hazards(HazardFilter()).contains { $0.device == "REG-1" && $0.kind == "residual_current_over" && $0.premisesID == premises[0].platformID }
        })
    }
}

@Suite("commissioning beside a standalone edge", .serialized)
struct StandaloneCommissionTests {
    @Test("register, poll, commission: the test alarm goes through the running edge's journal into its local ledger, never a hazard")
    func commissionThroughStandaloneEdge() throws {
        let dir = TestSupport.temporaryDirectory("stcomm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let profile = try ModbusProfile.resolve("generic-1r4t", in: ModbusProfile.loadAll(directory: TestSupport.devicesDir))
        let simulator = MarketSimulator(.init(deviceCount: 1, profile: profile))
        let ep = try simulator.start()[0]
        defer { simulator.stop() }
        let db = dir.appendingPathComponent("gov.db").path, data = dir.appendingPathComponent("data").path
        let premises = DemoMarket.premises(count: 1)[0]
        do {
            let store = try SQLiteGovernanceStore(path: db)
            try store.upsertMarket(DemoMarket.market, now: 1)
            _ = try store.upsertPremises(premises, now: 1)
        }
        #expect(try firewatch(["device", "register", "--db", db, "--devices-dir", TestSupport.devicesDir, "--rules", TestSupport.rulesDir,
                               "--premises", premises.platformID,
                               "--profile", profile.id, "--tcp", "\(ep.host):\(ep.port)", "--unit", String(ep.unit),
                               "--location", "A区01号配电箱", "--id", "C-1", "--by", "技术员"]).status == 0)
        let edge = try EdgeAssembly(config: EdgeConfig(edge: "st-edge", market: DemoMarket.market, data: data, governance: db,
                                                       devicesDir: TestSupport.devicesDir, rulesDir: TestSupport.rulesDir,
                                                       pollPeriod: 1, devices: []),
                                    observer: RecordingObserver())
        try edge.start()
        defer { edge.stop() }
        let r = try firewatch(["device", "commission", "C-1", "--db", db, "--data", data, "--devices-dir", TestSupport.devicesDir,
                               "--rules", TestSupport.rulesDir, "--by", "技术员", "--report-dir", dir.path, "--timeout", "20"], timeout: 60)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        let store = try SQLiteGovernanceStore(path: db)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM alarm_events WHERE is_test = 1 AND edge_id = 'st-edge' AND device_id = 'C-1'")?.integer == 1)
        #expect(try store.hazards(HazardFilter()).isEmpty)
        #expect(try store.device(id: "C-1")?.status == .commissioned)
    }
}
