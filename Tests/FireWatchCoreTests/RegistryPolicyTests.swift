import FireWatchCore
import Testing

@Suite("Registration policy and commissioning checks")
struct RegistrationPolicyTests {
    static let modbus = ProfileCapabilities(
        id: "generic-1r4t", transport: .modbus,
        channels: ["residual_current.1", "temperature.1", "temperature.2", "state.temperature.1", "voltage.a"],
        setpointRanges: ["residual_current.1": 30...1000, "temperature.1": 40...140, "temperature.2": 40...140])
    static let mqtt = ProfileCapabilities(id: "mqtt-json", transport: .mqtt, channels: ["residual_current.1", "temperature.1"])

    func request(_ t: Transport = .modbusRTU(bus: "A", unit: 3), setpoints: [String: Double] = [:],
                 cable: Device.CableClass? = nil, location: String = "A区12号") -> RegistrationRequest {
        RegistrationRequest(premises: "QR1", profile: "generic-1r4t", transport: t, location: location, setpoints: setpoints,
                            cable: cable, actor: "t")
    }

    func code(_ r: RegistrationRequest, _ p: ProfileCapabilities = modbus) -> String? {
        do { _ = try RegistrationPolicy.check(r, profile: p); return nil } catch { return error.code }
    }

    @Test("a sound registration passes, with warnings for values outside the recommended band")
    func sound() throws {
        let w = try RegistrationPolicy.check(request(setpoints: ["residual_current.1": 300, "temperature.1": 55], cable: .pvc),
                                             profile: Self.modbus)
        #expect(w.isEmpty)
        let w2 = try RegistrationPolicy.check(request(setpoints: ["residual_current.1": 100]), profile: Self.modbus)
        #expect(w2.count == 1)
    }

    @Test("each kind of bad input is refused with its own code")
    func refusals() {
        #expect(code(request(.mqtt(deviceID: "x"))) == "transport_mismatch")
        #expect(code(request(.modbusRTU(bus: "A", unit: 3)), Self.mqtt) == "transport_mismatch")
        #expect(code(request(.modbusRTU(bus: "A", unit: 0))) == "bad_address")
        #expect(code(request(.modbusRTU(bus: "A", unit: 248))) == "bad_address")
        #expect(code(request(.modbusTCP(host: "h", port: 70000, unit: 1))) == "bad_address")
        #expect(code(request(location: " ")) == "location")
        #expect(code(request(setpoints: ["residual_current.1": 1500])) == "setpoint_range")
        #expect(code(request(setpoints: ["residual_current.1": 3])) == "setpoint_range")
        #expect(code(request(setpoints: ["residual_current.1": 20])) == "setpoint_range")   // profile range 30–1000
        #expect(code(request(setpoints: ["temperature.1": 60], cable: .pvc)) == "setpoint_range")  // > 56 °C
        #expect(code(request(setpoints: ["temperature.1": 70])) == "setpoint_range")   // no cable: PVC limits
        #expect(code(request(setpoints: ["temperature.1": 40], cable: .xlpe)) == "setpoint_range")  // < 45 °C
        #expect(code(request(setpoints: ["temperature.3": 55])) == "setpoint_channel")  // not in profile
        #expect(code(request(setpoints: ["voltage.a": 250])) == "setpoint_channel")     // no set-value register
        #expect(code(request(setpoints: ["state.temperature.1": 1])) == "setpoint_channel")
        #expect(code(request(setpoints: ["bogus": 1])) == "setpoint_channel")
    }

    @Test("a generic: Modbus parameter string resolves to its channels and set values; a broken one is refused")
    func genericProfile() throws {
        let id = "generic:residual_current.1=0x0000*0.1;temperature.1-4=0x0001*0.1-50;set.residual_current.1=0x0020*0.1;period=5"
        let p = try ProfileCatalog.resolve(id, in: [:]).get()
        #expect(p.transport == .modbus && p.channels.contains("temperature.4") && p.setpointRanges.keys.contains("residual_current.1"))
        _ = try RegistrationPolicy.check(request(setpoints: ["residual_current.1": 300]), profile: p)
        if case .success = ProfileCatalog.resolve("generic:nonsense", in: [:]) { Issue.record("a broken generic string resolved") }
        if case .success = ProfileCatalog.resolve("nope", in: [:]) { Issue.record("an unknown id resolved") }
    }

    @Test("XLPE cable allows up to 72 °C")
    func xlpe() throws {
        _ = try RegistrationPolicy.check(request(setpoints: ["temperature.1": 70], cable: .xlpe), profile: Self.modbus)
    }

    static func probe(_ channels: [String: ProbeResult.ChannelValue], setpoints: [String: Double]? = nil) -> ProbeResult {
        ProbeResult(profile: "generic-1r4t", unit: 3, channels: channels, setpoints: setpoints, time: nil)
    }

    static let device = Device(id: "D1", profileID: "generic-1r4t", premisesID: "P1", transport: .modbusRTU(bus: "A", unit: 3),
                               setpoints: ["residual_current.1": 300, "temperature.1": 55])

    @Test("a detector at rest passes every check")
    func healthy() throws {
        let checks = CommissionChecks.evaluate(Self.probe([
            "residual_current.1": .init(value: 40, unit: "mA", state: "normal"),
            "temperature.1": .init(value: 28, unit: "°C", state: "normal"),
            "temperature.2": .init(value: 31, unit: "°C", state: "normal"),
        ], setpoints: ["residual_current.1": 300, "temperature.1": 55]), device: Self.device,
           coverage: RuleCoverage(rules: try RulesSupport.defaultPack(), profile: Self.modbus))
        #expect(!checks.contains { $0.passed == false })
        #expect(checks.contains { $0.id == "setpoint.residual_current.1" && $0.passed == true })
    }

    @Test("an open probe, a hot terminal, leakage above pre-alarm and a wrong set value each fail with a fix")
    func failures() throws {
        let checks = CommissionChecks.evaluate(Self.probe([
            "residual_current.1": .init(value: 260, unit: "mA", state: "normal"),     // pre-alarm 240 mA
            "temperature.1": .init(value: 75, unit: "°C", state: "normal"),
            "temperature.2": .init(value: nil, unit: "°C", state: "fault_open"),
        ], setpoints: ["residual_current.1": 500]), device: Self.device,
           coverage: RuleCoverage(rules: try RulesSupport.defaultPack(), profile: Self.modbus))
        let failed = Set(checks.filter { $0.passed == false }.map(\.id))
        #expect(failed == ["residual_current.1", "temperature.1", "temperature.2", "state.temperature.2", "setpoint.residual_current.1"])
        #expect(checks.filter { $0.passed == false }.allSatisfy { ($0.fix ?? "").isEmpty == false })
    }

    @Test("the HTML report escapes text and says whether it passed")
    func html() {
        let report = CommissionReport(by: "<script>", time: 0, device: Self.device,
                                      premises: Premises(platformID: "P1", qrCode: "Q", name: "陈记&五金", kind: .marketStall),
                                      values: [], deviceSetpoints: nil,
                                      checks: [.init(id: "read", title: "读取", passed: false, detail: "timeout", fix: "检查接线")],
                                      testAlarm: nil)
        let html = CommissionReportHTML.render(report, localTime: "2026-12-04 07:00:00")
        #expect(html.contains("&lt;script&gt;") && !html.contains("<script>"))
        #expect(html.contains("陈记&amp;五金"))
        #expect(html.contains("调试不合格"))
        #expect(html.contains("@media print"))
    }
}
