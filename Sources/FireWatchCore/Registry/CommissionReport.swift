import Foundation

/// The commissioning record of one detector (`device commission`): who, when, which device at which
/// premises, every value read, every check with its result. Stored as JSON in `devices.commission_report`
/// and written as JSON and printable HTML.
public struct CommissionReport: Sendable, Equatable, Codable {
    public struct Check: Sendable, Equatable, Codable {
        /// Stable key, e.g. `read`, `temperature.1`, `residual_current.1`, `state.temperature.2`, `selftest`, `test_alarm`.
        public var id: String
        /// Chinese title of the check.
        public var title: String
        /// nil when the check does not apply (e.g. no self-test in the profile).
        public var passed: Bool?
        public var detail: String
        /// What to do when it failed (Chinese, for the technician).
        public var fix: String?

        public init(id: String, title: String, passed: Bool?, detail: String, fix: String? = nil) {
            self.id = id
            self.title = title
            self.passed = passed
            self.detail = detail
            self.fix = fix
        }
    }

    public struct Value: Sendable, Equatable, Codable {
        public var channel: String
        public var value: Double?
        public var unit: String
        public var state: String

        public init(channel: String, value: Double?, unit: String, state: String) {
            self.channel = channel
            self.value = value
            self.unit = unit
            self.state = state
        }
    }

    public struct DeviceInfo: Sendable, Equatable, Codable {
        public var id: String
        public var profile: String
        public var transport: String
        public var location: String
        public var cable: String?
        public var setpoints: [String: Double]
    }

    public struct PremisesInfo: Sendable, Equatable, Codable {
        public var platformID: String
        public var qrCode: String
        public var name: String
        public var address: String

        enum CodingKeys: String, CodingKey { case platformID = "platform_id", qrCode = "qr_code", name, address }
    }

    public struct TestAlarm: Sendable, Equatable, Codable {
        /// `governance` (stored straight into the local governance database) or `edge` (through the edge journal and uplink).
        public var route: String
        public var edge: String
        public var sequence: Int64
        public var confirmed: Bool
        public var detail: String

        public init(route: String, edge: String, sequence: Int64, confirmed: Bool, detail: String) {
            self.route = route
            self.edge = edge
            self.sequence = sequence
            self.confirmed = confirmed
            self.detail = detail
        }
    }

    public var by: String
    /// Seconds since 1970.
    public var time: Double
    public var device: DeviceInfo
    public var premises: PremisesInfo
    public var values: [Value]
    public var deviceSetpoints: [String: Double]?
    public var checks: [Check]
    public var testAlarm: TestAlarm?

    /// True when no check failed (skipped ones do not count).
    public var passed: Bool { !checks.contains { $0.passed == false } }
    public var failures: [Check] { checks.filter { $0.passed == false } }

    enum CodingKeys: String, CodingKey {
        case by, time, device, premises, values, checks, passed
        case deviceSetpoints = "device_setpoints", testAlarm = "test_alarm"
    }

    public init(by: String, time: Double, device: Device, premises: Premises, values: [Value], deviceSetpoints: [String: Double]?,
                checks: [Check], testAlarm: TestAlarm?) {
        self.by = by
        self.time = time
        self.device = DeviceInfo(id: device.id, profile: device.profileID, transport: device.transport.description,
                                 location: device.location, cable: device.cable?.rawValue, setpoints: device.setpoints)
        self.premises = PremisesInfo(platformID: premises.platformID, qrCode: premises.qrCode, name: premises.name, address: premises.address)
        self.values = values
        self.deviceSetpoints = deviceSetpoints
        self.checks = checks
        self.testAlarm = testAlarm
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        by = try c.decode(String.self, forKey: .by)
        time = try c.decode(Double.self, forKey: .time)
        device = try c.decode(DeviceInfo.self, forKey: .device)
        premises = try c.decode(PremisesInfo.self, forKey: .premises)
        values = try c.decode([Value].self, forKey: .values)
        deviceSetpoints = try c.decodeIfPresent([String: Double].self, forKey: .deviceSetpoints)
        checks = try c.decode([Check].self, forKey: .checks)
        testAlarm = try c.decodeIfPresent(TestAlarm.self, forKey: .testAlarm)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(by, forKey: .by)
        try c.encode(time, forKey: .time)
        try c.encode(device, forKey: .device)
        try c.encode(premises, forKey: .premises)
        try c.encode(values, forKey: .values)
        try c.encodeIfPresent(deviceSetpoints, forKey: .deviceSetpoints)
        try c.encode(checks, forKey: .checks)
        try c.encodeIfPresent(testAlarm, forKey: .testAlarm)
        try c.encode(passed, forKey: .passed)
    }

    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? String(decoding: e.encode(self), as: UTF8.self)) ?? "{}"
    }
}

