/// A raise or clear decided by the rule engine (or reported by a detector, or by supervision),
/// identified across the whole system by (edge id, per-edge sequence number).
public struct AlarmEvent: Sendable, Equatable, Codable {
    public enum Transition: String, Sendable, Codable {
        case raise
        case clear
    }

    public var edgeID: String
    /// Per-edge sequence, assigned and committed durably before the event leaves the edge.
    public var sequence: Int64
    public var device: String
    public var channel: String
    public var rule: String
    public var signal: SignalClass
    public var transition: Transition
    /// The value that made the decision, in the channel's canonical unit (nil for state or comm loss).
    public var value: Double?
    /// Wall-clock time the event happened at the edge, seconds since 1970.
    public var time: Double
    public var hazard: HazardSpec
    /// False for devices that are shelved or out of service: recorded, not announced (ISA-18.2).
    public var announced: Bool
    /// The key raised 3 or more times within a minute.
    public var chattering: Bool
    /// A commissioning test alarm: travels the whole path but never becomes a real hazard.
    public var isTest: Bool

    public init(edgeID: String, sequence: Int64, device: String, channel: String, rule: String, signal: SignalClass,
                transition: Transition, value: Double?, time: Double, hazard: HazardSpec, announced: Bool = true,
                chattering: Bool = false, isTest: Bool = false) {
        self.edgeID = edgeID
        self.sequence = sequence
        self.device = device
        self.channel = channel
        self.rule = rule
        self.signal = signal
        self.transition = transition
        self.value = value
        self.time = time
        self.hazard = hazard
        self.announced = announced
        self.chattering = chattering
        self.isTest = isTest
    }
}

/// What hazard record a rule's events map to.
public struct HazardSpec: Sendable, Equatable, Codable, Hashable {
    /// Broad category: `electrical` for alarms from measurements, `equipment` for detector/link faults.
    public var category: String
    /// Stable kind key, e.g. `residual_current_over`; one open hazard per premises + device + kind.
    public var kind: String
    public var severity: Severity
    /// Chinese title, already rendered from the rule's template.
    public var title: String

    public init(category: String, kind: String, severity: Severity, title: String) {
        self.category = category
        self.kind = kind
        self.severity = severity
        self.title = title
    }
}

/// Hazard severity; sets the rectification deadline.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case low, medium, high, critical

    public var label: String {
        switch self {
        case .low: "低"
        case .medium: "一般"
        case .high: "较大"
        case .critical: "重大"
        }
    }

    private var rank: Int { Severity.allCases.firstIndex(of: self)! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}
