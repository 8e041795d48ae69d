import FireWatchCore
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization

/// MQTT topics of the registry sync (docs/registry.md).
public enum RegistrySyncTopics {
    /// Edge → office: device changes made on the edge and the edge's cursor.
    public static func up(edge: String) -> String { "firewatch/edge/\(edge)/registry" }
    public static let upFilter = "firewatch/edge/+/registry"
    /// Office → one edge: acknowledgement and the office's changes to the edge's market.
    public static func down(market: String, edge: String) -> String { "firewatch/office/registry/\(market)/\(edge)" }
}

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
/// Runs one thread that owns its own database connection; every `interval` it publishes the device
/// changes after the last acknowledged one (an empty poll when there are none) and applies the office's answers.
public final class RegistrySyncEdge: @unchecked Sendable {
    // @unchecked: `client` is itself thread-safe; everything else mutable is behind `inbox` / `stats` Mutexes,
    // and the database connection lives only inside the sync thread.
    public let edgeID: String
    public let market: Market
    public let governancePath: String
    public let interval: Double
    private let client: MQTTClient
    private let inbox = Mutex<[[UInt8]]>([])
    private let statsBox = Mutex(RegistrySyncStats())
    private let stopping = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    private let wake = DispatchSemaphore(value: 0)
    private let log: @Sendable (String) -> Void

    public init(edgeID: String, market: Market, governancePath: String, broker: MQTTOptions, interval: Double = 2,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(MQTTError) {
        self.edgeID = edgeID
        self.market = market
        self.governancePath = governancePath
        self.interval = interval
        self.log = log
        client = try MQTTClient(options: broker, log: log)
        client.onMessage = { [weak self] m in
            self?.inbox.withLock { $0.append(m.payload) }
            self?.wake.signal()
        }
        client.onConnect = { [weak self] in self?.wake.signal() }
        client.subscribe(RegistrySyncTopics.down(market: market.id, edge: edgeID), qos: 1)
    }

    public var stats: RegistrySyncStats { statsBox.withLock { $0 } }
    public var isConnected: Bool { client.isConnected }

    public func start() {
        client.start()
        let t = Thread { [self] in
            self.run()
            self.finished.signal()
        }
        t.name = "registry-sync-edge"
        t.start()
    }

    public func stop() {
        stopping.withLock { $0 = true }
        wake.signal()
        finished.wait()
        client.stop()
    }

    private func run() {
        guard let store = openStore({ s in try s.setSyncValue("origin", self.edgeID) }) else { return }
        let decoder = JSONDecoder(), encoder = JSONEncoder()
        var lastPoll = Date.distantPast
        while !stopping.withLock({ $0 }) {
            for payload in inbox.withLock({ q -> [[UInt8]] in defer { q.removeAll() }; return q }) {
                do {
                    let m = try decoder.decode(RegistryDownMessage.self, from: Data(payload))
                    guard m.edge == edgeID else { continue }
                    let results = try store.applyRemote(market: m.market, premises: m.premises, devices: m.devices)
                    // Acknowledged edge changes are done; the office's changes are applied up to `through`.
                    let acked = Int64(try store.syncValue("edge_acked") ?? "0") ?? 0
                    if m.ack > acked { try store.setSyncValue("edge_acked", String(m.ack)) }
                    let cursor = Int64(try store.syncValue("office_cursor") ?? "0") ?? 0
                    if m.through > cursor { try store.setSyncValue("office_cursor", String(m.through)) }
                    for r in m.rejected { log("registry sync: office refused device \(r.device): \(r.reason)") }
                    let rejectedHere = results.filter { if case .rejected = $0.1 { true } else { false } }
                    for (id, outcome) in rejectedHere { log("registry sync: office record \(id) not applied: \(outcome)") }
                    statsBox.withLock {
                        $0.received += 1
                        $0.applied += results.filter { $0.1 == .applied }.count + m.premises.count
                        $0.rejected += m.rejected.count + rejectedHere.count
                    }
                    // More pages may follow: poll again at once.
                    if m.through > cursor && (m.premises.count + m.devices.count) > 0 { lastPoll = .distantPast }
                } catch {
                    statsBox.withLock { $0.lastError = "\(error)" }
                    log("registry sync: bad message from the office: \(error)")
                }
            }
            if client.isConnected, Date().timeIntervalSince(lastPoll) >= interval {
                lastPoll = Date()
                do {
                    let acked = Int64(try store.syncValue("edge_acked") ?? "0") ?? 0
                    let cursor = Int64(try store.syncValue("office_cursor") ?? "0") ?? 0
                    let (records, through) = try store.deviceChanges(after: acked, limit: 200)
                    let up = RegistryUpMessage(edge: edgeID, market: market, officeCursor: cursor, devices: records, through: through)
                    try client.publish(topic: RegistrySyncTopics.up(edge: edgeID), payload: [UInt8](try encoder.encode(up)), qos: 1)
                    statsBox.withLock { $0.sent += 1 }
                } catch {
                    statsBox.withLock { $0.lastError = "\(error)" }
                    log("registry sync: \(error)")
                }
            }
            _ = wake.wait(timeout: .now() + min(interval, 0.5))
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
