import FireWatchCore
import Foundation

/// What the office knows about one edge box: how far its events are stored, and whether it is alive.
public struct EdgeLink: Sendable, Equatable, Codable {
    public var edgeID: String
    /// Every event 1...storedThrough of this edge is stored (the value acknowledged to the edge).
    public var storedThrough: Int64
    public var highestSeen: Int64
    public var storedCount: Int64
    public var duplicateCount: Int64
    public var lateCount: Int64
    public var firstSeen: Double
    public var lastSeen: Double
    public var lastHeartbeat: Double?
    /// The last heartbeat body as received (JSON).
    public var heartbeat: String?
    public var isOffline: Bool
    public var offlineSince: Double?
}

/// The result of storing one batch from an edge.
public struct EdgeBatchResult: Sendable, Equatable {
    public var outcomes: [IngestOutcome]
    public var storedThrough: Int64
    public var stored: Int
    public var duplicates: Int
    /// Items refused because the event names another edge than the topic it came on.
    public var rejected: Int
}

extension SQLiteGovernanceStore {
    /// Stores many events in one transaction (the office's fast path; same semantics as `ingest`,
    /// one outcome per event, in order).
    public func ingest(batch: [(event: AlarmEvent, late: Bool)], receivedAt: Double) throws -> [IngestOutcome] {
        try db.transaction { try applyBatch(batch, receivedAt: receivedAt) }
    }

    private func applyBatch(_ batch: [(event: AlarmEvent, late: Bool)], receivedAt: Double) throws -> [IngestOutcome] {
        var premisesOfDevice: [String: String?] = [:]
        let lookup: (String) throws -> String? = { [db] device in
            if let cached = premisesOfDevice[device] { return cached }
            let p = try db.scalar("SELECT premises_id FROM devices WHERE id = ?", [.text(device)])?.text
            premisesOfDevice[device] = .some(p)
            return p
        }
        return try batch.map { try applyIngest($0.event, receivedAt: receivedAt, late: $0.late, premisesOf: lookup) }
    }

    /// Stores a batch that arrived on `edge`'s events topic, advances the edge's stored-through
    /// mark over every contiguous sequence now present, and counts duplicates — all in one transaction.
    public func ingestFromEdge(_ edge: String, items: [OfficeWire.EventItem], receivedAt: Double) throws -> EdgeBatchResult {
        try db.transaction { try applyFromEdge(edge, items: items, receivedAt: receivedAt) }
    }

    /// Several edges' batches (as they queued up at the office) in one transaction: the same as
    /// `ingestFromEdge` for each in order, with one commit for all of them.
    public func ingestFromEdges(_ batches: [(edge: String, items: [OfficeWire.EventItem])], receivedAt: Double) throws -> [EdgeBatchResult] {
        try db.transaction { try batches.map { try applyFromEdge($0.edge, items: $0.items, receivedAt: receivedAt) } }
    }

    private func applyFromEdge(_ edge: String, items: [OfficeWire.EventItem], receivedAt: Double) throws -> EdgeBatchResult {
        do {
            try ensureLink(edge, now: receivedAt)
            let accepted = items.filter { $0.event.edgeID == edge }
            let outcomes = try applyBatch(accepted.map { ($0.event, $0.late) }, receivedAt: receivedAt)
            let duplicates = outcomes.filter { $0 == .duplicate }.count
            var late = 0
            for (item, outcome) in zip(accepted, outcomes) where outcome != .duplicate && item.late { late += 1 }
            var through = try db.scalar("SELECT stored_through FROM edge_links WHERE edge_id = ?", [.text(edge)])?.integer ?? 0
            while try db.scalar("SELECT 1 FROM alarm_events WHERE edge_id = ? AND sequence = ?",
                                [.text(edge), .integer(through + 1)]) != nil {
                through += 1
            }
            let highest = accepted.map(\.event.sequence).max() ?? 0
            try db.run("""
                UPDATE edge_links SET stored_through = ?, highest_seen = MAX(highest_seen, ?),
                  stored_count = stored_count + ?, duplicate_count = duplicate_count + ?, late_count = late_count + ?,
                  last_seen = MAX(last_seen, ?)
                WHERE edge_id = ?
                """, [.integer(through), .integer(highest), .integer(Int64(outcomes.count - duplicates)),
                      .integer(Int64(duplicates)), .integer(Int64(late)), .real(receivedAt), .text(edge)])
            return EdgeBatchResult(outcomes: outcomes, storedThrough: through, stored: outcomes.count - duplicates,
                                   duplicates: duplicates, rejected: items.count - accepted.count)
        }
    }

