/// What `firewatch device probe` prints: one live read of every channel of one device, the same
/// shape for Modbus and MQTT devices. Encoded with sorted keys, `value` null when the device marked it invalid.
public struct ProbeResult: Sendable, Equatable, Encodable {
    public struct ChannelValue: Sendable, Equatable, Encodable {
        public var value: Double?
        public var unit: String
        public var state: String

        public init(value: Double?, unit: String, state: String) {
            self.value = value
            self.unit = unit
            self.state = state
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(value, forKey: .value)  // explicit null, not an absent key
            try c.encode(unit, forKey: .unit)
            try c.encode(state, forKey: .state)
        }
        private enum CodingKeys: String, CodingKey { case value, unit, state }
    }

    public var profile: String
    /// Modbus unit id; nil for MQTT.
    public var unit: Int?
    public var channels: [String: ChannelValue]
    /// Set values read from the device (Modbus); nil when the profile has none or for MQTT.
    public var setpoints: [String: Double]?
    /// ISO-8601 time of the message (MQTT) or of the read.
    public var time: String?

    public init(profile: String, unit: Int?, channels: [String: ChannelValue], setpoints: [String: Double]?, time: String?) {
        self.profile = profile
        self.unit = unit
        self.channels = channels
        self.setpoints = setpoints
        self.time = time
    }

    /// Folds readings into channel values: a `state.X` reading sets X's state; X without a state is "normal".
    public static func channels(from readings: [Reading]) -> [String: ChannelValue] {
        var out: [String: ChannelValue] = [:]
        var states: [String: DetectorState] = [:]
        for r in readings {
            if r.channel.isState, let subject = r.channel.stateSubject, let s = r.state {
                states[subject.name] = s
            } else if r.channel.name != "device.online" {
                out[r.channel.name] = ChannelValue(value: r.number, unit: r.channel.unit.rawValue, state: "normal")
            }
        }
        for (name, s) in states {
            if out[name] != nil { out[name]!.state = s.rawValue }
            else { out[name] = ChannelValue(value: nil, unit: Channel(unchecked: name).unit.rawValue, state: s.rawValue) }
        }
        return out
    }
}
