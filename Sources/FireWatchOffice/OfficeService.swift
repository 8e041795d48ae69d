import FireWatchCore
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization

/// The fire office's receiver (`firewatch office`): subscribes to every edge's topic tree, stores
/// events exactly once in the governance database, acknowledges per edge the highest contiguous
/// sequence stored, supervises edges by heartbeat, and hands new hazards to the notification hook.
///
/// Threads: the MQTT network thread only copies messages into the inbox; one store thread owns the
/// governance connection and does everything else (ingest, acknowledge, supervise, enqueue notices).
public final class OfficeService: @unchecked Sendable {
    // @unchecked Sendable: shared mutable state is in `inbox` and `shared` (Mutexes); the governance
    // connection is opened and used only on the store thread; `client` and `notifier` are Sendable.

    /// Messages waiting for the store thread, at most (≈ 120 MB of 200-event batches).
    public static let inboxCapacity = 1000

    public struct Counters: Sendable, Equatable {
        public var messages = 0
        /// Messages dropped because the inbox was full (the edges resend what was not acknowledged).
        public var shed = 0
        public var stored = 0
        public var duplicates = 0
        public var rejected = 0
        public var hazardsOpened = 0
        public var edgesOffline = 0
    }

    private struct Shared {
        var stopping = false
        var counters = Counters()
    }

