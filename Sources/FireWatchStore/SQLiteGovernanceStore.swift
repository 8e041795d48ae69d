import FireWatchCore
import Foundation

/// The governance database on SQLite (WAL, foreign keys on, FULL durability for events).
public final class SQLiteGovernanceStore: GovernanceStore {
    public let db: SQLiteConnection

    public init(path: String, now: Double = Date().timeIntervalSince1970) throws {
        db = try SQLiteConnection(path: path, durability: .full)
        try Migrator.migrate(db, schema: GovernanceSchema.name, migrations: GovernanceSchema.migrations, now: now)
    }

    // MARK: Registry

    public func upsertMarket(_ m: Market, now: Double) throws {
        try db.run("""
            INSERT INTO markets (id, name, address, community, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name, address = excluded.address,
              community = excluded.community, updated_at = excluded.updated_at
            WHERE (name, address, community) IS NOT (excluded.name, excluded.address, excluded.community)
            """, [.text(m.id), .text(m.name), .text(m.address), .text(m.community), .real(now)])
    }

    static let premisesColumns = """
        platform_id, qr_code, name, kind, address, community, grid, market_id, owner_name, owner_phone, risk_grade, status
        """

    static func premises(_ r: Row) -> Premises {
        Premises(platformID: r.text(0), qrCode: r.text(1), name: r.text(2), kind: Premises.Kind(rawValue: r.text(3)) ?? .other,
                 address: r.text(4), community: r.text(5), grid: r.text(6), marketID: r.optionalText(7),
                 ownerName: r.text(8), ownerPhone: r.text(9), riskGrade: r.optionalText(10).flatMap(RiskGrade.init(rawValue:)),
                 status: Premises.Status(rawValue: r.text(11)) ?? .active)
    }

    public func upsertPremises(_ p: Premises, now: Double) throws -> UpsertOutcome {
        let existing = try premises(id: p.platformID)
        if let existing {
            var merged = p
            if merged.riskGrade == nil { merged.riskGrade = existing.riskGrade }  // grades are computed here, not imported
            if merged == existing { return .unchanged }
        }
        try db.run("""
            INSERT INTO premises (\(Self.premisesColumns), updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(platform_id) DO UPDATE SET qr_code = excluded.qr_code, name = excluded.name, kind = excluded.kind,
              address = excluded.address, community = excluded.community, grid = excluded.grid,
              market_id = excluded.market_id, owner_name = excluded.owner_name, owner_phone = excluded.owner_phone,
              risk_grade = IFNULL(excluded.risk_grade, premises.risk_grade), status = excluded.status,
              updated_at = excluded.updated_at
            """, [.text(p.platformID), .text(p.qrCode), .text(p.name), .text(p.kind.rawValue), .text(p.address),
                  .text(p.community), .text(p.grid), SQLValue(p.marketID), .text(p.ownerName), .text(p.ownerPhone),
                  SQLValue(p.riskGrade?.rawValue), .text(p.status.rawValue), .real(now)])
        return existing == nil ? .inserted : .updated
    }

    public func premises(id: String) throws -> Premises? {
        try db.query("SELECT \(Self.premisesColumns) FROM premises WHERE platform_id = ?", [.text(id)], Self.premises).first
    }

    public func premises(qrOrID: String) throws -> Premises? {
        try db.query("SELECT \(Self.premisesColumns) FROM premises WHERE platform_id = ?1 OR qr_code = ?1 LIMIT 1",
                     [.text(qrOrID)], Self.premises).first
    }

    public func findPremises(matching query: String, limit: Int) throws -> [Premises] {
        let like = "%" + query.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
        return try db.query("""
            SELECT \(Self.premisesColumns) FROM premises
            WHERE platform_id = ?1 OR qr_code = ?1 OR name LIKE ?2 ESCAPE '\\' OR address LIKE ?2 ESCAPE '\\'
            ORDER BY (platform_id = ?1 OR qr_code = ?1) DESC, name LIMIT ?3
            """, [.text(query), .text(like), .integer(Int64(limit))], Self.premises)
    }

    static let deviceColumns = """
        id, serial, profile, premises_id, market_id, location, transport, cable, status, commissioned_at, commissioned_by, commission_report
        """