/// Plausibility checks on a live read at rest (issue 7): temperatures −10…60 °C, residual current
/// below its pre-alarm, no fault or alarm states, every measured channel the loaded rules watch answering,
/// set values on the device equal to the registered ones; and whether the rules can alarm on the profile at all.
public enum CommissionChecks {
    public static let restTemperature: ClosedRange<Double> = -10...60
    /// Pre-alarm as a share of the alarm set value (GB practice: warning level below the alarm).
    public static let preAlarmShare = 0.8
    /// Alarm set value assumed when none is registered (GB 51348-2019 §13.5.6).
    public static let defaultResidualAlarm = 300.0

    /// Whether the loaded rules watch the profile's channels (`rules`): fails when no alarm or pre-alarm rule does;
    /// its detail names the rules that watch it, those that never fire for it and reads it lacks.
    public static func rules(_ coverage: RuleCoverage) -> CommissionReport.Check {
        guard coverage.canAlarm else {
            return .init(id: "rules", title: "报警规则监视该探测器的通道", passed: false, detail: coverage.noAlarmReason,
                         fix: "核对型号（profile）是否与探测器一致，或用 --rules 指定边缘网关实际运行的规则目录")
        }
        let detail = (["监视本机通道的规则（\(coverage.watching.count) 条）：" + coverage.watching.map(\.rule).joined(separator: "、")] + coverage.warnings)
            .joined(separator: "；")
        return .init(id: "rules", title: "报警规则监视该探测器的通道", passed: true, detail: detail)
    }

    /// The checks of one live read; `coverage` says which measured channels the loaded rules watch.
    public static func evaluate(_ probe: ProbeResult, device: Device, coverage: RuleCoverage) -> [CommissionReport.Check] {
        var checks: [CommissionReport.Check] = []
        let fmt = RegistrationPolicy.fmt
        for channel in coverage.watchedMeasuredChannels {
            guard let v = probe.channels[channel] else {
                checks.append(.init(id: channel, title: "通道 \(channel) 有读数", passed: false, detail: "设备未返回该通道",
                                    fix: "检查型号（profile）是否与探测器一致"))
                continue
            }
            if channel.hasPrefix("temperature.") {
                if let t = v.value {
                    let ok = restTemperature.contains(t)
                    checks.append(.init(id: channel, title: "温度 \(channel) 在 −10…60 °C 之间", passed: ok,
                                        detail: "\(fmt(t)) °C", fix: ok ? nil : "检查测温探头是否接好、安装位置是否靠近热源；冷态下读数应在 −10…60 °C"))
                } else {
                    checks.append(.init(id: channel, title: "温度 \(channel) 有有效读数", passed: false, detail: "无效读数（\(v.state)）",
                                        fix: "测温探头可能开路或短路：检查探头接线"))
                }
            } else if channel.hasPrefix("residual_current.") {
                let alarm = device.setpoints[channel] ?? defaultResidualAlarm
                let pre = alarm * preAlarmShare
                if let i = v.value {
                    let ok = i < pre
                    checks.append(.init(id: channel, title: "剩余电流 \(channel) 低于预警值 \(fmt(pre)) mA", passed: ok,
                                        detail: "\(fmt(i)) mA（报警设定 \(fmt(alarm)) mA）",
                                        fix: ok ? nil : "线路漏电偏大：排查该回路绝缘和负载，或核对互感器安装后再调试"))
                } else {
                    checks.append(.init(id: channel, title: "剩余电流 \(channel) 有有效读数", passed: false, detail: "无效读数（\(v.state)）",
                                        fix: "互感器可能断线或短路：检查互感器接线"))
                }
            } else if v.value == nil && v.state == "normal" {
                checks.append(.init(id: channel, title: "通道 \(channel) 有读数", passed: false, detail: "无效读数", fix: "检查该通道接线"))
            }
        }
        for (name, v) in probe.channels.sorted(by: { $0.key < $1.key }) where v.state != "normal" {
            let state = DetectorState(rawValue: v.state)
            let label = state?.label ?? v.state
            let isFault = state?.signalClass == .fault
            checks.append(.init(id: "state.\(name)", title: "通道 \(name) 无故障、无报警", passed: false,
                                detail: "探测器报告：\(label)",
                                fix: isFault ? "排除故障（\(label)）：检查该通道的探头或互感器接线" : "现场处于报警状态：先排除原因并复位探测器"))
        }
        if !probe.channels.contains(where: { $0.value.state != "normal" }) {
            checks.append(.init(id: "states", title: "各通道无故障、无报警", passed: true, detail: "全部正常"))
        }
        if let onDevice = probe.setpoints {
            for (channel, registered) in device.setpoints.sorted(by: { $0.key < $1.key }) {
                guard let actual = onDevice[channel] else { continue }
                let ok = abs(actual - registered) < 0.5
                checks.append(.init(id: "setpoint.\(channel)", title: "设备上 \(channel) 设定值与登记一致", passed: ok,
                                    detail: "设备 \(fmt(actual))，登记 \(fmt(registered))",
                                    fix: ok ? nil : "用厂家工具（需密码）把设定值改为 \(fmt(registered))，或按实际值重新登记"))
            }
        }
        return checks
    }
}
