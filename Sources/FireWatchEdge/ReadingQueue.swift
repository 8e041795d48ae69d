import FireWatchCore
import Foundation

/// The one bounded queue between ingestion adapters (many producer threads) and the rule-engine
/// consumer. When full, a producer waits up to `maxWait` for room (back-pressure: an MQTT broker or
/// a bus holds the rest meanwhile), then the batch is refused and counted: nothing is dropped silently.
///
/// Carries each hand-over (one poll of one device, one MQTT message) as it came, as one array: a
/// batch moves from producer to consumer without copying its readings one by one.
public final class ReadingQueue: ReadingSink, @unchecked Sendable {
    // @unchecked: every stored property is read and written only while holding `condition`.
    private let condition = NSCondition()
    private var batches: [[Reading]] = []
    private var depth = 0
    /// Readings at most (not batches).
    public let capacity: Int
    private var overflowed = 0
    private var accepted = 0
    private var closed = false
    private var waitingProducers = 0
    /// How long a producer waits for room before its batch is refused (seconds).
    public let maxWait: Double

    public init(capacity: Int = 100_000, maxWait: Double = 0.5) {
        self.capacity = capacity
        self.maxWait = maxWait
        batches.reserveCapacity(4096)
    }

    public func accept(_ readings: [Reading]) {
        guard !readings.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        enqueue(readings)
    }

    /// Several hand-overs under one lock, each taken (or waited for, or refused) as `accept` would.
    public func accept(batches: [[Reading]]) {
        guard !batches.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        for readings in batches where !readings.isEmpty { enqueue(readings) }
    }

    /// Call holding `condition`.
    private func enqueue(_ readings: [Reading]) {
        guard !closed else { return }
        if depth + readings.count > capacity, readings.count <= capacity, maxWait > 0 {
            let deadline = Date(timeIntervalSinceNow: maxWait)
            waitingProducers += 1
            while depth + readings.count > capacity, !closed, condition.wait(until: deadline) {}
            waitingProducers -= 1
        }
        guard !closed else { return }
        if depth + readings.count > capacity {
            overflowed += readings.count
            return
        }
        let wasEmpty = batches.isEmpty
        batches.append(readings)
        depth += readings.count
        accepted += readings.count
        // One wake-up per burst, not per message: the consumer takes everything queued when it runs.
        if wasEmpty { condition.signal() }
    }

    /// Takes every queued batch (in order), waiting at most `timeout` seconds for the first one and then
    /// up to `linger` seconds more while the backlog is small, so a stream of single messages is
    /// handled in batches (a few ms of latency against thousands of wake-ups per second).
    /// `out` should be empty; its storage is swapped with the queue's, so both keep their capacity.
    public func drain(timeout: Double, linger: Double = 0.002, into out: inout [[Reading]]) {
        condition.lock()
        defer { condition.unlock() }
        if batches.isEmpty, !closed {
            _ = condition.wait(until: Date(timeIntervalSinceNow: timeout))
        }
        if !batches.isEmpty, depth < 1024, linger > 0, !closed {
            condition.unlock()
            Thread.sleep(forTimeInterval: linger)
            condition.lock()
        }
        guard !batches.isEmpty else { return }
        if out.isEmpty {
            swap(&out, &batches)
        } else {
            out.append(contentsOf: batches)
            batches.removeAll(keepingCapacity: true)
        }
        depth = 0
        if waitingProducers > 0 { condition.broadcast() }
    }

    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    public struct Counters: Sendable, Equatable {
        public var accepted: Int
        public var overflowed: Int
        public var depth: Int
    }

    public var counters: Counters {
        condition.lock()
        defer { condition.unlock() }
        return Counters(accepted: accepted, overflowed: overflowed, depth: depth)
    }
}
