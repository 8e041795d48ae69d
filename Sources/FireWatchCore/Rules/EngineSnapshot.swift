/// The engine's state for a restart: which alarms are active, which timers run and how long they
/// have run, window samples, and the latest values of channels that are raised or pending or whose
/// detector state is not normal (other values refresh with the next poll). Times are ages (seconds before the snapshot), so they
/// carry over to a new monotonic clock.
public struct EngineSnapshot: Sendable, Equatable, Codable {
    public struct DeviceClock: Sendable, Equatable, Codable {
        public var device: String
        /// Seconds since its last data; nil if none yet.
        public var silence: Double?
    }
    public struct ChannelValue: Sendable, Equatable, Codable {
        public var device: String
        public var channel: String
        public var number: Double?
        public var state: DetectorState?
    }
    public struct MachineState: Sendable, Equatable, Codable {
        public var device: String
        /// Empty for device-level rules.
        public var channel: String
        public var rule: String
        /// normal, pending, active or clearing.
        public var phase: String
        /// Seconds spent in `pending` / `clearing` so far.
        public var elapsed: Double
        /// Ages of the last raises, newest first (for chattering).
        public var raiseAges: [Double]
        /// Window samples as [age, value] pairs, oldest first.
        public var window: [[Double]]
        /// The value at the last raise (clear events reuse it in the hazard title).
        public var raisedValue: Double?
    }
    public var version = 1
    public var devices: [DeviceClock] = []
    public var channels: [ChannelValue] = []
    public var machines: [MachineState] = []

    public init() {}
}