    func device(_ r: Row) throws -> Device {
        let id = r.text(0)
        var setpoints: [String: Double] = [:]
        for (c, v) in try db.query("SELECT channel, value FROM device_setpoints WHERE device_id = ?", [.text(id)], { ($0.text(0), $0.double(1)) }) {
            setpoints[c] = v
        }
        return Device(id: id, serial: r.text(1), profileID: r.text(2), premisesID: r.text(3), marketID: r.optionalText(4),
                      location: r.text(5), transport: Transport(text: r.text(6)) ?? .mqtt(deviceID: id), setpoints: setpoints,
                      cable: r.optionalText(7).flatMap(Device.CableClass.init(rawValue:)),
                      status: Device.Status(rawValue: r.text(8)) ?? .registered, commissionedAt: r.optionalDouble(9),
                      commissionedBy: r.optionalText(10), commissionReport: r.optionalText(11))
    }

    public func saveDevice(_ d: Device, action: String, actor: String, detail: String, now: Double) throws {
        try db.transaction {
            try db.run("""
                INSERT INTO devices (\(Self.deviceColumns), registered_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET serial = excluded.serial, profile = excluded.profile,
                  premises_id = excluded.premises_id, market_id = excluded.market_id, location = excluded.location,
                  transport = excluded.transport, cable = excluded.cable, status = excluded.status,
                  commissioned_at = excluded.commissioned_at, commissioned_by = excluded.commissioned_by,
                  commission_report = excluded.commission_report, updated_at = excluded.updated_at
                """, [.text(d.id), .text(d.serial), .text(d.profileID), .text(d.premisesID), SQLValue(d.marketID),
                      .text(d.location), .text(d.transport.description), SQLValue(d.cable?.rawValue), .text(d.status.rawValue),
                      SQLValue(d.commissionedAt), SQLValue(d.commissionedBy), SQLValue(d.commissionReport), .real(now), .real(now)])
            try db.run("DELETE FROM device_setpoints WHERE device_id = ?", [.text(d.id)])
            for (channel, value) in d.setpoints.sorted(by: { $0.key < $1.key }) {
                try db.run("INSERT INTO device_setpoints (device_id, channel, value) VALUES (?, ?, ?)",
                           [.text(d.id), .text(channel), .real(value)])
            }
            try db.run("INSERT INTO device_history (device_id, time, action, actor, detail) VALUES (?, ?, ?, ?, ?)",
                       [.text(d.id), .real(now), .text(action), .text(actor), .text(detail)])
        }
    }

    public func device(id: String) throws -> Device? {
        try db.query("SELECT \(Self.deviceColumns) FROM devices WHERE id = ?", [.text(id)], device).first
    }

    public func devices(marketID: String?) throws -> [Device] {
        if let marketID {
            return try db.query("SELECT \(Self.deviceColumns) FROM devices WHERE market_id = ? ORDER BY id", [.text(marketID)], device)
        }
        return try db.query("SELECT \(Self.deviceColumns) FROM devices ORDER BY id", [], device)
    }

    // MARK: Events and hazards

    public func ingest(_ e: AlarmEvent, receivedAt: Double, late: Bool) throws -> IngestOutcome {
        try db.transaction { () throws -> IngestOutcome in
            try applyIngest(e, receivedAt: receivedAt, late: late)
        }
    }

    public func lastEventSequence(edge: String) throws -> Int64 {
        try db.scalar("SELECT IFNULL(MAX(sequence), 0) FROM alarm_events WHERE edge_id = ?", [.text(edge)])?.integer ?? 0
    }

