import FireWatchCore
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization

/// The office half of the registry sync: applies registrations edges send (last writer wins by
/// (updated_at, origin), history merged), acknowledges them, and answers each edge with the
/// office's changes to its market after the edge's cursor. Premises are the office's: edges
/// never send them. Topics: docs/registry.md (`firewatch/edge/+/registry` in,
/// `firewatch/office/registry/<market>/<edge>` out).
public final class RegistrySyncOffice: @unchecked Sendable {
    // @unchecked: `client` is thread-safe; mutable state is behind Mutexes; the database connection
    // lives only inside the sync thread.
    public struct Stats: Sendable, Equatable {
        public var received = 0
        public var applied = 0
        public var rejected = 0
        public var lastError: String?
    }

    public let governancePath: String
    /// Office changes per answer (a new edge's cache fills in pages).
    public let pageSize: Int
    private let client: MQTTClient
    private let inbox = Mutex<[[UInt8]]>([])
    private let statsBox = Mutex(Stats())
    private let stopping = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    private let wake = DispatchSemaphore(value: 0)
    private let log: @Sendable (String) -> Void

    public init(governancePath: String, broker: MQTTOptions, pageSize: Int = 500,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(MQTTError) {
        self.governancePath = governancePath
        self.pageSize = pageSize
        self.log = log
        client = try MQTTClient(options: broker, log: log)
        client.onMessage = { [weak self] m in
            self?.inbox.withLock { $0.append(m.payload) }
            self?.wake.signal()
        }
        client.subscribe("firewatch/edge/+/registry", qos: 1)
    }

    public var stats: Stats { statsBox.withLock { $0 } }

    public func start() {
        client.start()
        let t = Thread { [self] in
            self.run()
            self.finished.signal()
        }
        t.name = "registry-sync-office"
        t.start()
    }

    public func stop() {
        stopping.withLock { $0 = true }
        wake.signal()
        finished.wait()
        client.stop()
    }

    private func run() {
        guard let store = openStore({ _ in }) else { return }
        let decoder = JSONDecoder(), encoder = JSONEncoder()
        while !stopping.withLock({ $0 }) {
            for payload in inbox.withLock({ q -> [[UInt8]] in defer { q.removeAll() }; return q }) {
                do {
                    let up = try decoder.decode(RegistryUpMessage.self, from: Data(payload))
                    let results = try store.applyRemote(market: up.market, premises: [], devices: up.devices)
                    var rejected: [RegistryDownMessage.Rejection] = []
                    for (id, outcome) in results {
                        if case .rejected(let why) = outcome {
                            rejected.append(.init(device: id, reason: why))
                            log("registry sync: device \(id) from edge \(up.edge) refused: \(why)")
                        }
                    }
                    let (premises, devices, through) = try store.marketChanges(up.market.id, after: up.officeCursor, limit: pageSize)
                    let down = RegistryDownMessage(edge: up.edge, ack: up.through, market: up.market, premises: premises,
                                                   devices: devices, through: through, rejected: rejected)
                    try client.publish(topic: "firewatch/office/registry/" + up.market.id + "/" + up.edge,
                                       payload: [UInt8](try encoder.encode(down)), qos: 1)
                    statsBox.withLock {
                        $0.received += 1
                        $0.applied += results.filter { $0.1 == .applied }.count
                        $0.rejected += rejected.count
                    }
                } catch {
                    statsBox.withLock { $0.lastError = "\(error)" }
                    log("registry sync: bad message from an edge: \(error)")
                }
            }
            _ = wake.wait(timeout: .now() + 0.5)
        }
    }

    /// Opens the database, retrying every 2 s until it opens or the sync is stopped (a disk that comes back, a lock).
    private func openStore(_ prepare: (SQLiteGovernanceStore) throws -> Void) -> SQLiteGovernanceStore? {
        while !stopping.withLock({ $0 }) {
            do {
                let store = try SQLiteGovernanceStore(path: governancePath)
                try prepare(store)
                return store
            } catch {
                statsBox.withLock { $0.lastError = "\(error)" }
                log("registry sync: cannot open \(governancePath): \(error); retrying")
                _ = wake.wait(timeout: .now() + 2)
            }
        }
        return nil
    }
}
