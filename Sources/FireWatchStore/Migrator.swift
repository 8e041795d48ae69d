/// Versioned schema migrations, applied at open inside one transaction each.
///
/// Idempotent (a version is applied once, recorded in `schema_migrations`) and never destructive:
/// migrations only add tables, columns and indexes; nothing is dropped or rewritten.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

public enum Migrator {
    /// Applies the migrations of `schema` (a name such as "governance") not yet recorded.
    public static func migrate(_ db: SQLiteConnection, schema: String, migrations: [Migration],
                               now: Double) throws {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
              schema TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at REAL NOT NULL,
              PRIMARY KEY (schema, version))
            """)
        let applied = Set(try db.query("SELECT version FROM schema_migrations WHERE schema = ?", [.text(schema)]) { $0.int(0) })
        if let newest = applied.max(), newest > Int64(migrations.map(\.version).max() ?? 0) {
            throw SQLiteError(code: .init(rawValue: 1), message:
                "database \(db.path) has \(schema) schema version \(newest), newer than this firewatch knows; upgrade firewatch",
                sql: nil)
        }
        for m in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(Int64(m.version)) {
            try db.transaction {
                // Another connection may have applied it since `applied` was read (two processes opening a new file).
                if try db.scalar("SELECT 1 FROM schema_migrations WHERE schema = ? AND version = ?",
                                 [.text(schema), .integer(Int64(m.version))]) != nil { return }
                try db.execute(m.sql)
                try db.run("INSERT INTO schema_migrations (schema, version, name, applied_at) VALUES (?, ?, ?, ?)",
                           [.text(schema), .integer(Int64(m.version)), .text(m.name), .real(now)])
            }
        }
    }
}
