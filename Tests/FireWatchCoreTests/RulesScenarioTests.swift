import Foundation
import Testing
@testable import FireWatchCore

/// The default pack (Rules/) replayed over the recorded scenarios in Tests/scenarios/.
@Suite("default pack scenarios")
struct RulesScenarioTests {
    static let t0 = 1_796_000_000.0

    static func replay(_ name: String, devices: [DeviceContext] = []) throws -> [EngineEvent] {
        let path = RulesSupport.scenariosDir + "/" + name
        let csv = try String(contentsOfFile: path, encoding: .utf8)
        return try RuleReplay.run(rules: try RulesSupport.defaultPack(), csv: csv, file: path, devices: devices)
    }

    static func raises(_ events: [EngineEvent], _ rule: String) -> [EngineEvent] {
        events.filter { $0.rule == rule && $0.transition == .raise }
    }

    @Test("residual-current excess raises its alarm within 30 s of onset (GB 50166-2019 §4.8), then clears")
    func residualExcess() throws {
        let events = try Self.replay("residual_excess.csv")
        let alarm = try #require(Self.raises(events, "residual_current_alarm").first)
        let onset = Self.t0 + 300
        #expect(alarm.time - onset <= 30, "raised \(alarm.time - onset) s after onset")
        #expect(alarm.signal == .alarm && alarm.hazard.kind == "residual_current_over")
        #expect(alarm.hazard.title.contains("剩余电流超限报警") && alarm.hazard.title.contains("300 mA"))
        #expect(Self.raises(events, "residual_current_alarm").count == 1)
        #expect(Self.raises(events, "residual_current_prealarm").count == 1)
        #expect(events.contains { $0.rule == "residual_current_alarm" && $0.transition == .clear && $0.time > Self.t0 + 480 })
        #expect(!events.contains { $0.rule.hasPrefix("cable_") || $0.rule == "comm_loss" })
    }

    @Test("a registered higher set value moves the alarm (the registry wins over the default)")
    func registeredSetpoint() throws {
        let events = try Self.replay("residual_excess.csv", devices: [DeviceContext(id: "M1-01", setpoints: ["residual_current.1": 500])])
        #expect(Self.raises(events, "residual_current_alarm").isEmpty)
    }

    @Test("a slow temperature climb pre-alarms, then alarms within 40 s of crossing 56 °C (PVC default)")
    func temperatureClimb() throws {
        let events = try Self.replay("temperature_climb.csv")
        let pre = try #require(Self.raises(events, "cable_temperature_prealarm").first)
        let alarm = try #require(Self.raises(events, "cable_temperature_alarm").first)
        #expect(pre.time < alarm.time)
        let crossing = Self.t0 + 1050
        #expect(alarm.time >= crossing && alarm.time - crossing <= 40, "raised \(alarm.time - crossing) s after crossing")
        #expect(alarm.hazard.title.contains("56 °C"))
        // XLPE cable: rated 90 °C → 72 °C, which this climb (to 71 °C) never reaches.
        let xlpe = try Self.replay("temperature_climb.csv", devices: [DeviceContext(id: "M1-02", cable: .xlpe)])
        #expect(Self.raises(xlpe, "cable_temperature_alarm").isEmpty)
        #expect(Self.raises(xlpe, "cable_temperature_prealarm").count == 1)
    }

    @Test("an opening probe is a fault, not a temperature alarm")
    func probeOpening() throws {
        let events = try Self.replay("probe_opening.csv")
        let fault = try #require(Self.raises(events, "temperature_probe_fault").first)
        #expect(fault.signal == .fault && fault.channel == "state.temperature.2")
        #expect(fault.time - (Self.t0 + 200) <= 100)
        #expect(fault.hazard.title.contains("探头开路"))
        #expect(!events.contains { $0.signal != .fault })
    }

    @Test("a device going silent shows comm loss well inside 100 s; the other device does not")
    func deviceSilent() throws {
        let events = try Self.replay("device_silent.csv")
        let lost = Self.raises(events, "comm_loss")
        #expect(lost.map(\.device) == ["M1-04"])
        let lastData = Self.t0 + 235
        #expect(lost[0].time - lastData <= 100 && lost[0].time - lastData >= 60, "after \(lost[0].time - lastData) s")
        #expect(lost[0].signal == .fault && lost[0].hazard.category == "equipment")
    }

