/// A raise or clear decided by the engine for one (device, channel, rule). The edge turns it into an
/// `AlarmEvent` by adding its edge id and sequence.
public struct EngineEvent: Sendable, Equatable {
    public var device: String
    /// The channel the rule fired on; empty for device-level rules such as comm loss.
    public var channel: String
    public var rule: String
    public var signal: SignalClass
    public var transition: AlarmEvent.Transition
    /// The channel's latest value in its canonical unit; nil for state, device-level and comm-loss rules.
    public var value: Double?
    /// Wall-clock time, seconds since 1970: a label only, never used for delays.
    public var time: Double
    public var hazard: HazardSpec
    public var announced: Bool
    /// This key raised 3 or more times within 60 s.
    public var chattering: Bool

    public init(device: String, channel: String, rule: String, signal: SignalClass, transition: AlarmEvent.Transition,
                value: Double?, time: Double, hazard: HazardSpec, announced: Bool, chattering: Bool) {
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
    }

    /// The `AlarmEvent` the edge stores, once it has assigned the sequence.
    public func alarmEvent(edgeID: String, sequence: Int64) -> AlarmEvent {
        AlarmEvent(edgeID: edgeID, sequence: sequence, device: device, channel: channel, rule: rule, signal: signal,
                   transition: transition, value: value, time: time, hazard: hazard, announced: announced,
                   chattering: chattering)
    }
}
