import FireWatchCore
import FireWatchStore
import Foundation
import Testing

/// The registry's store functions on real SQLite files: import batches and the search index, the
/// change log, and the sync conflict rule applied record by record.
@Suite("Registry store")
struct RegistryStoreTests {
    func withStore(_ body: (SQLiteGovernanceStore, URL) throws -> Void) throws {
        let dir = TestSupport.temporaryDirectory("registry-store")
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(try SQLiteGovernanceStore(path: dir.appendingPathComponent("gov.db").path), dir)
    }

    static func row(_ n: Int, name: String) -> PremisesImportRow {
        PremisesImportRow(line: n + 1, premises: Premises(platformID: "P\(n)", qrCode: "Q\(n)", name: name, kind: .marketStall,
                                                          address: "海北路\(n)号", marketID: "凤池市场"))
    }

    @Test("batched import indexes new rows for search, re-indexes renamed ones, and logs each change once")
    func importIndexesAndLogs() throws {
        try withStore { store, _ in
            let rows = (1...250).map { Self.row($0, name: "陈记五金\($0)") }
            let s = try store.importPremises(rows, batchSize: 100, now: 10)
            #expect(s.inserted == 250 && s.marketsCreated == ["凤池市场"])
            #expect(try store.searchPremises("陈记五金123").first?.platformID == "P123")
            #expect(try store.searchPremises("海北路77号").first?.platformID == "P77")
            #expect(try store.db.scalar("SELECT COUNT(*) FROM registry_changes WHERE entity = 'premises'")?.integer == 250)
            var renamed = rows
            renamed[9].premises.name = "李氏灯饰"
            let again = try store.importPremises(renamed, batchSize: 100, now: 20)
            #expect(again.updated == 1 && again.unchanged == 249)
            #expect(try store.searchPremises("李氏灯饰").map(\.platformID) == ["P10"])
            #expect(try store.searchPremises("陈记五金10").allSatisfy { $0.platformID != "P10" })
            #expect(try store.db.scalar("SELECT COUNT(*) FROM registry_changes WHERE entity = 'premises'")?.integer == 251)
            #expect(try store.db.scalar("SELECT COUNT(*) FROM registry_bulk")?.integer == 0)
            #expect(try store.db.integrityCheck() == "ok")
        }
    }

    @Test("reopening a migrated database applies nothing again")
    func reopen() throws {
        try withStore { store, dir in
            _ = try store.importPremises([Self.row(1, name: "甲")], now: 1)
            let again = try SQLiteGovernanceStore(path: dir.appendingPathComponent("gov.db").path)
            #expect(try again.premisesCount == 1)
            #expect(try again.db.scalar("SELECT COUNT(*) FROM schema_migrations WHERE schema = 'governance' AND version IN (3, 4)")?.integer == 2)
        }
    }

    static func record(_ location: String, updatedAt: Double, origin: String, history: [DeviceHistoryEntry]) -> RegistryDeviceRecord {
        let d = Device(id: "D1", profileID: "generic-1r4t", premisesID: "P1", marketID: "凤池市场", location: location,
                       transport: .modbusRTU(bus: "A", unit: 1))
        return RegistryDeviceRecord(device: d, registeredAt: 1, updatedAt: updatedAt, origin: origin, history: history)
    }

    @Test("last writer wins by (updated_at, origin); equal times go to the larger origin; history is a union")
    func lastWriterWins() throws {
        try withStore { store, _ in
            _ = try store.importPremises([Self.row(1, name: "甲")], now: 1)
            let h1 = DeviceHistoryEntry(time: 5, action: "registered", actor: "张工", detail: "")
            let h2 = DeviceHistoryEntry(time: 6, action: "moved", actor: "李工", detail: "x")
            #expect(try store.applyRemote(market: nil, premises: [], devices: [Self.record("甲处", updatedAt: 5, origin: "edge-a", history: [h1])])
                .map(\.1) == [.applied])
            // Older: kept local, its history still merged.
            #expect(try store.applyRemote(market: nil, premises: [], devices: [Self.record("旧处", updatedAt: 4, origin: "edge-z", history: [h2])])
                .map(\.1) == [.keptLocal])
            #expect(try store.device(id: "D1")?.location == "甲处")
            #expect(try store.deviceHistory(id: "D1").count == 2)
            // Same time: the larger origin wins, the same record again changes nothing.
            #expect(try store.applyRemote(market: nil, premises: [], devices: [Self.record("乙处", updatedAt: 5, origin: "edge-b", history: [h1])])
                .map(\.1) == [.applied])
            #expect(try store.applyRemote(market: nil, premises: [], devices: [Self.record("乙处", updatedAt: 5, origin: "edge-b", history: [h1])])
                .map(\.1) == [.keptLocal])
            #expect(try store.device(id: "D1")?.location == "乙处")
            #expect(try store.deviceHistory(id: "D1").count == 2)
            #expect(try store.deviceRecord(id: "D1", defaultOrigin: "office")?.origin == "edge-b")
        }
    }
}
