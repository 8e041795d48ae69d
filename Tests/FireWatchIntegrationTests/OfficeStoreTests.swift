import FireWatchCore
import FireWatchEdge
import FireWatchStore
import Foundation
import Testing

/// A fresh governance database with two premises (community 凤池社区 and 盐步社区) and a detector each.
func makeOfficeStore() throws -> (SQLiteGovernanceStore, URL) {
    let dir = TestSupport.temporaryDirectory("office-store")
    let store = try SQLiteGovernanceStore(path: dir.appendingPathComponent("office.db").path, now: 1000)
    try store.upsertMarket(Market(id: "m1", name: "测试市场"), now: 1000)
    for (i, community) in ["凤池社区", "盐步社区"].enumerated() {
        _ = try store.upsertPremises(Premises(platformID: "P\(i + 1)", qrCode: "QR\(i + 1)", name: "A区0\(i + 1)号 测试档",
                                              kind: .marketStall, community: community, marketID: "m1"), now: 1000)
        try store.saveDevice(Device(id: "D\(i + 1)", profileID: "generic", premisesID: "P\(i + 1)", marketID: "m1",
                                    transport: .mqtt(deviceID: "D\(i + 1)")),
                             action: "registered", actor: "test", detail: "", now: 1000)
    }
    return (store, dir)
}

func officeEvent(_ seq: Int64, device: String = "D1", kind: String = "residual_current_over", _ t: AlarmEvent.Transition = .raise,
                 edge: String = "e1", severity: Severity = .high, time: Double = 2000) -> AlarmEvent {
    AlarmEvent(edgeID: edge, sequence: seq, device: device, channel: "residual_current.1", rule: "rc", signal: .alarm,
               transition: t, value: 400, time: time, hazard: HazardSpec(category: "electrical", kind: kind, severity: severity, title: "剩余电流超限"))
}

func item(_ e: AlarmEvent, late: Bool = false) -> OfficeWire.EventItem { OfficeWire.EventItem(event: e, journaledAt: e.time, late: late) }

@Suite("office store: batches, progress, grades")
struct OfficeStoreTests {
    @Test("the stored-through mark covers only contiguous sequences; a gap holds it until filled; duplicates are counted")
    func contiguousProgress() throws {
        let (store, dir) = try makeOfficeStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        var r = try store.ingestFromEdge("e1", items: [item(officeEvent(1)), item(officeEvent(2)), item(officeEvent(4))], receivedAt: 2001)
        #expect(r.storedThrough == 2 && r.stored == 3 && r.duplicates == 0)
        r = try store.ingestFromEdge("e1", items: [item(officeEvent(2)), item(officeEvent(3), late: true)], receivedAt: 2002)
        #expect(r.storedThrough == 4 && r.stored == 1 && r.duplicates == 1)
        let link = try #require(try store.edgeLink("e1"))
        #expect(link.storedThrough == 4 && link.storedCount == 4 && link.duplicateCount == 1 && link.lateCount == 1)
        // An event that names another edge than its topic is refused, not stored.
        r = try store.ingestFromEdge("e1", items: [item(officeEvent(5, edge: "e2"))], receivedAt: 2003)
        #expect(r.rejected == 1 && r.stored == 0 && r.storedThrough == 4)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM alarm_events WHERE edge_id = 'e2'")?.integer == 0)
    }

    @Test("a batch in one transaction gives the same hazards and outcomes as one ingest per event")
    func batchMatchesSingle() throws {
        let (a, dirA) = try makeOfficeStore()
        let (b, dirB) = try makeOfficeStore()
        defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
        var events: [AlarmEvent] = []
        for i in 1...60 {
            let device = ["D1", "D2", "UNKNOWN"][i % 3]
            events.append(officeEvent(Int64(i), device: device, i % 4 == 0 ? .clear : .raise, time: 2000 + Double(i)))
        }
        events.append(events[5])  // a duplicate inside the batch
        let single = try events.map { try a.ingest($0, receivedAt: 3000, late: false) }
        let batch = try b.ingest(batch: events.map { ($0, false) }, receivedAt: 3000)
        #expect(single == batch)
        #expect(batch.last == .duplicate)
        let ha = try a.hazards(HazardFilter()), hb = try b.hazards(HazardFilter())
        #expect(ha == hb && ha.count == 2)
    }