    @Test("a value chattering at 1 Hz around the set value for 10 minutes gives a few events, not hundreds")
    func chatter() throws {
        let events = try Self.replay("chatter.csv")
        let alarms = events.filter { $0.rule == "residual_current_alarm" }
        #expect(alarms.count <= 4, "\(alarms.count) alarm events")
        #expect(events.count <= 6, "\(events.count) events")
    }

    @Test("an alarm and a fault at once on different channels both show (GB 14287.3 §6.3.3)")
    func alarmAndFault() throws {
        let events = try Self.replay("alarm_and_fault.csv")
        #expect(Self.raises(events, "residual_current_alarm").count == 1)
        #expect(Self.raises(events, "temperature_probe_fault").count == 1)
        #expect(Self.raises(events, "cable_temperature_alarm").isEmpty, "a shorted probe's 150 °C is not an alarm")
    }

    @Test("hours of normal readings raise nothing")
    func normalHours() throws {
        let events = try Self.replay("normal_hours.csv")
        #expect(events.isEmpty, "\(events.map(\.rule))")
    }

    @Test("a slow 4G detector registers its own comm-loss timeout; replay runs on long enough to show it")
    func commLossTimeout() throws {
        let pack = try RulesSupport.defaultPack()
        let slow = DeviceContext(id: "G-1", setpoints: ["comm_loss_timeout": 900])
        var rows: [Reading] = []
        for t in stride(from: 0.0, through: 3000, by: 300) { rows.append(RulesSupport.number("G-1", "residual_current.1", 80, at: t)) }
        rows.append(RulesSupport.number("G-2", "residual_current.1", 80, at: 3000))
        #expect(RuleReplay.run(rules: pack, readings: rows, devices: [slow]).filter { $0.device == "G-1" }.isEmpty,
                "a 5-minute heartbeat with a 900 s timeout is not a comm loss")
        let unregistered = RuleReplay.run(rules: pack, readings: rows, devices: [])
        #expect(unregistered.filter { $0.device == "G-1" && $0.transition == .raise }.count == 10, "with the 60 s default it is, every time")
        // G-1 falls silent after 1200 s; the replay tail is lengthened to the registered 900 s.
        let silent = rows.filter { $0.device != "G-1" || $0.time <= 1200 }
        let lost = RuleReplay.run(rules: pack, readings: silent, devices: [slow]).filter { $0.device == "G-1" }
        #expect(lost.map(\.time) == [2100])
        #expect(lost.first?.hazard.title == "设备通信中断：设备 G-1 超过 900 秒无数据")
    }

    @Test("voltage and current states from the detector: phase loss is a fault, overload an alarm")
    func phasesAndLoads() throws {
        let d = RulesSupport.Driver(try RulesSupport.defaultPack())
        for t in stride(from: 0.0, through: 20, by: 5) {
            d.feed(RulesSupport.state("d", "state.voltage.b", .phaseLoss, at: t))
            d.feed(RulesSupport.state("d", "state.current.a", .overload, at: t))
        }
        let raised = d.events.filter { $0.transition == .raise }.map { "\($0.rule) \($0.signal.rawValue)" }
        #expect(Set(raised) == ["voltage_fault fault", "current_overload alarm"])
        #expect(d.events.first { $0.rule == "voltage_fault" }?.hazard.title == "电压异常：设备 d 电压B相状态 缺相")
    }

    @Test("replay CSV: header optional, ISO-8601 or epoch times, bad rows named by line and column")
    func csv() throws {
        let ok = "2026-12-03T10:15:00+08:00,d,residual_current.1,120\n1796000100,d,state.temperature.1,fault_open\n1796000101,d,temperature.1,\n"
        let readings = try RuleReplay.parseCSV(ok, file: "r.csv")
        #expect(readings.count == 3)
        #expect(readings[0].time == 1_796_264_100)
        #expect(readings[1].state == .faultOpen && readings[2].value == .invalid)
        let bad = "time,device,channel,value\nyesterday,d,temperature.1,3\n1,d,leak.1,3\n1,d,state.temperature.1,open\n1,d,temperature.1\n"
        do {
            _ = try RuleReplay.parseCSV(bad, file: "r.csv")
            Issue.record("expected errors")
        } catch {
            #expect(error.errors.map { "\($0.line!):\($0.column!)" } == ["2:1", "3:5", "4:25", "5:1"], "\(error)")
        }
    }

    @Test("JSON lines carry exactly time, device, channel, rule, kind, transition, value")
    func jsonLines() throws {
        let events = try Self.replay("alarm_and_fault.csv")
        let line = RuleReplay.jsonLine(try #require(Self.raises(events, "residual_current_alarm").first))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["time", "device", "channel", "rule", "kind", "transition", "value"])
        #expect(object["kind"] as? String == "alarm" && object["transition"] as? String == "raise")
        #expect(object["value"] as? Double == 450)
        #expect((object["time"] as? String)?.hasSuffix("Z") == true)
        let fault = RuleReplay.jsonLine(try #require(Self.raises(events, "temperature_probe_fault").first))
        #expect(fault.hasSuffix("\"value\": null}"))
    }
}

extension RulesScenarioTests {
    @Test("the devices file is a JSON5 list of {id, setpoints, cable, announced}; errors name the file")
    func devicesFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rules-devices-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("devices.json5").path
        try """
        [
          // comments and trailing commas are fine
          { id: "M1-01", setpoints: { "residual_current.1": 500 }, cable: "xlpe" },
          { id: "M1-02", announced: false },
        ]
        """.write(toFile: good, atomically: true, encoding: .utf8)
        let devices = try RuleReplay.loadDevices(file: good)
        #expect(devices == [DeviceContext(id: "M1-01", setpoints: ["residual_current.1": 500], cable: .xlpe),
                            DeviceContext(id: "M1-02", announced: false)])
        let bad = dir.appendingPathComponent("bad.json5").path
        try #"[{ id: "M1-01", cable: "copper" }]"#.write(toFile: bad, atomically: true, encoding: .utf8)
        do {
            _ = try RuleReplay.loadDevices(file: bad)
            Issue.record("expected an error for cable copper")
        } catch {
            #expect(error.errors[0].file == bad)
            #expect(error.errors[0].description.contains("cable"), "\(error)")
        }
    }
}

