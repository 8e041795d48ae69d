import FireWatchCore

/// The narrow interface to the governance database. SQLite implements it today
/// (`SQLiteGovernanceStore`); a PostgreSQL backend for a district implements the same.
public protocol GovernanceStore: AnyObject {
    // Registry
    func upsertMarket(_ market: Market, now: Double) throws
    func upsertPremises(_ premises: Premises, now: Double) throws -> UpsertOutcome
    func premises(id: String) throws -> Premises?
    /// By platform id or QR code.
    func premises(qrOrID: String) throws -> Premises?
    func findPremises(matching query: String, limit: Int) throws -> [Premises]
    func saveDevice(_ device: Device, action: String, actor: String, detail: String, now: Double) throws
    func device(id: String) throws -> Device?
    func devices(marketID: String?) throws -> [Device]

    // Events and hazards
    /// Stores one event exactly once per (edge id, sequence) and applies it to the hazard records.
    func ingest(_ event: AlarmEvent, receivedAt: Double, late: Bool) throws -> IngestOutcome
    /// The highest sequence stored for an edge (0 for none): tells an edge whose journal started over.
    func lastEventSequence(edge: String) throws -> Int64
    func hazards(_ filter: HazardFilter) throws -> [Hazard]
    func hazardDetail(id: Int64) throws -> HazardDetail?
    /// A person's step in the hazard lifecycle; refuses steps the current status does not allow.
    func advanceHazard(id: Int64, to status: Hazard.Status, actor: String, note: String, now: Double) throws -> Hazard
}

public enum UpsertOutcome: Sendable, Equatable {
    case inserted, updated, unchanged
}

public enum IngestOutcome: Sendable, Equatable {
    /// The (edge, sequence) was stored before: ignored.
    case duplicate
    /// Stored; `hazard` is the record it opened or attached to (nil for tests, unannounced or unlinked events).
    case stored(hazard: Int64?, opened: Bool)
}

public struct HazardFilter: Sendable {
    public var premisesID: String?
    public var statuses: [Hazard.Status]?
    public var openOnly: Bool
    public var community: String?
    public var limit: Int

    public init(premisesID: String? = nil, statuses: [Hazard.Status]? = nil, openOnly: Bool = false,
                community: String? = nil, limit: Int = 1000) {
        self.premisesID = premisesID
        self.statuses = statuses
        self.openOnly = openOnly
        self.community = community
        self.limit = limit
    }
}

public struct HazardDetail: Sendable {
    public var hazard: Hazard
    public var steps: [HazardStep]
    public var events: [AlarmEvent]
}

/// Why a store operation was refused (as opposed to failing): shown to the person as is.
public struct StoreRefusal: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Rectification deadlines by severity (days from opening), the fire office's default policy.
public enum RectificationPolicy {
    public static func deadline(openedAt: Double, severity: Severity) -> Double {
        let days: Double = switch severity {
        case .critical: 1
        case .high: 3
        case .medium: 7
        case .low: 15
        }
        return openedAt + days * 86_400
    }
}
