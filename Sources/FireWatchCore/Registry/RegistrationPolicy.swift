import Foundation

/// A technician's request to bind a detector to a premises (`device register`, later the phone form).
public struct RegistrationRequest: Sendable, Equatable, Codable {
    /// Platform id or QR code of the premises.
    public var premises: String
    public var profile: String
    public var transport: Transport
    public var location: String
    /// Set values by canonical channel in canonical units (mA, °C).
    public var setpoints: [String: Double]
    public var cable: Device.CableClass?
    /// Device id; derived from premises and address when nil.
    public var id: String?
    public var serial: String?
    public var actor: String

    public init(premises: String, profile: String, transport: Transport, location: String, setpoints: [String: Double] = [:],
                cable: Device.CableClass? = nil, id: String? = nil, serial: String? = nil, actor: String) {
        self.premises = premises
        self.profile = profile
        self.transport = transport
        self.location = location
        self.setpoints = setpoints
        self.cable = cable
        self.id = id
        self.serial = serial
        self.actor = actor
    }
}

/// Why a registration (or move) was refused: a stable code, what is wrong and what to do.
public struct RegistrationProblem: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The pure checks behind `device register`: set values inside the standard's and the profile's ranges
/// (../shared/domain.md §3), a transport that fits the profile (`check`), and a profile that gives the
/// loaded rules something to watch (`checkRules`). Store lookups (premises, unit in use) are passed in as values.
public enum RegistrationPolicy {
    /// Residual-current set values detectors accept: 6–1000 mA (Acrel ranges); the standard asks ≤ 1000 mA.
    public static let residualCurrentRange: ClosedRange<Double> = 6...1000
    /// The recommended band (GB 50116-2013 §9.2.3): outside it registration warns.
    public static let residualCurrentRecommended: ClosedRange<Double> = 300...500
    /// Below this a temperature alarm fires on a warm day at rest (plausible rest temperatures reach 60 °C… for
    /// terminals in a hot box; 45 °C is the lowest setting that is not a false-alarm generator).
    public static let temperatureMinimum: Double = 45

    /// Temperature alarm band for a cable class: 70–80 % of its rated conductor temperature (GB 51348-2019 §13.5.6).
    public static func temperatureBand(_ cable: Device.CableClass) -> ClosedRange<Double> {
        (cable.ratedTemperatureCelsius * 0.7)...(cable.ratedTemperatureCelsius * 0.8)
    }

    /// Checks the profile against the loaded rule set: refuses (`profile_channels`) when no alarm or pre-alarm rule
    /// watches any of its channels, so the detector could never warn of a fire; otherwise returns warnings (zh-CN,
    /// with rule ids) for rules that never fire for it and rules that read channels it lacks.
    public static func checkRules(profile: ProfileCapabilities, rules: RuleSet) throws(RegistrationProblem) -> [String] {
        let coverage = RuleCoverage(rules: rules, profile: profile)
        guard coverage.canAlarm else {
            throw RegistrationProblem("profile_channels",
                coverage.noAlarmReason + "。型号提供的通道：\(profile.channels.sorted().joined(separator: "、"))。"
                + "请选择与探测器一致的型号（Devices/ 中的 profile id），或用 --rules 指定边缘网关实际运行的规则目录")
        }
        return coverage.warnings
    }

