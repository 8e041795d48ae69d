import FireWatchCore
import FireWatchStore
import Foundation
import Testing

@Suite("office receiver end to end (mosquitto, firewatch office, firewatch uplink burst)", .serialized)
struct OfficeEndToEndTests {
    @Test("alarms from an edge become hazards linked to premises, notify through the hook, and a resent batch is ignored and counted")
    func alarmsBecomeHazards() throws {
        let rig = try OfficeRig(heartbeatTimeout: 3, devices: ["D1", "D2"])
        defer { rig.remove() }
        let (store, seedDir) = try makeOfficeStore()
        defer { try? FileManager.default.removeItem(at: seedDir) }
        // The office's registry knows the two detectors and their premises.
        try FileManager.default.createDirectory(at: rig.dir.appendingPathComponent("office-data"), withIntermediateDirectories: true)
        try store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try FileManager.default.copyItem(atPath: store.db.path, toPath: rig.officeDB)
        try rig.broker.start()
        try rig.startOffice()
        let edge = try rig.startEdge(count: 40, exitWhenDelivered: true, timeout: 60)
        #expect(rig.finish(edge, timeout: 60))
        try rig.expectNothingLost(count: 40)

        let office = try SQLiteGovernanceStore(path: rig.officeDB)
        let hazards = try office.hazards(HazardFilter(premisesID: nil)).filter { $0.kind == "residual_current_over" }
        #expect(hazards.map(\.premisesID).sorted() == ["P1", "P2"])
        #expect(hazards.allSatisfy { $0.eventCount == 20 && !$0.conditionActive && $0.status == .open })
        #expect(TestSupport.wait(timeout: 10) { ((try? String(contentsOf: rig.notices, encoding: .utf8)) ?? "").contains("P2") })
        let notices = try String(contentsOf: rig.notices, encoding: .utf8).split(separator: "\n")
        let decoded = try notices.map { try JSONDecoder().decode(HazardNotice.self, from: Data($0.utf8)) }
        #expect(Set(decoded.filter { $0.hazard.kind == "residual_current_over" }.map(\.hazard.premisesID)) == ["P1", "P2"])

        // Publish an already stored event again (as an edge would after a lost ack): ignored, counted.
        let again = OfficeWire.EventBatch(edge: "market-1", sentAt: 0, items: [OfficeWire.EventItem(
            event: try #require(office.hazardDetail(id: hazards[0].id)?.events.first), journaledAt: 0, late: true)])
        try rig.broker.publish([(topic: OfficeWire.topic(edge: "market-1", .events), payload: String(decoding: OfficeWire.encode(again), as: UTF8.self))])
        // And something that is not a batch at all: refused with a message, the office keeps running.
        try rig.broker.publish([(topic: OfficeWire.topic(edge: "market-1", .events), payload: "{not json")])
        // Generous waits: under a loaded machine the office may be between reconnects (the QoS 1 messages
        // wait in its session meanwhile); the wait ends as soon as the condition holds.
        #expect(TestSupport.wait(timeout: 30) { (try? rig.officeCounter("SELECT duplicate_count FROM edge_links WHERE edge_id = 'market-1'")) == 1 })
        #expect(TestSupport.wait(timeout: 30) { rig.office?.stderr.contains("unreadable events message") == true })
        #expect(rig.office?.isRunning == true)
        #expect(try rig.officeCounter("SELECT COUNT(*) FROM alarm_events WHERE edge_id = 'market-1'") == 40)
    }

    @Test("a slow notification hook never holds up ingestion or acknowledgement")
    func slowHook() throws {
        let rig = try OfficeRig(heartbeatTimeout: 60, devices: ["D1", "D2"], hookDelaySeconds: 20)
        defer { rig.remove() }
        let (store, seedDir) = try makeOfficeStore()
        defer { try? FileManager.default.removeItem(at: seedDir) }
        try FileManager.default.createDirectory(at: rig.dir.appendingPathComponent("office-data"), withIntermediateDirectories: true)
        try store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try FileManager.default.copyItem(atPath: store.db.path, toPath: rig.officeDB)
        try rig.broker.start()
        try rig.startOffice()
        let started = Date()
        // Two hazards open, each hook takes 20 s; the edge is acknowledged long before the hooks finish.
        let edge = try rig.startEdge(count: 400, exitWhenDelivered: true, timeout: 60)
        #expect(rig.finish(edge, timeout: 60))
        #expect(Date().timeIntervalSince(started) < 19, "delivery waited for the hook")
        let noticesSoFar = (try? String(contentsOf: rig.notices, encoding: .utf8)) ?? ""
        #expect(noticesSoFar.isEmpty, "the hooks are still sleeping")
        try rig.expectNothingLost(count: 400)
    }

    @Test("a silent edge opens an edge_offline fault after the heartbeat timeout; its return clears it")
    func edgeOffline() throws {
        let rig = try OfficeRig(heartbeatTimeout: 3)
        defer { rig.remove() }
        try rig.broker.start()
        try rig.startOffice()
        let first = try rig.startEdge(count: 10, exitWhenDelivered: true, timeout: 60)
        #expect(rig.finish(first, timeout: 60))
        func offlineHazard() throws -> (active: Int64, events: Int64)? {
            try SQLiteConnection(path: rig.officeDB, readOnly: true).query(
                "SELECT condition_active, event_count FROM hazards WHERE kind = 'edge_offline' AND device_id = 'market-1'") {
                ($0.int(0), $0.int(1))
            }.first
        }
        #expect(TestSupport.wait(timeout: 20) { (try? offlineHazard())??.active == 1 }, "no edge_offline fault after 3 s of silence")
        #expect(try rig.officeCounter("SELECT COUNT(*) FROM edge_links WHERE edge_id = 'market-1' AND status = 'offline'") == 1)
        // Back: a heartbeat from the running edge clears the fault on the same hazard.
        let back = try rig.startEdge(count: 10, timeout: 30)
        defer { back.stop() }
        #expect(TestSupport.wait(timeout: 20) { (try? offlineHazard())??.active == 0 }, "the edge's return did not clear the fault")
        #expect(try offlineHazard()?.events == 2)
        #expect(try rig.officeCounter("SELECT COUNT(*) FROM alarm_events WHERE edge_id = 'office'") == 2)
    }
}

@Suite("telemetry lane end to end", .serialized)
struct UplinkTelemetryTests {
    @Test("closed minutes reach the office as min/max/last; a full lane evicts the oldest and the count reaches the office")
    func telemetryMinutes() throws {
        let rig = try OfficeRig(heartbeatTimeout: 60, telemetryCapacity: 20)
        defer { rig.remove() }
        try rig.broker.start()
        try rig.startOffice()
        // 300 readings one per 10 s = 50 minutes of one channel; the lane keeps 20 rows.
        let edge = try rig.startEdge(count: 1, timeout: 40, extra: ["--readings", "300"])
        defer { edge.stop() }
        let db = { try SQLiteConnection(path: rig.officeDB, readOnly: true) }
        #expect(TestSupport.wait(timeout: 30) { ((try? db().scalar("SELECT COUNT(*) FROM telemetry_minutes")?.integer) ?? 0) == 20 },
                "telemetry minutes at the office: \(String(describing: try? db().scalar("SELECT COUNT(*) FROM telemetry_minutes")))")
        let rows = try db().query("SELECT min, max, last, samples FROM telemetry_minutes ORDER BY minute") { [$0.double(0), $0.double(1), $0.double(2), Double($0.int(3))] }
        #expect(rows.allSatisfy { $0[0] >= 30 && $0[1] <= 36 && $0[0] <= $0[2] && $0[2] <= $0[1] && $0[3] == 6 })
        // The 30 evicted minutes are counted and reported in the heartbeat.
        #expect(TestSupport.wait(timeout: 15) {
            (try? db().scalar("SELECT heartbeat FROM edge_links WHERE edge_id = 'market-1'")?.text)??.contains("\"telemetryEvicted\":30") == true
        })
        // Acknowledged minutes leave the lane; the eviction count stays (persistent, in edge.db).
        var status = (status: Int32(-1), out: "", err: "")
        let drained = TestSupport.wait(timeout: 15) {
            status = (try? firewatch(["uplink", "status", "--data", rig.edgeData.path, "--json"])) ?? status
            return status.out.contains("\"pending_telemetry\":0")
        }
        #expect(drained && status.out.contains("\"telemetry_evicted\":30"), "\(status.status) \(status.out) \(status.err)")
    }
}
