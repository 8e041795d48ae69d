import CSQLite
import Foundation

/// One SQLite connection: owns the `sqlite3*` and closes it in `deinit`.
///
/// Not Sendable: a connection is used by the one thread (or actor) that opened it.
public final class SQLiteConnection {
    public enum Durability: String, Sendable {
        /// Survives application crashes; the last commits may be lost on power loss (readings).
        case normal = "NORMAL"
        /// Survives power loss (alarms, events, the outbox).
        case full = "FULL"
    }

    let handle: OpaquePointer
    public let path: String
    private var statements: [String: Statement] = [:]

    /// - Parameter pageSize: page size for a database this call creates (ignored for an existing file:
    ///   SQLite fixes it when the first table is made, and WAL mode keeps it).
    public init(path: String, durability: Durability = .full, readOnly: Bool = false, pageSize: Int? = nil) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: .init(rawValue: rc), message: "\(message): \(path)", sql: nil)
        }
        handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
        if !readOnly {
            if let pageSize { try execute("PRAGMA page_size=\(pageSize)") }
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=\(durability.rawValue)")
            // Bound the WAL: checkpoint every ~4 MB of log.
            try execute("PRAGMA wal_autocheckpoint=1000")
        }
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements without results.
    public func execute(_ sql: String) throws(SQLiteError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(err)
            throw SQLiteError(code: .init(rawValue: rc), message: message, sql: sql)
        }
    }

    /// A prepared statement, cached by its SQL text for reuse.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        if let s = statements[sql] {
            s.reset()
            return s
        }
        let s = try Statement(connection: self, sql: sql)
        statements[sql] = s
        return s
    }

    /// Runs a statement with arguments, discarding rows.
    public func run(_ sql: String, _ arguments: [SQLValue] = []) throws(SQLiteError) {
        let s = try prepare(sql)
        defer { s.reset() }  // a statement left unreset keeps its read snapshot (WAL) open
        try s.bind(arguments)
        while try s.step() {}
    }

    /// Runs a query and maps each row.
    public func query<T>(_ sql: String, _ arguments: [SQLValue] = [], _ map: (Row) throws -> T) throws -> [T] {
        let s = try prepare(sql)
        defer { s.reset() }  // a statement left unreset keeps its read snapshot (WAL) open
        try s.bind(arguments)
        var out: [T] = []
        while try s.step() { out.append(try map(Row(statement: s))) }
        return out
    }

    /// The first column of the first row, if any.
    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws(SQLiteError) -> SQLValue? {
        let s = try prepare(sql)
        defer { s.reset() }  // a scalar stops after one row: without a reset its read snapshot stays open
        try s.bind(arguments)
        guard try s.step() else { return nil }
        let value = Row(statement: s)[0]
        // Reset now: a statement left on a row keeps a read transaction open, which makes this
        // connection's next BEGIN IMMEDIATE fail at once with SQLITE_BUSY_SNAPSHOT when another
        // connection has written meanwhile (no busy wait applies to that case).
        s.reset()
        return value
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` in one transaction (BEGIN IMMEDIATE): all of it commits, or none of it.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    public func integrityCheck() throws(SQLiteError) -> String {
        try scalar("PRAGMA integrity_check")?.text ?? "no result"
    }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: .init(rawValue: rc), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

@available(*, unavailable, message: "a connection belongs to the thread that opened it")
extension SQLiteConnection: Sendable {}