    private func ensureLink(_ edge: String, now: Double) throws {
        try db.run("INSERT OR IGNORE INTO edge_links (edge_id, first_seen, last_seen) VALUES (?, ?, ?)",
                   [.text(edge), .real(now), .real(now)])
    }

    /// Records that `edge` was heard from (any message); `heartbeat` is the body of a heartbeat.
    @discardableResult
    public func noteEdgeSeen(_ edge: String, heartbeat: String?, now: Double) throws -> EdgeLink {
        try db.transaction {
            try ensureLink(edge, now: now)
            if let heartbeat {
                try db.run("UPDATE edge_links SET last_seen = MAX(last_seen, ?), last_heartbeat = ?, heartbeat = ? WHERE edge_id = ?",
                           [.real(now), .real(now), .text(heartbeat), .text(edge)])
            } else {
                try db.run("UPDATE edge_links SET last_seen = MAX(last_seen, ?) WHERE edge_id = ?", [.real(now), .text(edge)])
            }
            return try edgeLink(edge)!
        }
    }

    /// Marks the edge offline or back online (supervision); the caller ingests the matching event.
    public func setEdgeOffline(_ edge: String, _ offline: Bool, now: Double) throws {
        try db.run("UPDATE edge_links SET status = ?, offline_since = ? WHERE edge_id = ?",
                   [.text(offline ? "offline" : "online"), offline ? .real(now) : .null, .text(edge)])
    }

    static let linkColumns = """
        edge_id, stored_through, highest_seen, stored_count, duplicate_count, late_count, first_seen, last_seen,
        last_heartbeat, heartbeat, status, offline_since
        """

    static func link(_ r: Row) -> EdgeLink {
        EdgeLink(edgeID: r.text(0), storedThrough: r.int(1), highestSeen: r.int(2), storedCount: r.int(3),
                 duplicateCount: r.int(4), lateCount: r.int(5), firstSeen: r.double(6), lastSeen: r.double(7),
                 lastHeartbeat: r.optionalDouble(8), heartbeat: r.optionalText(9), isOffline: r.text(10) == "offline",
                 offlineSince: r.optionalDouble(11))
    }

    public func edgeLink(_ edge: String) throws -> EdgeLink? {
        try db.query("SELECT \(Self.linkColumns) FROM edge_links WHERE edge_id = ?", [.text(edge)], Self.link).first
    }

    public func edgeLinks() throws -> [EdgeLink] {
        try db.query("SELECT \(Self.linkColumns) FROM edge_links ORDER BY edge_id", [], Self.link)
    }

    /// The next sequence number for events this database raises itself under `edge` (the office's
    /// own id, for edge-offline faults): persistent because the events themselves are stored.
    public func nextSequence(edge: String) throws -> Int64 {
        (try db.scalar("SELECT IFNULL(MAX(sequence), 0) FROM alarm_events WHERE edge_id = ?", [.text(edge)])?.integer ?? 0) + 1
    }

