import FireWatchCore
import Foundation

/// Moves decoding off the MQTT network thread. The client's callback only copies each message into
/// a bounded buffer (`submit`); one decode thread hands them, in arrival order, to the ingest.
///
/// Why: the network thread reads every packet with several small `read`s (libmosquitto), and with
/// the decoding on it as well it was the edge's limit in a broker backlog (BENCHMARKS.md § MQTT):
/// split, the two overlap on two cores.
///
/// Bounded: past `capacity` messages or `capacityBytes` of payload, `submit` waits until the decode
/// thread makes room. The network thread then stops reading its socket, so the backlog stays at the
/// broker (TCP flow control, and the persistent session for QoS 1) instead of in memory; nothing is
/// dropped here. The decode thread never waits long itself: the reading queue behind it refuses and
/// counts after its bounded wait.
public final class MQTTDecodeStage: @unchecked Sendable {
    // @unchecked: the mutable state below is touched only while holding `condition`.
    private let condition = NSCondition()
    private var buffer: [MQTTMessage] = []
    private var bytes = 0
    private var stopping = false
    private var running = false
    private var waitingSubmitters = 0
    private let finished = DispatchSemaphore(value: 0)
    private let handle: @Sendable ([MQTTMessage]) -> Void
    public let capacity: Int
    public let capacityBytes: Int
    /// Messages handed to `handle` together at most.
    public static let maxBatch = 256

    /// - Parameter handle: runs on the decode thread for the messages buffered meanwhile, in order
    ///   (`MQTTIngest.handle(_:)`), at most `maxBatch` at a time.
    public init(capacity: Int = 10_000, capacityBytes: Int = 16 << 20, handle: @escaping @Sendable ([MQTTMessage]) -> Void) {
        self.capacity = max(1, capacity)
        self.capacityBytes = max(1, capacityBytes)
        self.handle = handle
        buffer.reserveCapacity(min(self.capacity, 4096))
    }

    /// Starts the decode thread (once).
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !running, !stopping else { return }
        running = true
        let t = Thread { [self] in
            nameThisThread("fw mqtt decode")
            run()
            finished.signal()
        }
        t.start()
    }

    /// From the network thread: queues a message, waiting while the buffer is full. After `stop()`
    /// it handles the message itself, so a late callback is not lost.
    public func submit(_ message: MQTTMessage) {
        condition.lock()
        guard running, !stopping else {
            condition.unlock()
            handle([message])
            return
        }
        while buffer.count >= capacity || (bytes > 0 && bytes + message.payload.count > capacityBytes), !stopping {
            waitingSubmitters += 1
            condition.wait()
            waitingSubmitters -= 1
        }
        let wasEmpty = buffer.isEmpty
        buffer.append(message)
        bytes += message.payload.count
        // One wake-up per burst: the decode thread takes everything queued when it runs.
        if wasEmpty { condition.broadcast() }
        condition.unlock()
    }

    /// Messages waiting to be decoded.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return buffer.count
    }

    /// Decodes what is buffered, then ends the decode thread (idempotent). Stop the client first.
    public func stop() {
        condition.lock()
        let wasRunning = running && !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if wasRunning { finished.wait() }
    }

    private func run() {
        var work: [MQTTMessage] = []
        work.reserveCapacity(buffer.capacity)
        while true {
            condition.lock()
            while buffer.isEmpty, !stopping { condition.wait() }
            let done = stopping && buffer.isEmpty
            swap(&work, &buffer)
            bytes = 0
            if waitingSubmitters > 0 { condition.broadcast() }
            condition.unlock()
            if done { return }
            // In slices, so the readings of one slice fit the reading queue whole and the sink is fed
            // while the rest is decoded.
            var start = 0
            while start < work.count {
                let end = min(work.count, start + Self.maxBatch)
                handle(Array(work[start..<end]))
                start = end
            }
            work.removeAll(keepingCapacity: true)
        }
    }
}
