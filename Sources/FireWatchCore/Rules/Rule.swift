/// One checked, compiled rule: when it raises and clears, what it signals, which hazard it maps to.
public struct Rule: Sendable {
    public var name: String
    public var file: String
    public var position: SourcePosition
    public var patterns: [ChannelPattern]
    public var signal: SignalClass
    public var severity: Severity
    public var category: String
    public var kind: String
    /// Chinese title template with `{device}`, `{channel}`, `{channel_label}`, `{value}`, `{setpoint}`,
    /// `{unit}`, `{state}`, `{rule}` placeholders.
    public var titleTemplate: String
    /// On-delay (`when ... for D`), seconds.
    public var onDelay: Double
    /// Off-delay (`clear after D` / `clear when ... for D`), seconds.
    public var offDelay: Double
    /// Active until reset (`latch`).
    public var latch: Bool
    /// One machine per device rather than per channel.
    public var isDeviceLevel: Bool { patterns.contains { $0.isDevice } }
    /// Channels read besides the matched one; `*` is the matched index, `@` the matched channel.
    public var referencedChannels: [String] { program.refs }

    var program: CompiledRule
    var title: TitleTemplate
    /// The raise condition's value when it does not depend on readings (1 or 0), for lint.
    var constantRaise: Double?
    /// The `when` condition as written, for lint.
    var whenExpr: RuleExpr

    /// Longest delay or window the rule waits on, seconds.
    public var horizon: Double { max(onDelay, offDelay, program.longestDuration) }

    /// The pattern matching `channel` and what its `*` stands for.
    func match(_ channel: String) -> String? { Rule.match(patterns, channel) }

    static func match(_ patterns: [ChannelPattern], _ channel: String) -> String? {
        for p in patterns { if let b = p.binding(for: channel) { return b } }
        return nil
    }
}
