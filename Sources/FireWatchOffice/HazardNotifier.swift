import FireWatchCore
import FireWatchStore
import Foundation
import Synchronization

/// Runs the configured notification command (an SMS gateway stand-in) once per new hazard, with the
/// hazard as JSON on stdin, on its own thread: ingestion only enqueues and never waits for it.
///
/// Bounded: at most `capacity` notices wait; beyond that a notice is refused and counted in
/// `counters.overflowed` (and logged) — the hazard itself is already stored either way.
public final class HazardNotifier: Sendable {
    public struct Counters: Sendable, Equatable {
        public var sent = 0
        public var failed = 0
        public var overflowed = 0
    }

    private struct State {
        var queue: [HazardNotice] = []
        var stopping = false
        var counters = Counters()
    }

    public let command: String
    public let timeoutSeconds: Double
    public let capacity: Int
    private let state = Mutex(State())
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let log: @Sendable (String) -> Void

    public init(command: String, timeoutSeconds: Double = 10, capacity: Int = 1000, log: @escaping @Sendable (String) -> Void) {
        self.command = command
        self.timeoutSeconds = timeoutSeconds
        self.capacity = capacity
        self.log = log
        let t = Thread { [self] in
            nameThisThread("fw notifier")
            self.run()
            self.finished.signal()
        }
        t.start()
    }

    public var counters: Counters { state.withLock { $0.counters } }

    /// Queues a notice; returns false (counted) when the queue is full.
    @discardableResult
    public func enqueue(_ notice: HazardNotice) -> Bool {
        let accepted = state.withLock { s -> Bool in
            guard s.queue.count < capacity, !s.stopping else { s.counters.overflowed += 1; return false }
            s.queue.append(notice)
            return true
        }
        if accepted { ready.signal() } else { log("notifier: queue full, notice for hazard #\(notice.hazard.id) not sent (counted)") }
        return accepted
    }

    /// Sends what is queued, then stops the thread; waits at most `grace` seconds (a hook still
    /// running then is left to finish on its own, and what is still queued is logged as not sent).
    public func stop(grace: Double = 5) {
        state.withLock { $0.stopping = true }
        ready.signal()
        if finished.wait(timeout: .now() + grace) == .timedOut {
            let left = state.withLock { $0.queue.count }
            log("notifier: stopping with \(left) notices not sent (the hazards are stored)")
        }
    }

    private func run() {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        while true {
            ready.wait()
            while let notice = state.withLock({ s -> HazardNotice? in s.queue.isEmpty ? nil : s.queue.removeFirst() }) {
                let ok = send((try? encoder.encode(notice)) ?? Data("{}".utf8), hazard: notice.hazard.id)
                state.withLock { if ok { $0.counters.sent += 1 } else { $0.counters.failed += 1 } }
            }
            if state.withLock({ $0.stopping && $0.queue.isEmpty }) { return }
        }
    }

    private func send(_ body: Data, hazard: Int64) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch {
            log("notifier: cannot run '\(command)': \(error)")
            return false
        }
        // A hook that does not read its stdin must not wedge us: ignore EPIPE and close.
        signal(SIGPIPE, SIG_IGN)
        try? input.fileHandleForWriting.write(contentsOf: body + Data("\n".utf8))
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning {
            p.terminate()
            Thread.sleep(forTimeInterval: 0.2)
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            log("notifier: '\(command)' for hazard #\(hazard) still running after \(timeoutSeconds) s; killed")
            return false
        }
        if p.terminationStatus != 0 {
            log("notifier: '\(command)' for hazard #\(hazard) exited \(p.terminationStatus)")
            return false
        }
        return true
    }
}
