import Foundation
import Testing
@testable import FireWatchCore

@Suite("rule engine semantics")
struct RulesEngineTests {
    typealias Driver = RulesSupport.Driver

    static func rule(_ body: String, on pattern: String = "temperature.*", signal: String = "alarm") throws -> RuleSet {
        try RulesSupport.parse("rule r on \(pattern) {\n signal \(signal)\n \(body)\n}")
    }

    /// Feeds `values` one per second to temperature.1 of device d and returns (second, transition) pairs.
    static func run(_ set: RuleSet, _ values: [Double], context: DeviceContext? = nil) -> [String] {
        let d = Driver(set)
        if let context { d.engine.register(context) }
        for (i, v) in values.enumerated() { d.feed(RulesSupport.number("d", "temperature.1", v, at: Double(i))) }
        d.tick(to: Double(values.count) + 5)
        return d.events.map { "\(Int($0.time)) \($0.transition.rawValue)" }
    }

    @Test("conditions: comparisons, arithmetic, and / or / not, abs", arguments: [
        ("when value > 50°C", [40.0, 51, 50], ["1 raise", "2 clear"]),
        ("when value >= 50°C", [50.0, 49], ["0 raise", "1 clear"]),
        ("when value < 10°C", [20.0, 5, 15], ["1 raise", "2 clear"]),
        ("when value <= 10°C", [10.0, 11], ["0 raise", "1 clear"]),
        ("when value == 42°C", [41.0, 42, 43], ["1 raise", "2 clear"]),
        ("when value != 42°C", [42.0, 41, 42], ["1 raise", "2 clear"]),
        ("when value * 2 - 10°C > 90°C", [50.0, 51, 49], ["1 raise", "2 clear"]),
        ("when (value + 10°C) / 2 >= 30°C", [49.0, 50], ["1 raise"]),
        ("when value > 50°C and value < 60°C", [55.0, 65, 55], ["0 raise", "1 clear", "2 raise"]),
        ("when value < 10°C or value > 60°C", [5.0, 30, 65], ["0 raise", "1 clear", "2 raise"]),
        ("when not (value > 50°C)", [60.0, 40], ["1 raise"]),
        ("when abs(value - 40°C) > 10°C", [40.0, 29, 45, 51], ["1 raise", "2 clear", "3 raise"]),
        ("when -value < -50°C", [40.0, 60], ["1 raise"]),
    ])
    func conditions(body: String, values: [Double], expected: [String]) throws {
        #expect(Self.run(try Self.rule(body), values) == expected)
    }

    @Test("on-delay (for): raises only when the condition held the whole time; a dip restarts it")
    func onDelay() throws {
        let set = try Self.rule("when value > 50°C for 5s")
        #expect(Self.run(set, [60, 60, 60, 60, 60, 60, 60]) == ["5 raise"])
        #expect(Self.run(set, [60, 60, 60, 40, 60, 60, 60, 60, 60, 60]) == ["9 raise"])
        #expect(Self.run(set, [60, 60, 60, 60]) == ["5 raise"], "a pending timer fires from advance() without a new reading")
    }

    @Test("off-delay: clears only when the clear condition held for the delay")
    func offDelay() throws {
        let set = try Self.rule("when value > 50°C clear after 3s")
        #expect(Self.run(set, [60, 40, 40, 40, 40]) == ["0 raise", "4 clear"])
        #expect(Self.run(set, [60, 40, 40, 60, 40, 40, 40, 40]) == ["0 raise", "7 clear"])
    }

    @Test("deadband: clears only below the set value minus the band (hysteresis)")
    func deadband() throws {
        let set = try Self.rule("when value >= 50°C deadband 5°C")
        #expect(Self.run(set, [50, 47, 49, 46, 44, 50]) == ["0 raise", "4 clear", "5 raise"])
        let down = try Self.rule("when value <= 10°C deadband 2°C")
        #expect(Self.run(down, [10, 11, 12, 13]) == ["0 raise", "3 clear"])
    }

    @Test("clear when: an explicit clear condition with its own delay")
    func clearWhen() throws {
        let set = try Self.rule("when value > 50°C clear when value < 30°C for 2s")
        #expect(Self.run(set, [60, 40, 29, 29, 29, 29]) == ["0 raise", "4 clear"])
    }

