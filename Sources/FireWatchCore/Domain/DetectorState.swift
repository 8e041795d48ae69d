/// What a detector itself reports for one of its channels (`state.<channel>`), ../shared/domain.md §2 and §4.
public enum DetectorState: String, Sendable, Codable, CaseIterable {
    case normal
    case prealarm
    case alarm
    case faultOpen = "fault_open"
    case faultShort = "fault_short"
    case ctBreak = "ct_break"
    case overload
    case phaseLoss = "phase_loss"
    case overVoltage = "over_voltage"
    case underVoltage = "under_voltage"

    /// The signal class this state belongs to, if any (normal has none).
    public var signalClass: SignalClass? {
        switch self {
        case .normal: nil
        case .prealarm: .prealarm
        case .alarm, .overload: .alarm
        case .faultOpen, .faultShort, .ctBreak, .phaseLoss, .overVoltage, .underVoltage: .fault
        }
    }

    /// Stable small integer for compact storage and the engine's fast path.
    public var code: Int { DetectorState.allCases.firstIndex(of: self)! }
    public init?(code: Int) {
        guard DetectorState.allCases.indices.contains(code) else { return nil }
        self = DetectorState.allCases[code]
    }

    /// Chinese label for fire officers and technicians.
    public var label: String {
        switch self {
        case .normal: "正常"
        case .prealarm: "预警"
        case .alarm: "报警"
        case .faultOpen: "探头开路"
        case .faultShort: "探头短路"
        case .ctBreak: "互感器断线"
        case .overload: "过载"
        case .phaseLoss: "缺相"
        case .overVoltage: "过压"
        case .underVoltage: "欠压"
        }
    }
}

/// Signal classes (GB practice 报警/故障, NFPA 72 alarm/supervisory/trouble). Alarms and faults stay
/// distinguishable everywhere (GB 50116).
public enum SignalClass: String, Sendable, Codable, CaseIterable, Comparable {
    case alarm
    case prealarm
    case fault

    public var label: String {
        switch self {
        case .alarm: "报警"
        case .prealarm: "预警"
        case .fault: "故障"
        }
    }

    private var rank: Int {
        switch self {
        case .alarm: 0
        case .fault: 1
        case .prealarm: 2
        }
    }
    /// Alarm sorts first, then fault, then prealarm (severity order of ../shared/domain.md §4).
    public static func < (a: SignalClass, b: SignalClass) -> Bool { a.rank < b.rank }
}
