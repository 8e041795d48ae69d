import FireWatchCore
import FireWatchStore
import Foundation
import Synchronization

/// The single consumer: drains the reading queue, hands readings to the archive writer, runs the
/// rule engine on a monotonic clock, journals its events (FULL) and hands them to delivery. Owns
/// every SQLite connection it uses but the archive's, so it must be created and run on its own thread.
final class EdgePipeline {
    struct Setup: Sendable {
        var edgeID: String
        var dataDirectory: String
        var governancePath: String?
        var rules: RuleSet
        var devices: [Device]
        var premises: [Premises]
        var market: Market?
    }

    let setup: Setup
    let queue: ReadingQueue
    let observer: any EdgeObserver
    let engine: RuleEngine
    let journal: EventJournal
    let archive: ArchiveWriter
    let progress: EdgeProgress
    let registrations: EngineRegistrations
    let store: (any GovernanceStore)?
    let delivery: any EventDelivery
    /// Disk space kept for the journal: given up when an append finds the disk full (docs/uplink.md).
    let reserve: OutboxReserve
    let started = ContinuousClock.now
    private var premisesByDevice: [String: Premises] = [:]

    init(setup: Setup, queue: ReadingQueue, observer: any EdgeObserver, progress: EdgeProgress,
         registrations: EngineRegistrations = EngineRegistrations(),
         makeDelivery: (EventJournal, (any GovernanceStore)?) throws -> any EventDelivery) throws {
        self.setup = setup
        self.queue = queue
        self.observer = observer
        self.progress = progress
        self.registrations = registrations
        let now = Date().timeIntervalSince1970
        try FileManager.default.createDirectory(atPath: setup.dataDirectory, withIntermediateDirectories: true)
        journal = try EventJournal(path: setup.dataDirectory + "/edge.db", edgeID: setup.edgeID, now: now)
        reserve = OutboxReserve(directory: setup.dataDirectory)
        reserve.ensure()
        if let path = setup.governancePath {
            let s = try SQLiteGovernanceStore(path: path, now: now)
            if let m = setup.market { try s.upsertMarket(m, now: now) }
            for p in setup.premises { _ = try s.upsertPremises(p, now: now) }
            for d in setup.devices where try s.device(id: d.id) != d {
                try s.saveDevice(d, action: "configured", actor: "edge:\(setup.edgeID)", detail: d.transport.description, now: now)
            }
            store = s
        } else {
            store = nil
        }
        delivery = try makeDelivery(journal, store)
        let uplink = delivery as? OfficeUplink
        archive = try ArchiveWriter(path: setup.dataDirectory + "/readings.db", now: now, log: { [observer] in observer.log($0) },
                                    storageFault: { uplink?.reportStorageFault(.archive) },
                                    storageWritable: { uplink?.reportStorageWritable(.archive) })
        engine = RuleEngine(rules: setup.rules)
        for d in setup.devices {
            engine.register(DeviceContext(id: d.id, setpoints: d.setpoints, cable: d.cable, announced: d.isAnnounced))
        }
        let byID = Dictionary(setup.premises.map { ($0.platformID, $0) }, uniquingKeysWith: { a, _ in a })
        for d in setup.devices {
            premisesByDevice[d.id] = byID[d.premisesID] ?? (try? store?.premises(id: d.premisesID)) ?? nil
        }
        do {
            if let saved = try journal.loadEngineState(), let data = saved.data(using: .utf8),
               let snapshot = try? JSONDecoder().decode(EngineSnapshot.self, from: data) {
                engine.restore(snapshot, monotonic: monotonic)
                observer.log("restored rule-engine state saved before the restart (active alarms are not re-announced)")
            }
            if let local = delivery as? LocalLedgerDelivery, let moved = try local.catchUp(now: now) {
                observer.log("journal: the governance database holds events of edge \(setup.edgeID) beyond this journal's end: "
                             + "its data directory was reset; renumbered \(moved) event(s) above them so none is taken for a duplicate")
            }
        } catch {
            archive.stop()  // its thread would outlive a pipeline that never runs
            throw error
        }
    }

