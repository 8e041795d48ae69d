@preconcurrency import Glibc
import CModbus
import FireWatchCore

/// Why a Modbus call failed, classified right after the call from errno (libmodbus #468: never
/// through `modbus_strerror`, which is not thread safe).
public enum ModbusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No (complete) answer within the response or byte timeout.
    case timeout
    /// The slave answered with an exception response (1 illegal function, 2 illegal data address,
    /// 3 illegal data value, 4 slave failure, 6 busy, ...).
    case exception(code: Int)
    /// An answer arrived but was wrong: bad CRC, wrong slave, wrong length, unknown exception.
    case badResponse(String)
    /// The link failed (EPIPE, ECONNRESET, EBADF, ECONNREFUSED, ENOENT for a serial device...).
    case connection(errno: Int32, String)
    /// The context could not be made (bad parameters).
    case setup(String)

    /// The link must be closed and reopened (libmodbus #735: EPIPE forever otherwise).
    public var needsReconnect: Bool {
        if case .connection = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .timeout: "timeout (no answer)"
        case .exception(let code): "exception \(code) (\(ModbusError.exceptionName(code)))"
        case .badResponse(let why): "bad response: \(why)"
        case .connection(let e, let why): "connection error \(e): \(why)"
        case .setup(let why): "setup error: \(why)"
        }
    }

    public static func exceptionName(_ code: Int) -> String {
        switch code {
        case 1: "illegal function"
        case 2: "illegal data address"
        case 3: "illegal data value"
        case 4: "slave device failure"
        case 5: "acknowledge"
        case 6: "slave device busy"
        case 8: "memory parity error"
        case 10: "gateway path unavailable"
        case 11: "gateway target failed to respond"
        default: "unknown"
        }
    }

    /// Classifies errno as left by a failed libmodbus call.
    static func fromErrno(_ e: Int32) -> ModbusError {
        let base = cmodbus_enobase()
        if e == ETIMEDOUT { return .timeout }
        if e > base && e <= base + 11 { return .exception(code: Int(e - base)) }
        switch e - base {
        case 12: return .badResponse("bad CRC")
        case 13: return .badResponse("invalid data")
        case 14: return .badResponse("invalid exception code")
        case 15: return .badResponse("unknown exception code")
        case 16: return .badResponse("too many data")
        case 17: return .badResponse("response from the wrong slave")
        default: break
        }
        let text = String(cString: strerror(e))  // only reached on the owner thread right after the call
        return .connection(errno: e, text)
    }
}

/// Owns one `modbus_t` (TCP or RTU) and frees it in deinit. Not Sendable: it lives on the one thread
/// that owns its bus or endpoint (a libmodbus context is not thread safe, pitfalls.md).
public final class ModbusContext {
    let raw: OpaquePointer
    public let isRTU: Bool
    public private(set) var isConnected = false

    private init(raw: OpaquePointer, isRTU: Bool) {
        self.raw = raw
        self.isRTU = isRTU
    }

    /// A TCP client (or, with `listen`, a server) context for host:port.
    public static func tcp(host: String, port: Int) throws(ModbusError) -> ModbusContext {
        guard let ctx = modbus_new_tcp(host, Int32(port)) else {
            throw .setup("cannot make a TCP context for \(host):\(port)")
        }
        return ModbusContext(raw: ctx, isRTU: false)
    }

    /// An RTU context on a serial device. `parity` is N, E or O.
    public static func rtu(path: String, baud: Int, parity: Character = "N", dataBits: Int = 8,
                           stopBits: Int = 1) throws(ModbusError) -> ModbusContext {
        guard let p = parity.asciiValue, "NEO".contains(parity) else { throw .setup("parity must be N, E or O") }
        guard let ctx = modbus_new_rtu(path, Int32(baud), CChar(bitPattern: p), Int32(dataBits), Int32(stopBits)) else {
            throw .setup("cannot make an RTU context for \(path) at \(baud) baud (check baud, data and stop bits)")
        }
        return ModbusContext(raw: ctx, isRTU: true)
    }

    deinit {
        modbus_close(raw)
        modbus_free(raw)
    }

    public func connect() throws(ModbusError) {
        if isConnected { return }
        if modbus_connect(raw) == -1 { throw ModbusError.fromErrno(cmodbus_errno()) }
        isConnected = true
    }

    public func close() {
        modbus_close(raw)
        isConnected = false
    }

    public func setUnit(_ unit: Int) throws(ModbusError) {
        if modbus_set_slave(raw, Int32(unit)) == -1 { throw .setup("unit \(unit) is outside 0–247") }
    }

