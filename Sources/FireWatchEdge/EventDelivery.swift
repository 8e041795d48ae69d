import FireWatchCore
import FireWatchStore

/// Where journaled events go next: straight into a local governance database (demo, standalone
/// edge), or to the fire office through the outbox and uplink.
public protocol EventDelivery {
    /// Called on the pipeline thread with events already committed to the journal, in sequence order.
    /// Returns what happened to each, when known here (nil when delivery is asynchronous).
    func deliver(_ events: [AlarmEvent], now: Double) throws -> [IngestOutcome?]
}

/// Delivers into a governance store in the same process: the path `firewatch demo` and a standalone
/// edge take. Marks journal entries delivered once the store has them.
public final class LocalLedgerDelivery: EventDelivery {
    let store: any GovernanceStore
    let journal: EventJournal

    public init(store: any GovernanceStore, journal: EventJournal) {
        self.store = store
        self.journal = journal
    }

    /// Delivers everything the journal holds undelivered, in sequence order: the events just journaled
    /// and any another process appended (a technician's commissioning test alarm). Marking "delivered
    /// through N" is only sound after every entry up to N was stored, so this always drains the journal.
    public func deliver(_ events: [AlarmEvent], now: Double) throws -> [IngestOutcome?] {
        let outcomes = try drain(now: now, late: false)
        return events.map { outcomes[$0.sequence] }
    }

    /// Re-delivers what the journal holds but the store may not (after a crash between the two).
    /// A journal that started over (data directory wiped, the governance database kept) would have its
    /// events taken for duplicates of the stored ones: it is renumbered above them first. Returns how
    /// many events that moved when it did, nil normally.
    @discardableResult
    public func catchUp(now: Double) throws -> Int? {
        let stored = try store.lastEventSequence(edge: journal.edgeID)
        let moved = stored > (try journal.lastSequence) ? try journal.rebase(above: stored) : nil
        _ = try drain(now: now, late: true)
        return moved
    }

    private func drain(now: Double, late: Bool) throws -> [Int64: IngestOutcome] {
        var outcomes: [Int64: IngestOutcome] = [:]
        while true {
            let backlog = try journal.undelivered(limit: 500)
            guard let last = backlog.last else { return outcomes }
            for e in backlog { outcomes[e.sequence] = try store.ingest(e, receivedAt: now, late: late) }
            try journal.markDelivered(through: last.sequence)
        }
    }
}
