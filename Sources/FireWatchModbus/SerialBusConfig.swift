import FireWatchCore

/// One RS-485 line of the edge box, named so RTU devices can say `rtu://NAME#UNIT`.
public struct SerialBusConfig: Sendable, Codable, Equatable {
    /// RTS handling for RS-485 transceivers without automatic direction control.
    public enum RTS: String, Sendable, Codable, Equatable {
        case none
        /// RTS high while sending.
        case up
        /// RTS low while sending.
        case down
    }

    public var name: String
    /// The serial device, e.g. /dev/ttyS1 or /dev/ttyUSB0.
    public var path: String
    public var baud: Int
    /// "N", "E" or "O".
    public var parity: String
    public var dataBits: Int
    public var stopBits: Int
    /// Put the port in RS-485 mode (TIOCSRS485); off for USB adapters that switch direction themselves.
    public var rs485: Bool
    public var rts: RTS
    public var rtsDelayMicroseconds: Int?

    public init(name: String, path: String, baud: Int = 9600, parity: String = "N", dataBits: Int = 8,
                stopBits: Int = 1, rs485: Bool = false, rts: RTS = .none, rtsDelayMicroseconds: Int? = nil) {
        self.name = name
        self.path = path
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.rs485 = rs485
        self.rts = rts
        self.rtsDelayMicroseconds = rtsDelayMicroseconds
    }

    private enum CodingKeys: String, CodingKey {
        case name, path, baud, parity, dataBits = "data_bits", stopBits = "stop_bits", rs485, rts
        case rtsDelayMicroseconds = "rts_delay_us"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        path = try c.decode(String.self, forKey: .path)
        baud = try c.decodeIfPresent(Int.self, forKey: .baud) ?? 9600
        parity = try c.decodeIfPresent(String.self, forKey: .parity) ?? "N"
        dataBits = try c.decodeIfPresent(Int.self, forKey: .dataBits) ?? 8
        stopBits = try c.decodeIfPresent(Int.self, forKey: .stopBits) ?? 1
        rs485 = try c.decodeIfPresent(Bool.self, forKey: .rs485) ?? false
        rts = try c.decodeIfPresent(RTS.self, forKey: .rts) ?? .none
        rtsDelayMicroseconds = try c.decodeIfPresent(Int.self, forKey: .rtsDelayMicroseconds)
        guard ["N", "E", "O"].contains(parity) else {
            throw DecodingError.dataCorruptedError(forKey: .parity, in: c, debugDescription: "parity must be N, E or O")
        }
        guard [5, 6, 7, 8].contains(dataBits) else {
            throw DecodingError.dataCorruptedError(forKey: .dataBits, in: c, debugDescription: "data_bits must be 5–8")
        }
        guard [1, 2].contains(stopBits) else {
            throw DecodingError.dataCorruptedError(forKey: .stopBits, in: c, debugDescription: "stop_bits must be 1 or 2")
        }
    }

    /// Seconds one character takes on this line (start + data + parity + stop bits).
    public var characterTime: Double {
        Double(1 + dataBits + (parity == "N" ? 0 : 1) + stopBits) / Double(baud)
    }

    func makeContext() throws(ModbusError) -> ModbusContext {
        try ModbusContext.rtu(path: path, baud: baud, parity: parity.first ?? "N", dataBits: dataBits, stopBits: stopBits)
    }
}
