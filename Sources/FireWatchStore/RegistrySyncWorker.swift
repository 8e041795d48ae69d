import FireWatchCore
import Foundation
import Synchronization

/// The thread behind both halves of the registry sync: it owns one governance database connection,
/// works through the payloads its transport hands in (`deliver`, from any thread) and calls `tick`
/// at least every `tickInterval` seconds. Opening the database is retried every 2 s until it works.
public final class RegistrySyncWorker: @unchecked Sendable {
    // @unchecked: the mutable state is behind Mutexes and semaphores; the connection lives on the thread.
    public let governancePath: String
    public let tickInterval: Double
    private let name: String
    private let inbox = Mutex<[[UInt8]]>([])
    private let stopping = Mutex(false)
    private let started = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    private let wake = DispatchSemaphore(value: 0)
    private let lastErrorBox = Mutex<String?>(nil)
    private let log: @Sendable (String) -> Void

    public init(governancePath: String, name: String, tickInterval: Double, log: @escaping @Sendable (String) -> Void) {
        self.governancePath = governancePath
        self.name = name
        self.tickInterval = tickInterval
        self.log = log
    }

    public var lastError: String? { lastErrorBox.withLock { $0 } }

    /// Records a problem for `lastError` and the log.
    public func report(_ message: String) {
        lastErrorBox.withLock { $0 = message }
        log("registry sync: \(message)")
    }

    /// Hands a received payload to the thread (copied; call from the transport's callback).
    public func deliver(_ payload: [UInt8]) {
        inbox.withLock { $0.append(payload) }
        wake.signal()
    }

    /// Makes the thread run its next round now.
    public func wakeUp() { wake.signal() }

    /// Starts the thread: `prepare` once after opening, then `handle` for each payload and `tick` each round.
    public func start(prepare: @escaping @Sendable (SQLiteGovernanceStore) throws -> Void,
                      handle: @escaping @Sendable (SQLiteGovernanceStore, [UInt8]) -> Void,
                      tick: @escaping @Sendable (SQLiteGovernanceStore) -> Void) {
        started.withLock { $0 = true }
        let t = Thread { [self] in
            nameThisThread("fw \(name)")
            defer { finished.signal() }
            guard let store = open(prepare) else { return }
            while !stopping.withLock({ $0 }) {
                for payload in inbox.withLock({ q -> [[UInt8]] in defer { q.removeAll() }; return q }) { handle(store, payload) }
                tick(store)
                _ = wake.wait(timeout: .now() + min(tickInterval, 0.5))
            }
        }
        t.start()
    }

    /// Ends the thread and waits for it (its connection closes with it).
    public func stop() {
        stopping.withLock { $0 = true }
        wake.signal()
        if started.withLock({ $0 }) { finished.wait() }
    }

    private func open(_ prepare: (SQLiteGovernanceStore) throws -> Void) -> SQLiteGovernanceStore? {
        while !stopping.withLock({ $0 }) {
            do {
                let store = try SQLiteGovernanceStore(path: governancePath)
                try prepare(store)
                return store
            } catch {
                report("cannot open \(governancePath): \(error); retrying")
                _ = wake.wait(timeout: .now() + 2)
            }
        }
        return nil
    }
}
