/// A Modbus detector model: which registers carry which canonical channels, how to decode them,
/// and the model's timing needs. Loaded from `Devices/*.json5` (`transport: "modbus"`), or built from
/// a `generic:` parameter string (`ModbusProfile.generic(parameters:)`). Pure: no sockets, no clock.
///
/// The format is documented in `docs/modbus-profiles.md`.
public struct ModbusProfile: Sendable, Equatable {
    /// The four Modbus data tables, named by their read function code.
    public enum Table: String, Sendable, Equatable, Hashable, CaseIterable, Comparable {
        case coils          // FC01 read, FC05/15 write
        case discreteInputs = "discrete_inputs"  // FC02
        case holding        // FC03 read, FC06/16 write
        case input          // FC04

        public var readFunctionCode: Int {
            switch self {
            case .coils: 1
            case .discreteInputs: 2
            case .holding: 3
            case .input: 4
            }
        }

        /// Bit tables carry one bit per address; register tables 16 bits.
        public var isBits: Bool { self == .coils || self == .discreteInputs }
        /// Most addresses one read may cover (Modbus application protocol V1.1b3 §6.1–6.4).
        public var protocolMaximum: Int { isBits ? 2000 : 125 }
        public var isWritable: Bool { self == .coils || self == .holding }

        /// Accepts `holding`, `input`, `coils`, `discrete_inputs`, or the read function code (1–4).
        public init?(text: String) {
            switch text.lowercased() {
            case "holding", "3", "fc3", "fc03", "holding_registers": self = .holding
            case "input", "4", "fc4", "fc04", "input_registers": self = .input
            case "coils", "coil", "1", "fc1", "fc01": self = .coils
            case "discrete_inputs", "discrete", "2", "fc2", "fc02": self = .discreteInputs
            default: return nil
            }
        }

        private var rank: Int { Table.allCases.firstIndex(of: self)! }
        public static func < (a: Table, b: Table) -> Bool { a.rank < b.rank }
    }

    /// How the raw 16-bit words are read as a number.
    public enum ValueType: String, Sendable, Equatable, CaseIterable {
        case u16, i16, u32, i32, f32
        /// One bit of a coil or discrete input.
        case bit

        /// Registers (or bits) the value spans.
        public var width: Int {
            switch self {
            case .u16, .i16, .bit: 1
            case .u32, .i32, .f32: 2
            }
        }
    }

    /// Byte order of a 32-bit value spread over two registers. The letters say where the bytes of the
    /// big-endian value A B C D appear on the wire: `cdab` is the common "swapped words" float (domain.md §4).
    public enum WordOrder: String, Sendable, Equatable, CaseIterable {
        case abcd = "ABCD", cdab = "CDAB", badc = "BADC", dcba = "DCBA"

        public init?(text: String) { self.init(rawValue: text.uppercased()) }
    }

    /// Where a value lives and how its raw form is read.
    public struct Register: Sendable, Equatable, Hashable {
        public var table: Table
        public var address: Int
        public var type: ValueType
        public var order: WordOrder
        /// An inclusive bit range (high, low) inside a 16-bit register, e.g. bits 7–6 of 0x000B.
        public var bits: BitField?

        public init(table: Table = .holding, address: Int, type: ValueType = .u16, order: WordOrder = .abcd,
                    bits: BitField? = nil) {
            self.table = table
            self.address = address
            self.type = type
            self.order = order
            self.bits = bits
        }

        public var count: Int { type.width }
        public var lastAddress: Int { address + count - 1 }
    }

    /// Bits high...low (15...0) of one register, read as an unsigned integer.
    public struct BitField: Sendable, Equatable, Hashable {
        public var high: Int
        public var low: Int
        public init(high: Int, low: Int) {
            self.high = max(high, low)
            self.low = min(high, low)
        }
        public func extract(_ word: UInt16) -> UInt16 {
            let width = high - low + 1
            let mask: UInt32 = width >= 16 ? 0xFFFF : (1 << UInt32(width)) - 1
            return UInt16((UInt32(word) >> UInt32(low)) & mask)
        }
        public func overlaps(_ other: BitField) -> Bool { low <= other.high && other.low <= high }
    }

    /// One measured canonical channel (`residual_current.1`, `temperature.2`, ...).
    public struct Measurement: Sendable, Equatable {
        public var channel: Channel
        public var register: Register
        /// canonical = raw × scale + offset.
        public var scale: Double
        public var offset: Double
        /// Raw values the device uses to say "no value" and why (0xFAFA → ct_break); the value becomes
        /// `invalid` and `state.<channel>` carries the state (nil state: invalid without a state).
        public var sentinels: [UInt32: DetectorState?]
        /// Line in the profile file, for `profiles check` and runtime messages.
        public var line: Int?

        public init(channel: Channel, register: Register, scale: Double = 1, offset: Double = 0,
                    sentinels: [UInt32: DetectorState?] = [:], line: Int? = nil) {
            self.channel = channel
            self.register = register
            self.scale = scale
            self.offset = offset
            self.sentinels = sentinels
            self.line = line
        }
    }

