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
    // @unchecked: `client` and `worker` are thread-safe; the counters are behind a Mutex.
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
    private let worker: RegistrySyncWorker
    private let statsBox = Mutex(Stats())
    private let log: @Sendable (String) -> Void

    public init(governancePath: String, broker: MQTTOptions, pageSize: Int = 500,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(MQTTError) {
        self.governancePath = governancePath
        self.pageSize = pageSize
        self.log = log
        let worker = RegistrySyncWorker(governancePath: governancePath, name: "registry-sync-office", tickInterval: 0.5, log: log)
        self.worker = worker
        client = try MQTTClient(options: broker, log: log)
        client.onMessage = { m in worker.deliver(m.payload) }
        client.subscribe(RegistrySyncTopics.upFilter, qos: 1)
    }

    public var stats: Stats {
        var s = statsBox.withLock { $0 }
        s.lastError = worker.lastError
        return s
    }

    public func start() {
        client.start()
        worker.start(prepare: { _ in }, handle: { [self] store, payload in handle(store, payload) }, tick: { _ in })
    }

    public func stop() {
        worker.stop()
        client.stop()
    }

    private func handle(_ store: SQLiteGovernanceStore, _ payload: [UInt8]) {
        do {
            let up = try JSONDecoder().decode(RegistryUpMessage.self, from: Data(payload))
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
            try client.publish(topic: RegistrySyncTopics.down(market: up.market.id, edge: up.edge),
                               payload: [UInt8](try JSONEncoder().encode(down)), qos: 1)
            statsBox.withLock {
                $0.received += 1
                $0.applied += results.filter { $0.1 == .applied }.count
                $0.rejected += rejected.count
            }
        } catch {
            worker.report("bad message from an edge: \(error)")
        }
    }
}
