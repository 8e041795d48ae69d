import FireWatchCore
import FireWatchEdge
import FireWatchStore
import Foundation
import Testing

@Suite("an edge journal that started over under the same edge id")
struct JournalResetTests {
    static func event(_ device: String, time: Double) -> AlarmEvent {
        AlarmEvent(edgeID: "", sequence: 0, device: device, channel: "residual_current.1", rule: "residual_current_alarm",
                   signal: .alarm, transition: .raise, value: 500, time: time,
                   hazard: HazardSpec(category: "electrical", kind: "residual_current", severity: .high, title: "剩余电流超限"),
                   announced: true, chattering: false, isTest: false)
    }

    @Test("standalone: the local ledger renumbers a fresh journal above the stored events, so its new ones are kept")
    func localLedger() throws {
        let dir = TestSupport.temporaryDirectory("journal-reset")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteGovernanceStore(path: dir.appendingPathComponent("gov.db").path)
        let old = try EventJournal(path: dir.appendingPathComponent("old-edge.db").path, edgeID: "E1")
        let oldLedger = LocalLedgerDelivery(store: store, journal: old)
        _ = try oldLedger.deliver(try old.append((0..<5).map { Self.event("D\($0)", time: Double($0)) }, now: 10), now: 10)
        #expect(try store.lastEventSequence(edge: "E1") == 5)

        // Data directory wiped: a new journal under the same edge id starts at 1 again.
        let fresh = try EventJournal(path: dir.appendingPathComponent("new-edge.db").path, edgeID: "E1")
        _ = try fresh.append([Self.event("D9", time: 100), Self.event("D8", time: 101)], now: 100)
        let ledger = LocalLedgerDelivery(store: store, journal: fresh)
        #expect(try ledger.catchUp(now: 100) == 2)
        #expect(try store.lastEventSequence(edge: "E1") == 7)
        let devices = try store.db.query("SELECT device_id FROM alarm_events WHERE edge_id = 'E1' ORDER BY sequence") { $0.text(0) }
        #expect(devices == ["D0", "D1", "D2", "D3", "D4", "D9", "D8"])
        // Later events continue above; a second catch-up changes nothing.
        let more = try fresh.append([Self.event("D7", time: 102)], now: 102)
        #expect(more.map(\.sequence) == [8])
        _ = try ledger.deliver(more, now: 102)
        #expect(try ledger.catchUp(now: 103) == nil)
        #expect(try store.lastEventSequence(edge: "E1") == 8)
        #expect(try fresh.undelivered(limit: 10).isEmpty)
    }

    @Test("a journal renumbered while empty still continues above the stored events")
    func emptyJournal() throws {
        let dir = TestSupport.temporaryDirectory("journal-reset")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try EventJournal(path: dir.appendingPathComponent("edge.db").path, edgeID: "E2")
        #expect(try journal.rebase(above: 40) == 0)
        #expect(try journal.lastSequence == 40)
        #expect(try journal.append([Self.event("D1", time: 1)], now: 1).map(\.sequence) == [41])
        #expect(try journal.rebase(above: 10) == 0, "a floor below the journal's end changes nothing")
    }
}
