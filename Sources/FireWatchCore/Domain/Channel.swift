/// A canonical channel name from the vocabulary in docs/channels.md (../shared/domain.md §2),
/// e.g. `residual_current.1`, `temperature.3`, `voltage.a`, `state.temperature.2`, `device.online`.
///
/// Every profile maps onto these names and every rule speaks them; nothing else enters the engine.
public struct Channel: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let name: String

    /// The measured quantity a channel carries, which fixes its unit.
    public enum Quantity: String, Sendable, CaseIterable {
        case residualCurrent = "residual_current"
        case temperature
        case current
        case voltage
        case power
        case energy
        case powerFactor = "power_factor"
        case arc
        case state
        case device

        public var unit: MeasurementUnit {
            switch self {
            case .residualCurrent: .milliampere
            case .temperature: .celsius
            case .current: .ampere
            case .voltage: .volt
            case .power: .kilowatt
            case .energy: .kilowattHour
            case .powerFactor, .arc, .state, .device: .none
            }
        }
    }

    /// Device-level channels that exist without an index.
    public static let deviceChannels: Set<String> = ["device.online", "device.signal", "device.selftest"]
    /// Scalar channels that exist without an index.
    public static let scalarChannels: Set<String> = ["power", "energy", "power_factor"]

    public init(_ name: String) throws(ChannelError) {
        guard Channel.isValid(name) else { throw ChannelError.notInVocabulary(name) }
        self.name = name
    }

    /// For literals known to be valid at compile time (tests, built-in defaults).
    public init(unchecked name: String) { self.name = name }

    public var description: String { name }
    public static func < (a: Channel, b: Channel) -> Bool { a.name < b.name }

    public var quantity: Quantity {
        let head = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
        return Quantity(rawValue: head) ?? .device
    }

    public var unit: MeasurementUnit { quantity.unit }

    /// `true` for `state.*` channels, which carry a `DetectorState` rather than a number.
    public var isState: Bool { name.hasPrefix("state.") }

    /// For `state.temperature.2`, the measured channel `temperature.2` it describes.
    public var stateSubject: Channel? {
        guard isState else { return nil }
        return Channel(unchecked: String(name.dropFirst("state.".count)))
    }

    /// The `state.*` channel that describes this measured channel.
    public var stateChannel: Channel { Channel(unchecked: "state." + name) }

    /// Checks a name against the vocabulary: quantity, then an index (1...64) or a phase (a|b|c).
    public static func isValid(_ name: String) -> Bool {
        if deviceChannels.contains(name) || scalarChannels.contains(name) { return true }
        if name.hasPrefix("state.") {
            let rest = String(name.dropFirst(6))
            return rest.hasPrefix("device") ? false : (scalarChannels.contains(rest) || isIndexed(rest))
        }
        return isIndexed(name)
    }

    private static func isIndexed(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let quantity = Quantity(rawValue: String(parts[0])) else { return false }
        let suffix = String(parts[1])
        switch quantity {
        case .residualCurrent, .temperature, .arc:
            guard let n = Int(suffix) else { return false }
            return (1...64).contains(n)
        case .current, .voltage:
            if ["a", "b", "c"].contains(suffix) { return true }
            guard let n = Int(suffix) else { return false }
            return (1...64).contains(n)
        default:
            return false
        }
    }
}

public enum ChannelError: Error, Equatable, CustomStringConvertible {
    case notInVocabulary(String)
    public var description: String {
        switch self {
        case .notInVocabulary(let name):
            "'\(name)' is not a canonical channel; expected e.g. residual_current.1, temperature.2, "
                + "current.a, voltage.b, arc.1, power, state.temperature.1 or device.online (docs/channels.md)"
        }
    }
}

/// Units of the canonical vocabulary. Values inside firewatch are always in these units.
public enum MeasurementUnit: String, Sendable, Codable, CaseIterable {
    case milliampere = "mA"
    case celsius = "°C"
    case ampere = "A"
    case volt = "V"
    case kilowatt = "kW"
    case kilowattHour = "kWh"
    case none = ""
}
