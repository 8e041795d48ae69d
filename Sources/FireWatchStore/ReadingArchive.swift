import FireWatchCore
import Foundation

/// Archives readings in batches (one transaction per flush) in their own file at NORMAL durability,
/// so bulk telemetry never slows the FULL commits of alarms. One row per sample: the readings one
/// poll or one message gave for one device at one time (readings schema 2, docs/schema.md).
///
/// Owns its connection: create it and use it on one thread (the edge's archive writer).
public final class ReadingArchive {
    public let db: SQLiteConnection
    /// Readings handed over together (`ReadingSink.accept`), waiting for the next flush.
    private var pending: [[Reading]] = []
    public private(set) var pendingCount = 0
    public private(set) var archivedCount = 0
    public private(set) var archivedSamples = 0
    public private(set) var droppedCount = 0
    /// Readings per transaction: `add` flushes by itself at this size.
    public let batchSize: Int
    private let insert: Statement
    private var text: [UInt8] = []

    public init(path: String, batchSize: Int = 2000, now: Double = Date().timeIntervalSince1970) throws {
        // 64 KiB pages for a new archive: a WAL frame is a page plus a 24-byte header, so with 4 KiB
        // pages nearly every frame write starts and ends inside a file page the kernel must zero and
        // merge; with 64 KiB pages that is a small part of each write (inserts measured ~30 % cheaper).
        db = try SQLiteConnection(path: path, durability: .normal, pageSize: 65_536)
        self.batchSize = batchSize
        try Migrator.migrate(db, schema: ReadingsSchema.name, migrations: ReadingsSchema.migrations, now: now)
        // Telemetry comes in bulk: checkpoint the WAL every ~64 MB instead of every ~4 MB (each
        // checkpoint syncs the file; at a market's normal rate that is every few hours), and keep the
        // (device, time) index in memory.
        let pageSize = Int(try db.scalar("PRAGMA page_size")?.integer ?? 4096)
        try db.execute("PRAGMA wal_autocheckpoint=\(max(1000, (64 << 20) / max(pageSize, 512)))")
        try db.execute("PRAGMA journal_size_limit=\(64 << 20)")
        try db.execute("PRAGMA cache_size=-32768")
        insert = try db.prepare("INSERT INTO samples (device, time, channels) VALUES (?, ?, ?)")
        text.reserveCapacity(512)
    }

    /// Buffers readings taken together; flushes by itself when the batch is full.
    public func add(_ readings: [Reading]) throws {
        guard !readings.isEmpty else { return }
        pending.append(readings)
        pendingCount += readings.count
        if pendingCount >= batchSize { try flush() }
    }

    /// Writes buffered readings in one transaction. On failure (disk full) they stay buffered up to
    /// 10 batches, then the oldest are dropped and counted.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        do {
            var samples = 0
            try db.transaction {
                for group in pending {
                    // Readings of one hand-over normally share device and time; a change starts a new row.
                    var start = 0
                    while start < group.count {
                        let device = group[start].device, time = group[start].time
                        var end = start + 1
                        while end < group.count, group[end].time == time, group[end].device == device { end += 1 }
                        try write(device: device, time: time, group[start..<end])
                        samples += 1
                        start = end
                    }
                }
            }
            archivedCount += pendingCount
            archivedSamples += samples
            pending.removeAll(keepingCapacity: true)
            pendingCount = 0
        } catch {
            while pendingCount > batchSize * 10, !pending.isEmpty {
                let oldest = pending.removeFirst()
                pendingCount -= oldest.count
                droppedCount += oldest.count
            }
            throw error
        }
    }

    private func write(device: String, time: Double, _ readings: ArraySlice<Reading>) throws {
        text.removeAll(keepingCapacity: true)
        Self.pack(readings, into: &text)
        try insert.bind(1, device)
        try insert.bind(2, time)
        try text.withUnsafeBufferPointer { try insert.bind(3, utf8: $0) }
        try insert.run()
    }

    /// `channel=value` pairs joined by `;`: a number in the channel's canonical unit (integers without
    /// a fraction, others as Swift prints a Double), a state name (`fault_open`), or `invalid` when the
    /// device marked the value invalid (docs/schema.md).
    static func pack(_ readings: ArraySlice<Reading>, into out: inout [UInt8]) {
        for r in readings {
            if !out.isEmpty { out.append(UInt8(ascii: ";")) }
            var name = r.channel.name
            name.withUTF8 { out.append(contentsOf: $0) }
            out.append(UInt8(ascii: "="))
            switch r.value {
            case .number(let v):
                appendNumber(v, to: &out)
            case .state(let st):
                var s = st.rawValue
                s.withUTF8 { out.append(contentsOf: $0) }
            case .invalid:
                out.append(contentsOf: "invalid".utf8)
            }
        }
    }

    /// As Swift prints a Double (`String(v)`: the shortest text that reads back as `v`), without making a
    /// String for the values detectors send: integers, and decimals of up to 6 places, are written
    /// straight from the scaled integer; anything else goes through `String(v)`.
    static func appendNumber(_ v: Double, to out: inout [UInt8]) {
        if v.rounded() == v && abs(v) < 1e15 {
            appendInteger(Int64(v), to: &out)
            return
        }
        if abs(v) >= 1e-4 && abs(v) < 1e9 {
            var scale = 10.0
            var places = 1
            while places <= 6 {
                let m = (v * scale).rounded()
                // The fewest places whose decimal reads back as exactly `v` is what `String(v)` prints.
                if m / scale == v {
                    let digits = Int64(m).magnitude, unit = UInt64(scale)
                    if v < 0 { out.append(UInt8(ascii: "-")) }
                    appendInteger(Int64(digits / unit), to: &out)
                    out.append(UInt8(ascii: "."))
                    var fraction = digits % unit, div = unit / 10
                    while div > 0 {
                        out.append(UInt8(ascii: "0") + UInt8(fraction / div))
                        fraction %= div
                        div /= 10
                    }
                    return
                }
                scale *= 10
                places += 1
            }
        }
        var s = String(v)
        s.withUTF8 { out.append(contentsOf: $0) }
    }

    private static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }
}