    public let config: OfficeConfig
    public let databasePath: String
    let client: MQTTClient
    let notifier: HazardNotifier?
    private let log: @Sendable (String) -> Void
    private let inbox = Mutex<[MQTTMessage]>([])
    private let shared = Mutex(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let opened = DispatchSemaphore(value: 0)
    private let openError = Mutex<(any Error)?>(nil)

    /// - Parameters:
    ///   - brokerURL: the `--broker` override of `broker.url`.
    ///   - databasePath: the `--db` override of the config's governance database.
    public init(config: OfficeConfig, brokerURL: String? = nil, databasePath: String? = nil,
                log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws {
        self.config = config
        self.databasePath = databasePath ?? config.governancePath
        self.log = log
        var broker = config.broker
        if let brokerURL { broker.url = brokerURL }
        do {
            client = try MQTTClient(options: broker.options(defaultClientID: "firewatch-office-\(config.officeID)",
                                                            role: "office broker", reconnectMaxSeconds: 10), log: log)
        } catch let problem as BrokerSettings.Problem { throw StoreRefusal(problem.message) }
        notifier = config.notify.map { HazardNotifier(command: $0.command, timeoutSeconds: $0.timeoutSeconds ?? 10, log: log) }
        client.onMessage = { [weak self] m in
            guard let self else { return }
            // Bounded: past `inboxCapacity` a message is shed and counted. Safe for events and telemetry,
            // which the edge sends again until acknowledged; a shed heartbeat is replaced by the next.
            let accepted = self.inbox.withLock { q -> Bool in
                guard q.count < Self.inboxCapacity else { return false }
                q.append(m)
                return true
            }
            if accepted { self.wake.signal() } else { self.shed() }
        }
        for leaf in [OfficeWire.Leaf.events, .telemetry, .heartbeat, .status] {
            client.subscribe(OfficeWire.everyEdge(leaf), qos: 1)
        }
    }

    /// Opens the database (throws if it cannot), then connects and starts receiving.
    public func start() throws {
        let dir = (databasePath as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let t = Thread { [self] in
            nameThisThread("fw office store")
            self.run()
            self.finished.signal()
        }
        t.start()
        opened.wait()
        if let e = openError.withLock({ $0 }) {
            finished.wait()
            throw e
        }
        client.start()
    }

    public func stop() {
        client.stop()
        shared.withLock { $0.stopping = true }
        wake.signal()
        finished.wait()
        notifier?.stop()
    }

    public var counters: Counters { shared.withLock { $0.counters } }

    private func shed() {
        let n = shared.withLock { s -> Int in
            s.counters.shed += 1
            return s.counters.shed
        }
        if n == 1 || n % 1000 == 0 { log("office: inbox full, \(n) messages shed so far (edges resend what is not acknowledged)") }
    }
    public var notifierCounters: HazardNotifier.Counters? { notifier?.counters }

    /// The receiver's connection settings: a page cache large enough for the hot indexes of a
    /// year of events (64 MiB), so batches do not re-read index pages through the kernel.
    public static func tune(_ store: SQLiteGovernanceStore) throws {
        try store.db.execute("PRAGMA cache_size = -65536")
    }

    // MARK: store thread

    private func run() {
        let store: SQLiteGovernanceStore
        do {
            store = try SQLiteGovernanceStore(path: databasePath)
            try Self.tune(store)
        } catch {
            openError.withLock { $0 = error }
            opened.signal()
            return
        }
        opened.signal()
        let started = Date().timeIntervalSince1970
        var nextSupervision = started
        while !shared.withLock({ $0.stopping }) {
            _ = wake.wait(timeout: .now() + 0.5)
            // At most 50 messages (≈ 10,000 events) per turn: one transaction stays short, acks flow.
            let messages = inbox.withLock { m -> [MQTTMessage] in
                let n = min(m.count, 50)
                defer { m.removeFirst(n) }
                return Array(m.prefix(n))
            }
            let now = Date().timeIntervalSince1970
            if !messages.isEmpty { handle(messages, store: store, now: now) }
            if now >= nextSupervision {
                nextSupervision = now + 1
                supervise(store: store, started: started, now: now)
            }
        }
    }

    private struct PendingAck {
        var storedThrough: Int64
        var telemetryBatches: [Int64] = []
    }

    private func handle(_ messages: [MQTTMessage], store: SQLiteGovernanceStore, now: Double) {
        var acks: [String: PendingAck] = [:]
        var seen: Set<String> = []
        var counters = Counters()
        counters.messages = messages.count
        // Event batches first, all in one transaction (one commit for whatever queued up meanwhile).
        var batches: [(edge: String, items: [OfficeWire.EventItem])] = []
        var others: [(edge: String, leaf: OfficeWire.Leaf, message: MQTTMessage)] = []
        for m in messages {
            guard let (edge, leaf) = OfficeWire.parse(topic: m.topic) else { continue }
            if edge == config.officeID {
                log("office: ignored a message from an edge named like the office itself ('\(edge)'); rename that edge")
                continue
            }
            guard leaf == .events else { others.append((edge, leaf, m)); continue }
            do {
                batches.append((edge, try OfficeWire.decode(OfficeWire.EventBatch.self, m.payload).items))
            } catch {
                counters.rejected += 1
                log("office: unreadable events message from edge \(edge) (\(m.payload.count) bytes): \(error); ignored")
            }
        }
        if !batches.isEmpty {
            var results: [EdgeBatchResult?]
            do {
                results = try store.ingestFromEdges(batches, receivedAt: now)
            } catch {
                // One batch that cannot be stored must not hold back the others: store them one by one.
                results = batches.map { batch in
                    do { return try store.ingestFromEdge(batch.edge, items: batch.items, receivedAt: now) } catch {
                        // Not stored, so not acknowledged: the edge sends it again after its timeout.
                        log("office: cannot store \(batch.items.count) events from edge \(batch.edge): \(error)")
                        return nil
                    }
                }
            }
            for (batch, result) in zip(batches, results) {
                guard let result else { continue }
                counters.stored += result.stored
                counters.duplicates += result.duplicates
                counters.rejected += result.rejected
                if result.rejected > 0 {
                    log("office: \(result.rejected) events from edge \(batch.edge) name another edge; refused")
                }
                acks[batch.edge, default: PendingAck(storedThrough: 0)].storedThrough = result.storedThrough
                for (item, outcome) in zip(batch.items.filter { $0.event.edgeID == batch.edge }, result.outcomes) {
                    if case .stored(let hazard?, true) = outcome {
                        counters.hazardsOpened += 1
                        announce(hazard: hazard, signal: item.event.signal, store: store)
                    }
                }
                seen.insert(batch.edge)
            }
        }
        for (edge, leaf, m) in others {
            do {
                switch leaf {
                case .events:
                    break
                case .heartbeat:
                    let link = try store.noteEdgeSeen(edge, heartbeat: String(decoding: m.payload, as: UTF8.self), now: now)
                    if acks[edge] == nil { acks[edge] = PendingAck(storedThrough: link.storedThrough) }
                    seen.insert(edge)
                    if let hb = try? OfficeWire.decode(OfficeWire.Heartbeat.self, m.payload),
                       let r = try store.recordEdgeStorage(edge: edge, fault: hb.storageFault, officeID: config.officeID, now: now) {
                        log("office: edge \(edge) " + (hb.storageFault ? "reports a storage fault (disk full or write error)" : "can write its data directory again")
                            + " (\(config.officeID)/\(r.event.sequence))")
                        if case .stored(let hazard?, true) = r.outcome { announce(hazard: hazard, signal: .fault, store: store) }
                    }
                case .telemetry:
                    let batch = try OfficeWire.decode(OfficeWire.TelemetryBatch.self, m.payload)
                    try store.storeTelemetry(batch, edge: edge, receivedAt: now)
                    let through = try store.edgeLink(edge)?.storedThrough ?? 0
                    acks[edge, default: PendingAck(storedThrough: through)].telemetryBatches.append(batch.batch)
                    seen.insert(edge)
                case .status:
                    let status = try? OfficeWire.decode(OfficeWire.Status.self, m.payload)
                    log("office: edge \(edge) says \(status?.state ?? "?")\(m.retain ? " (retained)" : "")")
                case .ack:
                    break
                }
            } catch let e as DecodingError {
                counters.rejected += 1
                log("office: unreadable \(leaf.rawValue) message from edge \(edge) (\(m.payload.count) bytes): \(e); ignored")
            } catch {
                // Not stored, so not acknowledged: the edge sends it again after its timeout.
                log("office: cannot store \(leaf.rawValue) from edge \(edge): \(error)")
            }
        }
        for edge in seen {
            do {
                if try store.noteEdgeSeen(edge, heartbeat: nil, now: now).isOffline {
                    let r = try store.recordEdgeSupervision(edge: edge, offline: false, officeID: config.officeID, now: now)
                    log("office: edge \(edge) is back (\(config.officeID)/\(r.event.sequence))")
                }
            } catch {
                log("office: cannot record that edge \(edge) is back: \(error)")
            }
        }
        for (edge, ack) in acks {
            publishAck(edge: edge, OfficeWire.Ack(storedThrough: ack.storedThrough, at: now))
            for b in ack.telemetryBatches {
                publishAck(edge: edge, OfficeWire.Ack(storedThrough: ack.storedThrough, telemetryBatch: b, at: now))
            }
        }
        shared.withLock { s in
            s.counters.messages += counters.messages
            s.counters.stored += counters.stored
            s.counters.duplicates += counters.duplicates
            s.counters.rejected += counters.rejected
            s.counters.hazardsOpened += counters.hazardsOpened
        }
    }

    private func publishAck(edge: String, _ ack: OfficeWire.Ack) {
        do {
            try client.publish(topic: OfficeWire.topic(edge: edge, .ack), payload: OfficeWire.encode(ack), qos: 1)
        } catch {
            // The edge asks again by resending; the next batch or heartbeat carries a fresh ack.
            log("office: cannot acknowledge edge \(edge) now: \(error)")
        }
    }

    private func announce(hazard id: Int64, signal: SignalClass, store: SQLiteGovernanceStore) {
        guard let notice = try? store.notificationBody(hazard: id) else { return }
        let h = notice.hazard
        log("office: 新隐患 #\(h.id) \(h.premisesID) \(h.premisesName) \(h.title) [\(h.severity.label)]")
        guard let notifier, (config.notify?.signals ?? [.alarm]).contains(signal) else { return }
        notifier.enqueue(notice)
    }

    private func supervise(store: SQLiteGovernanceStore, started: Double, now: Double) {
        do {
            for link in try store.edgeLinks() where !link.isOffline {
                // Nobody can have heard an edge while the office was down: count silence from our start.
                let silent = now - max(link.lastSeen, started)
                guard silent > config.heartbeatTimeout else { continue }
                let r = try store.recordEdgeSupervision(edge: link.edgeID, offline: true, officeID: config.officeID, now: now)
                shared.withLock { $0.counters.edgesOffline += 1 }
                log("office: edge \(link.edgeID) silent for \(Int(silent)) s: offline fault (\(config.officeID)/\(r.event.sequence))")
                if case .stored(let hazard?, true) = r.outcome { announce(hazard: hazard, signal: .fault, store: store) }
            }
        } catch {
            log("office: supervision failed: \(error)")
        }
    }
}
