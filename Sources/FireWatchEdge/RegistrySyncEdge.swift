import FireWatchCore
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization

/// Counters a daemon can show.
public struct RegistrySyncStats: Sendable, Equatable {
    public var sent = 0
    public var received = 0
    public var applied = 0
    public var rejected = 0
    public var lastError: String?
}

/// The edge half of "one registry, two places": keeps the edge's governance database a cache of its
/// market's part of the office registry and sends registrations made on the edge (also while the
/// office was unreachable) up until the office acknowledges them.
///
/// Every `interval` it publishes the device changes after the last acknowledged one (an empty poll
/// when there are none) and applies the office's answers, on one thread with its own connection.
public final class RegistrySyncEdge: @unchecked Sendable {
    // @unchecked: `client` and `worker` are thread-safe; the counters and the poll time are behind Mutexes.
    public let edgeID: String
    public let market: Market
    public let governancePath: String
    public let interval: Double
    private let client: MQTTClient
    private let worker: RegistrySyncWorker
    private let statsBox = Mutex(RegistrySyncStats())
    private let lastPoll = Mutex(Date.distantPast)
    private let log: @Sendable (String) -> Void

    public init(edgeID: String, market: Market, governancePath: String, broker: MQTTOptions, interval: Double = 2,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(MQTTError) {
        self.edgeID = edgeID
        self.market = market
        self.governancePath = governancePath
        self.interval = interval
        self.log = log
        let worker = RegistrySyncWorker(governancePath: governancePath, name: "registry-sync-edge", tickInterval: interval, log: log)
        self.worker = worker
        client = try MQTTClient(options: broker, log: log)
        client.onMessage = { m in worker.deliver(m.payload) }
        client.onConnect = { worker.wakeUp() }
        client.subscribe(RegistrySyncTopics.down(market: market.id, edge: edgeID), qos: 1)
    }

    public var stats: RegistrySyncStats {
        var s = statsBox.withLock { $0 }
        s.lastError = worker.lastError
        return s
    }

    public var isConnected: Bool { client.isConnected }

    public func start() {
        client.start()
        worker.start(prepare: { [edgeID] store in try store.setSyncValue("origin", edgeID) },
                     handle: { [self] store, payload in handle(store, payload) },
                     tick: { [self] store in poll(store) })
    }

    public func stop() {
        worker.stop()
        client.stop()
    }

    private func cursor(_ store: SQLiteGovernanceStore, _ key: String) throws -> Int64 {
        Int64(try store.syncValue(key) ?? "0") ?? 0
    }

    private func handle(_ store: SQLiteGovernanceStore, _ payload: [UInt8]) {
        do {
            let m = try JSONDecoder().decode(RegistryDownMessage.self, from: Data(payload))
            guard m.edge == edgeID else { return }
            let results = try store.applyRemote(market: m.market, premises: m.premises, devices: m.devices)
            // Acknowledged edge changes are done; the office's changes are applied up to `through`.
            if m.ack > (try cursor(store, "edge_acked")) { try store.setSyncValue("edge_acked", String(m.ack)) }
            let office = try cursor(store, "office_cursor")
            if m.through > office { try store.setSyncValue("office_cursor", String(m.through)) }
            for r in m.rejected { log("registry sync: office refused device \(r.device): \(r.reason)") }
            let rejectedHere = results.filter { if case .rejected = $0.1 { true } else { false } }
            for (id, outcome) in rejectedHere { log("registry sync: office record \(id) not applied here: \(outcome)") }
            statsBox.withLock {
                $0.received += 1
                $0.applied += results.filter { $0.1 == .applied }.count + m.premises.count
                $0.rejected += m.rejected.count + rejectedHere.count
            }
            // A full page may have more behind it: poll again at once.
            if m.through > office, !(m.premises.isEmpty && m.devices.isEmpty) { lastPoll.withLock { $0 = .distantPast } }
        } catch {
            worker.report("bad message from the office: \(error)")
        }
    }

    private func poll(_ store: SQLiteGovernanceStore) {
        guard client.isConnected, Date().timeIntervalSince(lastPoll.withLock { $0 }) >= interval else { return }
        lastPoll.withLock { $0 = Date() }
        do {
            let (records, through) = try store.deviceChanges(after: try cursor(store, "edge_acked"), limit: 200)
            let up = RegistryUpMessage(edge: edgeID, market: market, officeCursor: try cursor(store, "office_cursor"),
                                       devices: records, through: through)
            try client.publish(topic: RegistrySyncTopics.up(edge: edgeID), payload: [UInt8](try JSONEncoder().encode(up)), qos: 1)
            statsBox.withLock { $0.sent += 1 }
        } catch {
            worker.report("\(error)")
        }
    }
}

extension RegistrySyncEdge {
    /// The registry sync an edge runs from its config: its market's part of the office registry cached in
    /// `governance` (else `DATA/registry.db`), over the office broker. nil when the config has no office
    /// broker or no market (a standalone edge has nothing to sync with).
    public static func make(config: EdgeConfig, interval: Double = 2,
                            log: @escaping @Sendable (String) -> Void) throws(MQTTError) -> RegistrySyncEdge? {
        guard let office = config.office, let market = config.market else { return nil }
        guard let path = config.governance ?? config.data.map({ ($0 as NSString).appendingPathComponent("registry.db") }) else { return nil }
        let options: MQTTOptions
        do {
            options = try office.options(defaultClientID: config.edge, role: "office broker",
                                         systemCAs: "/etc/ssl/certs/ca-certificates.crt")
        } catch { throw MQTTError(code: 3, message: error.message) }  // 3 = MOSQ_ERR_INVAL
        let final = options.withClientID(suffix: "-registry")
        return try RegistrySyncEdge(edgeID: config.edge, market: market, governancePath: path, broker: final,
                                    interval: interval, log: log)
    }
}
