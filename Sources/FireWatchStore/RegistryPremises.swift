import FireWatchCore
import Foundation

/// What `premises import` did: counts, every rejected row with its line and reason.
public struct PremisesImportSummary: Sendable, Codable, Equatable {
    public var file: String
    public var encoding: String
    public var rows: Int
    public var inserted: Int
    public var updated: Int
    public var unchanged: Int
    public var rejected: Int
    public var marketsCreated: [String]
    public var ignoredColumns: [String]
    public var rejections: [RegistryRejection]
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case file, encoding, rows, inserted, updated, unchanged, rejected, seconds
        case marketsCreated = "markets_created", ignoredColumns = "ignored_columns", rejections
    }
}

extension SQLiteGovernanceStore {
    /// Reads, decodes (UTF-8, UTF-8 with BOM, GB18030/GBK), validates and upserts a registry file.
    /// `progress(done, total)` is called after each batch. Re-importing the same file changes nothing.
    public func importPremises(file: String, batchSize: Int = 5000, now: Double,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> PremisesImportSummary {
        let started = Date()
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw StoreRefusal("cannot read \(file): \(error.localizedDescription)")
        }
        let decoded = RegistryTextDecoder.decode(data)
        let parsed: PremisesCSVParse
        do { parsed = try PremisesCSV.parse(decoded) } catch { throw StoreRefusal("\(file): \(error.message)") }
        var summary = try importPremises(parsed.rows, batchSize: batchSize, now: now, progress: progress)
        summary.file = file
        summary.encoding = decoded.encoding.rawValue
        summary.ignoredColumns = parsed.ignoredColumns
        summary.rejections = (parsed.rejections + summary.rejections).sorted { $0.line < $1.line }
        summary.rejected = summary.rejections.count
        summary.rows = parsed.rows.count + parsed.rejections.count
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Upserts validated rows by platform id in transactions of `batchSize` rows. A row whose QR code
    /// belongs to another premises is rejected; a market given by id or name is linked, an unknown
    /// one is created (id and name = the text) and listed in the summary.
    public func importPremises(_ rows: [PremisesImportRow], batchSize: Int = 5000, now: Double,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> PremisesImportSummary {
        var s = PremisesImportSummary(file: "", encoding: "", rows: rows.count, inserted: 0, updated: 0, unchanged: 0,
                                      rejected: 0, marketsCreated: [], ignoredColumns: [], rejections: [], seconds: 0)
        var markets: [String: String] = [:]
        for (id, name) in try db.query("SELECT id, name FROM markets", [], { ($0.text(0), $0.text(1)) }) {
            markets[id] = id
            if markets[name] == nil { markets[name] = id }
        }
        // The import is idempotent (re-run it after a crash or power loss), so its batches need not
        // wait for the disk twice each: NORMAL for its duration, the connection's FULL after.
        let previous = try db.scalar("PRAGMA synchronous")?.integer ?? 2
        try db.execute("PRAGMA synchronous=NORMAL")
        // Fewer, larger checkpoints while the bulk goes in; the WAL is checkpointed back to size after.
        try db.execute("PRAGMA wal_autocheckpoint=20000")
        defer {
            try? db.execute("PRAGMA synchronous=\(previous)")
            try? db.execute("PRAGMA wal_autocheckpoint=1000")
            try? db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        var done = 0
        for start in stride(from: 0, to: rows.count, by: max(1, batchSize)) {
            let batch = rows[start..<min(rows.count, start + max(1, batchSize))]
            try db.transaction {
                // Rows inserted by this batch get rowids above the current maximum (premises are never deleted).
                let before = try db.scalar("SELECT IFNULL(MAX(rowid), 0) FROM premises")?.integer ?? 0
                try db.run("INSERT INTO registry_bulk (marker) VALUES (1)")
                // One lookup per batch for the existing records and the QR codes' owners.
                let ids = String(decoding: try JSONEncoder().encode(batch.map(\.premises.platformID)), as: UTF8.self)
                let qrs = String(decoding: try JSONEncoder().encode(batch.map(\.premises.qrCode)), as: UTF8.self)
                var existing: [String: Premises] = [:]
                for p in try db.query("SELECT \(Self.premisesColumns) FROM premises WHERE platform_id IN (SELECT value FROM json_each(?))",
                                      [.text(ids)], Self.premises) { existing[p.platformID] = p }
                var owners: [String: String] = [:]
                for (qr, id) in try db.query("SELECT qr_code, platform_id FROM premises WHERE qr_code IN (SELECT value FROM json_each(?))",
                                             [.text(qrs)], { ($0.text(0), $0.text(1)) }) { owners[qr] = id }
                for row in batch {
                    var p = row.premises
                    if let m = p.marketID {
                        if let id = markets[m] { p.marketID = id } else {
                            try upsertMarket(Market(id: m, name: m), now: now)
                            markets[m] = m
                            s.marketsCreated.append(m)
                        }
                    }
                    if let owner = owners[p.qrCode], owner != p.platformID {
                        s.rejections.append(RegistryRejection(line: row.line, platformID: p.platformID,
                            reason: "QR code \(p.qrCode) already belongs to premises \(owner); check the plate or fix \(owner) first"))
                        continue
                    }
                    if let old = existing[p.platformID] {
                        if p.riskGrade == nil { p.riskGrade = old.riskGrade }  // grades are computed here, not imported
                        if p == old { s.unchanged += 1; continue }
                    }
                    do {
                        if existing[p.platformID] == nil {
                            try db.run("INSERT INTO premises (\(Self.premisesColumns), updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                       [.text(p.platformID), .text(p.qrCode), .text(p.name), .text(p.kind.rawValue), .text(p.address),
                                        .text(p.community), .text(p.grid), SQLValue(p.marketID), .text(p.ownerName), .text(p.ownerPhone),
                                        SQLValue(p.riskGrade?.rawValue), .text(p.status.rawValue), .real(now)])
                            s.inserted += 1
                        } else {
                            _ = try upsertPremises(p, now: now)
                            s.updated += 1
                        }
                    } catch let e as SQLiteError {
                        // A constraint the checks above did not foresee: this row only (statement rollback).
                        s.rejections.append(RegistryRejection(line: row.line, platformID: p.platformID, reason: "not stored: \(e.message)"))
                    }
                }
                try db.run("DELETE FROM registry_bulk")
                try db.run("INSERT INTO premises_fts(rowid, name, address) SELECT rowid, name, address FROM premises WHERE rowid > ?",
                           [.integer(before)])
                try db.run("""
                    INSERT INTO registry_changes(entity, record_id, market_id, changed_at)
                    SELECT 'premises', platform_id, market_id, updated_at FROM premises WHERE rowid > ? ORDER BY rowid
                    """, [.integer(before)])
            }
            done += batch.count
            progress(done, rows.count)
        }
        s.rejected = s.rejections.count
        return s
    }

    /// Finds premises by exact platform id or QR code first, then by name or address fragment
    /// (trigram full-text index for 3+ characters, a scan for shorter fragments).
    public func searchPremises(_ query: String, limit: Int = 20) throws -> [Premises] {
        let q = query.trimmingCharacters(in: .whitespaces)
        guard !q.isEmpty else { return [] }
        var out = try db.query("SELECT \(Self.premisesColumns) FROM premises WHERE platform_id = ?1 OR qr_code = ?1",
                               [.text(q)], Self.premises)
        guard out.count < limit else { return Array(out.prefix(limit)) }
        let exact = Set(out.map(\.platformID))
        let rest: [Premises]
        if q.count >= 3 {
            let match = "\"" + q.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            rest = try db.query("""
                SELECT \(Self.premisesColumns.split(separator: ",").map { "p." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
                FROM premises_fts f JOIN premises p ON p.rowid = f.rowid WHERE premises_fts MATCH ?1 LIMIT ?2
                """, [.text(match), .integer(Int64(limit + exact.count))], Self.premises)
        } else {
            let like = "%" + q.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            rest = try db.query("""
                SELECT \(Self.premisesColumns) FROM premises
                WHERE name LIKE ?1 ESCAPE '\\' OR address LIKE ?1 ESCAPE '\\' OR platform_id LIKE ?1 ESCAPE '\\' LIMIT ?2
                """, [.text(like), .integer(Int64(limit + exact.count))], Self.premises)
        }
        for p in rest where !exact.contains(p.platformID) && out.count < limit { out.append(p) }
        return out
    }

    /// Every premises (or those of one market), ordered by platform id, for export.
    public func allPremises(marketID: String? = nil) throws -> [Premises] {
        if let marketID {
            return try db.query("SELECT \(Self.premisesColumns) FROM premises WHERE market_id = ? ORDER BY platform_id",
                                [.text(marketID)], Self.premises)
        }
        return try db.query("SELECT \(Self.premisesColumns) FROM premises ORDER BY platform_id", [], Self.premises)
    }

    public var premisesCount: Int { get throws { Int(try db.scalar("SELECT COUNT(*) FROM premises")?.integer ?? 0) } }
}
