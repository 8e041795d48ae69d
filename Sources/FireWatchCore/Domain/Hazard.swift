/// A hazard record (隐患) in the governance database: one open per premises + device + kind.
public struct Hazard: Sendable, Equatable, Codable {
    /// Lifecycle: open → acknowledged → dispatched → rectified → verified (closed), or closed as false alarm.
    public enum Status: String, Sendable, Codable, CaseIterable {
        case open
        case acknowledged
        case dispatched
        case rectified
        case verified
        case falseAlarm = "false_alarm"

        public var isClosed: Bool { self == .verified || self == .falseAlarm }

        public var label: String {
            switch self {
            case .open: "待处理"
            case .acknowledged: "已确认"
            case .dispatched: "已派单"
            case .rectified: "已整改"
            case .verified: "已复查销号"
            case .falseAlarm: "误报关闭"
            }
        }

        /// Steps a person may take from this status.
        public var next: [Status] {
            switch self {
            case .open: [.acknowledged, .dispatched, .falseAlarm]
            case .acknowledged: [.dispatched, .falseAlarm]
            case .dispatched: [.rectified, .falseAlarm]
            case .rectified: [.verified, .dispatched]
            case .verified, .falseAlarm: []
            }
        }
    }

    public var id: Int64
    public var premisesID: String
    public var premisesName: String
    public var device: String
    public var category: String
    public var kind: String
    public var signal: SignalClass
    public var severity: Severity
    public var title: String
    public var status: Status
    public var openedAt: Double
    public var updatedAt: Double
    public var closedAt: Double?
    /// Whether the condition is still present at the detector (a clear sets false; closing is separate).
    public var conditionActive: Bool
    public var eventCount: Int
    public var deadline: Double?

    public init(id: Int64, premisesID: String, premisesName: String, device: String, category: String, kind: String,
                signal: SignalClass, severity: Severity, title: String, status: Status, openedAt: Double,
                updatedAt: Double, closedAt: Double?, conditionActive: Bool, eventCount: Int, deadline: Double?) {
        self.id = id
        self.premisesID = premisesID
        self.premisesName = premisesName
        self.device = device
        self.category = category
        self.kind = kind
        self.signal = signal
        self.severity = severity
        self.title = title
        self.status = status
        self.openedAt = openedAt
        self.updatedAt = updatedAt
        self.closedAt = closedAt
        self.conditionActive = conditionActive
        self.eventCount = eventCount
        self.deadline = deadline
    }
}

/// One step in a hazard's timeline: who did what, when, with a note.
public struct HazardStep: Sendable, Equatable, Codable {
    public var time: Double
    public var action: String
    public var actor: String
    public var note: String

    public init(time: Double, action: String, actor: String, note: String) {
        self.time = time
        self.action = action
        self.actor = actor
        self.note = note
    }
}
