import CSQLite

/// A value bound to or read from SQLite.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    public var text: String? { if case .text(let s) = self { return s }; return nil }
    public var integer: Int64? {
        switch self {
        case .integer(let i): i
        case .real(let d): Int64(d)
        default: nil
        }
    }
    public var real: Double? {
        switch self {
        case .real(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(_ s: String?) { self = s.map { .text($0) } ?? .null }
    public init(_ d: Double?) { self = d.map { .real($0) } ?? .null }
    public init(_ i: Int?) { self = i.map { .integer(Int64($0)) } ?? .null }
    public init(_ i: Int64?) { self = i.map { .integer($0) } ?? .null }
    public init(_ b: Bool) { self = .integer(b ? 1 : 0) }
}

/// A prepared statement: owns the `sqlite3_stmt` and finalizes it in `deinit`.
public final class Statement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection
    let sql: String

    init(connection: SQLiteConnection, sql: String) throws(SQLiteError) {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw connection.error(rc, sql: sql) }
        handle = stmt
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public func bind(_ values: [SQLValue]) throws(SQLiteError) {
        reset()
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let x): rc = sqlite3_bind_int64(handle, index, x)
            case .real(let x): rc = sqlite3_bind_double(handle, index, x)
            case .text(let s): rc = sqlite3_bind_text(handle, index, s, -1, csqlite_transient())
            }
            if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
        }
    }

    // Binding one parameter at a time (1-based), for hot inserts that reuse one statement without
    // building an argument array per row. Call `run()` when all are bound.

    public func bind(_ index: Int32, _ value: Double) throws(SQLiteError) {
        let rc = sqlite3_bind_double(handle, index, value)
        if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
    }

    public func bind(_ index: Int32, _ value: Int64) throws(SQLiteError) {
        let rc = sqlite3_bind_int64(handle, index, value)
        if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
    }

    public func bind(_ index: Int32, _ value: String) throws(SQLiteError) {
        let rc = sqlite3_bind_text(handle, index, value, -1, csqlite_transient())
        if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
    }

    /// Binds UTF-8 bytes as text; SQLite copies them before returning.
    public func bind(_ index: Int32, utf8 bytes: UnsafeBufferPointer<UInt8>) throws(SQLiteError) {
        guard !bytes.isEmpty else { return try bind(index, "") }
        let rc = bytes.withMemoryRebound(to: CChar.self) {
            sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), csqlite_transient())
        }
        if rc != SQLITE_OK { throw connection.error(rc, sql: sql) }
    }

    /// Runs the statement with what is bound, discarding rows, and resets it for the next use.
    public func run() throws(SQLiteError) {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }

    /// Steps once: true when a row is available, false when done.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let e = connection.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw e
        }
    }
}

@available(*, unavailable, message: "a statement belongs to its connection's thread")
extension Statement: Sendable {}

/// The current row of a statement.
public struct Row {
    let statement: Statement

    public subscript(_ i: Int) -> SQLValue {
        let h = statement.handle
        let c = Int32(i)
        switch sqlite3_column_type(h, c) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(h, c))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(h, c))
        case SQLITE_NULL: return .null
        default:
            guard let p = sqlite3_column_text(h, c) else { return .null }
            return .text(String(cString: p))
        }
    }

    public func text(_ i: Int) -> String { self[i].text ?? "" }
    public func optionalText(_ i: Int) -> String? { self[i].text }
    public func int(_ i: Int) -> Int64 { self[i].integer ?? 0 }
    public func double(_ i: Int) -> Double { self[i].real ?? 0 }
    public func optionalDouble(_ i: Int) -> Double? { self[i].real }
}
