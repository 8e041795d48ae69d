/// One value of one canonical channel of one device, at the time the device (or poller) took it.
public struct Reading: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        /// A measurement in the channel's canonical unit.
        case number(Double)
        /// A detector state for `state.*` channels.
        case state(DetectorState)
        /// The device marked the value invalid (e.g. 0xFAFA = CT break); the state channel says why.
        case invalid
    }

    public var device: String
    public var channel: Channel
    public var value: Value
    /// Wall-clock time of the sample, seconds since 1970 (for records; never for delays).
    public var time: Double

    public init(device: String, channel: Channel, value: Value, time: Double) {
        self.device = device
        self.channel = channel
        self.value = value
        self.time = time
    }

    public var number: Double? {
        if case .number(let v) = value { return v }
        return nil
    }
    public var state: DetectorState? {
        if case .state(let s) = value { return s }
        return nil
    }
}
