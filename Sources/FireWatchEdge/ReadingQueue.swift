import FireWatchCore
import Foundation

/// The one bounded queue between ingestion adapters (many producer threads) and the rule-engine
/// consumer. When full, the newest batch is refused and counted: nothing is dropped silently.
public final class ReadingQueue: ReadingSink, @unchecked Sendable {
    // @unchecked: every stored property is read and written only while holding `condition`.
    private let condition = NSCondition()
    private var items: [Reading] = []
    private var head = 0
    public let capacity: Int
    private var overflowed = 0
    private var accepted = 0
    private var closed = false

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
        items.reserveCapacity(min(capacity, 16_384))
    }

    public func accept(_ readings: [Reading]) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        if items.count - head + readings.count > capacity {
            overflowed += readings.count
            return
        }
        let wasEmpty = items.count == head
        items.append(contentsOf: readings)
        accepted += readings.count
        // One wake-up per batch, not per message: the consumer takes everything queued when it runs.
        if wasEmpty { condition.signal() }
    }

    /// Takes everything queued, waiting at most `timeout` seconds for the first reading and then up to
    /// `linger` seconds more while the batch is small, so a stream of single messages is handled in
    /// batches (a few ms of latency against thousands of wake-ups per second).
    public func drain(timeout: Double, linger: Double = 0.002, into out: inout [Reading]) {
        condition.lock()
        defer { condition.unlock() }
        if items.count == head, !closed {
            _ = condition.wait(until: Date(timeIntervalSinceNow: timeout))
        }
        if items.count > head, items.count - head < 1024, linger > 0, !closed {
            condition.unlock()
            Thread.sleep(forTimeInterval: linger)
            condition.lock()
        }
        guard items.count > head else { return }
        out.append(contentsOf: items[head...])
        items.removeAll(keepingCapacity: true)
        head = 0
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
        return Counters(accepted: accepted, overflowed: overflowed, depth: items.count - head)
    }
}