    /// Stores telemetry minutes idempotently (a resent minute merges into the stored one).
    public func storeTelemetry(_ batch: OfficeWire.TelemetryBatch, edge: String, receivedAt: Double) throws {
        try db.transaction {
            for s in batch.summaries {
                try db.run("""
                    INSERT INTO telemetry_minutes (edge_id, device_id, channel, minute, min, max, last, samples, late, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(edge_id, device_id, channel, minute) DO UPDATE SET
                      min = MIN(telemetry_minutes.min, excluded.min), max = MAX(telemetry_minutes.max, excluded.max),
                      last = excluded.last, samples = MAX(telemetry_minutes.samples, excluded.samples),
                      received_at = excluded.received_at
                    """, [.text(edge), .text(s.device), .text(s.channel), .real(s.minute), .real(s.min), .real(s.max),
                          .real(s.last), .integer(Int64(s.samples)), SQLValue(batch.late), .real(receivedAt)])
            }
        }
    }

    /// A hazard record as the notification hook receives it: the hazard with its premises' contact.
    public func notificationBody(hazard id: Int64) throws -> HazardNotice? {
        guard let h = try db.query(Self.hazardSelect + " WHERE h.id = ?", [.integer(id)], Self.hazard).first else { return nil }
        let p = h.premisesID.isEmpty ? nil : try premises(id: h.premisesID)
        return HazardNotice(hazard: h, address: p?.address, community: p?.community, ownerName: p?.ownerName,
                            ownerPhone: p?.ownerPhone)
    }
}

/// The JSON the notification hook gets on stdin for a new hazard.
public struct HazardNotice: Sendable, Codable, Equatable {
    public var hazard: Hazard
    public var address: String?
    public var community: String?
    public var ownerName: String?
    public var ownerPhone: String?
}

extension SQLiteGovernanceStore {
    /// The office's supervision of an edge: raises (edge went silent) or clears (it is back) an
    /// `edge_offline` fault as an event of the office's own id with its own persistent sequence, and
    /// records the edge's status — in one transaction.
    public func recordEdgeSupervision(edge: String, offline: Bool, officeID: String,
                                      now: Double) throws -> (event: AlarmEvent, outcome: IngestOutcome) {
        try db.transaction {
            let r = try applyEdgeFault(edge: edge, raise: offline, officeID: officeID, channel: "device.online", rule: "office.heartbeat",
                                       hazard: HazardSpec(category: "equipment", kind: "edge_offline", severity: .high,
                                                          title: "边缘网关 \(edge) 离线（心跳中断）"), now: now)
            try setEdgeOffline(edge, offline, now: now)
            return r
        }
    }

    /// The edge's heartbeat says whether its data directory refused a write (disk full, I/O error)
    /// since the last one: raises an `edge_storage` fault on the first such heartbeat and clears it on
    /// the first clean one after. Nil when nothing changed. One transaction.
    public func recordEdgeStorage(edge: String, fault: Bool, officeID: String,
                                  now: Double) throws -> (event: AlarmEvent, outcome: IngestOutcome)? {
        try db.transaction {
            let last = try db.scalar("""
                SELECT transition FROM alarm_events WHERE edge_id = ? AND device_id = ? AND rule = 'office.storage'
                ORDER BY sequence DESC LIMIT 1
                """, [.text(officeID), .text(edge)])?.text
            guard fault != (last == "raise") else { return nil }
            return try applyEdgeFault(edge: edge, raise: fault, officeID: officeID, channel: "device.storage", rule: "office.storage",
                                      hazard: HazardSpec(category: "equipment", kind: "edge_storage", severity: .high,
                                                         title: "边缘网关 \(edge) 存储故障（磁盘已满或写入失败，读数可能未存档）"),
                                      now: now)
        }
    }

    /// An office-raised fault about an edge, as an event of the office's own id and sequence.
    private func applyEdgeFault(edge: String, raise: Bool, officeID: String, channel: String, rule: String, hazard: HazardSpec,
                                now: Double) throws -> (event: AlarmEvent, outcome: IngestOutcome) {
        try ensureLink(edge, now: now)
        let event = AlarmEvent(edgeID: officeID, sequence: try nextSequence(edge: officeID), device: edge, channel: channel,
                               rule: rule, signal: .fault, transition: raise ? .raise : .clear, value: nil, time: now, hazard: hazard)
        return (event, try applyIngest(event, receivedAt: now, late: false))
    }
}
