/// One Modbus read: `count` registers (or bits) of `table` from `start`.
public struct ReadBlock: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var table: ModbusProfile.Table
    public var start: Int
    public var count: Int

    public init(table: ModbusProfile.Table, start: Int, count: Int) {
        self.table = table
        self.start = start
        self.count = count
    }

    public var end: Int { start + count - 1 }
    public var description: String { "\(table.rawValue)[0x\(hex4(start))+\(count)]" }
}

/// The registers (and bits) read from one device in one poll; what `ModbusProfile.decode` reads from.
/// A register missing from the image (its block failed) leaves its channels out of the readings.
public struct RegisterImage: Sendable, Equatable {
    private var words: [ModbusProfile.Table: [Int: UInt16]] = [:]

    public init() {}

    /// Stores the values of one block (bits as 0/1).
    public mutating func store(_ block: ReadBlock, values: [UInt16]) {
        for (i, v) in values.prefix(block.count).enumerated() { words[block.table, default: [:]][block.start + i] = v }
    }

    public mutating func set(_ table: ModbusProfile.Table, _ address: Int, _ value: UInt16) {
        words[table, default: [:]][address] = value
    }

    public subscript(table: ModbusProfile.Table, address: Int) -> UInt16? { words[table]?[address] }

    /// Every stored address of `table`, ascending, with its word (for copying into a server's map).
    public func entries(_ table: ModbusProfile.Table) -> [(address: Int, value: UInt16)] {
        (words[table] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The raw words of a register, or nil when any is missing.
    public func words(of register: ModbusProfile.Register) -> [UInt16]? {
        var out: [UInt16] = []
        for a in register.address...register.lastAddress {
            guard let w = self[register.table, a] else { return nil }
            out.append(w)
        }
        return out
    }
}

/// Which registers a read plan covers.
public struct ReadScope: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Measured channels and state registers: what every poll reads.
    public static let readings = ReadScope(rawValue: 1)
    public static let setpoints = ReadScope(rawValue: 2)
    public static let identity = ReadScope(rawValue: 4)
    public static let all: ReadScope = [.readings, .setpoints, .identity]
}

extension ModbusProfile {
    /// Coalesces the registers of `scope` into as few reads as possible: registers of one table whose
    /// distance is at most `maxGap` unused addresses share a read, each read at most
    /// `timing.maxRegistersPerRead` registers (and never more than the protocol allows: 125 registers,
    /// 2000 bits). Blocks come ordered by table, then address.
    public func readPlan(maxGap: Int? = nil, scope: ReadScope = .readings) -> [ReadBlock] {
        let gap = max(0, maxGap ?? timing.gapFill)
        var spans: [(ModbusProfile.Table, Int, Int)] = []
        if scope.contains(.readings) {
            spans += measurements.map { ($0.register.table, $0.register.address, $0.register.lastAddress) }
            spans += states.map { ($0.register.table, $0.register.address, $0.register.lastAddress) }
        }
        if scope.contains(.setpoints) {
            spans += setpoints.map { ($0.register.table, $0.register.address, $0.register.lastAddress) }
        }
        if scope.contains(.identity) {
            spans += identity.map { ($0.register.table, $0.register.address, $0.register.lastAddress) }
        }
        spans.sort { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
        var blocks: [ReadBlock] = []
        for (table, first, last) in spans {
            let limit = min(table.protocolMaximum, table.isBits ? table.protocolMaximum : max(1, timing.maxRegistersPerRead))
            if var current = blocks.last, current.table == table, first <= current.end + gap + 1 {
                let newEnd = max(current.end, last)
                if newEnd - current.start + 1 <= limit {
                    current.count = newEnd - current.start + 1
                    blocks[blocks.count - 1] = current
                    continue
                }
            }
            blocks.append(ReadBlock(table: table, start: first, count: last - first + 1))
        }
        return blocks
    }
}

func hex4(_ v: Int) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}
