import CSQLite

/// An SQLite failure as data: result code, message, and the SQL that failed.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// The primary code (extended codes carry it in the low byte).
        public var primary: Code { Code(rawValue: rawValue & 0xFF) }
        public static let constraint = Code(rawValue: SQLITE_CONSTRAINT)
        public static let full = Code(rawValue: SQLITE_FULL)
        public static let busy = Code(rawValue: SQLITE_BUSY)
        public static let ioerr = Code(rawValue: SQLITE_IOERR)
        public static let corrupt = Code(rawValue: SQLITE_CORRUPT)
        public static let cantOpen = Code(rawValue: SQLITE_CANTOPEN)
    }

    public var code: Code
    public var message: String
    public var sql: String?

    public var isDiskFull: Bool { code.primary == .full || (code.primary == .ioerr && message.contains("disk")) }
    public var isConstraint: Bool { code.primary == .constraint }

    public var description: String {
        var s = "SQLite error \(code.rawValue): \(message)"
        if let sql { s += " (in: \(sql.prefix(120)))" }
        if isDiskFull { s += "; the disk is full: free space on the data directory" }
        return s
    }
}