    public func setTimeouts(response: Double, byte: Double) {
        func split(_ s: Double) -> (UInt32, UInt32) {
            let clamped = max(0.001, min(s, 3600))
            let whole = clamped.rounded(.down)
            return (UInt32(whole), UInt32(((clamped - whole) * 1_000_000).rounded()))
        }
        let (rs, ru) = split(response)
        modbus_set_response_timeout(raw, rs, ru)
        let (bs, bu) = split(byte)
        modbus_set_byte_timeout(raw, bs, bu)
    }

    /// RS-485 serial mode and RTS direction control (kernel support needed; false when refused).
    @discardableResult
    public func setRS485(rts: SerialBusConfig.RTS, rtsDelayMicroseconds: Int?) -> Bool {
        guard isRTU else { return false }
        var ok = modbus_rtu_set_serial_mode(raw, MODBUS_RTU_RS485) != -1
        switch rts {
        case .none: break
        case .up: ok = modbus_rtu_set_rts(raw, MODBUS_RTU_RTS_UP) != -1 && ok
        case .down: ok = modbus_rtu_set_rts(raw, MODBUS_RTU_RTS_DOWN) != -1 && ok
        }
        if let d = rtsDelayMicroseconds { ok = modbus_rtu_set_rts_delay(raw, Int32(d)) != -1 && ok }
        return ok
    }

    /// Drops whatever is pending on the line, so a late reply cannot answer the next request (libmodbus #255, #451).
    public func flush() { _ = modbus_flush(raw) }

    /// Reads a block: registers as words, bits as 0/1.
    public func read(_ block: ReadBlock) throws(ModbusError) -> [UInt16] {
        let n = block.count
        if block.table.isBits {
            var bits = [UInt8](repeating: 0, count: n)
            let rc = bits.withUnsafeMutableBufferPointer { buf in
                block.table == .coils
                    ? modbus_read_bits(raw, Int32(block.start), Int32(n), buf.baseAddress)
                    : modbus_read_input_bits(raw, Int32(block.start), Int32(n), buf.baseAddress)
            }
            if rc == -1 { throw ModbusError.fromErrno(cmodbus_errno()) }
            return bits.map { UInt16($0) }
        }
        var words = [UInt16](repeating: 0, count: n)
        let rc = words.withUnsafeMutableBufferPointer { buf in
            block.table == .holding
                ? modbus_read_registers(raw, Int32(block.start), Int32(n), buf.baseAddress)
                : modbus_read_input_registers(raw, Int32(block.start), Int32(n), buf.baseAddress)
        }
        if rc == -1 { throw ModbusError.fromErrno(cmodbus_errno()) }
        return words
    }

    /// Writes holding registers (FC06 for one, FC16 for several) or coils (FC05 / FC15).
    public func write(table: ModbusProfile.Table, address: Int, values: [UInt16]) throws(ModbusError) {
        let rc: Int32
        switch table {
        case .holding:
            if values.count == 1 {
                rc = modbus_write_register(raw, Int32(address), values[0])
            } else {
                rc = values.withUnsafeBufferPointer { modbus_write_registers(raw, Int32(address), Int32(values.count), $0.baseAddress) }
            }
        case .coils:
            if values.count == 1 {
                rc = modbus_write_bit(raw, Int32(address), values[0] != 0 ? 1 : 0)
            } else {
                let bits = values.map { UInt8($0 != 0 ? 1 : 0) }
                rc = bits.withUnsafeBufferPointer { modbus_write_bits(raw, Int32(address), Int32(bits.count), $0.baseAddress) }
            }
        case .input, .discreteInputs:
            throw .setup("\(table.rawValue) are read-only")
        }
        if rc == -1 { throw ModbusError.fromErrno(cmodbus_errno()) }
    }

    // MARK: server side (simulator)

    /// Listens on the context's host:port; returns the listening socket.
    func listen(backlog: Int) throws(ModbusError) -> Int32 {
        let fd = modbus_tcp_listen(raw, Int32(backlog))
        if fd == -1 { throw ModbusError.fromErrno(cmodbus_errno()) }
        return fd
    }

    func setSocket(_ fd: Int32) { _ = modbus_set_socket(raw, fd) }

    /// Receives one request on the current socket; the length, or -1 (errno set) when the peer left or sent garbage.
    func receive(into buffer: UnsafeMutablePointer<UInt8>) -> Int32 { modbus_receive(raw, buffer) }

    func reply(_ query: UnsafePointer<UInt8>, length: Int32, mapping: UnsafeMutablePointer<modbus_mapping_t>) -> Int32 {
        modbus_reply(raw, query, length, mapping)
    }

    func replyException(_ query: UnsafePointer<UInt8>, code: Int) -> Int32 {
        modbus_reply_exception(raw, query, UInt32(code))
    }

    var headerLength: Int { Int(modbus_get_header_length(raw)) }
}

@available(*, unavailable)
extension ModbusContext: Sendable {}
