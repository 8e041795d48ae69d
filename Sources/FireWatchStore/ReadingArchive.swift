import FireWatchCore
import Foundation

/// Archives readings in batches (one transaction per flush) in their own file at NORMAL durability,
/// so bulk telemetry never slows the FULL commits of alarms. Each flush writes one `sample_blocks` row
/// per device: its samples (the readings one poll or one message gave at one time) since the last
/// flush, in arrival order (readings schema 3, `SampleBlockBuilder`, docs/edge-config.md).
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
    /// A device's block is written and a new one started past this many samples or bytes, so one
    /// row stays a modest read for whoever looks at a burst.
    public static let maxSamplesPerBlock = 1024
    static let maxBytesPerBlock = 256 << 10
    private let insert: Statement
    /// One builder per device seen, reused across flushes (index by `builderIndex`).
    private var builders: [SampleBlockBuilder] = []
    private var builderIndex: [String: Int] = [:]

    public init(path: String, batchSize: Int = 2000, now: Double = Date().timeIntervalSince1970) throws {
        // 64 KiB pages for a new archive: a WAL frame is a page plus a 24-byte header, so with 4 KiB
        // pages nearly every frame write starts and ends inside a file page the kernel must zero and
        // merge; with 64 KiB pages that is a small part of each write (inserts measured ~30 % cheaper).
        db = try SQLiteConnection(path: path, durability: .normal, pageSize: 65_536)
        self.batchSize = batchSize
        try Migrator.migrate(db, schema: ReadingsSchema.name, migrations: ReadingsSchema.migrations, now: now)
        // Telemetry comes in bulk: checkpoint the WAL every ~64 MB instead of every ~4 MB (each
        // checkpoint syncs the file; at a market's normal rate that is every few hours).
        let pageSize = Int(try db.scalar("PRAGMA page_size")?.integer ?? 4096)
        try db.execute("PRAGMA wal_autocheckpoint=\(max(1000, (64 << 20) / max(pageSize, 512)))")
        try db.execute("PRAGMA journal_size_limit=\(64 << 20)")
        insert = try db.prepare("INSERT INTO sample_blocks (device, first, last, count, columns, samples) VALUES (?, ?, ?, ?, ?, ?)")
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
        // Builders start empty: a failed transaction left nothing behind, the retry rebuilds from `pending`.
        for i in builders.indices { builders[i].reset() }
        if builderIndex.count > 100_000 {  // ids come from registered devices; bound it anyway
            builders.removeAll()
            builderIndex.removeAll()
        }
        do {
            var samples = 0
            try db.transaction {
                for group in pending {
                    // Readings of one hand-over normally share device and time; a change starts a new sample.
                    var start = 0
                    while start < group.count {
                        let device = group[start].device, time = group[start].time
                        var end = start + 1
                        while end < group.count, group[end].time == time, group[end].device == device { end += 1 }
                        let b = builder(device)
                        builders[b].append(time: time, group[start..<end])
                        if builders[b].count >= Self.maxSamplesPerBlock || builders[b].byteCount >= Self.maxBytesPerBlock {
                            try write(b)
                        }
                        samples += 1
                        start = end
                    }
                }
                for b in builders.indices where !builders[b].isEmpty { try write(b) }
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

    private func builder(_ device: String) -> Int {
        if let i = builderIndex[device] { return i }
        builders.append(SampleBlockBuilder(device: device))
        builderIndex[device] = builders.count - 1
        return builders.count - 1
    }

    private func write(_ b: Int) throws {
        try insert.bind(1, builders[b].device)
        try insert.bind(2, builders[b].first)
        try insert.bind(3, builders[b].last)
        try insert.bind(4, Int64(builders[b].count))
        try builders[b].columnText.withUnsafeBufferPointer { try insert.bind(5, utf8: $0) }
        try builders[b].lines.withUnsafeBufferPointer { try insert.bind(6, utf8: $0) }
        try insert.run()
        builders[b].reset()
    }

    /// The archived samples of `device` with `from <= time <= through`, oldest first (blocks, then
    /// rows of the older `samples` and `readings` tables in files written before schema 3); with
    /// `newest`, only the last that many. Throws when a row is not in the documented format.
    public func samples(device: String, from: Double = -.infinity, through: Double = .infinity, newest: Int? = nil) throws -> [ArchivedSample] {
        try Self.samples(in: db, device: device, from: from, through: through, newest: newest)
    }

    /// The same from any connection to an archive file, e.g. a read-only one beside a running edge;
    /// tables an older file lacks are skipped. Blocks are read newest first, a page at a time, so
    /// `newest` reads only the rows it needs however long the archive.
    public static func samples(in db: SQLiteConnection, device: String, from: Double = -.infinity,
                               through: Double = .infinity, newest: Int? = nil) throws -> [ArchivedSample] {
        let tables = Set(try db.query("SELECT name FROM sqlite_master WHERE type = 'table'") { $0.text(0) })
        let lo = from.isFinite ? from : -Double.greatestFiniteMagnitude
        let hi = through.isFinite ? through : Double.greatestFiniteMagnitude
        let wanted = newest.map { max(0, $0) } ?? Int.max
        var out: [ArchivedSample] = []
        if tables.contains("sample_blocks") {
            var blocks: [[ArchivedSample]] = []  // newest block first
            var count = 0
            var oldest = Double.infinity
            var cursor: (last: Double, rowid: Int64) = (.infinity, .max)
            page: while true {
                let rows = try db.query("""
                    SELECT rowid, last, columns, samples FROM sample_blocks
                    WHERE device = ? AND last >= ? AND first <= ? AND (last < ? OR (last = ? AND rowid < ?))
                    ORDER BY last DESC, rowid DESC LIMIT 256
                    """, [.text(device), .real(lo), .real(hi), .real(cursor.last), .real(cursor.last), .integer(cursor.rowid)]) {
                    ($0.int(0), $0.double(1), $0.text(2), $0.text(3))
                }
                for (rowid, last, columns, text) in rows {
                    // A block ending before every sample kept so far cannot be among the newest.
                    if count >= wanted, last < oldest { break page }
                    guard let block = ArchivedSample.unpack(device: device, columns: columns, samples: text) else {
                        throw ReadingArchiveError(text: "sample_blocks row \(rowid) of device \(device) is not in the block format")
                    }
                    let kept = block.filter { $0.time >= lo && $0.time <= hi }
                    blocks.append(kept)
                    count += kept.count
                    oldest = kept.reduce(oldest) { min($0, $1.time) }
                    cursor = (last, rowid)
                }
                if rows.count < 256 { break }
            }
            out = blocks.reversed().flatMap { $0 }
        }
        let limit: [SQLValue] = [.integer(Int64(min(wanted, Int(Int32.max))))]
        if tables.contains("samples") {
            let rows = try db.query("SELECT rowid, time, channels FROM samples WHERE device = ? AND time >= ? AND time <= ? ORDER BY time DESC, rowid DESC LIMIT ?",
                                    [.text(device), .real(lo), .real(hi)] + limit) { ($0.int(0), $0.double(1), $0.text(2)) }
            for (rowid, time, packed) in rows {
                guard let s = ArchivedSample.unpack(device: device, time: time, packed: packed) else {
                    throw ReadingArchiveError(text: "samples row \(rowid) of device \(device) is not channel=value pairs")
                }
                out.append(s)
            }
        }
        if tables.contains("readings") {
            // One row per channel: a sample is the rows of one time, read oldest first.
            let old = try db.query("""
                SELECT time, channel, value, state FROM readings WHERE device = ? AND time >= ? AND time <= ?
                  AND time IN (SELECT DISTINCT time FROM readings WHERE device = ? AND time >= ? AND time <= ? ORDER BY time DESC LIMIT ?)
                ORDER BY time, rowid
                """, [.text(device), .real(lo), .real(hi), .text(device), .real(lo), .real(hi)] + limit) { r -> (Double, String, String) in
                let value = r.optionalDouble(2).map(format) ?? r.optionalText(3) ?? "invalid"
                return (r.double(0), r.text(1), value)
            }
            var legacy: [ArchivedSample] = []
            for (time, channel, value) in old {
                if let last = legacy.last, last.time == time {
                    legacy[legacy.count - 1].values.append((channel, value))
                } else {
                    legacy.append(ArchivedSample(device: device, time: time, values: [(channel, value)]))
                }
            }
            out += legacy
        }
        // Oldest first; samples of one time keep their archived order (blocks in arrival order).
        var sorted = out.enumerated().sorted { a, b in
            a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
        }.map(\.element)
        if sorted.count > wanted { sorted.removeFirst(sorted.count - wanted) }
        return sorted
    }

    /// Samples archived in all (blocks and older rows), for status and tests.
    public func sampleCount() throws -> Int {
        let blocks = try db.scalar("SELECT COALESCE(SUM(count), 0) FROM sample_blocks")?.integer ?? 0
        let rows = try db.scalar("SELECT COUNT(*) FROM samples")?.integer ?? 0
        return Int(blocks + rows)
    }

    static func format(_ v: Double) -> String {
        var out: [UInt8] = []
        appendNumber(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// As Swift prints a Double (`String(v)`: the shortest text that reads back as `v`), without making a
    /// String for the values detectors send: integers, and decimals of up to 6 places, are written
    /// straight from the scaled integer; anything else goes through `String(v)`.
    static func appendNumber(_ v: Double, to out: inout [UInt8]) {
        var scaled: UInt64 = 0
        var places = 0
        if v.rounded() == v && abs(v) < 1e15 {
            scaled = UInt64(abs(v))
        } else if abs(v) >= 1e-4 && abs(v) < 1e9, let (m, p) = fewestPlaces(v) {
            scaled = m
            places = p
        } else {
            var s = String(v)
            s.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        // Written right to left into a small stack buffer, then appended at once (one capacity check,
        // not one per digit: the archive writes 15 numbers per message).
        var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { b in
            var i = b.count
            var x = scaled
            if places > 0 {
                for _ in 0..<places {
                    i -= 1
                    b[i] = UInt8(ascii: "0") + UInt8(x % 10)
                    x /= 10
                }
                i -= 1
                b[i] = UInt8(ascii: ".")
            }
            repeat {
                i -= 1
                b[i] = UInt8(ascii: "0") + UInt8(x % 10)
                x /= 10
            } while x > 0
            if v < 0 {
                i -= 1
                b[i] = UInt8(ascii: "-")
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i...]))
        }
    }

    /// `v` as `m / 10^p` with the fewest places p (1...6) whose decimal reads back as exactly `v`
    /// (what `String(v)` prints), `m` without sign; nil when 6 places do not suffice.
    private static func fewestPlaces(_ v: Double) -> (UInt64, Int)? {
        var scale = 10.0
        for places in 1...6 {
            let m = (v * scale).rounded()
            if m / scale == v { return (UInt64(abs(m)), places) }
            scale *= 10
        }
        return nil
    }
}

/// An archive row that is not in the documented format (a file edited by hand, or damaged).
public struct ReadingArchiveError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public var description: String { text }
}
