import FireWatchCore

/// A person's request of the running edge, queued in its journal so it reaches the pipeline thread
/// (the only owner of the rule engine) whether the edge runs now or starts later.
public struct ControlRequest: Sendable, Equatable {
    public var id: Int64
    /// `reset`: clear latched alarms of `device` (one `rule`, or all when nil), as a monitoring unit resets
    /// a detector (GB 14287.5-2025 §5.3).
    public var action: String
    public var device: String
    public var rule: String?
    public var requestedBy: String
    public var requestedAt: Double
    public var doneAt: Double?
    public var result: String?
}

extension EventJournal {
    /// Queues a reset of latched alarms; returns the request id to wait on.
    public func requestReset(device: String, rule: String?, by actor: String, now: Double) throws -> Int64 {
        try db.run("INSERT INTO control_requests (action, device, rule, requested_by, requested_at) VALUES ('reset', ?, ?, ?, ?)",
                   [.text(device), SQLValue(rule), .text(actor), .real(now)])
        return db.lastInsertRowID
    }

    public func pendingControlRequests() throws -> [ControlRequest] {
        try db.query("""
            SELECT id, action, device, rule, requested_by, requested_at, done_at, result FROM control_requests
            WHERE done_at IS NULL ORDER BY id
            """, [], Self.controlRequest)
    }

    public func controlRequest(id: Int64) throws -> ControlRequest? {
        try db.query("""
            SELECT id, action, device, rule, requested_by, requested_at, done_at, result FROM control_requests WHERE id = ?
            """, [.integer(id)], Self.controlRequest).first
    }

    public func completeControlRequest(id: Int64, result: String, now: Double) throws {
        try db.run("UPDATE control_requests SET done_at = ?, result = ? WHERE id = ?", [.real(now), .text(result), .integer(id)])
    }

    static func controlRequest(_ r: Row) -> ControlRequest {
        ControlRequest(id: r.int(0), action: r.text(1), device: r.text(2), rule: r.optionalText(3), requestedBy: r.text(4),
                       requestedAt: r.double(5), doneAt: r.optionalDouble(6), result: r.optionalText(7))
    }
}

extension EventJournal {
    /// The edge id recorded in an existing journal (`DATA/edge.db`), for commands run beside the edge.
    public static func edgeID(ofJournalAt path: String) throws -> String {
        let db = try SQLiteConnection(path: path, readOnly: true)
        guard let edge = try db.scalar("SELECT value FROM edge_meta WHERE key = 'edge_id'")?.text else {
            throw StoreRefusal("\(path) has no edge id yet: start the edge with this data directory first")
        }
        return edge
    }
}