    /// The body of `ingest` without its transaction, so a batch can apply many events in one
    /// (`ingest(batch:)`). `premisesOf` looks up the device's premises (a batch caches it).
    func applyIngest(_ e: AlarmEvent, receivedAt: Double, late: Bool,
                     premisesOf: ((String) throws -> String?)? = nil) throws -> IngestOutcome {
        do {
            if try db.scalar("SELECT 1 FROM alarm_events WHERE edge_id = ? AND sequence = ?",
                             [.text(e.edgeID), .integer(e.sequence)]) != nil {
                return .duplicate
            }
            var hazardID: Int64?
            var opened = false
            // Edge-level faults (edge offline, edge storage) have no device row and no premises; they still get a record.
            let isEdgeFault = e.hazard.kind == "edge_offline" || e.hazard.kind == "edge_storage"
            let premisesID: String?
            if let premisesOf { premisesID = try premisesOf(e.device) }
            else { premisesID = try db.scalar("SELECT premises_id FROM devices WHERE id = ?", [.text(e.device)])?.text }
            if !e.isTest, e.announced, premisesID != nil || isEdgeFault {
                let open = try db.scalar("""
                    SELECT id FROM hazards WHERE IFNULL(premises_id, '') = IFNULL(?, '') AND device_id = ? AND kind = ?
                      AND status NOT IN ('verified','false_alarm')
                    """, [SQLValue(premisesID), .text(e.device), .text(e.hazard.kind)])?.integer
                switch (e.transition, open) {
                case (.raise, let id?):
                    hazardID = id
                    try db.run("UPDATE hazards SET event_count = event_count + 1, updated_at = ?, condition_active = 1 WHERE id = ?",
                               [.real(e.time), .integer(id)])
                    let escalated = try escalate(id, with: e)
                    try step(id, time: e.time, action: escalated ? "escalated" : "repeat", actor: "system", note: note(for: e))
                case (.raise, nil):
                    try db.run("""
                        INSERT INTO hazards (premises_id, device_id, edge_id, category, kind, signal, severity, title, status,
                          opened_at, updated_at, condition_active, event_count, deadline)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, 1, 1, ?)
                        """, [SQLValue(premisesID), .text(e.device), .text(e.edgeID), .text(e.hazard.category), .text(e.hazard.kind),
                              .text(e.signal.rawValue), .text(e.hazard.severity.rawValue), .text(e.hazard.title),
                              .real(e.time), .real(e.time),
                              .real(RectificationPolicy.deadline(openedAt: e.time, severity: e.hazard.severity))])
                    hazardID = db.lastInsertRowID
                    opened = true
                    try step(hazardID!, time: e.time, action: "opened", actor: "system", note: note(for: e))
                case (.clear, let id?):
                    hazardID = id
                    try db.run("UPDATE hazards SET event_count = event_count + 1, updated_at = ?, condition_active = 0 WHERE id = ?",
                               [.real(e.time), .integer(id)])
                    try step(id, time: e.time, action: "cleared", actor: "system", note: note(for: e))
                case (.clear, nil):
                    break
                }
            }
            try db.run("""
                INSERT INTO alarm_events (edge_id, sequence, device_id, channel, rule, signal, transition, value, event_time,
                  received_at, category, kind, severity, title, announced, chattering, is_test, late, hazard_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(e.edgeID), .integer(e.sequence), .text(e.device), .text(e.channel), .text(e.rule),
                      .text(e.signal.rawValue), .text(e.transition.rawValue), SQLValue(e.value), .real(e.time), .real(receivedAt),
                      .text(e.hazard.category), .text(e.hazard.kind), .text(e.hazard.severity.rawValue), .text(e.hazard.title),
                      SQLValue(e.announced), SQLValue(e.chattering), SQLValue(e.isTest), SQLValue(late), SQLValue(hazardID)])
            return .stored(hazard: hazardID, opened: opened)
        }
    }

    /// A pre-alarm hazard that receives an alarm (or a higher severity) takes the higher class, severity,
    /// title and the earlier deadline: one record that escalates, never two for one condition.
    private func escalate(_ id: Int64, with e: AlarmEvent) throws -> Bool {
        guard let row = try db.query("SELECT signal, severity, opened_at, deadline FROM hazards WHERE id = ?", [.integer(id)], {
            (SignalClass(rawValue: $0.text(0)) ?? .fault, Severity(rawValue: $0.text(1)) ?? .medium, $0.double(2), $0.optionalDouble(3))
        }).first else { return false }
        let higherSignal = e.signal < row.0 && row.0 == .prealarm
        let higherSeverity = e.hazard.severity > row.1
        guard higherSignal || higherSeverity else { return false }
        let severity = max(e.hazard.severity, row.1)
        let deadline = min(row.3 ?? .infinity, RectificationPolicy.deadline(openedAt: row.2, severity: severity))
        try db.run("UPDATE hazards SET signal = ?, severity = ?, title = ?, deadline = ? WHERE id = ?",
                   [.text(higherSignal ? e.signal.rawValue : row.0.rawValue), .text(severity.rawValue), .text(e.hazard.title),
                    .real(deadline), .integer(id)])
        return true
    }

    private func note(for e: AlarmEvent) -> String {
        var s = "\(e.signal.label) \(e.transition == .raise ? "触发" : "恢复") \(e.channel)"
        if let v = e.value { s += " = \(Self.format(v))\(Channel(unchecked: e.channel).unit.rawValue)" }
        s += " (规则 \(e.rule))"
        return s
    }

    static func format(_ v: Double) -> String {
        v.rounded() == v ? String(Int64(v)) : String(format: "%.1f", v)
    }

    private func step(_ hazard: Int64, time: Double, action: String, actor: String, note: String) throws {
        try db.run("INSERT INTO hazard_steps (hazard_id, time, action, actor, note) VALUES (?, ?, ?, ?, ?)",
                   [.integer(hazard), .real(time), .text(action), .text(actor), .text(note)])
    }

    static let hazardSelect = """
        SELECT h.id, IFNULL(h.premises_id, ''), IFNULL(p.name, ''), h.device_id, h.category, h.kind, h.signal, h.severity,
          h.title, h.status, h.opened_at, h.updated_at, h.closed_at, h.condition_active, h.event_count, h.deadline
        FROM hazards h LEFT JOIN premises p ON p.platform_id = h.premises_id
        """

    static func hazard(_ r: Row) -> Hazard {
        Hazard(id: r.int(0), premisesID: r.text(1), premisesName: r.text(2), device: r.text(3), category: r.text(4),
               kind: r.text(5), signal: SignalClass(rawValue: r.text(6)) ?? .fault, severity: Severity(rawValue: r.text(7)) ?? .medium,
               title: r.text(8), status: Hazard.Status(rawValue: r.text(9)) ?? .open, openedAt: r.double(10),
               updatedAt: r.double(11), closedAt: r.optionalDouble(12), conditionActive: r.int(13) != 0,
               eventCount: Int(r.int(14)), deadline: r.optionalDouble(15))
    }

    public func hazards(_ f: HazardFilter) throws -> [Hazard] {
        var clauses: [String] = []
        var args: [SQLValue] = []
        if let p = f.premisesID { clauses.append("h.premises_id = ?"); args.append(.text(p)) }
        if f.openOnly { clauses.append("h.status NOT IN ('verified','false_alarm')") }
        if let s = f.statuses, !s.isEmpty {
            clauses.append("h.status IN (\(s.map { _ in "?" }.joined(separator: ",")))")
            args += s.map { .text($0.rawValue) }
        }
        if let c = f.community { clauses.append("p.community = ?"); args.append(.text(c)) }
        let whereSQL = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        args.append(.integer(Int64(f.limit)))
        return try db.query(Self.hazardSelect + whereSQL + " ORDER BY h.opened_at, h.id LIMIT ?", args, Self.hazard)
    }

    public func hazardDetail(id: Int64) throws -> HazardDetail? {
        guard let h = try db.query(Self.hazardSelect + " WHERE h.id = ?", [.integer(id)], Self.hazard).first else { return nil }
        let steps = try db.query("SELECT time, action, actor, note FROM hazard_steps WHERE hazard_id = ? ORDER BY time, id",
                                 [.integer(id)]) { HazardStep(time: $0.double(0), action: $0.text(1), actor: $0.text(2), note: $0.text(3)) }
        let events = try db.query("""
            SELECT edge_id, sequence, device_id, channel, rule, signal, transition, value, event_time, category, kind,
              severity, title, announced, chattering, is_test FROM alarm_events WHERE hazard_id = ? ORDER BY event_time, id
            """, [.integer(id)], Self.event)
        return HazardDetail(hazard: h, steps: steps, events: events)
    }

    static func event(_ r: Row) -> AlarmEvent {
        AlarmEvent(edgeID: r.text(0), sequence: r.int(1), device: r.text(2), channel: r.text(3), rule: r.text(4),
                   signal: SignalClass(rawValue: r.text(5)) ?? .fault, transition: AlarmEvent.Transition(rawValue: r.text(6)) ?? .raise,
                   value: r.optionalDouble(7), time: r.double(8),
                   hazard: HazardSpec(category: r.text(9), kind: r.text(10), severity: Severity(rawValue: r.text(11)) ?? .medium,
                                      title: r.text(12)),
                   announced: r.int(13) != 0, chattering: r.int(14) != 0, isTest: r.int(15) != 0)
    }

    public func advanceHazard(id: Int64, to status: Hazard.Status, actor: String, note: String, now: Double) throws -> Hazard {
        try db.transaction { () throws -> Hazard in
            guard let h = try db.query(Self.hazardSelect + " WHERE h.id = ?", [.integer(id)], Self.hazard).first else {
                throw StoreRefusal("no hazard with id \(id); see `firewatch hazard list`")
            }
            guard h.status.next.contains(status) else {
                let allowed = h.status.next.map(\.rawValue).joined(separator: ", ")
                throw StoreRefusal("hazard \(id) is \(h.status.rawValue) (\(h.status.label)); it can go to "
                                   + (allowed.isEmpty ? "nothing further: it is closed" : allowed) + ", not \(status.rawValue)")
            }
            try db.run("UPDATE hazards SET status = ?, updated_at = ?, closed_at = ? WHERE id = ?",
                       [.text(status.rawValue), .real(now), status.isClosed ? .real(now) : .null, .integer(id)])
            try step(id, time: now, action: status.rawValue, actor: actor, note: note)
            return try db.query(Self.hazardSelect + " WHERE h.id = ?", [.integer(id)], Self.hazard).first!
        }
    }
}
