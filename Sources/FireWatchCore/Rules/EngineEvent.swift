/// What the engine knows of a device: its registered set values, cable class and whether its events
/// are announced (false for shelved / out-of-service devices, ISA-18.2).
public struct DeviceContext: Sendable, Equatable, Codable {
    public var id: String
    /// Set values by name, in canonical units: `residual_current.1`, or `residual_current` for all loops.
    public var setpoints: [String: Double]
    public var cable: Device.CableClass?
    public var announced: Bool

    public init(id: String, setpoints: [String: Double] = [:], cable: Device.CableClass? = nil, announced: Bool = true) {
        self.id = id
        self.setpoints = setpoints
        self.cable = cable
        self.announced = announced
    }

    public init(_ device: Device) {
        self.init(id: device.id, setpoints: device.setpoints, cable: device.cable, announced: device.isAnnounced)
    }

    enum CodingKeys: String, CodingKey { case id, setpoints, cable, announced }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        setpoints = try c.decodeIfPresent([String: Double].self, forKey: .setpoints) ?? [:]
        cable = try c.decodeIfPresent(Device.CableClass.self, forKey: .cable)
        announced = try c.decodeIfPresent(Bool.self, forKey: .announced) ?? true
    }
}

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

/// The engine's state for a restart: which alarms are active, which timers run and how long they
/// have run, the last values and windows. Times are ages (seconds before the snapshot), so they
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
