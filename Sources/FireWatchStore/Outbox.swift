import FireWatchCore
import Foundation

/// The edge's store-and-forward outbox in `edge.db`, as the uplink sees it. Two lanes:
///
/// - **Priority lane**: the event journal itself (`edge_events`, FULL durability). Nothing ever evicts
///   an event; an entry is done only when the office acknowledges that it has stored it
///   (`acknowledge(through:)`), never on a broker PUBACK.
/// - **Telemetry lane** (`telemetry_outbox`): one row per device, channel and minute (min, max, last).
///   Bounded by `telemetryCapacity` rows; when full, the oldest minutes are evicted first and counted
///   in `edge_meta.telemetry_evicted` (docs/uplink.md). Events and summaries are separate tables, so
///   telemetry can never push out an event.
///
/// Opens its own connection (the uplink thread's); the pipeline thread appends through `EventJournal`.
public final class Outbox {
    public let journal: EventJournal
    public let telemetryCapacity: Int
    private var db: SQLiteConnection { journal.db }
    private let decoder = JSONDecoder()

    static let telemetryLaneMigration = Migration(version: 2, name: "telemetry outbox lane", sql: """
        CREATE TABLE telemetry_outbox (
          id      INTEGER PRIMARY KEY,
          device  TEXT NOT NULL,
          channel TEXT NOT NULL,
          minute  REAL NOT NULL,
          min     REAL NOT NULL,
          max     REAL NOT NULL,
          last    REAL NOT NULL,
          samples INTEGER NOT NULL,
          batch   INTEGER,
          UNIQUE (device, channel, minute)
        );
        CREATE INDEX telemetry_outbox_minute ON telemetry_outbox(minute);
        CREATE INDEX telemetry_outbox_batch ON telemetry_outbox(batch);
        """)

    public init(path: String, edgeID: String, telemetryCapacity: Int = 50_000, now: Double = Date().timeIntervalSince1970) throws {
        journal = try EventJournal(path: path, edgeID: edgeID, now: now)
        self.telemetryCapacity = max(telemetryCapacity, 1)
    }

    // MARK: priority lane

    /// Journal entries after `sequence` not yet acknowledged, oldest first, with their journal time.
    public func pending(after sequence: Int64, limit: Int) throws -> [(event: AlarmEvent, journaledAt: Double)] {
        try db.query("""
            SELECT event, created_at FROM edge_events WHERE delivered = 0 AND sequence > ? ORDER BY sequence LIMIT ?
            """, [.integer(sequence), .integer(Int64(limit))]) { r in
            (try decoder.decode(AlarmEvent.self, from: Data(r.text(0).utf8)), r.double(1))
        }
    }

    /// The highest sequence up to which every event is acknowledged by the office.
    public var ackedThrough: Int64 {
        get throws {
            try db.scalar("""
                SELECT IFNULL((SELECT MIN(sequence) - 1 FROM edge_events WHERE delivered = 0),
                              (SELECT IFNULL(MAX(sequence), 0) FROM edge_events))
                """)?.integer ?? 0
        }
    }

    /// The office stored every event through `sequence`: they are done.
    public func acknowledge(through sequence: Int64) throws {
        try journal.markDelivered(through: sequence)
    }

    public var pendingEvents: Int64 {
        get throws { try db.scalar("SELECT COUNT(*) FROM edge_events WHERE delivered = 0")?.integer ?? 0 }
    }

    public var lastSequence: Int64 { get throws { try journal.lastSequence } }

    /// See `EventJournal.rebase(above:)`.
    public func rebase(above floor: Int64) throws -> Int { try journal.rebase(above: floor) }

    // MARK: telemetry lane

    /// Adds closed minutes (merged into a stored minute of the same key); evicts the oldest minutes
    /// beyond capacity. Returns how many rows were evicted by this call.
    @discardableResult
    public func addSummaries(_ summaries: [OfficeWire.TelemetrySummary]) throws -> Int {
        guard !summaries.isEmpty else { return 0 }
        return try db.transaction {
            for s in summaries {
                try db.run("""
                    INSERT INTO telemetry_outbox (device, channel, minute, min, max, last, samples) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(device, channel, minute) DO UPDATE SET min = MIN(min, excluded.min), max = MAX(max, excluded.max),
                      last = excluded.last, samples = samples + excluded.samples, batch = NULL
                    """, [.text(s.device), .text(s.channel), .real(s.minute), .real(s.min), .real(s.max), .real(s.last),
                          .integer(Int64(s.samples))])
            }
            let count = try db.scalar("SELECT COUNT(*) FROM telemetry_outbox")?.integer ?? 0
            let excess = Int(count) - telemetryCapacity
            guard excess > 0 else { return 0 }
            try db.run("DELETE FROM telemetry_outbox WHERE id IN (SELECT id FROM telemetry_outbox ORDER BY minute, id LIMIT ?)",
                       [.integer(Int64(excess))])
            try countEvicted(excess)
            return excess
        }
    }

    /// Adds to the persistent count of evicted telemetry minutes (also for minutes the uplink had
    /// to drop in memory while the disk refused the lane).
    public func countEvicted(_ n: Int) throws {
        try db.run("""
            INSERT INTO edge_meta (key, value) VALUES ('telemetry_evicted', ?)
            ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)
            """, [.text(String(n))])
    }

    /// Minutes not yet sent (or whose send was reset), oldest first, tagged with `batch`.
    public func takeUnsentSummaries(limit: Int, batch: Int64) throws -> [OfficeWire.TelemetrySummary] {
        try db.transaction {
            let rows = try db.query("""
                SELECT id, device, channel, minute, min, max, last, samples FROM telemetry_outbox
                WHERE batch IS NULL ORDER BY minute, id LIMIT ?
                """, [.integer(Int64(limit))]) { r in
                (r.int(0), OfficeWire.TelemetrySummary(device: r.text(1), channel: r.text(2), minute: r.double(3), min: r.double(4),
                                                       max: r.double(5), last: r.double(6), samples: Int(r.int(7))))
            }
            for (id, _) in rows { try db.run("UPDATE telemetry_outbox SET batch = ? WHERE id = ?", [.integer(batch), .integer(id)]) }
            return rows.map(\.1)
        }
    }

    /// The office stored telemetry batch `batch`: its rows are done.
    public func acknowledgeTelemetry(batch: Int64) throws {
        try db.run("DELETE FROM telemetry_outbox WHERE batch = ?", [.integer(batch)])
    }

    /// Makes every sent-but-unacknowledged minute eligible to send again (after reconnect or timeout).
    public func resetTelemetrySends() throws {
        try db.run("UPDATE telemetry_outbox SET batch = NULL WHERE batch IS NOT NULL")
    }

    public var pendingTelemetry: Int64 {
        get throws { try db.scalar("SELECT COUNT(*) FROM telemetry_outbox")?.integer ?? 0 }
    }

    /// Telemetry minutes evicted because the lane was full, since this data directory was created.
    public var telemetryEvicted: Int64 {
        get throws { Int64(try db.scalar("SELECT value FROM edge_meta WHERE key = 'telemetry_evicted'")?.text ?? "0") ?? 0 }
    }
}
