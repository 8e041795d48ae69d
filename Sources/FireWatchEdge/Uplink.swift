import FireWatchCore
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization

/// Tunables of the uplink to the fire office (`uplink:` in the edge config; docs/uplink.md).
public struct UplinkSettings: Sendable, Decodable, Equatable {
    /// Heartbeat period; the office flags the edge offline after its own timeout (default 90 s).
    public var heartbeatSeconds: Double?
    /// No new acknowledgement for this long while events are in flight: send them again
    /// (doubling on each consecutive timeout, up to 8×).
    public var ackTimeoutSeconds: Double?
    /// Events per MQTT message.
    public var batchSize: Int?
    /// Events sent but not yet acknowledged, at most (bounds the client's memory and the broker queue).
    public var maxInFlight: Int?
    /// Rows in the telemetry lane before the oldest minutes are evicted.
    public var telemetryCapacity: Int?
    /// An event journaled longer ago than this when first sent is marked late.
    public var lateAfterSeconds: Double?
    /// Keepalive of the MQTT connection.
    public var keepaliveSeconds: Int?

    public init(heartbeatSeconds: Double? = nil, ackTimeoutSeconds: Double? = nil, batchSize: Int? = nil,
                maxInFlight: Int? = nil, telemetryCapacity: Int? = nil, lateAfterSeconds: Double? = nil,
                keepaliveSeconds: Int? = nil) {
        self.heartbeatSeconds = heartbeatSeconds
        self.ackTimeoutSeconds = ackTimeoutSeconds
        self.batchSize = batchSize
        self.maxInFlight = maxInFlight
        self.telemetryCapacity = telemetryCapacity
        self.lateAfterSeconds = lateAfterSeconds
        self.keepaliveSeconds = keepaliveSeconds
    }

    var heartbeat: Double { max(heartbeatSeconds ?? 30, 0.2) }
    var ackTimeout: Double { max(ackTimeoutSeconds ?? 10, 0.5) }
    var batch: Int { min(max(batchSize ?? 200, 1), 5000) }
    var inFlight: Int { max(maxInFlight ?? 2000, batch) }
    var telemetryRows: Int { max(telemetryCapacity ?? 50_000, 10) }
    var lateAfter: Double { lateAfterSeconds ?? 10 }
    var keepalive: Int32 { Int32(min(max(keepaliveSeconds ?? 30, 5), 600)) }
}

/// A delivery that also wants the readings (the uplink folds them into telemetry minute summaries).
/// The pipeline hands every drained batch to it before archiving.
public protocol ReadingSummarySink: AnyObject {
    /// Readings as they were handed over together (one poll, one message).
    func noteReadings(_ batches: [[Reading]])
}

extension OfficeUplink: ReadingSummarySink {}