    @Test("edge supervision raises one edge_offline fault with the office's own sequence and clears it on return")
    func supervision() throws {
        let (store, dir) = try makeOfficeStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        try store.noteEdgeSeen("e1", heartbeat: "{}", now: 100)
        let down = try store.recordEdgeSupervision(edge: "e1", offline: true, officeID: "office", now: 200)
        guard case .stored(let id?, true) = down.outcome else { Issue.record("no hazard opened: \(down.outcome)"); return }
        #expect(down.event.sequence == 1 && down.event.edgeID == "office")
        #expect(try store.edgeLink("e1")?.isOffline == true)
        let up = try store.recordEdgeSupervision(edge: "e1", offline: false, officeID: "office", now: 300)
        #expect(up.event.sequence == 2 && up.outcome == .stored(hazard: id, opened: false))
        let h = try #require(try store.hazardDetail(id: id)?.hazard)
        #expect(h.kind == "edge_offline" && h.premisesID.isEmpty && !h.conditionActive && h.signal == .fault)
        #expect(try store.nextSequence(edge: "office") == 3)
    }

    @Test("a heartbeat's storage fault raises one edge_storage fault, repeats change nothing, the first clean heartbeat clears it")
    func storageSupervision() throws {
        let (store, dir) = try makeOfficeStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try store.recordEdgeStorage(edge: "e1", fault: false, officeID: "office", now: 100) == nil, "no fault, nothing to clear")
        let raised = try #require(try store.recordEdgeStorage(edge: "e1", fault: true, officeID: "office", now: 200))
        guard case .stored(let id?, true) = raised.outcome else { Issue.record("no hazard opened: \(raised.outcome)"); return }
        #expect(raised.event.transition == .raise && raised.event.edgeID == "office" && raised.event.device == "e1")
        #expect(try store.recordEdgeStorage(edge: "e1", fault: true, officeID: "office", now: 230) == nil, "still faulty: no new event")
        #expect(try store.recordEdgeStorage(edge: "e2", fault: true, officeID: "office", now: 240) != nil, "per edge")
        let cleared = try #require(try store.recordEdgeStorage(edge: "e1", fault: false, officeID: "office", now: 260))
        #expect(cleared.event.transition == .clear && cleared.outcome == .stored(hazard: id, opened: false))
        let h = try #require(try store.hazardDetail(id: id)?.hazard)
        #expect(h.kind == "edge_storage" && h.premisesID.isEmpty && !h.conditionActive && h.signal == .fault)
        #expect(h.title.contains("存储故障"))
    }

    @Test("risk grades follow the documented formula")
    func gradingFormula() {
        let now = 100 * 86_400.0
        func f(_ signal: SignalClass = .alarm, _ severity: Severity = .medium, kind: String = "rc", _ status: Hazard.Status = .verified,
               daysAgo: Double = 10, deadlineDays: Double? = 7) -> RiskGrading.Facts {
            let opened = now - daysAgo * 86_400
            return RiskGrading.Facts(signal: signal, severity: severity, kind: kind, status: status, openedAt: opened,
                                     deadline: deadlineDays.map { opened + $0 * 86_400 })
        }
        #expect(RiskGrading.assess([], now: now).grade == .a)
        #expect(RiskGrading.assess([f()], now: now).grade == .b)                                   // 2
        #expect(RiskGrading.assess([f(daysAgo: 120)], now: now).grade == .a)                       // outside 90 days
        #expect(RiskGrading.assess([f(.alarm, .high, .dispatched, daysAgo: 1)], now: now).grade == .c)  // 3 + 2 open
        let repeatOffender = RiskGrading.assess([f(daysAgo: 60), f(daysAgo: 30), f(daysAgo: 5)], now: now)
        #expect(repeatOffender.repeatOffences == 2 && repeatOffender.score == 12 && repeatOffender.grade == .d)
        let overdue = RiskGrading.assess([f(.alarm, .low, .open, daysAgo: 20, deadlineDays: 15)], now: now)
        #expect(overdue.overdueHazards == 1 && overdue.grade == .c && overdue.score == 7)
        let overdueHigh = RiskGrading.assess([f(.alarm, .high, .acknowledged, daysAgo: 5, deadlineDays: 3)], now: now)
        #expect(overdueHigh.grade == .d && overdueHigh.floorReason != nil)
        #expect(RiskGrading.assess([f(.fault, .high, .verified)], now: now).grade == .b)
        #expect(RiskGrading.assess([f(.alarm, .critical, .falseAlarm)], now: now).faults == 1)
    }

    @Test("premises grade stores grades and history; the inspection plan puts C and D first and filters by community")
    func gradesAndPlan() throws {
        let (store, dir) = try makeOfficeStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let now = Date().timeIntervalSince1970
        _ = try store.ingest(officeEvent(1, device: "D2", time: now - 3600), receivedAt: now, late: false)
        let grades = try store.recomputeRiskGrades(now: now)
        #expect(grades.map(\.premises.platformID) == ["P2", "P1"])
        #expect(try store.premises(id: "P2")?.riskGrade == .c && store.premises(id: "P1")?.riskGrade == .a)
        _ = try store.recomputeRiskGrades(now: now + 1)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM risk_grades")?.integer == 4)
        let plan = try store.inspectionPlan(community: nil)
        #expect(plan.map(\.premises.platformID) == ["P2", "P1"] && plan[0].openHazards.count == 1)
        #expect(try store.inspectionPlan(community: "凤池社区").map(\.premises.platformID) == ["P1"])
    }
}