    /// An enumerated state register (or bit field) that becomes `state.<channel>`.
    public struct StateCode: Sendable, Equatable {
        /// The `state.*` channel.
        public var channel: Channel
        public var register: Register
        public var codes: [Int: DetectorState]
        public var line: Int?

        public init(channel: Channel, register: Register, codes: [Int: DetectorState], line: Int? = nil) {
            self.channel = channel
            self.register = register
            self.codes = codes
            self.line = line
        }
    }

    /// A set-value register: the device's own alarm setting for a channel. Readable always; writable
    /// only when `writable` and, if the model has a password register, after writing the password
    /// (GB 14287.5-2025 §5.3: set values changeable only with a tool or password).
    public struct Setpoint: Sendable, Equatable {
        /// The measured channel the set value applies to (`residual_current.1`).
        public var channel: Channel
        public var register: Register
        public var scale: Double
        public var offset: Double
        public var writable: Bool
        /// Allowed range in canonical units, when the manual gives one (Acrel: 6–1000 mA).
        public var range: ClosedRange<Double>?
        public var line: Int?

        public init(channel: Channel, register: Register, scale: Double = 1, offset: Double = 0,
                    writable: Bool = false, range: ClosedRange<Double>? = nil, line: Int? = nil) {
            self.channel = channel
            self.register = register
            self.scale = scale
            self.offset = offset
            self.writable = writable
            self.range = range
            self.line = line
        }
    }

    /// A register whose value identifies the model, for `device scan`.
    public struct Identity: Sendable, Equatable {
        public var register: Register
        /// The value it holds on this model (after applying `bits`, if any).
        public var equals: UInt32
        public var line: Int?

        public init(register: Register, equals: UInt32, line: Int? = nil) {
            self.register = register
            self.equals = equals
            self.line = line
        }
    }

    /// What a model needs on the line. Seconds throughout.
    public struct Timing: Sendable, Equatable {
        /// Default poll period; ≤ 5 s keeps the alarm budget of GB 50166-2019 §4.8 (domain.md §3).
        public var pollPeriod: Double
        /// libmodbus defaults are 0.5 s each (domain.md §6); some devices need more (libmodbus #776).
        public var responseTimeout: Double
        public var byteTimeout: Double
        /// Most registers the device accepts in one read (≤ 125).
        public var maxRegistersPerRead: Int
        /// Pause the device needs between its reply and the next request.
        public var turnaround: Double
        /// Unused registers a read may cover to join two blocks into one.
        public var gapFill: Int

        public init(pollPeriod: Double = 5, responseTimeout: Double = 0.5, byteTimeout: Double = 0.5,
                    maxRegistersPerRead: Int = 125, turnaround: Double = 0, gapFill: Int = 8) {
            self.pollPeriod = pollPeriod
            self.responseTimeout = responseTimeout
            self.byteTimeout = byteTimeout
            self.maxRegistersPerRead = maxRegistersPerRead
            self.turnaround = turnaround
            self.gapFill = gapFill
        }
    }

    public var id: String
    public var name: String
    public var manufacturer: String
    public var model: String
    /// The file it came from (or `generic:...` for a parameterised profile).
    public var file: String
    public var timing: Timing
    public var measurements: [Measurement]
    public var states: [StateCode]
    public var setpoints: [Setpoint]
    public var identity: [Identity]
    /// The register a password must be written to before set values can be written.
    public var passwordRegister: Register?

    public init(id: String, name: String = "", manufacturer: String = "", model: String = "", file: String = "",
                timing: Timing = Timing(), measurements: [Measurement] = [], states: [StateCode] = [],
                setpoints: [Setpoint] = [], identity: [Identity] = [], passwordRegister: Register? = nil) {
        self.id = id
        self.name = name
        self.manufacturer = manufacturer
        self.model = model
        self.file = file
        self.timing = timing
        self.measurements = measurements
        self.states = states
        self.setpoints = setpoints
        self.identity = identity
        self.passwordRegister = passwordRegister
    }

    /// Canonical channels this profile provides: measured channels and their `state.*` channels.
    public var channels: [Channel] {
        var set = Set(measurements.map(\.channel))
        for s in states { set.insert(s.channel) }
        for m in measurements where !m.sentinels.isEmpty { set.insert(m.channel.stateChannel) }
        return set.sorted()
    }

    /// The measured channels that have a set-value register.
    public var setpointChannels: [Channel] { setpoints.map(\.channel).sorted() }

    /// Every register the profile names, for overlap checks and encoders.
    public var allRegisters: [(role: String, channel: String, register: Register, line: Int?)] {
        measurements.map { ("channel", $0.channel.name, $0.register, $0.line) }
            + states.map { ("state", $0.channel.name, $0.register, $0.line) }
            + setpoints.map { ("setpoint", $0.channel.name, $0.register, $0.line) }
            + (passwordRegister.map { [("password", "password", $0, nil)] } ?? [])
    }
}
