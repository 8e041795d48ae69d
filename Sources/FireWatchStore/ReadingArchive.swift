import FireWatchCore
import Foundation

/// Archives readings in batches (one transaction per flush) in their own file at NORMAL durability,
/// so bulk telemetry never slows the FULL commits of alarms.
public final class ReadingArchive {
    public let db: SQLiteConnection
    private var pending: [Reading] = []
    public private(set) var archivedCount = 0
    public let batchSize: Int

    public init(path: String, batchSize: Int = 2000, now: Double = Date().timeIntervalSince1970) throws {
        db = try SQLiteConnection(path: path, durability: .normal)
        self.batchSize = batchSize
        try Migrator.migrate(db, schema: ReadingsSchema.name, migrations: ReadingsSchema.migrations, now: now)
        pending.reserveCapacity(batchSize)
    }

    /// Buffers a reading; flushes by itself when the batch is full.
    public func add(_ r: Reading) throws {
        pending.append(r)
        if pending.count >= batchSize { try flush() }
    }

    public var pendingCount: Int { pending.count }

    /// Writes buffered readings in one transaction. On failure (disk full) they stay buffered up to
    /// 10 batches, then the oldest are dropped and counted.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        do {
            try db.transaction {
                let sql = "INSERT INTO readings (device, channel, time, value, state) VALUES (?, ?, ?, ?, ?)"
                for r in pending {
                    let value: SQLValue
                    let state: SQLValue
                    switch r.value {
                    case .number(let v): value = .real(v); state = .null
                    case .state(let s): value = .null; state = .text(s.rawValue)
                    case .invalid: value = .null; state = .text("invalid")
                    }
                    try db.run(sql, [.text(r.device), .text(r.channel.name), .real(r.time), value, state])
                }
            }
            archivedCount += pending.count
            pending.removeAll(keepingCapacity: true)
        } catch {
            if pending.count > batchSize * 10 {
                droppedCount += pending.count - batchSize * 10
                pending.removeFirst(pending.count - batchSize * 10)
            }
            throw error
        }
    }

    public private(set) var droppedCount = 0
}
