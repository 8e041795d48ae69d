import FireWatchCore
import Testing

/// `RegistrationPolicy.checkRules` and the commissioning checks ask the loaded rule set which channels it
/// watches (`RuleCoverage`), not a fixed list.
@Suite("Rule coverage of a profile (registration and commissioning)")
struct RuleCoverageTests {
    /// Residual current only: no temperature, no arc, no phases.
    static let residualOnly = ProfileCapabilities(id: "rc-only", transport: .modbus,
                                                  channels: ["residual_current.1", "state.residual_current.1"])
    static let fourChannel = RegistrationPolicyTests.modbus   // residual_current.1, temperature.1-2, state.temperature.1, voltage.a

    func refusal(_ profile: ProfileCapabilities, _ rules: RuleSet) -> RegistrationProblem? {
        do { _ = try RegistrationPolicy.checkRules(profile: profile, rules: rules); return nil } catch { return error }
    }

    @Test("a profile lacking temperature channels: the default rules warn that the temperature rules never fire, by rule id")
    func temperatureRulesNeverFire() throws {
        let rules = try RulesSupport.defaultPack()
        let warnings = try RegistrationPolicy.checkRules(profile: Self.residualOnly, rules: rules)
        let temperature = try #require(warnings.first { $0.contains(" temperature.* ") }, "\(warnings)")
        #expect(temperature.contains("cable_temperature_alarm、cable_temperature_prealarm") && temperature.contains("永不触发"))
        #expect(temperature.contains("rc-only"))
        let stateTemperature = try #require(warnings.first { $0.contains("state.temperature.*") }, "\(warnings)")
        #expect(stateTemperature.contains("cable_temperature_detector_alarm") && stateTemperature.contains("temperature_probe_fault"))
        #expect(warnings.contains { $0.contains("arc.*") && $0.contains("fault_arc_alarm") })
        // Rules that do watch it and the device-level comm-loss rule are not reported.
        #expect(!warnings.contains { $0.contains("residual_current_alarm") || $0.contains("comm_loss") })
        // A profile with temperature channels gets no temperature.* warning from the same rules.
        let four = try RegistrationPolicy.checkRules(profile: Self.fourChannel, rules: rules)
        #expect(!four.contains { $0.contains(" temperature.* ") }, "\(four)")
        #expect(four.contains { $0.contains("arc.*") })
    }

    @Test("`temperature.*` matches temperature.N only: a profile with state.temperature.1 alone still lacks the measured rules")
    func patternMatching() throws {
        let c = RuleCoverage(rules: try RulesSupport.defaultPack(), profileID: "flags",
                             channels: ["state.temperature.1", "temperature.1.raw"])
        #expect(c.neverFiring.map(\.rule).contains("cable_temperature_alarm"))
        #expect(c.watching.map(\.rule).sorted() == ["cable_temperature_detector_alarm", "temperature_probe_fault"])
        #expect(c.canAlarm && c.watchedMeasuredChannels.isEmpty)
        #expect(c.deviceRules == ["comm_loss"])
    }

    @Test("a rule reading a state channel the profile lacks is named with the channels (RuleSet.missingChannels)")
    func missingReads() throws {
        let warnings = try RegistrationPolicy.checkRules(profile: Self.fourChannel, rules: try RulesSupport.defaultPack())
        // state.temperature.1 is provided, state.temperature.2 is not.
        let line = try #require(warnings.first { $0.hasPrefix("规则 cable_temperature_alarm ") }, "\(warnings)")
        #expect(line.contains("state.temperature.2") && !line.contains("state.temperature.1"))
        // device.online is emitted by every adapter: a rule reading it misses nothing.
        let online = try RulesSupport.parse("rule r on residual_current.* { signal alarm when value > 300mA and device.online == 1 }")
        #expect(try RegistrationPolicy.checkRules(profile: Self.residualOnly, rules: online).isEmpty)
    }