extension RulesScenarioTests {
    @Test("fault arc: 9 half-cycles in 1 s never alarm, 14 do at once and hold until reset (GB 50166 §4.8, GB 31252)")
    func faultArc() throws {
        let d = RulesSupport.Driver(try RulesSupport.defaultPack())
        for t in stride(from: 0.0, through: 60, by: 1) { d.feed(RulesSupport.number("A", "arc.3", 9, at: t)) }
        #expect(d.events.isEmpty)
        d.feed(RulesSupport.number("A", "arc.3", 14, at: 61))
        #expect(d.summary == ["fault_arc_alarm arc.3 raise"])
        #expect(d.events[0].hazard.severity == .critical && d.events[0].hazard.title.contains("14 个半周波"))
        for t in stride(from: 62.0, through: 120, by: 1) { d.feed(RulesSupport.number("A", "arc.3", 0, at: t)) }
        #expect(d.events.count == 1, "latched")
        d.engine.reset(device: "A", rule: nil, monotonic: 121, wall: 121, into: &d.events)
        #expect(d.summary.last == "fault_arc_alarm arc.3 clear")
    }

    @Test("CT break on a residual loop is a fault within 100 s, and the loop's alarm is not raised by it")
    func ctBreak() throws {
        let d = RulesSupport.Driver(try RulesSupport.defaultPack())
        for t in stride(from: 0.0, through: 30, by: 5) {
            d.feed(RulesSupport.state("A", "state.residual_current.2", .ctBreak, at: t))
            d.feed(Reading(device: "A", channel: Channel(unchecked: "residual_current.2"), value: .invalid, time: t))
        }
        #expect(d.summary == ["residual_current_ct_fault state.residual_current.2 raise"])
        #expect(d.events[0].signal == .fault && d.events[0].time <= 100)
        #expect(d.events[0].hazard.title == "剩余电流互感器故障：设备 A 剩余电流2状态 互感器断线")
    }
}
