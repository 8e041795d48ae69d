import Foundation

/// What registration and commissioning need to know of a profile, whatever its transport:
/// the canonical channels it provides, the set values it has and their ranges, whether it has a self-test.
public struct ProfileCapabilities: Sendable, Equatable {
    public enum TransportKind: String, Sendable, Equatable {
        case modbus, mqtt
    }

    public var id: String
    public var name: String
    public var transport: TransportKind
    public var channels: Set<String>
    /// Set-value channels and the range the device accepts (nil: no range given by the profile).
    public var setpointRanges: [String: ClosedRange<Double>?]
    public var hasSelfTest: Bool

    public init(id: String, name: String = "", transport: TransportKind, channels: Set<String>,
                setpointRanges: [String: ClosedRange<Double>?] = [:], hasSelfTest: Bool = false) {
        self.id = id
        self.name = name
        self.transport = transport
        self.channels = channels
        self.setpointRanges = setpointRanges
        self.hasSelfTest = hasSelfTest
    }

    public init(_ p: ModbusProfile) {
        var ranges: [String: ClosedRange<Double>?] = [:]
        for s in p.setpoints { ranges[s.channel.name] = s.range }
        self.init(id: p.id, name: p.name, transport: .modbus, channels: Set(p.channels.map(\.name)), setpointRanges: ranges,
                  hasSelfTest: p.channels.contains { $0.name == "device.selftest" })
    }

    public init(_ p: MQTTProfile) {
        self.init(id: p.id, name: p.summary, transport: .mqtt, channels: Set(p.channels.map(\.name)),
                  hasSelfTest: p.channels.contains { $0.name == "device.selftest" })
    }

    /// Measured channels (not `state.*`, not `device.*`), sorted. Which of them the rules watch is the
    /// loaded rule set's business (`RuleCoverage`).
    public var measuredChannels: [String] {
        channels.filter { !$0.hasPrefix("state.") && !$0.hasPrefix("device.") }.sorted()
    }
}

/// Every profile in `Devices/` as capabilities, keyed by id (Modbus and MQTT).
public enum ProfileCatalog {
    public static func load(directory: String) throws(ConfigErrors) -> [String: ProfileCapabilities] {
        capabilities(of: try ProfileLibrary.load(directory: directory))
    }

    public static func capabilities(of library: ProfileLibrary) -> [String: ProfileCapabilities] {
        library.modbus.mapValues(ProfileCapabilities.init).merging(library.mqtt.mapValues(ProfileCapabilities.init)) { a, _ in a }
    }

    /// A profile by id: one of `catalog`, or a `generic:` Modbus parameter string (docs/modbus-profiles.md).
    public static func resolve(_ id: String, in catalog: [String: ProfileCapabilities]) -> Result<ProfileCapabilities, RegistrationProblem> {
        if let p = catalog[id] { return .success(p) }
        if id.hasPrefix("generic:") {
            do { return .success(ProfileCapabilities(try ModbusProfile.generic(parameters: id))) } catch {
                return .failure(RegistrationProblem("profile_unknown", "generic profile '\(id)' is not valid: \(error)"))
            }
        }
        return .failure(RegistrationProblem("profile_unknown",
            "no profile '\(id)' in the profiles folder; known: \(catalog.keys.sorted().joined(separator: ", ")) (or generic:…)"))
    }
}