    /// Checks set values, address and transport. Returns warnings (accepted, worth a look) or throws the first problem.
    public static func check(_ r: RegistrationRequest, profile: ProfileCapabilities) throws(RegistrationProblem) -> [String] {
        var warnings: [String] = []
        switch (profile.transport, r.transport) {
        case (.modbus, .modbusTCP), (.modbus, .modbusRTU), (.mqtt, .mqtt): break
        case (.modbus, .mqtt):
            throw RegistrationProblem("transport_mismatch",
                "profile \(profile.id) is a Modbus profile; give --bus NAME --unit N or --tcp HOST:PORT --unit N, not --mqtt-id")
        case (.mqtt, _):
            throw RegistrationProblem("transport_mismatch",
                "profile \(profile.id) is an MQTT profile; give --mqtt-id ID (the id the detector reports under), not a Modbus address")
        }
        switch r.transport {
        case .modbusTCP(_, let port, let unit):
            guard (1...65535).contains(port) else { throw RegistrationProblem("bad_address", "TCP port \(port) is not in 1–65535") }
            guard (1...247).contains(unit) else {
                throw RegistrationProblem("bad_address", "unit id \(unit) is not a Modbus slave address; use 1–247 (the address set on the detector)")
            }
        case .modbusRTU(let bus, let unit):
            guard !bus.isEmpty else { throw RegistrationProblem("bad_address", "bus name is empty; give the bus name from the edge config") }
            guard (1...247).contains(unit) else {
                throw RegistrationProblem("bad_address", "unit id \(unit) is not a Modbus slave address; use 1–247 (the address set on the detector)")
            }
        case .mqtt(let id):
            guard !id.isEmpty, !id.contains(where: { $0 == "/" || $0 == "+" || $0 == "#" || $0.isWhitespace }) else {
                throw RegistrationProblem("bad_address", "MQTT id '\(id)' must be non-empty without /, +, # or spaces")
            }
        }
        if r.location.trimmingCharacters(in: .whitespaces).isEmpty {
            throw RegistrationProblem("location", "--location is empty; describe where the detector hangs, e.g. A区12号档口配电箱")
        }
        let hasTemperature = r.setpoints.keys.contains { $0.hasPrefix("temperature.") }
        if hasTemperature, r.cable == nil {
            warnings.append("no --cable given: temperature set values checked against PVC (70 °C rated), the stricter class")
        }
        for (name, value) in r.setpoints.sorted(by: { $0.key < $1.key }) {
            guard Channel.isValid(name), !name.hasPrefix("state."), !name.hasPrefix("device.") else {
                throw RegistrationProblem("setpoint_channel",
                    "'\(name)' is not a measured channel; set values are given as CHANNEL=VALUE, e.g. residual_current.1=300")
            }
            guard profile.channels.contains(name) else {
                throw RegistrationProblem("setpoint_channel",
                    "profile \(profile.id) has no channel \(name); its measured channels are \(profile.measuredChannels.joined(separator: ", "))")
            }
            guard value.isFinite else { throw RegistrationProblem("setpoint_range", "set value of \(name) is not a number") }
            let channel = Channel(unchecked: name)
            switch channel.quantity {
            case .residualCurrent:
                guard residualCurrentRange.contains(value) else {
                    throw RegistrationProblem("setpoint_range",
                        "\(name)=\(fmt(value)) mA is outside 6–1000 mA, the set-value range of residual-current detectors "
                        + "(GB 50116 recommends 300–500 mA); give a value in that range")
                }
                if !residualCurrentRecommended.contains(value) {
                    warnings.append("\(name)=\(fmt(value)) mA is outside the recommended 300–500 mA (GB 50116-2013 §9.2.3)")
                }
            case .temperature:
                let cable = r.cable ?? .pvc
                let band = temperatureBand(cable)
                guard value <= band.upperBound else {
                    throw RegistrationProblem("setpoint_range",
                        "\(name)=\(fmt(value)) °C is above 80 % of the \(cable.rawValue.uppercased()) cable's rated \(fmt(cable.ratedTemperatureCelsius)) °C; "
                        + "GB 51348-2019 §13.5.6 asks \(fmt(band.lowerBound))–\(fmt(band.upperBound)) °C")
                }
                guard value >= temperatureMinimum else {
                    throw RegistrationProblem("setpoint_range",
                        "\(name)=\(fmt(value)) °C is below \(fmt(temperatureMinimum)) °C and would alarm at normal operating temperature; "
                        + "use \(fmt(band.lowerBound))–\(fmt(band.upperBound)) °C for \(cable.rawValue.uppercased()) cable")
                }
                if value < band.lowerBound {
                    warnings.append("\(name)=\(fmt(value)) °C is below the \(fmt(band.lowerBound))–\(fmt(band.upperBound)) °C band for \(cable.rawValue.uppercased()) cable")
                }
            default:
                break
            }
            if profile.transport == .modbus {
                guard let entry = profile.setpointRanges[name] else {
                    throw RegistrationProblem("setpoint_channel",
                        "profile \(profile.id) has no set-value register for \(name); it has set values for "
                        + (profile.setpointRanges.keys.sorted().joined(separator: ", ").nonEmpty ?? "no channel"))
                }
                if let range = entry, !range.contains(value) {
                    throw RegistrationProblem("setpoint_range",
                        "\(name)=\(fmt(value)) is outside the range \(fmt(range.lowerBound))–\(fmt(range.upperBound)) the device accepts (profile \(profile.id))")
                }
            }
        }
        return warnings
    }

    /// The default device id when none is given: premises platform id plus the address.
    public static func defaultID(premisesID: String, transport: Transport) -> String {
        switch transport {
        case .mqtt(let id): id
        case .modbusRTU(let bus, let unit): "\(premisesID)-\(bus)-\(unit)"
        case .modbusTCP(let host, let port, let unit): "\(premisesID)-\(host):\(port)-\(unit)"
        }
    }

    public static func fmt(_ v: Double) -> String { v.rounded() == v ? String(Int64(v)) : String(format: "%.1f", v) }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
