import FireWatchCore
@testable import FireWatchEdge
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization
import Testing

@Suite("edge ingest parts: decode stage, queue back-pressure, archive writer, status writer")
struct EdgeIngestPartsTests {
    static func batch(_ device: String, time: Double, n: Int = 3) -> [Reading] {
        (0..<n).map { Reading(device: device, channel: Channel(unchecked: "temperature.\($0 + 1)"), value: .number(20 + Double($0)), time: time) }
    }

    @Test("a storage fault holds in every heartbeat until its area writes again; one that came and went is reported once")
    func storageFaultFlag() {
        var flag = StorageFaultFlag()
        var beats: [Bool] = []
        func beat() { beats.append(flag.takeForHeartbeat()) }
        beat()                                  // nothing happened
        flag.failed(.archive)
        beat()                                  // failing
        beat()                                  // no write tried meanwhile: still failing, not cleared
        flag.failed(.journal)
        flag.wrote(.journal)
        beat()                                  // the archive still fails
        #expect(flag.failingAreas == [.archive])
        flag.wrote(.archive)
        beat()                                  // every area wrote again: a clean heartbeat
        flag.failed(.outbox)
        flag.wrote(.outbox)
        beat()                                  // a fault between two heartbeats is reported once
        beat()
        #expect(beats == [false, true, true, true, false, true, false])
    }

    static func message(_ n: Int, bytes: Int = 10) -> MQTTMessage {
        MQTTMessage(topic: "t/\(n)", payload: Array(repeating: UInt8(ascii: "x"), count: bytes))
    }

    @Test("the decode stage hands every message to its thread in arrival order, and stop() decodes what it still holds")
    func decodeStageOrder() throws {
        let seen = Mutex<[String]>([])
        let threads = Mutex<Set<String>>([])
        let sizes = Mutex<[Int]>([])
        let stage = MQTTDecodeStage(capacity: 1000) { batch in
            let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
            threads.withLock { _ = $0.insert(name.trimmingCharacters(in: .whitespacesAndNewlines)) }
            seen.withLock { $0 += batch.map(\.topic) }
            sizes.withLock { $0.append(batch.count) }
        }
        stage.start()
        for n in 0..<5_000 { stage.submit(Self.message(n)) }
        stage.stop()
        stage.stop()  // idempotent
        #expect(seen.withLock { $0 } == (0..<5_000).map { "t/\($0)" })
        #expect(threads.withLock { $0 } == ["fw mqtt decode"], "decoded on the stage's named thread only")
        #expect(sizes.withLock { $0 }.allSatisfy { $0 >= 1 && $0 <= MQTTDecodeStage.maxBatch })
        stage.submit(Self.message(9))  // a late callback after stop is handled, not lost
        #expect(seen.withLock { $0.last } == "t/9")
    }

    @Test("a full decode stage holds the network thread (nothing dropped) until its thread makes room")
    func decodeStageBackPressure() throws {
        let gate = DispatchSemaphore(value: 0)
        let handled = Atomic<Int>(0)
        let stage = MQTTDecodeStage(capacity: 4, capacityBytes: 1 << 20) { batch in
            if handled.load(ordering: .acquiring) == 0 { gate.wait() }  // the first batch blocks the decoder
            handled.add(batch.count, ordering: .releasing)
        }
        stage.start()
        let submitted = Atomic<Int>(0)
        let network = Thread {
            for n in 0..<100 {
                stage.submit(Self.message(n))
                submitted.add(1, ordering: .releasing)
            }
        }
        network.start()
        Thread.sleep(forTimeInterval: 0.3)
        // The decoder is stuck on message 0 (with whatever it took along); the buffer is full at 4 and
        // the network thread waits instead of dropping.
        #expect(stage.depth == 4)
        #expect(submitted.load(ordering: .acquiring) < 100)
        gate.signal()
        let deadline = Date(timeIntervalSinceNow: 5)
        while handled.load(ordering: .acquiring) < 100, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(handled.load(ordering: .acquiring) == 100 && submitted.load(ordering: .acquiring) == 100)
        stage.stop()
    }

    @Test("the byte bound holds big payloads back too, but a single message over it still passes")
    func decodeStageBytes() throws {
        let handled = Mutex<[Int]>([])
        let stage = MQTTDecodeStage(capacity: 1000, capacityBytes: 100) { batch in handled.withLock { $0 += batch.map(\.payload.count) } }
        stage.start()
        for n in 0..<20 { stage.submit(Self.message(n, bytes: n == 7 ? 500 : 60)) }
        stage.stop()
        #expect(handled.withLock { $0.count } == 20 && handled.withLock { $0[7] } == 500)
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

    @Test("the archive writer commits every hand-over (one block per device), counts held and over-bound readings, and stops clean")
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
        let archive = try ReadingArchive(path: path, now: 0)
        let back = try ["D1", "D2", "D3", "D4", "D5"].flatMap { try archive.samples(device: $0) }
        #expect(back.map(\.device) == ["D1", "D2", "D5"])
        #expect(back[0].packed == "temperature.1=20;temperature.2=21;temperature.3=22")
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

@Suite("firewatch readings")
struct ReadingsCommandTests {
    @Test("prints a device's archived samples in local time, as JSON lines, within --since/--until; bad input exits 64 or 1")
    func readingsCommand() throws {
        let dir = TestSupport.temporaryDirectory("readings-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let archive = try ReadingArchive(path: dir.appendingPathComponent("readings.db").path, now: 0)
            // 2026-12-04 10:00:00 and 10:01:00 in Asia/Shanghai
            try archive.add([Reading(device: "SN2", channel: Channel(unchecked: "temperature.1"), value: .number(.nan), time: 1_796_349_600)])
            for (t, v) in [(1_796_349_600.0, 123.0), (1_796_349_660.0, 125.5)] {
                try archive.add([Reading(device: "SN1", channel: Channel(unchecked: "residual_current.1"), value: .number(v), time: t),
                                 Reading(device: "SN1", channel: Channel(unchecked: "state.temperature.1"), value: .state(.faultOpen), time: t)])
            }
            try archive.flush()
        }
        let text = try firewatch(["readings", "--data", dir.path, "SN1"])
        #expect(text.status == 0, "\(text.err)")
        #expect(text.out == """
            2026-12-04 10:00:00  residual_current.1=123  state.temperature.1=fault_open
            2026-12-04 10:01:00  residual_current.1=125.5  state.temperature.1=fault_open

            """)
        let json = try firewatch(["readings", "--data", dir.path, "SN1", "--since", "2026-12-04 10:00:30", "--json"])
        #expect(json.status == 0)
        let lines = json.out.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        let channels = object?["channels"] as? [String: Any]
        #expect(channels?["residual_current.1"] as? Double == 125.5 && channels?["state.temperature.1"] as? String == "fault_open")
        #expect(object?["time"] as? String == "2026-12-04T02:01:00Z")
        let nan = try firewatch(["readings", "--data", dir.path, "SN2", "--json"])
        #expect(nan.status == 0 && nan.out.contains(#""temperature.1":"nan""#), "\(nan.out)")
        let none = try firewatch(["readings", "--data", dir.path, "SN1", "--until", "2026-12-03"])
        #expect(none.status == 0 && none.out.contains("没有存档读数"))
        #expect(try firewatch(["readings", "--data", dir.path, "SN1", "--since", "yesterday"]).status == 64)
        #expect(try firewatch(["readings", "--data", dir.path]).status == 64)
        let missing = try firewatch(["readings", "--data", dir.appendingPathComponent("nope").path, "SN1"])
        #expect(missing.status == 1 && missing.err.contains("no readings archive"))
    }
}
