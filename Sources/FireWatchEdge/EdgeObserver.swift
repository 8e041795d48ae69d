import FireWatchCore
import FireWatchStore

/// What the edge tells the person watching it (the demo prints these; the daemon logs them).
public protocol EdgeObserver: Sendable {
    /// An event committed to the journal, with what delivery did with it when known.
    func eventStored(_ event: AlarmEvent, outcome: IngestOutcome?, premises: Premises?)
    func log(_ line: String)
}