    @Test("latch: stays active until reset; reset clears and a persisting condition raises again")
    func latch() throws {
        let set = try Self.rule("when value > 50°C latch")
        let d = Driver(set)
        d.feed(RulesSupport.number("d", "temperature.1", 60, at: 0))
        d.feed(RulesSupport.number("d", "temperature.1", 20, at: 10))
        #expect(d.summary == ["r temperature.1 raise"])
        d.engine.reset(device: "d", rule: "r", monotonic: 11, wall: 11, into: &d.events)
        #expect(d.summary == ["r temperature.1 raise", "r temperature.1 clear"])
        d.engine.reset(device: "d", rule: nil, monotonic: 12, wall: 12, into: &d.events)
        #expect(d.events.count == 2, "resetting a normal machine does nothing")
        d.feed(RulesSupport.number("d", "temperature.1", 60, at: 13))
        #expect(d.events.count == 3 && d.events[2].transition == .raise)
    }

    @Test("windows: avg, max, min over the last D seconds and rise per minute", arguments: [
        ("when avg(3s) > 50°C", [40.0, 60, 60, 40, 40], ["2 raise", "4 clear"]),
        ("when max(2s) > 50°C", [60.0, 40, 40, 40], ["0 raise", "2 clear"]),
        ("when min(2s) > 50°C", [60.0, 60, 40, 60, 60, 60], ["0 raise", "2 clear", "4 raise"]),
        // +1 °C per second = 60 °C per minute.
        ("when rise(3s) >= 30°C", [20.0, 21, 22, 23, 23, 23, 23], ["1 raise", "5 clear"]),
    ])
    func windows(body: String, values: [Double], expected: [String]) throws {
        #expect(Self.run(try Self.rule(body), values) == expected)
    }

