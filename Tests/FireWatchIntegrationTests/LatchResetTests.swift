import FireWatchCore
import FireWatchEdge
import FireWatchModbus
import FireWatchStore
import Foundation
import Testing

@Suite("latched alarms are reset at the running edge", .serialized)
struct LatchResetTests {
    @Test("a latched alarm holds after the condition goes; `edge reset` clears it through the journal, once")
    func resetClearsLatch() throws {
        let dir = TestSupport.temporaryDirectory("latch")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("rules")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        try """
        rule latched_leak on residual_current.* {
            signal alarm
            severity high
            when value >= 300mA for 2s
            latch
            category electrical
            kind residual_current_over
            title "剩余电流报警（锁存）：设备 {device}"
        }
        """.write(to: rules.appendingPathComponent("latch.rules"), atomically: true, encoding: .utf8)
        let profile = try ModbusProfile.resolve("generic-1r4t", in: ModbusProfile.loadAll(directory: TestSupport.devicesDir))
        // Residual current above 300 mA for 8 s, then back to its baseline.
        let script = SimulationScript(incidents: [.init(device: 0, kind: .residualCurrentRise, start: 0, duration: 8, ramp: 1)])
        let simulator = MarketSimulator(.init(deviceCount: 1, profile: profile, script: script))
        let endpoints = try simulator.start()
        defer { simulator.stop() }
        let premises = DemoMarket.premises(count: 1)
        let data = dir.appendingPathComponent("data").path
        let db = dir.appendingPathComponent("gov.db").path
        let config = EdgeConfig(edge: "latch-edge", market: DemoMarket.market, data: data, governance: db,
                                devicesDir: TestSupport.devicesDir, rulesDir: rules.path, pollPeriod: 0.5, premises: premises,
                                devices: [.init(id: "D0", profile: profile.id, premises: premises[0].platformID,
                                                transport: endpoints[0].transport.description)])
        let edge = try EdgeAssembly(config: config, observer: RecordingObserver())
        try edge.start()
        defer { edge.stop() }
        let store = try SQLiteGovernanceStore(path: db)
        func count(_ transition: String) throws -> Int64 {
            try store.db.scalar("SELECT COUNT(*) FROM alarm_events WHERE rule = 'latched_leak' AND transition = ?",
                                [.text(transition)])?.integer ?? 0
        }
        #expect(try TestSupport.wait(timeout: 30) { try count("raise") == 1 })
        // The incident ends at 8 s; the alarm stays latched well past it.
        Thread.sleep(forTimeInterval: 12)
        #expect(try count("clear") == 0)
        #expect(try store.hazards(HazardFilter()).first?.conditionActive == true)

        let reset = try firewatch(["edge", "reset", "--data", data, "--device", "D0", "--by", "值班员"])
        #expect(reset.status == 0, "\(reset.out) \(reset.err)")
        #expect(reset.out.contains("cleared 1 latched alarm"))
        #expect(try TestSupport.wait(timeout: 10) { try count("clear") == 1 })
        #expect(try store.hazards(HazardFilter()).first?.conditionActive == false)
        // Nothing is latched any more: a second reset clears nothing and raises nothing.
        let again = try firewatch(["edge", "reset", "--data", data, "--device", "D0", "--by", "值班员"])
        #expect(again.out.contains("nothing latched"))
        Thread.sleep(forTimeInterval: 3)
        #expect(try count("raise") == 1)
    }

    @Test("a reset with no edge running is queued and says so")
    func queuedWithoutEdge() throws {
        let dir = TestSupport.temporaryDirectory("latchq")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try EventJournal(path: dir.appendingPathComponent("edge.db").path, edgeID: "idle-edge")
        let r = try firewatch(["edge", "reset", "--data", dir.path, "--device", "D9", "--by", "x", "--wait", "0.5"])
        #expect(r.status == 69)
        #expect(r.out.contains("queued"))
        #expect(try firewatch(["edge", "reset", "--data", "/nonexistent", "--device", "D9", "--by", "x"]).status == 1)
    }
}