@Suite("edge outbox lanes")
struct UplinkOutboxTests {
    @Test("the telemetry lane is bounded: the oldest minutes are evicted and counted, events are never touched")
    func telemetryEviction() throws {
        let dir = TestSupport.temporaryDirectory("outbox")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("edge.db").path
        let journal = try EventJournal(path: path, edgeID: "e1")
        _ = try journal.append((1...5).map { officeEvent(Int64($0)) }, now: 10)
        let outbox = try Outbox(path: path, edgeID: "e1", telemetryCapacity: 10)
        let minutes = (0..<25).map { OfficeWire.TelemetrySummary(device: "D1", channel: "temperature.1", minute: Double($0) * 60,
                                                                 min: 30, max: 40, last: 35, samples: 12) }
        #expect(try outbox.addSummaries(Array(minutes[..<10])) == 0)
        #expect(try outbox.addSummaries(Array(minutes[10...])) == 15)
        #expect(try outbox.pendingTelemetry == 10 && outbox.telemetryEvicted == 15)
        let sent = try outbox.takeUnsentSummaries(limit: 100, batch: 7)
        #expect(sent.first?.minute == 15 * 60 && sent.count == 10)
        try outbox.acknowledgeTelemetry(batch: 7)
        #expect(try outbox.pendingTelemetry == 0)
        #expect(try outbox.pendingEvents == 5 && outbox.ackedThrough == 0)
        try outbox.acknowledge(through: 3)
        #expect(try outbox.ackedThrough == 3 && outbox.pending(after: 0, limit: 10).map(\.event.sequence) == [4, 5])
    }

    @Test("readings fold into per-minute min, max and last; a minute is handed over only once it has closed")
    func minuteSummaries() {
        var m = TelemetryMinutes()
        let c = Channel(unchecked: "temperature.1")
        m.add([Reading(device: "D1", channel: c, value: .number(31), time: 60),
               Reading(device: "D1", channel: c, value: .number(45), time: 70),
               Reading(device: "D1", channel: c, value: .number(38), time: 119),
               Reading(device: "D1", channel: c, value: .invalid, time: 100),
               Reading(device: "D1", channel: c, value: .number(50), time: 121)])
        #expect(m.takeClosed(now: 122).isEmpty)
        let closed = m.takeClosed(now: 126)
        #expect(closed == [OfficeWire.TelemetrySummary(device: "D1", channel: "temperature.1", minute: 60, min: 31, max: 45, last: 38, samples: 3)])
        #expect(m.openCount == 1)
    }
}