    @Test("set values: the registered value per channel, then per quantity, then the default")
    func setpoints() throws {
        let set = try Self.rule("when value >= setpoint(temperature, 50°C) title \"{setpoint}\"")
        #expect(Self.run(set, [49, 50]) == ["1 raise"])
        #expect(Self.run(set, [49, 50, 61], context: DeviceContext(id: "d", setpoints: ["temperature": 60])) == ["2 raise"])
        #expect(Self.run(set, [49, 50, 61, 71],
                         context: DeviceContext(id: "d", setpoints: ["temperature": 60, "temperature.1": 70])) == ["3 raise"])
        let d = Driver(set)
        d.feed(RulesSupport.number("d", "temperature.1", 55, at: 0))
        #expect(d.events.first?.hazard.title == "50")
        d.engine.register(DeviceContext(id: "d", setpoints: ["temperature.1": 58]))
        d.feed(RulesSupport.number("d", "temperature.1", 40, at: 1))
        d.feed(RulesSupport.number("d", "temperature.1", 57, at: 2))
        #expect(d.events.count == 2, "a registered set value applies to a running machine at once")
    }

    @Test("a default written in another unit is converted; registered values are in the canonical unit")
    func setpointUnits() throws {
        let set = try RulesSupport.parse("rule r on residual_current.* { signal alarm when value >= setpoint(residual_current, 0.3A) }")
        func run(_ context: DeviceContext?) -> [Double] {
            let d = Driver(set)
            if let context { d.engine.register(context) }
            for (i, v) in [299.0, 300, 0, 499, 500].enumerated() { d.feed(RulesSupport.number("d", "residual_current.1", v, at: Double(i))) }
            return d.events.filter { $0.transition == .raise }.compactMap(\.value)
        }
        #expect(run(nil) == [300, 499])
        #expect(run(DeviceContext(id: "d", setpoints: ["residual_current": 500])) == [500])
        #expect(throws: ConfigErrors.self) {
            try RulesSupport.parse("rule r on residual_current.* { signal alarm when value >= setpoint(residual_current, 30°C) }")
        }
    }

    @Test("cable class sets the temperature default; an unregistered cable falls back", arguments: [
        (Device.CableClass?.none, 56.0), (.pvc, 56.0), (.xlpe, 72.0),
    ])
    func cable(cable: Device.CableClass?, threshold: Double) throws {
        let set = try Self.rule("when value >= 0.8 * cable_rated(70°C)")
        let context = DeviceContext(id: "d", cable: cable)
        #expect(Self.run(set, [threshold - 0.5, threshold], context: context) == ["1 raise"])
    }

    @Test("detector state codes, by name and in a list")
    func states() throws {
        let set = try Self.rule("when state in (fault_open, fault_short)", on: "state.temperature.*", signal: "fault")
        let d = Driver(set)
        for (i, s) in [DetectorState.normal, .faultOpen, .faultShort, .normal, .alarm].enumerated() {
            d.feed(RulesSupport.state("d", "state.temperature.2", s, at: Double(i)))
        }
        #expect(d.events.map { "\(Int($0.time)) \($0.transition.rawValue)" } == ["1 raise", "3 clear"])
        #expect(d.events[0].value == nil && d.events[0].signal == .fault)
        let direct = try RulesSupport.parse("rule p on temperature.2 { signal fault when state.temperature.2 == fault_open }")
        let e = RuleEngine(rules: direct)
        var out: [EngineEvent] = []
        e.process(RulesSupport.state("d", "state.temperature.2", .faultOpen, at: 0), monotonic: 0, into: &out)
        e.process(RulesSupport.number("d", "temperature.2", 0, at: 1), monotonic: 1, into: &out)
        #expect(out.count == 1, "a rule on a measured channel reads its state channel by name")
    }

    @Test("comm loss: silence counts from the last data; device.online = 0 is not data, 1 is")
    func commLoss() throws {
        let set = try RulesSupport.parse("rule lost on device { signal fault when silence >= 60s }")
        let d = Driver(set)
        d.feed(RulesSupport.number("d", "temperature.1", 30, at: 0))
        for t in stride(from: 5.0, through: 80, by: 5) { d.feed(RulesSupport.number("d", "device.online", 0, at: t)) }
        #expect(d.events.map { Int($0.time) } == [60])
        #expect(d.events[0].channel == "device.online" && d.events[0].value == nil)
        d.feed(RulesSupport.number("d", "device.online", 1, at: 81))
        #expect(d.events.count == 2 && d.events[1].transition == .clear && d.events[1].time == 81)
        d.tick(to: 140)
        #expect(d.events.count == 2)
        d.tick(to: 141)
        #expect(d.events.count == 3)
    }

    @Test("a registered device that never sends anything shows comm loss")
    func neverHeard() throws {
        let set = try RulesSupport.parse("rule lost on device { signal fault when silence >= 60s }")
        let d = Driver(set)
        d.engine.register(DeviceContext(id: "quiet"))
        d.tick(to: 100)
        #expect(d.events.map(\.device) == ["quiet"])
    }

    @Test("signal class, severity and hazard mapping with a rendered Chinese title")
    func hazard() throws {
        let set = try RulesSupport.parse("""
        rule hot on temperature.* {
            signal prealarm
            severity low
            when value >= setpoint(temperature, 50°C)
            category electrical
            kind hot_cable
            title "温度预警：{device} {channel_label} {value}{unit}，设定 {setpoint}{unit}（{rule}）"
        }
        """)
        let d = Driver(set)
        d.feed(RulesSupport.number("A-7", "temperature.3", 52.5, at: 0))
        let e = try #require(d.events.first)
        #expect(e.signal == .prealarm)
        #expect(e.hazard == HazardSpec(category: "electrical", kind: "hot_cable", severity: .low,
                                        title: "温度预警：A-7 温度3 52.5°C，设定 50°C（hot）"))
        #expect(e.value == 52.5 && e.device == "A-7" && e.channel == "temperature.3" && e.rule == "hot")
        d.feed(RulesSupport.number("A-7", "temperature.3", 30, at: 1))
        let clear = try #require(d.events.last)
        #expect(clear.transition == .clear && clear.value == 30)
        #expect(clear.hazard == e.hazard, "a clear keeps the title the raise gave its hazard")
    }

    @Test("chattering: the third raise of one key within 60 s is flagged")
    func chattering() throws {
        let set = try Self.rule("when value > 50°C")
        let values: [Double] = [60, 40, 60, 40, 60, 40, 60]
        let d = Driver(set)
        for (i, v) in values.enumerated() { d.feed(RulesSupport.number("d", "temperature.1", v, at: Double(i) * 10)) }
        #expect(d.events.filter { $0.transition == .raise }.map(\.chattering) == [false, false, true, true])
        d.feed(RulesSupport.number("d", "temperature.1", 40, at: 200))
        d.feed(RulesSupport.number("d", "temperature.1", 60, at: 300))
        #expect(d.events.last?.chattering == false)
    }

    @Test("shelved devices still produce events, flagged not announced")
    func shelved() throws {
        let set = try Self.rule("when value > 50°C")
        let d = Driver(set)
        d.engine.register(DeviceContext(id: "d", announced: false))
        d.feed(RulesSupport.number("d", "temperature.1", 60, at: 0))
        d.feed(RulesSupport.number("e", "temperature.1", 60, at: 0))
        #expect(d.events.map(\.announced) == [false, true])
    }

    @Test("a fault on one channel never hides an alarm on another (GB 14287.3 §6.3.3)")
    func faultAndAlarm() throws {
        let d = Driver(try RulesSupport.defaultPack())
        for t in stride(from: 0.0, through: 60, by: 5) {
            d.feed(RulesSupport.number("d", "residual_current.1", 450, at: t))
            d.feed(RulesSupport.state("d", "state.temperature.2", .faultOpen, at: t))
        }
        let raised = Set(d.events.filter { $0.transition == .raise }.map { "\($0.rule) \($0.signal.rawValue)" })
        #expect(raised.contains("residual_current_alarm alarm"))
        #expect(raised.contains("temperature_probe_fault fault"))
    }

    @Test("an invalid value counts as data but decides nothing")
    func invalid() throws {
        let set = try Self.rule("when value > 50°C")
        let d = Driver(set)
        d.feed(RulesSupport.number("d", "temperature.1", 60, at: 0))
        d.feed(Reading(device: "d", channel: Channel(unchecked: "temperature.1"), value: .invalid, time: 1))
        #expect(d.events.count == 1)
    }

    @Test("a wall-clock jump neither fires nor clears anything: delays use the monotonic clock")
    func wallClockJump() throws {
        let pack = try RulesSupport.defaultPack()
        let engine = RuleEngine(rules: pack)
        var events: [EngineEvent] = []
        var wall = 1_800_000_000.0
        for i in 0..<200 {
            let mono = Double(i) * 5
            if i == 50 { wall += 3600 }      // NTP steps the clock forward an hour
            if i == 120 { wall -= 7200 }     // and back two
            wall += 5
            engine.advance(monotonic: mono, wall: wall, into: &events)
            for ch in ["residual_current.1", "temperature.1"] {
                let v = ch.hasPrefix("res") ? 120.0 : 35.0
                engine.process(Reading(device: "d", channel: Channel(unchecked: ch), value: .number(v), time: wall),
                               monotonic: mono, into: &events)
            }
        }
        #expect(events.isEmpty)
        // And a pending residual alarm still needs its full 10 s of monotonic time across a jump.
        engine.process(Reading(device: "d", channel: Channel(unchecked: "residual_current.1"), value: .number(400), time: wall),
                       monotonic: 1000, into: &events)
        engine.process(Reading(device: "d", channel: Channel(unchecked: "residual_current.1"), value: .number(400), time: wall + 86400),
                       monotonic: 1005, into: &events)
        #expect(events.isEmpty)
        engine.process(Reading(device: "d", channel: Channel(unchecked: "residual_current.1"), value: .number(400), time: wall - 86400),
                       monotonic: 1010, into: &events)
        #expect(events.count == 1 && events[0].time == wall - 86400)
    }

    @Test("restart: an active alarm is not announced again, a pending timer keeps its elapsed time")
    func snapshotRestore() throws {
        let set = try RulesSupport.parse("""
        rule hot on temperature.* { signal alarm when value > 50°C for 20s }
        rule lost on device { signal fault when silence >= 60s }
        """)
        let a = RuleEngine(rules: set)
        var events: [EngineEvent] = []
        a.process(RulesSupport.number("d", "temperature.1", 60, at: 0), monotonic: 100, into: &events)
        a.process(RulesSupport.number("d", "temperature.1", 60, at: 25), monotonic: 125, into: &events)   // active
        a.process(RulesSupport.number("d", "temperature.2", 60, at: 30), monotonic: 130, into: &events)   // pending, 0 s
        a.advance(monotonic: 140, wall: 40, into: &events)                                                // pending 10 s
        #expect(events.count == 1)
        let snap = a.snapshot(monotonic: 140)
        let data = try JSONEncoder().encode(snap)
        let decoded = try JSONDecoder().decode(EngineSnapshot.self, from: data)
        #expect(decoded == snap)

        let b = RuleEngine(rules: set)       // a new process: the monotonic clock starts again near zero
        b.restore(decoded, monotonic: 5)
        var after: [EngineEvent] = []
        b.process(RulesSupport.number("d", "temperature.1", 60, at: 41), monotonic: 6, into: &after)
        #expect(after.isEmpty, "the active alarm is not raised again")
        b.advance(monotonic: 14, wall: 49, into: &after)
        #expect(after.isEmpty)
        b.advance(monotonic: 15, wall: 50, into: &after)
        #expect(after.map(\.channel) == ["temperature.2"], "the pending timer fired after its remaining 10 s")
        b.process(RulesSupport.number("d", "temperature.1", 20, at: 51), monotonic: 16, into: &after)
        #expect(after.last?.transition == .clear && after.last?.channel == "temperature.1")
    }

    @Test("the slot fast path gives the same events as the Reading path")
    func fastPath() throws {
        let pack = try RulesSupport.defaultPack()
        let a = RuleEngine(rules: pack), b = RuleEngine(rules: pack)
        var ea: [EngineEvent] = [], eb: [EngineEvent] = []
        let slot = b.slot(device: "d", channel: Channel(unchecked: "residual_current.1"))
        for i in 0..<100 {
            let t = Double(i) * 5
            let v = i > 20 && i < 60 ? 400.0 : 100
            a.process(RulesSupport.number("d", "residual_current.1", v, at: t), monotonic: t, into: &ea)
            b.process(slot: slot, number: v, monotonic: t, wall: t, into: &eb)
        }
        #expect(!ea.isEmpty)
        #expect(ea == eb)
    }
}

