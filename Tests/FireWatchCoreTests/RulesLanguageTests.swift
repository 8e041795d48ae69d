import Testing
@testable import FireWatchCore

@Suite("rule language: parsing and checking")
struct RulesLanguageTests {
    static let minimal = """
    rule r on residual_current.* {
        signal alarm
        when value >= 300mA
        kind k
    }
    """

    @Test("a minimal rule parses with defaults for severity, category and title")
    func minimal() throws {
        let set = try RulesSupport.parse(Self.minimal)
        let r = try #require(set.rules.first)
        #expect(r.name == "r")
        #expect(r.signal == .alarm)
        #expect(r.severity == .high)
        #expect(r.category == "electrical")
        #expect(r.kind == "k")
        #expect(r.onDelay == 0 && r.offDelay == 0 && !r.latch)
    }

    @Test("durations and delays are read in seconds", arguments: [
        ("10s", 10.0), ("2min", 120.0), ("1.5 min", 90.0), ("500ms", 0.5), ("1h", 3600.0),
    ])
    func durations(text: String, seconds: Double) throws {
        let set = try RulesSupport.parse("rule r on temperature.* { signal alarm when value > 50°C for \(text) clear after \(text) }")
        #expect(set.rules[0].onDelay == seconds)
        #expect(set.rules[0].offDelay == seconds)
        #expect(set.longestHorizon == seconds)
    }

