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

    public func deliver(_ events: [AlarmEvent], now: Double) throws -> [IngestOutcome?] {
        var outcomes: [IngestOutcome?] = []
        for e in events {
            outcomes.append(try store.ingest(e, receivedAt: now, late: false))
        }
        if let last = events.last { try journal.markDelivered(through: last.sequence) }
        return outcomes
    }

    /// Re-delivers what the journal holds but the store may not (after a crash between the two).
    public func catchUp(now: Double) throws {
        while true {
            let backlog = try journal.undelivered(limit: 500)
            if backlog.isEmpty { return }
            for e in backlog { _ = try store.ingest(e, receivedAt: now, late: true) }
            try journal.markDelivered(through: backlog.last!.sequence)
        }
    }
}