    @Test("the rule set decides: a pack with one rule on arc.* refuses a detector without arc channels and accepts one with them")
    func customRulesChangeTheOutcome() throws {
        let arcOnly = try RuleSet.parse("rule arc_only on arc.* { signal alarm when value >= 14 }", file: "custom/arc.rules")
        let p = try #require(refusal(Self.fourChannel, arcOnly))
        #expect(p.code == "profile_channels")
        #expect(p.message.contains("custom/arc.rules") && p.message.contains("arc.*") && p.message.contains("generic-1r4t"), "\(p)")
        // The same profile passes the default rules.
        #expect(refusal(Self.fourChannel, try RulesSupport.defaultPack()) == nil)
        let arcDetector = ProfileCapabilities(id: "arc", transport: .modbus, channels: ["arc.1"])
        #expect(try RegistrationPolicy.checkRules(profile: arcDetector, rules: arcOnly).isEmpty)
        // A pack with an alarm on current.* makes a plain meter acceptable, which the default pack refuses.
        let meter = ProfileCapabilities(id: "meter", transport: .modbus, channels: ["voltage.a", "current.a"])
        #expect(refusal(meter, try RulesSupport.defaultPack())?.code == "profile_channels")
        let overload = try RulesSupport.parse("rule overload on current.* { signal alarm when value > 63A }")
        #expect(refusal(meter, overload) == nil)
    }

    @Test("fault rules alone do not make a fire detector: refused, naming the fault rule")
    func faultOnly() throws {
        let rules = try RulesSupport.parse("""
            rule v on state.voltage.* { signal fault when state == phase_loss }
            rule rc on residual_current.* { signal alarm when value > 300mA }
            """)
        let p = try #require(refusal(ProfileCapabilities(id: "v", transport: .mqtt, channels: ["state.voltage.a"]), rules))
        #expect(p.code == "profile_channels" && p.message.contains("只有故障规则 v") && p.message.contains("residual_current.*"), "\(p)")
    }

    @Test("commissioning reads the measured channels the loaded rules watch, and fails a profile no alarm rule watches")
    func commissioning() throws {
        let device = Device(id: "M1", profileID: "meter", premisesID: "P1", transport: .modbusRTU(bus: "A", unit: 3))
        let meter = ProfileCapabilities(id: "meter", transport: .modbus, channels: ["voltage.a", "current.a", "residual_current.1"])
        let probe = ProbeResult(profile: "meter", unit: 3, channels: ["voltage.a": .init(value: 220, unit: "V", state: "normal"),
                                                                       "residual_current.1": .init(value: 40, unit: "mA", state: "normal")],
                                setpoints: nil, time: nil)
        let overload = RuleCoverage(rules: try RulesSupport.parse("rule overload on current.* { signal alarm when value > 63A }"),
                                    profile: meter)
        #expect(overload.watchedMeasuredChannels == ["current.a"])
        let checks = CommissionChecks.evaluate(probe, device: device, coverage: overload)
        #expect(checks.contains { $0.id == "current.a" && $0.passed == false }, "\(checks)")
        #expect(!checks.contains { $0.id == "residual_current.1" })
        #expect(CommissionChecks.rules(overload).passed == true)
        let defaults = RuleCoverage(rules: try RulesSupport.defaultPack(), profile: meter)
        let withDefaults = CommissionChecks.evaluate(probe, device: device, coverage: defaults)
        #expect(!withDefaults.contains { $0.id == "current.a" } && withDefaults.contains { $0.id == "residual_current.1" && $0.passed == true })
        let rulesCheck = CommissionChecks.rules(defaults)
        #expect(rulesCheck.passed == true && rulesCheck.detail.contains("cable_temperature_alarm") && rulesCheck.detail.contains("永不触发"))
        let arcOnly = RuleCoverage(rules: try RulesSupport.parse("rule arc_only on arc.* { signal alarm when value >= 14 }"), profile: meter)
        let failed = CommissionChecks.rules(arcOnly)
        #expect(failed.passed == false && failed.detail.contains("test.rules") && failed.fix?.isEmpty == false)
    }
}
