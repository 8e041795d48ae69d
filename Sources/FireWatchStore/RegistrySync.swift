import FireWatchCore
import Foundation

/// A device registration as it travels between edge and office: the record, its times and origin,
/// and its whole history (merged on arrival, never replaced).
public struct RegistryDeviceRecord: Sendable, Equatable, Codable {
    public var device: Device
    public var registeredAt: Double
    public var updatedAt: Double
    /// Where the last change was made: `office` or an edge id.
    public var origin: String
    public var history: [DeviceHistoryEntry]

    enum CodingKeys: String, CodingKey {
        case device, history, origin
        case registeredAt = "registered_at", updatedAt = "updated_at"
    }

    public init(device: Device, registeredAt: Double, updatedAt: Double, origin: String, history: [DeviceHistoryEntry]) {
        self.device = device
        self.registeredAt = registeredAt
        self.updatedAt = updatedAt
        self.origin = origin
        self.history = history
    }
}

public struct RegistryPremisesRecord: Sendable, Equatable, Codable {
    public var premises: Premises
    public var updatedAt: Double

    enum CodingKeys: String, CodingKey { case premises, updatedAt = "updated_at" }

    public init(premises: Premises, updatedAt: Double) {
        self.premises = premises
        self.updatedAt = updatedAt
    }
}

/// Edge → office (`firewatch/edge/<edge>/registry`): device changes made on the edge since the last
/// acknowledged one, and how far the edge has applied the office's changes.
public struct RegistryUpMessage: Sendable, Equatable, Codable {
    public var edge: String
    public var market: Market
    /// Highest office change sequence this edge has applied.
    public var officeCursor: Int64
    public var devices: [RegistryDeviceRecord]
    /// Highest edge change sequence included (the office acknowledges it).
    public var through: Int64

    enum CodingKeys: String, CodingKey { case edge, market, devices, through, officeCursor = "office_cursor" }

    public init(edge: String, market: Market, officeCursor: Int64, devices: [RegistryDeviceRecord], through: Int64) {
        self.edge = edge
        self.market = market
        self.officeCursor = officeCursor
        self.devices = devices
        self.through = through
    }
}

/// Office → one edge (`firewatch/office/registry/<market>/<edge>`): the acknowledgement of the edge's
/// changes and the office's changes to the market after the edge's cursor.
public struct RegistryDownMessage: Sendable, Equatable, Codable {
    public struct Rejection: Sendable, Equatable, Codable {
        public var device: String
        public var reason: String

        public init(device: String, reason: String) {
            self.device = device
            self.reason = reason
        }
    }

    public var edge: String
    /// Edge change sequence stored at the office (every change up to it is applied or rejected).
    public var ack: Int64
    public var market: Market?
    public var premises: [RegistryPremisesRecord]
    public var devices: [RegistryDeviceRecord]
    /// Highest office change sequence included: the edge's new cursor.
    public var through: Int64
    public var rejected: [Rejection]

    public init(edge: String, ack: Int64, market: Market?, premises: [RegistryPremisesRecord], devices: [RegistryDeviceRecord],
                through: Int64, rejected: [Rejection]) {
        self.edge = edge
        self.ack = ack
        self.market = market
        self.premises = premises
        self.devices = devices
        self.through = through
        self.rejected = rejected
    }
}

/// What applying a remote device record did.
public enum RegistryApplyOutcome: Sendable, Equatable {
    case applied
    /// The local record is as new or newer by (updated_at, origin): kept, remote history merged.
    case keptLocal
    case rejected(String)
}

/// The registry's sync state and record exchange on one governance database (docs/registry.md).
///
/// Conflict rule: premises are the office's (office wins, edges never send them); device
/// registrations are last-writer-wins by (updated_at, origin) compared as a pair, ties broken by
/// the origin's name; device history is the union of both sides' entries.
extension SQLiteGovernanceStore {
    public func syncValue(_ key: String) throws -> String? {
        try db.scalar("SELECT value FROM registry_sync_meta WHERE key = ?", [.text(key)])?.text
    }

