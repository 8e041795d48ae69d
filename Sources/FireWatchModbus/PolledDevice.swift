import FireWatchCore

/// A Modbus device the poller reads: its profile, how it is reached, and its timing.
public struct PolledDevice: Sendable {
    public var id: String
    public var profile: ModbusProfile
    /// `.modbusTCP(host:port:unit:)` or `.modbusRTU(bus:unit:)`; the bus must be one of the poller's buses.
    public var transport: Transport
    /// Seconds between polls (default: the profile's poll period).
    public var period: Double
    public var responseTimeout: Double
    public var byteTimeout: Double
    /// Unused registers a read may span to join blocks (default: the profile's gap fill).
    public var maxGap: Int

    public init(id: String, profile: ModbusProfile, transport: Transport, period: Double? = nil,
                responseTimeout: Double? = nil, byteTimeout: Double? = nil, maxGap: Int? = nil) {
        self.id = id
        self.profile = profile
        self.transport = transport
        self.period = max(0.01, period ?? profile.timing.pollPeriod)
        self.responseTimeout = responseTimeout ?? profile.timing.responseTimeout
        self.byteTimeout = byteTimeout ?? profile.timing.byteTimeout
        self.maxGap = maxGap ?? profile.timing.gapFill
    }

    public var unit: Int? {
        switch transport {
        case .modbusTCP(_, _, let unit), .modbusRTU(_, let unit): unit
        case .mqtt: nil
        }
    }
}

/// Per-device counters, for `firewatch status`.
public struct DeviceCounters: Sendable, Equatable {
    public var polls = 0
    public var successes = 0
    public var failures = 0
    public var timeouts = 0
    /// Exception responses (illegal address, busy, ...): the device answered, so not comm loss.
    public var exceptions = 0
    /// Bad CRC, wrong slave, garbage, and link errors.
    public var badResponses = 0
    public var transportErrors = 0
    public var writes = 0
    public var writeFailures = 0
    public var consecutiveFailures = 0
    /// Seconds until the next attempt while backed off (0 when polled at its period).
    public var backoff: Double = 0
    /// Wall time of the last successful poll.
    public var lastSuccess: Double?
    /// Mean seconds a successful poll took.
    public var meanPollSeconds: Double = 0

    public init() {}

    public var isOnline: Bool { successes > 0 && consecutiveFailures == 0 }
}

/// Why a poller cannot be built from its configuration.
public struct ModbusPollerError: Error, Sendable, CustomStringConvertible {
    public var device: String
    public var message: String
    public var description: String { "device \(device): \(message)" }
}