/// Builds and starts the uplink for an edge whose config names an `office` broker; the `edge`
/// command calls this and hands the result to the pipeline as its `EventDelivery`.
/// `broker` (the `--broker URL` option) overrides the config's `office.url`.
public func makeOfficeUplink(config: EdgeConfig, journal: EventJournal, broker: String? = nil,
                             log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
    throws -> OfficeUplink {
    guard let url = broker ?? config.office?.url else {
        throw StoreRefusal("no office broker: set office.url in the edge config or pass --broker mqtt://HOST:PORT")
    }
    let uplink = try OfficeUplink(edgeID: config.edge, journalPath: journal.db.path, brokerURL: url, broker: config.office,
                                  settings: config.uplink ?? UplinkSettings(), log: log)
    uplink.start()
    return uplink
}

/// The edge's uplink to the fire office: an `EventDelivery` that publishes journaled events with
/// MQTT QoS 1 on `firewatch/edge/<edge>/events` and counts an event done only when the office's
/// acknowledgement on `…/ack` says it is stored (never on PUBACK). Sends a heartbeat every N seconds
/// and leaves a retained `offline` status as its last will. Telemetry minutes travel the same way
/// in their own bounded lane.
///
/// The journal is the truth: after a restart, a reconnect or an acknowledgement timeout everything
/// not acknowledged is sent again, in sequence order; the office ignores what it already has.
/// One thread (`run`) owns the outbox connection and does all sending; `deliver` and the MQTT
/// callbacks only wake it.
public final class OfficeUplink: EventDelivery, @unchecked Sendable {
    // @unchecked Sendable: mutable state shared between threads lives in `shared` (a Mutex) and the
    // wake-up condition; the outbox connection is created and used only on the uplink thread;
    // `client` is an MQTTClient (Sendable). Everything else is immutable after init.

    public struct Counters: Sendable, Equatable {
        public var published = 0
        public var resends = 0
        /// Times this journal was found to have started over and was renumbered (see `EventJournal.rebase`).
        public var rebases = 0
        public var acked: Int64 = 0
        public var lastSequence: Int64 = 0
        public var pendingEvents: Int64 = 0
        public var telemetryEvicted: Int64 = 0
        public var storageFaults = 0
        public var connected = false
    }

    private struct Shared {
        var ackThrough: Int64 = 0
        var telemetryAcks: [Int64] = []
        var connects = 0
        var stopping = false
        var woken = false
        var minutes = TelemetryMinutes()
        var storage = StorageFaultFlag()
        var counters = Counters()
    }

    public let edgeID: String
    public let settings: UplinkSettings
    let journalPath: String
    let client: MQTTClient
    private let log: @Sendable (String) -> Void
    private let shared = Mutex(Shared())
    private let wake = NSCondition()
    private let finished = DispatchSemaphore(value: 0)
    private let topics: (events: String, telemetry: String, heartbeat: String, status: String, ack: String)

    public init(edgeID: String, journalPath: String, brokerURL: String, broker: EdgeConfig.Broker? = nil,
                settings: UplinkSettings = UplinkSettings(),
                log: @escaping @Sendable (String) -> Void) throws {
        self.edgeID = edgeID
        self.settings = settings
        self.journalPath = journalPath
        self.log = log
        topics = (OfficeWire.topic(edge: edgeID, .events), OfficeWire.topic(edge: edgeID, .telemetry),
                  OfficeWire.topic(edge: edgeID, .heartbeat), OfficeWire.topic(edge: edgeID, .status),
                  OfficeWire.topic(edge: edgeID, .ack))
        let will = MQTTOptions.Will(topic: topics.status, payload: OfficeWire.encode(OfficeWire.Status(state: "offline", time: nil)),
                                    qos: 1, retain: true)
        var settings = broker ?? BrokerSettings(url: brokerURL)
        settings.url = brokerURL
        let options: MQTTOptions
        do {
            options = try settings.options(defaultClientID: "firewatch-edge-\(edgeID)", role: "office broker", will: will,
                                           keepaliveSeconds: self.settings.keepalive, reconnectMaxSeconds: 10)
        } catch { throw StoreRefusal(error.message) }
        client = try MQTTClient(options: options, log: log)
        client.onMessage = { [weak self] m in self?.received(m) }
        client.onConnect = { [weak self] in
            self?.shared.withLock { $0.connects += 1 }
            self?.poke()
        }
        client.subscribe(topics.ack, qos: 1)
    }

    public func start() {
        client.start()
        let t = Thread { [self] in
            nameThisThread("fw uplink")
            self.run()
            self.finished.signal()
        }
        t.start()
    }

    /// Stops sending and disconnects cleanly (the broker then keeps the retained `online` status until
    /// the next connect; the office supervises by heartbeat, not by status).
    public func stop() {
        let was = shared.withLock { s -> Bool in
            defer { s.stopping = true }
            return !s.stopping
        }
        guard was else { return }
        poke()
        finished.wait()
        client.stop()
    }

    // MARK: EventDelivery

    public func deliver(_ events: [AlarmEvent], now: Double) throws -> [IngestOutcome?] {
        poke()
        return events.map { _ in nil }
    }

    /// Folds readings into telemetry minute summaries (called by the pipeline with every batch).
    public func noteReadings(_ batches: [[Reading]]) {
        shared.withLock { s in for b in batches { s.minutes.add(b) } }
    }

    /// Something on the edge could not write its data directory (disk full): reported in every
    /// heartbeat until `reportStorageWritable` for the same area (StorageFaultFlag).
    public func reportStorageFault(_ area: StorageArea) {
        shared.withLock { $0.storage.failed(area); $0.counters.storageFaults += 1 }
    }

    /// A write to `area` succeeded (again).
    public func reportStorageWritable(_ area: StorageArea) {
        shared.withLock { $0.storage.wrote(area) }
    }

    public var counters: Counters {
        var c = shared.withLock { $0.counters }
        c.connected = client.isConnected
        return c
    }

    // MARK: internals

    private func poke() {
        wake.lock()
        shared.withLock { $0.woken = true }
        wake.broadcast()
        wake.unlock()
    }

    private func received(_ m: MQTTMessage) {
        guard m.topic == topics.ack, let ack = try? OfficeWire.decode(OfficeWire.Ack.self, m.payload) else {
            log("uplink \(edgeID): ignored a message on \(m.topic) that is not an acknowledgement")
            return
        }
        shared.withLock { s in
            s.ackThrough = max(s.ackThrough, ack.storedThrough)
            if let b = ack.telemetryBatch { s.telemetryAcks.append(b) }
        }
        poke()
    }

    private func sleep(upTo seconds: Double) {
        wake.lock()
        defer { wake.unlock() }
        if !shared.withLock({ $0.woken || $0.stopping }) {
            _ = wake.wait(until: Date(timeIntervalSinceNow: seconds))
        }
        shared.withLock { $0.woken = false }
    }

    /// The uplink thread: owns the outbox connection; all sending happens here.
    private func run() {
        var outbox: Outbox?
        while outbox == nil, !shared.withLock({ $0.stopping }) {
            do { outbox = try Outbox(path: journalPath, edgeID: edgeID, telemetryCapacity: settings.telemetryRows) } catch {
                log("uplink \(edgeID): cannot open the outbox \(journalPath): \(error); retrying")
                reportStorageFault(.outbox)
                sleep(upTo: 2)
            }
        }
        guard let outbox else { return }
        var loop = UplinkLoop(outbox: outbox, settings: settings)
        while !shared.withLock({ $0.stopping }) {
            let now = Date().timeIntervalSince1970
            var failure: (any Error)?
            do { try step(&loop, now: now) } catch { failure = error }
            // The heartbeat goes out even when the step's writes failed: a full disk is when the office
            // most needs to hear about it (storageFault), and the heartbeat only reads.
            do { try heartbeatIfDue(&loop, now: now) } catch { failure = failure ?? error }
            if let failure {
                if let e = failure as? SQLiteError, e.isDiskFull { reportStorageFault(.outbox) }
                log("uplink \(edgeID): \(failure); retrying")
                sleep(upTo: 1)
            } else {
                reportStorageWritable(.outbox)
            }
            sleep(upTo: 0.2)
        }
        // A last attempt to keep what the pipeline folded but had not flushed (clean stop only).
        _ = try? outbox.addSummaries(shared.withLock { $0.minutes.takeClosed(now: .infinity) })
    }

    private struct UplinkLoop {
        let outbox: Outbox
        let settings: UplinkSettings
        var acked: Int64 = 0
        var sent: Int64 = 0
        var highestSent: Int64 = 0
        var lastProgress = 0.0
        var timeouts = 0
        var connectsSeen = 0
        var connectedSince = Double.infinity
        var nextHeartbeat = 0.0
        var telemetryBatch: Int64?
        var telemetrySentAt = 0.0
        var nextBatchNumber: Int64 = 0
        var unflushed: [OfficeWire.TelemetrySummary] = []
        var droppedBeforeLane = 0

        init(outbox: Outbox, settings: UplinkSettings) {
            self.outbox = outbox
            self.settings = settings
            acked = (try? outbox.ackedThrough) ?? 0
            sent = acked
            highestSent = acked
            nextBatchNumber = Int64(Date().timeIntervalSince1970 * 1000)
        }
    }

    private func step(_ l: inout UplinkLoop, now: Double) throws {
        let (ackThrough, telemetryAcks, connects, minutes) = shared.withLock { s in
            defer { s.telemetryAcks.removeAll() }
            return (s.ackThrough, s.telemetryAcks, s.connects, s.minutes.takeClosed(now: now))
        }
        // Closed minutes go into the telemetry lane whether or not the office is reachable; while the
        // disk refuses them they wait in memory (bounded: the oldest beyond the lane's size are counted out).
        l.unflushed += minutes
        if !l.unflushed.isEmpty {
            do {
                try l.outbox.addSummaries(l.unflushed)
                l.unflushed.removeAll()
                if l.droppedBeforeLane > 0 {
                    try l.outbox.countEvicted(l.droppedBeforeLane)
                    l.droppedBeforeLane = 0
                }
            } catch {
                if l.unflushed.count > settings.telemetryRows {
                    l.droppedBeforeLane += l.unflushed.count - settings.telemetryRows
                    l.unflushed.removeFirst(l.unflushed.count - settings.telemetryRows)
                }
                throw error
            }
        }
        if ackThrough > l.acked {
            let last = try l.outbox.lastSequence
            if ackThrough > last {
                // The office holds events of this edge id beyond anything this journal wrote: the journal
                // started over (data directory wiped or replaced). Acknowledging would mark this journal's
                // events done although the office took them for duplicates of the old ones.
                let moved = try l.outbox.rebase(above: ackThrough)
                log("uplink \(edgeID): the office has stored this edge's events through \(ackThrough) but this journal ends at "
                    + "\(last): its data directory was reset. Renumbered \(moved) event(s) after \(ackThrough) and sending them again "
                    + "(restore the data directory from backup, or give a replaced box a new edge id, to avoid this)")
                shared.withLock { $0.counters.rebases += 1 }
                l.highestSent = ackThrough
            }
            try l.outbox.acknowledge(through: ackThrough)
            l.acked = ackThrough
            l.lastProgress = now
            l.timeouts = 0
        }
        for b in telemetryAcks where b == l.telemetryBatch {
            try l.outbox.acknowledgeTelemetry(batch: b)
            l.telemetryBatch = nil
        }
        if connects != l.connectsSeen {
            // A new session: what was in flight may be lost (the broker or we restarted) — send it again.
            l.connectsSeen = connects
            l.connectedSince = now
            l.sent = l.acked
            l.lastProgress = now
            l.nextHeartbeat = now
            l.telemetryBatch = nil
            try l.outbox.resetTelemetrySends()
            try client.publish(topic: topics.status, payload: OfficeWire.encode(OfficeWire.Status(state: "online", time: now)),
                               qos: 1, retain: true)
        }
        guard client.isConnected else {
            l.connectedSince = .infinity
            updateCounters(l)
            return
        }
        if l.sent < l.acked { l.sent = l.acked }
        let timeout = settings.ackTimeout * Double(1 << min(l.timeouts, 3))
        if l.sent > l.acked, now - l.lastProgress > timeout {
            log("uplink \(edgeID): no acknowledgement past \(l.acked) for \(Int(timeout)) s; sending \(l.acked + 1)…\(l.sent) again")
            l.sent = l.acked
            l.lastProgress = now
            l.timeouts += 1
            shared.withLock { $0.counters.resends += 1 }
        }
        while l.sent - l.acked < Int64(settings.inFlight) {
            let room = Int(Int64(settings.inFlight) - (l.sent - l.acked))
            let rows = try l.outbox.pending(after: l.sent, limit: min(settings.batch, room))
            guard let last = rows.last else { break }
            let items = rows.map { row in
                OfficeWire.EventItem(event: row.event, journaledAt: row.journaledAt,
                                     late: row.event.sequence <= l.highestSent || row.journaledAt < l.connectedSince
                                        || now - row.journaledAt > settings.lateAfter)
            }
            try client.publish(topic: topics.events, payload: OfficeWire.encode(OfficeWire.EventBatch(edge: edgeID, sentAt: now, items: items)),
                               qos: 1)
            if l.sent == l.acked { l.lastProgress = now }
            l.sent = last.event.sequence
            l.highestSent = max(l.highestSent, l.sent)
            shared.withLock { $0.counters.published += items.count }
        }
        if l.telemetryBatch != nil, now - l.telemetrySentAt > timeout {
            l.telemetryBatch = nil
            try l.outbox.resetTelemetrySends()
        }
        if l.telemetryBatch == nil {
            l.nextBatchNumber += 1
            let summaries = try l.outbox.takeUnsentSummaries(limit: 500, batch: l.nextBatchNumber)
            if !summaries.isEmpty {
                try client.publish(topic: topics.telemetry, payload: OfficeWire.encode(OfficeWire.TelemetryBatch(
                    edge: edgeID, batch: l.nextBatchNumber, late: summaries[0].minute + 180 < now, summaries: summaries)), qos: 1)
                l.telemetryBatch = l.nextBatchNumber
                l.telemetrySentAt = now
            }
        }
        updateCounters(l)
    }

    private func heartbeatIfDue(_ l: inout UplinkLoop, now: Double) throws {
        if client.isConnected, now >= l.nextHeartbeat {
            l.nextHeartbeat = now + settings.heartbeat
            let fault = shared.withLock { $0.storage.takeForHeartbeat() }
            let hb = OfficeWire.Heartbeat(edge: edgeID, time: now, lastSequence: try l.outbox.lastSequence, ackedThrough: l.acked,
                                          pendingEvents: try l.outbox.pendingEvents, pendingTelemetry: try l.outbox.pendingTelemetry,
                                          telemetryEvicted: try l.outbox.telemetryEvicted + Int64(l.droppedBeforeLane),
                                          storageFault: fault)
            try client.publish(topic: topics.heartbeat, payload: OfficeWire.encode(hb), qos: 1)
        }
    }

    private func updateCounters(_ l: UplinkLoop) {
        let last = (try? l.outbox.lastSequence) ?? 0
        shared.withLock { s in
            s.counters.acked = l.acked
            s.counters.lastSequence = last
            s.counters.pendingEvents = last - l.acked
        }
    }
}