extension RulesEngineTests {
    @Test("restart keeps window samples: an average spanning the restart sees both sides")
    func snapshotWindow() throws {
        let set = try Self.rule("when avg(30s) > 50°C")
        let a = RuleEngine(rules: set)
        var events: [EngineEvent] = []
        for t in stride(from: 0.0, through: 20, by: 5) {
            a.process(RulesSupport.number("d", "temperature.1", 70, at: t), monotonic: t, into: &events)
        }
        events.removeAll()
        let b = RuleEngine(rules: set)
        b.restore(a.snapshot(monotonic: 20), monotonic: 1000)
        // Without the restored samples the average of one 35 °C reading would be 35 °C and clear.
        b.process(RulesSupport.number("d", "temperature.1", 35, at: 25), monotonic: 1005, into: &events)
        #expect(events.isEmpty, "the average of 70, 70, 70, 70, 70, 35 over the last 30 s is above 50 °C")
        for t in [30.0, 35, 40] {
            b.process(RulesSupport.number("d", "temperature.1", 35, at: t), monotonic: 980 + t, into: &events)
        }
        #expect(events.map(\.transition) == [.clear])
    }
}

extension RulesEngineTests {
    @Test("a snapshot of a quiet market holds only device clocks, not every channel")
    func snapshotSize() throws {
        let engine = RuleEngine(rules: try RulesSupport.defaultPack())
        var events: [EngineEvent] = []
        for d in 0..<50 {
            for c in ["residual_current.1", "temperature.1", "temperature.2"] {
                engine.process(RulesSupport.number("D\(d)", c, c.hasPrefix("res") ? 120 : 35, at: 0), monotonic: 0, into: &events)
            }
            engine.process(RulesSupport.state("D\(d)", "state.temperature.1", .normal, at: 0), monotonic: 0, into: &events)
        }
        engine.process(RulesSupport.state("D7", "state.temperature.2", .faultOpen, at: 1), monotonic: 1, into: &events)
        let snap = engine.snapshot(monotonic: 2)
        #expect(snap.devices.count == 50)
        #expect(snap.channels.map(\.channel) == ["state.temperature.2"])
        #expect(snap.machines.map(\.rule) == ["temperature_probe_fault"], "the pending probe fault and nothing else")
    }
}
