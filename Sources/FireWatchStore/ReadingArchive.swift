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
                // One row per sample: the readings one poll or message gave for one device at one time.
                let sql = "INSERT INTO samples (device, time, channels) VALUES (?, ?, ?)"
                var start = 0
                while start < pending.count {
                    let device = pending[start].device, time = pending[start].time
                    var end = start + 1
                    while end < pending.count, pending[end].time == time, pending[end].device == device { end += 1 }
                    try db.run(sql, [.text(device), .real(time), .text(Self.pack(pending[start..<end]))])
                    start = end
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

    /// `channel=value` pairs joined by `;`: a number in the channel's canonical unit, a state name
    /// (`fault_open`), or `invalid` when the device marked the value invalid (docs/edge-config.md).
    static func pack(_ readings: ArraySlice<Reading>) -> String {
        var text = ""
        text.reserveCapacity(readings.count * 24)
        for r in readings {
            if !text.isEmpty { text += ";" }
            text += r.channel.name
            text += "="
            switch r.value {
            case .number(let v): text += v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
            case .state(let st): text += st.rawValue
            case .invalid: text += "invalid"
            }
        }
        return text
    }
}