    public func setSyncValue(_ key: String, _ value: String) throws {
        try db.run("INSERT INTO registry_sync_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   [.text(key), .text(value)])
    }

    /// Who this database is in the sync: `office`, or an edge id. New device changes are stamped with it.
    public var syncOrigin: String { get throws { try syncValue("origin") ?? "office" } }

    public var lastRegistryChange: Int64 {
        get throws { try db.scalar("SELECT IFNULL(MAX(seq), 0) FROM registry_changes")?.integer ?? 0 }
    }

    /// Device records changed after `seq` (any market), at most `limit`, and the highest sequence covered.
    public func deviceChanges(after seq: Int64, limit: Int) throws -> (records: [RegistryDeviceRecord], through: Int64) {
        let newest = try lastRegistryChange
        let rows = try db.query("""
            SELECT seq, record_id FROM registry_changes WHERE seq > ? AND seq <= ? AND entity = 'device' ORDER BY seq LIMIT ?
            """, [.integer(seq), .integer(newest), .integer(Int64(limit))]) { ($0.int(0), $0.text(1)) }
        let origin = try syncOrigin
        var seen: Set<String> = []
        var out: [RegistryDeviceRecord] = []
        for (_, id) in rows where seen.insert(id).inserted {
            if let r = try deviceRecord(id: id, defaultOrigin: origin) { out.append(r) }
        }
        // A short page covers everything up to `newest` (other entries are not devices).
        return (out, rows.count < limit ? max(seq, newest) : rows.last!.0)
    }

    /// Premises and devices of `market` changed after `seq`, at most `limit` log entries.
    public func marketChanges(_ market: String, after seq: Int64, limit: Int) throws
        -> (premises: [RegistryPremisesRecord], devices: [RegistryDeviceRecord], through: Int64) {
        let newest = try lastRegistryChange
        let rows = try db.query("""
            SELECT seq, entity, record_id FROM registry_changes WHERE seq > ? AND seq <= ? AND market_id = ? ORDER BY seq LIMIT ?
            """, [.integer(seq), .integer(newest), .text(market), .integer(Int64(limit))]) { ($0.int(0), $0.text(1), $0.text(2)) }
        let origin = try syncOrigin
        var premisesOut: [RegistryPremisesRecord] = []
        var devices: [RegistryDeviceRecord] = []
        var seen: Set<String> = []
        for (_, entity, id) in rows where seen.insert(entity + "\u{1}" + id).inserted {
            if entity == "premises" {
                if let p = try premises(id: id),
                   let u = try db.scalar("SELECT updated_at FROM premises WHERE platform_id = ?", [.text(id)])?.real {
                    premisesOut.append(RegistryPremisesRecord(premises: p, updatedAt: u))
                }
            } else if let d = try deviceRecord(id: id, defaultOrigin: origin) {
                devices.append(d)
            }
        }
        return (premisesOut, devices, rows.count < limit ? max(seq, newest) : rows.last!.0)
    }

    public func deviceRecord(id: String, defaultOrigin: String) throws -> RegistryDeviceRecord? {
        guard let d = try device(id: id),
              let row = try db.query("SELECT registered_at, updated_at, origin FROM devices WHERE id = ?", [.text(id)], {
                  ($0.double(0), $0.double(1), $0.optionalText(2))
              }).first else { return nil }
        return RegistryDeviceRecord(device: d, registeredAt: row.0, updatedAt: row.1, origin: row.2 ?? defaultOrigin,
                                    history: try deviceHistory(id: id))
    }

    /// Applies records received from the other side in one transaction (the origin stamp is held off).
    public func applyRemote(market: Market?, premises: [RegistryPremisesRecord], devices: [RegistryDeviceRecord])
        throws -> [(String, RegistryApplyOutcome)] {
        let localOrigin = try syncOrigin
        return try db.transaction {
            try db.run("INSERT INTO registry_sync_applying (marker) VALUES (1)")
            defer { try? db.run("DELETE FROM registry_sync_applying") }
            if let m = market { try ensureMarket(m) }
            for p in premises { try applyOfficePremises(p) }
            var out: [(String, RegistryApplyOutcome)] = []
            for r in devices {
                // One record that cannot be stored must not hold back the others (or come back forever):
                // a failed statement rolls back only itself, and the record is reported as rejected.
                do { out.append((r.device.id, try applyDevice(r, localOrigin: localOrigin))) } catch let e as SQLiteError {
                    out.append((r.device.id, .rejected("not stored: \(e.message)")))
                }
            }
            try db.run("DELETE FROM registry_sync_applying")
            return out
        }
    }

    private func ensureMarket(_ m: Market) throws {
        try db.run("INSERT OR IGNORE INTO markets (id, name, address, community, updated_at) VALUES (?, ?, ?, ?, 0)",
                   [.text(m.id), .text(m.name), .text(m.address), .text(m.community)])
    }

    /// Office wins: the office's premises record replaces the cached one (keeping its updated_at).
    private func applyOfficePremises(_ r: RegistryPremisesRecord) throws {
        let p = r.premises
        if let m = p.marketID { try ensureMarket(Market(id: m, name: m)) }
        // A QR code moved to another premises at the office: free it here first.
        try db.run("UPDATE premises SET qr_code = qr_code || '#moved-' || platform_id WHERE qr_code = ? AND platform_id <> ?",
                   [.text(p.qrCode), .text(p.platformID)])
        try db.run("""
            INSERT INTO premises (\(Self.premisesColumns), updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(platform_id) DO UPDATE SET qr_code = excluded.qr_code, name = excluded.name, kind = excluded.kind,
              address = excluded.address, community = excluded.community, grid = excluded.grid, market_id = excluded.market_id,
              owner_name = excluded.owner_name, owner_phone = excluded.owner_phone, risk_grade = excluded.risk_grade,
              status = excluded.status, updated_at = excluded.updated_at
            WHERE premises.updated_at IS NOT excluded.updated_at
            """, [.text(p.platformID), .text(p.qrCode), .text(p.name), .text(p.kind.rawValue), .text(p.address), .text(p.community),
                  .text(p.grid), SQLValue(p.marketID), .text(p.ownerName), .text(p.ownerPhone), SQLValue(p.riskGrade?.rawValue),
                  .text(p.status.rawValue), .real(r.updatedAt)])
    }

    /// Last writer wins by (updated_at, origin); history is merged either way.
    private func applyDevice(_ r: RegistryDeviceRecord, localOrigin: String) throws -> RegistryApplyOutcome {
        let d = r.device
        guard try db.scalar("SELECT 1 FROM premises WHERE platform_id = ?", [.text(d.premisesID)]) != nil else {
            return .rejected("premises \(d.premisesID) is not in this registry; import it at the office first")
        }
        if let m = d.marketID { try ensureMarket(Market(id: m, name: m)) }
        let local = try db.query("SELECT updated_at, origin FROM devices WHERE id = ?", [.text(d.id)]) {
            ($0.double(0), $0.optionalText(1) ?? localOrigin)
        }.first
        let remoteWins = local.map { (r.updatedAt, r.origin) > ($0.0, $0.1) } ?? true
        if remoteWins {
            if let other = try activeDevice(transport: d.transport, marketID: d.marketID), other.id != d.id, d.status != .decommissioned {
                return .rejected("address \(d.transport) is used here by device \(other.id); decommission one of them")
            }
            try db.run("""
                INSERT INTO devices (\(Self.deviceColumns), registered_at, updated_at, origin)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET serial = excluded.serial, profile = excluded.profile,
                  premises_id = excluded.premises_id, market_id = excluded.market_id, location = excluded.location,
                  transport = excluded.transport, cable = excluded.cable, status = excluded.status,
                  commissioned_at = excluded.commissioned_at, commissioned_by = excluded.commissioned_by,
                  commission_report = excluded.commission_report, updated_at = excluded.updated_at, origin = excluded.origin
                """, [.text(d.id), .text(d.serial), .text(d.profileID), .text(d.premisesID), SQLValue(d.marketID),
                      .text(d.location), .text(d.transport.description), SQLValue(d.cable?.rawValue), .text(d.status.rawValue),
                      SQLValue(d.commissionedAt), SQLValue(d.commissionedBy), SQLValue(d.commissionReport),
                      .real(r.registeredAt), .real(r.updatedAt), .text(r.origin)])
            try db.run("DELETE FROM device_setpoints WHERE device_id = ?", [.text(d.id)])
            for (channel, value) in d.setpoints.sorted(by: { $0.key < $1.key }) {
                try db.run("INSERT INTO device_setpoints (device_id, channel, value) VALUES (?, ?, ?)",
                           [.text(d.id), .text(channel), .real(value)])
            }
        }
        if local != nil || remoteWins {
            for h in r.history {
                try db.run("""
                    INSERT INTO device_history (device_id, time, action, actor, detail)
                    SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM device_history
                      WHERE device_id = ?1 AND time = ?2 AND action = ?3 AND actor = ?4 AND detail = ?5)
                    """, [.text(d.id), .real(h.time), .text(h.action), .text(h.actor), .text(h.detail)])
            }
        }
        return remoteWins ? .applied : .keptLocal
    }
}

/// MQTT topics of the registry sync (docs/registry.md).
public enum RegistrySyncTopics {
    /// Edge → office: device changes made on the edge and the edge's cursor.
    public static func up(edge: String) -> String { "firewatch/edge/\(edge)/registry" }
    public static let upFilter = "firewatch/edge/+/registry"
    /// Office → one edge: acknowledgement and the office's changes to the edge's market.
    public static func down(market: String, edge: String) -> String { "firewatch/office/registry/\(market)/\(edge)" }
}