    @Test("syntax and type errors name file:line:column and what was expected", arguments: [
        ("rule r on residual_current.* {\n  signal alarm\n  when value >=\n}", 4, 1, "expected a value"),
        ("rule r on residual_current.* {\n  signal alarm\n  when value >= 55°C\n}", 3, 14, "cannot compare or combine mA with °C"),
        ("rule r on residual_current.* {\n  signal alarm\n  when foo(3)\n}", 3, 8, "unknown function 'foo'"),
        ("rule r on residual_current.* {\n  signal alarm\n  when valeu > 3\n}", 3, 8, "unknown name 'valeu'"),
        ("rule r on leakage.* {\n  signal alarm\n  when value > 3\n}", 1, 11, "not a channel pattern"),
        ("rule r on temperature.* {\n  signal alarm\n  when value > 50°C for 10\n}", 3, 25, "duration unit"),
        ("rule r on temperature.* {\n  signal siren\n  when value > 50°C\n}", 2, 10, "expected alarm, prealarm or fault"),
        ("rule r on temperature.* {\n  signal alarm\n}", 1, 6, "has no `when`"),
        ("rule r on temperature.* {\n  signal alarm\n  when value\n}", 3, 8, "must be a condition"),
        ("rule r on state.temperature.* {\n  signal fault\n  when state == 3\n}", 3, 14, "compares only with a state name"),
        ("rule r on temperature.* {\n  signal alarm\n  when value > 50°C\n  title \"{nope}\"\n}", 4, 9, "unknown placeholder"),
        ("rule r on temperature.* {\n  signal alarm\n  when value > 50°C and value < 60°C\n  deadband 2°C\n}", 4, 12, "one comparison"),
        ("rule r on temperature.* {\n  signal alarm\n  when \"x\" == 1\n}", 3, 8, "string"),
        ("rule r on device {\n  signal fault\n  when value > 1\n}", 3, 8, "not defined in a device rule"),
        ("rule r on temperature.* {\n  signal alarm\n  when silence > 60\n}", 3, 16, "needs a unit"),
        ("rule r on temperature.* {\n  signal alarm\n  bogus\n}", 3, 3, "expected a clause"),
        ("rule r on temperature.* {\n  signal alarm\n  when value > 50°C\n", 4, 1, "expected a clause"),
        ("rule r on temperature.* {\n  signal alarm\n  when value > 50 @\n}", 3, 19, "unexpected character"),
        ("rule r on temperature.* {\n  signal alarm\n  when avg(value) > 50°C\n}", 3, 12, "window length"),
        ("rule r on temperature.* {\n  signal alarm\n  when avg(2000h) > 50°C\n}", 3, 12, "longer than 24 h"),
        ("rule r on temperature.*, residual_current.* {\n  signal alarm\n  when value > 50\n}", 1, 26, "share a unit"),
        ("rule r on temperature.*, state.temperature.* {\n  signal alarm\n  when value > 50\n}", 1, 6, "not both"),
    ])
    func errors(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try RuleSet.parse(text, file: "pack.rules")
            Issue.record("expected an error containing '\(message)'")
        } catch {
            let e = error.errors[0]
            #expect(e.file == "pack.rules")
            #expect(e.line == line, "\(e)")
            #expect(e.column == column, "\(e)")
            #expect(e.message.contains(message), "\(e)")
        }
    }

    @Test("every rule with an error is reported in one pass")
    func manyErrors() {
        let text = """
        rule a on temperature.* { signal alarm when value > }
        rule b on temperature.* { signal alarm when value > 50°C }
        rule c on temperature.* { signal alarm when nope }
        rule b on temperature.* { signal alarm when value > 50°C }
        """
        #expect(throws: ConfigErrors.self) { try RuleSet.parse(text, file: "x.rules") }
        do { _ = try RuleSet.parse(text, file: "x.rules") } catch {
            #expect(error.errors.count == 3, "\(error)")
            #expect(error.errors.map(\.line) == [1, 3, 4])
        }
    }

    @Test("units convert to the channel's canonical unit")
    func units() throws {
        let set = try RulesSupport.parse("rule r on residual_current.* { signal alarm when value >= 0.3A }")
        var events: [EngineEvent] = []
        let engine = RuleEngine(rules: set)
        engine.process(RulesSupport.number("d", "residual_current.1", 299, at: 0), monotonic: 0, into: &events)
        #expect(events.isEmpty)
        engine.process(RulesSupport.number("d", "residual_current.1", 300, at: 1), monotonic: 1, into: &events)
        #expect(events.count == 1)
    }

    @Test("the default pack loads and lints clean")
    func defaultPack() throws {
        let set = try RulesSupport.defaultPack()
        #expect(set.rules.count >= 10)
        #expect(RuleLint.check(set).isEmpty)
        #expect(RuleLint.warnings(set).isEmpty, "\(RuleLint.warnings(set))")
        #expect(set.longestHorizon == 60)
    }

    @Test("lint: a rule that can never fire and inconsistent hazard kinds are errors")
    func lint() throws {
        let set = try RulesSupport.parse("""
        rule never on temperature.* { signal alarm when 1 > 2 kind t_over }
        rule a on temperature.* { signal alarm severity high when value > 60°C kind t_over }
        rule b on state.temperature.* { signal alarm severity low when state == alarm kind t_over }
        """)
        let errors = RuleLint.check(set)
        #expect(errors.count == 2)
        #expect(errors[0].message.contains("can never fire"))
        #expect(errors[1].message.contains("inconsistently") && errors[1].line == 3)
    }

    @Test("lint: contradicting bounds or states in one `and` can never fire", arguments: [
        ("rule r on residual_current.* { signal alarm when value > 500mA and value < 0.3A }", true),
        ("rule r on residual_current.* { signal alarm when value >= 300mA and value <= 300mA }", false),
        ("rule r on residual_current.* { signal alarm when value > 300mA and value < 300mA }", true),
        ("rule r on residual_current.* { signal alarm when 300mA < value and value < 400mA }", false),
        ("rule r on residual_current.* { signal alarm when 300mA < value and value < 200mA }", true),
        ("rule r on state.temperature.* { signal fault when state == fault_open and state == fault_short }", true),
        ("rule r on state.temperature.* { signal fault when state == fault_open or state == fault_short }", false),
    ])
    func contradictions(text: String, never: Bool) throws {
        let errors = RuleLint.check(try RulesSupport.parse(text))
        #expect(errors.contains { $0.message.contains("can never fire") } == never, "\(errors)")
    }

    @Test("lint warns when an on-delay breaks the GB 50166 time budget")
    func budget() throws {
        let set = try RulesSupport.parse("rule slow on residual_current.* { signal alarm when value >= 300mA for 30s }")
        #expect(RuleLint.warnings(set).first?.message.contains("30 s") == true)
    }

    @Test("required channels: a rule reading a state channel needs the profile to provide it")
    func required() throws {
        let set = try RulesSupport.defaultPack()
        let missing = set.missingChannels(provided: ["temperature.1", "residual_current.1"])
        #expect(missing.contains { $0.rule == "cable_temperature_alarm" && $0.channel == "state.temperature.1" })
        #expect(set.missingChannels(provided: ["temperature.1", "state.temperature.1"]).isEmpty)
        #expect(set.rules(watching: "arc.3") == ["fault_arc_alarm"])
    }

    @Test("titles render device, channel label, value and set value in Chinese")
    func titles() {
        let (t, _) = TitleTemplate.parse("{device}:{channel_label}={value}/{setpoint}{unit} {state}")
        let s = t!.render(.init(device: "D1", channel: "temperature.2", value: 56.25, setpoint: 56, unit: "°C",
                                state: .faultOpen, rule: "r"))
        #expect(s == "D1:温度2=56.25/56°C 探头开路")
        #expect(TitleTemplate.label(channel: "state.residual_current.1") == "剩余电流1状态")
        #expect(TitleTemplate.label(channel: "voltage.a") == "电压A相")
    }
}