    var monotonic: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Runs until `stop` is set; then flushes, saves engine state and returns.
    func run(stop: borrowing Atomic<Bool>) {
        var batches: [[Reading]] = []
        batches.reserveCapacity(4096)
        var events: [EngineEvent] = []
        var lastSnapshot = monotonic
        var lastError: String?
        var lastReserveCheck = 0.0
        var lastControlCheck = 0.0
        let telemetry = delivery as? any ReadingSummarySink
        defer { archive.stop() }
        while !stop.load(ordering: .acquiring) {
            batches.removeAll(keepingCapacity: true)
            queue.drain(timeout: 0.2, into: &batches)
            let mono = monotonic
            let wall = Date().timeIntervalSince1970
            for context in registrations.take() { engine.register(context) }
            if !batches.isEmpty { telemetry?.noteReadings(batches) }
            // Readings are archived apart from the events, on the archive's own thread: a slow or full
            // disk costs archived readings (counted and logged), never an alarm evaluation. While the
            // journal lives on its released reserve, the freed space is the journal's alone.
            archive.submit(batches, hold: reserve.diskFullCount > 0 && !reserve.isHeld)
            if mono - lastReserveCheck >= 5 {
                lastReserveCheck = mono
                if !reserve.isHeld, reserve.ensure() { observer.log("disk has room again: journal reserve restored") }
            }
            do {
                var evaluated = 0
                for batch in batches {
                    for r in batch { engine.process(r, monotonic: mono, into: &events) }
                    evaluated += batch.count
                }
                progress.evaluated.add(evaluated, ordering: .relaxed)
                engine.advance(monotonic: mono, wall: wall, into: &events)
                var resets: [(request: ControlRequest, cleared: Int)] = []
                if mono - lastControlCheck >= 1 {
                    lastControlCheck = mono
                    // Entries other processes journaled (commissioning test alarms) reach a local ledger too.
                    if events.isEmpty, let local = delivery as? LocalLedgerDelivery { _ = try local.deliver([], now: wall) }
                    for request in try journal.pendingControlRequests() where request.action == "reset" {
                        let before = events.count
                        engine.reset(device: request.device, rule: request.rule, monotonic: mono, wall: wall, into: &events)
                        resets.append((request, events.count - before))
                    }
                }
                if !events.isEmpty {
                    try handle(events, now: wall)
                    events.removeAll(keepingCapacity: true)
                }
                // A reset is done once its clear events are journaled and the engine state saved with it.
                if !resets.isEmpty {
                    try saveEngineState(now: wall)
                    lastSnapshot = mono
                    for (request, cleared) in resets {
                        let result = cleared == 0 ? "nothing latched" : "cleared \(cleared) latched alarm(s)"
                        try journal.completeControlRequest(id: request.id, result: result, now: wall)
                        observer.log("reset by \(request.requestedBy): device \(request.device)"
                                     + (request.rule.map { " rule \($0)" } ?? "") + ": \(result)")
                    }
                }
                if mono - lastSnapshot >= 5 {
                    try saveEngineState(now: wall)
                    lastSnapshot = mono
                }
                if lastError != nil { (delivery as? OfficeUplink)?.reportStorageWritable(.journal) }
                lastError = nil
            } catch {
                // Disk full or similar: events not journaled stay in `events` and are retried next turn.
                let text = "\(error)"
                (delivery as? OfficeUplink)?.reportStorageFault(.journal)
                if text != lastError { observer.log("storage problem, retrying: \(text)") }
                lastError = text
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        let wall = Date().timeIntervalSince1970
        do {
            if !events.isEmpty { try handle(events, now: wall) }
            try saveEngineState(now: wall)
        } catch {
            observer.log("could not save state at stop: \(error)")
        }
    }

    private func handle(_ engineEvents: [EngineEvent], now: Double) throws {
        // The journal assigns the sequence numbers.
        let events = engineEvents.map { $0.alarmEvent(edgeID: setup.edgeID, sequence: 0) }
        let journaled = try reserve.append(events, to: journal, now: now)
        let outcomes = try delivery.deliver(journaled, now: now)
        for (i, e) in journaled.enumerated() {
            observer.eventStored(e, outcome: i < outcomes.count ? outcomes[i] : nil, premises: premisesByDevice[e.device])
        }
    }

    private func saveEngineState(now: Double) throws {
        let snapshot = engine.snapshot(monotonic: monotonic)
        let data = try JSONEncoder().encode(snapshot)
        try journal.saveEngineState(String(decoding: data, as: UTF8.self), now: now)
    }
}
