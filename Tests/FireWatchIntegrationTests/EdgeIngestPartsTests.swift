import FireWatchCore
@testable import FireWatchEdge
import FireWatchStore
import Foundation
import Synchronization
import Testing

@Suite("edge ingest parts: queue back-pressure, archive writer, status writer")
struct EdgeIngestPartsTests {
    static func batch(_ device: String, time: Double, n: Int = 3) -> [Reading] {
        (0..<n).map { Reading(device: device, channel: Channel(unchecked: "temperature.\($0 + 1)"), value: .number(20 + Double($0)), time: time) }
    }

    @Test("a full queue holds the producer until the consumer makes room, then takes its batch")
    func backPressure() throws {
        let queue = ReadingQueue(capacity: 6, maxWait: 10)
        queue.accept(Self.batch("D1", time: 1))
        queue.accept(Self.batch("D1", time: 2))
        let accepted = Atomic<Bool>(false)
        let producer = Thread {
            queue.accept(Self.batch("D1", time: 3))
            accepted.store(true, ordering: .releasing)
        }
        producer.start()
        Thread.sleep(forTimeInterval: 0.3)
        let early = accepted.load(ordering: .acquiring)
        #expect(!early, "the producer waits while the queue is full")
        var out: [[Reading]] = []
        queue.drain(timeout: 1, linger: 0, into: &out)
        #expect(out.map { $0[0].time } == [1, 2])
        let deadline = Date(timeIntervalSinceNow: 5)
        while !accepted.load(ordering: .acquiring), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let late = accepted.load(ordering: .acquiring)
        #expect(late)
        out.removeAll()
        queue.drain(timeout: 1, linger: 0, into: &out)
        #expect(out.map { $0[0].time } == [3], "the held batch arrives whole and in order")
        #expect(queue.counters.overflowed == 0)
    }

    @Test("with nobody draining, a full queue refuses after its wait and counts what it refused")
    func refusesAfterWait() {
        let queue = ReadingQueue(capacity: 4, maxWait: 0.1)
        queue.accept(Self.batch("D1", time: 1))
        queue.accept(Self.batch("D1", time: 2))   // 6 > 4: refused after 0.1 s
        queue.accept(Self.batch("D1", time: 3, n: 9))  // larger than the whole queue: refused at once
        let c = queue.counters
        #expect(c.accepted == 3 && c.overflowed == 12 && c.depth == 3)
    }

    @Test("the archive writer commits every hand-over as one row per sample, counts held and over-bound readings, and stops clean")
    func archiveWriter() throws {
        let dir = TestSupport.temporaryDirectory("archive-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("readings.db").path
        let logs = Mutex<[String]>([])
        let writer = try ArchiveWriter(path: path, now: 0, batchSize: 4, flushInterval: 0.05, maxBacklog: 9,
                                       log: { line in logs.withLock { $0.append(line) } }, storageFault: {})
        writer.submit([Self.batch("D1", time: 10), Self.batch("D2", time: 10)], hold: false)
        writer.submit([Self.batch("D3", time: 10)], hold: true)                        // journal on its reserve
        let deadline = Date(timeIntervalSinceNow: 5)
        while writer.counters.archived < 6, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        writer.submit((0..<4).map { Self.batch("D4", time: Double($0)) }, hold: false)  // 12 > 9: refused
        writer.submit([Self.batch("D5", time: 11)], hold: false)
        writer.stop()
        writer.stop()  // idempotent
        let c = writer.counters
        #expect(c.archived == 9 && c.samples == 3 && c.notArchived == 15 && c.backlog == 0, "\(c)")
        let db = try SQLiteConnection(path: path, readOnly: true)
        let rows = try db.query("SELECT device, channels FROM samples ORDER BY rowid") { ($0.text(0), $0.text(1)) }
        #expect(rows.map(\.0) == ["D1", "D2", "D5"])
        #expect(rows[0].1 == "temperature.1=20;temperature.2=21;temperature.3=22")
        #expect(logs.withLock { $0 }.isEmpty, "\(logs.withLock { $0 })")
    }

    @Test("a burst over the backlog bound waits for the writer to catch up instead of losing readings")
    func archiveBackPressure() throws {
        let dir = TestSupport.temporaryDirectory("archive-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("readings.db").path
        // A long interval: only the waiting submitter makes the writer commit early.
        let writer = try ArchiveWriter(path: path, now: 0, batchSize: 1_000, flushInterval: 30, maxBacklog: 6, maxWait: 10,
                                       log: { _ in }, storageFault: {})
        for k in 0..<10 { writer.submit([Self.batch("D\(k)", time: 1), Self.batch("D\(k)", time: 2)], hold: false) }
        writer.stop()
        let c = writer.counters
        #expect(c.archived == 60 && c.notArchived == 0 && c.samples == 20, "\(c)")
    }

    @Test("an archive that cannot be opened is an error at start, not a thread left behind")
    func archiveOpenFailure() {
        #expect(throws: (any Error).self) {
            _ = try ArchiveWriter(path: "/nonexistent-dir/readings.db", now: 0, log: { _ in }, storageFault: {})
        }
    }

    @Test("the status writer stops at once instead of sleeping out its interval")
    func statusWriterStops() throws {
        let dir = TestSupport.temporaryDirectory("status-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("status.json").path
        let writer = EdgeStatusWriter(path: path, interval: 60) {
            EdgeStatus(edge: "E1", updatedAt: 0, devices: 0, queueAccepted: 0, queueOverflowed: 0, queueDepth: 0,
                       readingsArchived: 5, readingsNotArchived: 0, modbus: [:], mqtt: nil)
        }
        writer.start()
        Thread.sleep(forTimeInterval: 0.2)
        let t0 = Date()
        writer.stop()
        #expect(Date().timeIntervalSince(t0) < 10, "stop waited for the 60 s interval")
        let status = try EdgeStatus.load(dataDirectory: dir.path)
        #expect(status.readingsArchived == 5)
        #expect(status.lines.contains("archive: 5 readings stored"))
    }
}
