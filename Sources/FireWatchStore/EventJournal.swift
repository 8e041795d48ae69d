import FireWatchCore
import Foundation

/// The edge's event journal: assigns each event its per-edge sequence number and commits it with
/// `synchronous=FULL` before anything publishes it. The journal is the source of truth for delivery.
public final class EventJournal {
    public let db: SQLiteConnection
    public let edgeID: String
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()
    private let decoder = JSONDecoder()

    public init(path: String, edgeID: String, now: Double = Date().timeIntervalSince1970) throws {
        db = try SQLiteConnection(path: path, durability: .full)
        self.edgeID = edgeID
        try Migrator.migrate(db, schema: EdgeSchema.name, migrations: EdgeSchema.migrations, now: now)
        if let stored = try db.scalar("SELECT value FROM edge_meta WHERE key = 'edge_id'")?.text, stored != edgeID {
            throw StoreRefusal("data directory belongs to edge '\(stored)', not '\(edgeID)'; use its own --data DIR")
        }
        try db.run("INSERT OR IGNORE INTO edge_meta (key, value) VALUES ('edge_id', ?)", [.text(edgeID)])
    }

    /// Durably appends events in one transaction and returns them with their sequence numbers.
    public func append(_ events: [AlarmEvent], now: Double) throws -> [AlarmEvent] {
        guard !events.isEmpty else { return [] }
        return try db.transaction {
            var next = max(try db.scalar("SELECT IFNULL(MAX(sequence), 0) FROM edge_events")?.integer ?? 0, try sequenceFloor()) + 1
            var out: [AlarmEvent] = []
            out.reserveCapacity(events.count)
            for var e in events {
                e.edgeID = edgeID
                e.sequence = next
                next += 1
                let json = String(decoding: try encoder.encode(e), as: UTF8.self)
                try db.run("INSERT INTO edge_events (sequence, event, signal, created_at) VALUES (?, ?, ?, ?)",
                           [.integer(e.sequence), .text(json), .text(e.signal.rawValue), .real(now)])
                out.append(e)
            }
            return out
        }
    }

    /// Events not yet confirmed stored by their receiver, oldest first.
    public func undelivered(limit: Int) throws -> [AlarmEvent] {
        try db.query("SELECT event FROM edge_events WHERE delivered = 0 ORDER BY sequence LIMIT ?", [.integer(Int64(limit))]) { r in
            try decoder.decode(AlarmEvent.self, from: Data(r.text(0).utf8))
        }
    }

    /// Marks every event up to and including `sequence` as stored by the receiver.
    public func markDelivered(through sequence: Int64) throws {
        try db.run("UPDATE edge_events SET delivered = 1 WHERE delivered = 0 AND sequence <= ?", [.integer(sequence)])
    }

    public var lastSequence: Int64 {
        get throws { max(try db.scalar("SELECT IFNULL(MAX(sequence), 0) FROM edge_events")?.integer ?? 0, try sequenceFloor()) }
    }

    /// Sequences at or below this are taken (by an earlier journal of this edge id; see `rebase`).
    private func sequenceFloor() throws -> Int64 {
        Int64(try db.scalar("SELECT value FROM edge_meta WHERE key = 'sequence_floor'")?.text ?? "0") ?? 0
    }

    /// For a journal that started over (its data directory wiped or replaced) while the receiver still
    /// holds this edge id's events through `floor`: moves every event above `floor`, in order, marks
    /// them not delivered (the receiver took them for duplicates of its older events), and makes later
    /// appends continue above. Returns how many events moved. One transaction.
    public func rebase(above floor: Int64) throws -> Int {
        try db.transaction {
            guard floor > (try lastSequence) else { return 0 }
            let rows = try db.query("SELECT sequence, event FROM edge_events ORDER BY sequence DESC") { ($0.int(0), $0.text(1)) }
            for (sequence, json) in rows {
                var e = try decoder.decode(AlarmEvent.self, from: Data(json.utf8))
                e.sequence = floor + sequence
                try db.run("UPDATE edge_events SET sequence = ?, event = ?, delivered = 0 WHERE sequence = ?",
                           [.integer(e.sequence), .text(String(decoding: try encoder.encode(e), as: UTF8.self)), .integer(sequence)])
            }
            try db.run("""
                INSERT INTO edge_meta (key, value) VALUES ('sequence_floor', ?)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value
                """, [.text(String(floor))])
            return rows.count
        }
    }

    public func saveEngineState(_ snapshot: String, now: Double) throws {
        try db.run("""
            INSERT INTO engine_state (id, snapshot, saved_at) VALUES (1, ?, ?)
            ON CONFLICT(id) DO UPDATE SET snapshot = excluded.snapshot, saved_at = excluded.saved_at
            """, [.text(snapshot), .real(now)])
    }

    public func loadEngineState() throws -> String? {
        try db.scalar("SELECT snapshot FROM engine_state WHERE id = 1")?.text
    }
}
