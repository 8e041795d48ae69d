import FireWatchCore
@testable import FireWatchStore
import Foundation
import Testing

/// A fresh governance database in a temporary folder, seeded with one market, two premises, two devices.
func makeStore() throws -> (SQLiteGovernanceStore, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gov-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("g.db").path
    let store = try SQLiteGovernanceStore(path: path, now: 1000)
    try store.upsertMarket(Market(id: "m1", name: "测试市场"), now: 1000)
    for (i, name) in ["A区01号 陈记五金档", "A区02号 李记灯饰档"].enumerated() {
        _ = try store.upsertPremises(Premises(platformID: "P\(i + 1)", qrCode: "QR\(i + 1)", name: name, kind: .marketStall,
                                              marketID: "m1"), now: 1000)
        try store.saveDevice(Device(id: "D\(i + 1)", profileID: "generic-1r4t", premisesID: "P\(i + 1)", marketID: "m1",
                                    transport: .modbusTCP(host: "127.0.0.1", port: 1502, unit: i + 1),
                                    setpoints: ["residual_current.1": 300]),
                             action: "registered", actor: "test", detail: "", now: 1000)
    }
    return (store, path)
}

func event(_ seq: Int64, device: String = "D1", kind: String = "residual_current_over", _ t: AlarmEvent.Transition = .raise,
           time: Double = 2000, edge: String = "e1", test: Bool = false, announced: Bool = true) -> AlarmEvent {
    AlarmEvent(edgeID: edge, sequence: seq, device: device, channel: "residual_current.1", rule: "rc_alarm",
               signal: .alarm, transition: t, value: 420, time: time,
               hazard: HazardSpec(category: "electrical", kind: kind, severity: .high, title: "剩余电流超限报警"),
               announced: announced, isTest: test)
}

@Suite("governance store")
struct GovernanceStoreTests {
    @Test("migrations are idempotent: reopening applies nothing twice and keeps the data")
    func reopen() throws {
        let (store, path) = try makeStore()
        _ = try store.ingest(event(1), receivedAt: 2001, late: false)
        let again = try SQLiteGovernanceStore(path: path, now: 3000)
        #expect(try again.hazards(HazardFilter()).count == 1)
        #expect(try again.db.scalar("SELECT COUNT(*) FROM schema_migrations WHERE schema = 'governance'")?.integer
                == Int64(GovernanceSchema.migrations.count))
        #expect(try again.db.integrityCheck() == "ok")
    }

    @Test("a repeated (edge, sequence) is stored once")
    func dedupe() throws {
        let (store, _) = try makeStore()
        #expect(try store.ingest(event(1), receivedAt: 2001, late: false) == .stored(hazard: 1, opened: true))
        #expect(try store.ingest(event(1), receivedAt: 2002, late: false) == .duplicate)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM alarm_events")?.integer == 1)
        // The same sequence from another edge is another event.
        #expect(try store.ingest(event(1, edge: "e2"), receivedAt: 2003, late: false) == .stored(hazard: 1, opened: false))
    }

    @Test("one open hazard per premises + device + kind; repeats attach; a clear updates but does not close")
    func oneOpenHazard() throws {
        let (store, _) = try makeStore()
        _ = try store.ingest(event(1), receivedAt: 2001, late: false)
        _ = try store.ingest(event(2, .clear, time: 2100), receivedAt: 2101, late: false)
        _ = try store.ingest(event(3, time: 2200), receivedAt: 2201, late: false)
        _ = try store.ingest(event(4, kind: "cable_over_temperature", time: 2300), receivedAt: 2301, late: false)
        _ = try store.ingest(event(5, device: "D2", time: 2400), receivedAt: 2401, late: false)
        let hazards = try store.hazards(HazardFilter())
        #expect(hazards.count == 3)
        let first = try #require(hazards.first)
        #expect(first.eventCount == 3)
        #expect(first.status == .open)
        #expect(first.conditionActive)
        #expect(first.premisesName == "A区01号 陈记五金档")
        let detail = try #require(try store.hazardDetail(id: first.id))
        #expect(detail.steps.map(\.action) == ["opened", "cleared", "repeat"])
        #expect(detail.events.map(\.sequence) == [1, 2, 3])
    }

    @Test("test alarms and unannounced events are stored but never become hazards")
    func testAlarms() throws {
        let (store, _) = try makeStore()
        #expect(try store.ingest(event(1, test: true), receivedAt: 2001, late: false) == .stored(hazard: nil, opened: false))
        #expect(try store.ingest(event(2, announced: false), receivedAt: 2001, late: false) == .stored(hazard: nil, opened: false))
        #expect(try store.hazards(HazardFilter()).isEmpty)
        #expect(try store.db.scalar("SELECT COUNT(*) FROM alarm_events WHERE is_test = 1")?.integer == 1)
    }

    @Test("the lifecycle moves one allowed step at a time, with who and a note; closing frees the key")
    func lifecycle() throws {
        let (store, _) = try makeStore()
        _ = try store.ingest(event(1), receivedAt: 2001, late: false)
        _ = try store.advanceHazard(id: 1, to: .acknowledged, actor: "值班员王", note: "已电话通知", now: 3000)
        #expect(throws: StoreRefusal.self) { try store.advanceHazard(id: 1, to: .verified, actor: "x", note: "", now: 3001) }
        _ = try store.advanceHazard(id: 1, to: .dispatched, actor: "值班员王", note: "派网格员", now: 3100)
        _ = try store.advanceHazard(id: 1, to: .rectified, actor: "电工李", note: "更换老化线缆", now: 3200)
        let closed = try store.advanceHazard(id: 1, to: .verified, actor: "监督员张", note: "复查合格", now: 3300)
        #expect(closed.status == .verified)
        #expect(closed.closedAt == 3300)
        #expect(throws: StoreRefusal.self) { try store.advanceHazard(id: 1, to: .dispatched, actor: "x", note: "", now: 3400) }
        // A new alarm after closing opens a new hazard.
        #expect(try store.ingest(event(2, time: 4000), receivedAt: 4001, late: false) == .stored(hazard: 2, opened: true))
        let steps = try #require(try store.hazardDetail(id: 1)).steps
        #expect(steps.last?.actor == "监督员张")
        #expect(steps.last?.note == "复查合格")
    }

    @Test("premises upsert reports inserted, updated, unchanged")
    func upsert() throws {
        let (store, _) = try makeStore()
        var p = Premises(platformID: "P9", qrCode: "QR9", name: "B区09号", kind: .marketStall)
        #expect(try store.upsertPremises(p, now: 1) == .inserted)
        #expect(try store.upsertPremises(p, now: 2) == .unchanged)
        p.ownerPhone = "13900000000"
        #expect(try store.upsertPremises(p, now: 3) == .updated)
        #expect(try store.premises(qrOrID: "QR9")?.ownerPhone == "13900000000")
        #expect(try store.findPremises(matching: "09号", limit: 10).map(\.platformID) == ["P9"])
    }

    @Test("an event for a device this database does not know is stored without a hazard")
    func unknownDevice() throws {
        let (store, _) = try makeStore()
        #expect(try store.ingest(event(1, device: "NOPE"), receivedAt: 2001, late: false) == .stored(hazard: nil, opened: false))
    }
}

@Suite("hazard escalation")
struct HazardEscalationTests {
    @Test("an alarm attaching to a pre-alarm hazard escalates it: class, severity, title, earlier deadline")
    func escalates() throws {
        let (store, _) = try makeStore()
        var pre = event(1)
        pre.signal = .prealarm
        pre.hazard.severity = .medium
        pre.hazard.title = "剩余电流预警"
        _ = try store.ingest(pre, receivedAt: 2001, late: false)
        let before = try #require(try store.hazards(HazardFilter()).first)
        #expect(before.signal == .prealarm)
        _ = try store.ingest(event(2, time: 2100), receivedAt: 2101, late: false)
        let hazards = try store.hazards(HazardFilter())
        #expect(hazards.count == 1)
        let after = try #require(hazards.first)
        #expect(after.signal == .alarm)
        #expect(after.severity == .high)
        #expect(after.title == "剩余电流超限报警")
        #expect(try #require(after.deadline) < (try #require(before.deadline)))
        #expect(try store.hazardDetail(id: after.id)?.steps.map(\.action) == ["opened", "escalated"])
        // A later pre-alarm does not de-escalate the record.
        _ = try store.ingest(pre.with(sequence: 3), receivedAt: 2201, late: false)
        #expect(try store.hazards(HazardFilter()).first?.signal == .alarm)
    }
}

extension AlarmEvent {
    func with(sequence: Int64) -> AlarmEvent {
        var e = self
        e.sequence = sequence
        return e
    }
}

@Suite("device addresses")
struct DeviceAddressTests {
    @Test("the same bus address may be used in two markets, not twice in one")
    func perMarket() throws {
        let (store, _) = try makeStore()
        try store.upsertMarket(Market(id: "m2", name: "另一市场"), now: 1)
        _ = try store.upsertPremises(Premises(platformID: "P9", qrCode: "QR9", name: "B区01号", kind: .marketStall, marketID: "m2"), now: 1)
        let address = Transport.modbusTCP(host: "127.0.0.1", port: 1502, unit: 1)  // D1's address in m1
        try store.saveDevice(Device(id: "X1", profileID: "generic-1r4t", premisesID: "P9", marketID: "m2", transport: address),
                             action: "registered", actor: "t", detail: "", now: 2)
        #expect(try store.activeDevice(transport: address, marketID: "m2")?.id == "X1")
        #expect(try store.activeDevice(transport: address, marketID: "m1")?.id == "D1")
        #expect(throws: SQLiteError.self) {
            try store.saveDevice(Device(id: "X2", profileID: "generic-1r4t", premisesID: "P9", marketID: "m2", transport: address),
                                 action: "registered", actor: "t", detail: "", now: 3)
        }
    }
}

@Suite("readings archive")
struct ReadingArchiveTests {
    static func archive(_ name: String, batchSize: Int = 100) throws -> (ReadingArchive, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ra-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (try ReadingArchive(path: dir.appendingPathComponent("r.db").path, batchSize: batchSize), dir)
    }

    static func r(_ device: String, _ channel: String, _ value: Reading.Value, _ time: Double) -> Reading {
        Reading(device: device, channel: Channel(unchecked: channel), value: value, time: time)
    }

    @Test("one block per device per flush: the channel names once, a line per sample with its values, states and invalid marks")
    func blocksPerDevice() throws {
        let (archive, dir) = try Self.archive("blocks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let poll1: [Reading] = [
            Self.r("D1", "residual_current.1", .number(123), 10),
            Self.r("D1", "temperature.1", .number(31.5), 10),
            Self.r("D1", "state.temperature.2", .state(.faultOpen), 10),
            Self.r("D1", "temperature.2", .invalid, 10),
        ]
        let poll2 = [Self.r("D2", "residual_current.1", .number(40), 10),
                     Self.r("D1", "residual_current.1", .number(125), 15)]
        try archive.add(poll1)
        try archive.add(poll2)
        try archive.flush()
        let rows = try archive.db.query("SELECT device, first, last, count, columns, samples FROM sample_blocks ORDER BY rowid") {
            ($0.text(0), $0.double(1), $0.double(2), $0.int(3), $0.text(4), $0.text(5))
        }
        #expect(rows.count == 2)
        #expect(rows[0].0 == "D1" && rows[0].1 == 10 && rows[0].2 == 15 && rows[0].3 == 2)
        #expect(rows[0].4 == "residual_current.1;temperature.1;state.temperature.2;temperature.2")
        #expect(rows[0].5 == "10;123;31.5;fault_open;invalid\n15;125")
        #expect(rows[1].0 == "D2" && rows[1].4 == "residual_current.1" && rows[1].5 == "10;40")
        #expect(archive.archivedCount == 6 && archive.archivedSamples == 3)

        let d1 = try archive.samples(device: "D1")
        #expect(d1.map(\.time) == [10, 15])
        #expect(d1[0].packed == "residual_current.1=123;temperature.1=31.5;state.temperature.2=fault_open;temperature.2=invalid")
        #expect(d1[1].packed == "residual_current.1=125")
        #expect(try archive.samples(device: "D1", from: 11).map(\.time) == [15])
        #expect(try archive.samples(device: "D1", through: 14.9).map(\.time) == [10])
        #expect(try archive.samples(device: "D3").isEmpty)
        #expect(try archive.sampleCount() == 3)
    }

    @Test("readings out of column order, channels appearing later and a channel twice in one sample all read back as sent")
    func irregularSamples() throws {
        let (archive, dir) = try Self.archive("irregular")
        defer { try? FileManager.default.removeItem(at: dir) }
        let samples: [[Reading]] = [
            [Self.r("D1", "temperature.1", .number(30), 1), Self.r("D1", "temperature.2", .number(31), 1)],
            [Self.r("D1", "temperature.2", .number(32), 2), Self.r("D1", "temperature.1", .number(33), 2)],   // swapped
            [Self.r("D1", "arc.1", .number(1), 3)],                                                              // new column
            [Self.r("D1", "temperature.1", .number(34), 4), Self.r("D1", "temperature.1", .number(35), 4)],   // twice
            [Self.r("D1", "device.online", .number(0), 5)],
        ]
        for s in samples { try archive.add(s) }
        try archive.flush()
        let back = try archive.samples(device: "D1")
        #expect(back.map(\.time) == [1, 2, 3, 4, 5])
        #expect(back[0].packed == "temperature.1=30;temperature.2=31")
        // Read back in column order: the values per channel are what matters, not their order.
        #expect(Set(back[1].values.map { "\($0.channel)=\($0.value)" }) == ["temperature.2=32", "temperature.1=33"])
        #expect(back[2].packed == "arc.1=1")
        #expect(back[3].values.map(\.value).sorted() == ["34", "35"] && back[3].values.allSatisfy { $0.channel == "temperature.1" })
        #expect(back[4].packed == "device.online=0")
        let rows = try archive.db.query("SELECT count, columns FROM sample_blocks") { ($0.int(0), $0.text(1)) }
        #expect(rows.count == 1 && rows[0].0 == 5)
        #expect(rows[0].1 == "temperature.1;temperature.2;arc.1;temperature.1;device.online")
    }

    @Test("a device's burst is split into blocks of at most maxSamplesPerBlock samples, in order")
    func blockCap() throws {
        let (archive, dir) = try Self.archive("cap", batchSize: 1_000_000)
        defer { try? FileManager.default.removeItem(at: dir) }
        let n = ReadingArchive.maxSamplesPerBlock * 2 + 7
        for t in 0..<n { try archive.add([Self.r("D1", "residual_current.1", .number(Double(t)), Double(t))]) }
        try archive.flush()
        let counts = try archive.db.query("SELECT count FROM sample_blocks ORDER BY rowid") { $0.int(0) }
        #expect(counts == [Int64(ReadingArchive.maxSamplesPerBlock), Int64(ReadingArchive.maxSamplesPerBlock), 7])
        let back = try archive.samples(device: "D1")
        #expect(back.count == n && back.enumerated().allSatisfy { $0.element.time == Double($0.offset) && $0.element.values[0].value == "\($0.offset)" })
    }

    @Test("newest N reads back the last N samples across many blocks, with a time range, in time order")
    func newestAcrossBlocks() throws {
        let (archive, dir) = try Self.archive("newest", batchSize: 1_000_000)
        defer { try? FileManager.default.removeItem(at: dir) }
        // 3,000 samples of D1 over 30 commits (one block each), D2 interleaved.
        for commit in 0..<30 {
            for k in 0..<100 {
                let t = Double(commit * 100 + k)
                try archive.add([Self.r("D1", "residual_current.1", .number(t), t)])
                try archive.add([Self.r("D2", "residual_current.1", .number(-t), t)])
            }
            try archive.flush()
        }
        #expect(try archive.samples(device: "D1", newest: 5).map(\.time) == [2995, 2996, 2997, 2998, 2999])
        #expect(try archive.samples(device: "D1", newest: 250).map(\.time) == (2750..<3000).map(Double.init))
        #expect(try archive.samples(device: "D1", through: 1049.5, newest: 3).map(\.time) == [1047, 1048, 1049])
        #expect(try archive.samples(device: "D1", from: 10, through: 12).map(\.time) == [10, 11, 12])
        #expect(try archive.samples(device: "D1").count == 3000)
        #expect(try archive.samples(device: "D2", newest: 1).map(\.packed) == ["residual_current.1=-2999"])
        #expect(try archive.samples(device: "D1", newest: 0).isEmpty)
    }

    @Test("rows of an archive written before blocks (samples, readings tables) still read back")
    func olderRows() throws {
        let (archive, dir) = try Self.archive("older")
        defer { try? FileManager.default.removeItem(at: dir) }
        try archive.db.execute("INSERT INTO samples (device, time, channels) VALUES ('D1', 5, 'residual_current.1=99;state.residual_current.1=normal')")
        try archive.db.execute("INSERT INTO readings (device, channel, time, value, state) VALUES ('D1', 'temperature.1', 3, 21.5, NULL), ('D1', 'state.temperature.1', 3, NULL, 'fault_open')")
        try archive.add([Self.r("D1", "residual_current.1", .number(100), 7)])
        try archive.flush()
        let back = try archive.samples(device: "D1")
        #expect(back.map(\.time) == [3, 5, 7])
        #expect(back[0].packed == "temperature.1=21.5;state.temperature.1=fault_open")
        #expect(back[1].packed == "residual_current.1=99;state.residual_current.1=normal")
        #expect(try archive.sampleCount() == 2)  // blocks and samples rows; the one-row-per-channel table predates counting
        #expect(try archive.samples(device: "D1", newest: 2).map(\.time) == [5, 7])
        #expect(try archive.samples(device: "D1", through: 6, newest: 1).map(\.packed) == ["residual_current.1=99;state.residual_current.1=normal"])
        #expect(try archive.samples(device: "D1", through: 4, newest: 1).map(\.time) == [3])
    }

    @Test("a failed flush leaves nothing half-written: the retry writes each sample once")
    func failedFlushRetries() throws {
        let (archive, dir) = try Self.archive("retry")
        defer { try? FileManager.default.removeItem(at: dir) }
        try archive.add([Self.r("D1", "residual_current.1", .number(1), 1)])
        try archive.db.execute("CREATE TRIGGER refuse BEFORE INSERT ON sample_blocks BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END")
        #expect(throws: (any Error).self) { try archive.flush() }
        try archive.add([Self.r("D1", "residual_current.1", .number(2), 2)])
        try archive.db.execute("DROP TRIGGER refuse")
        try archive.flush()
        #expect(try archive.samples(device: "D1").map(\.packed) == ["residual_current.1=1", "residual_current.1=2"])
        #expect(archive.archivedCount == 2 && archive.droppedCount == 0)
    }
}

@Suite("readings archive number text")
struct ArchiveNumberTextTests {
    static func text(_ v: Double) -> String {
        var out: [UInt8] = []
        ReadingArchive.appendNumber(v, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("detector values print as Swift prints a Double (whole numbers without a fraction)")
    func asSwiftPrints() {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.5, 0.1, 0.3, 2.9, 30.5, 221.3, 219.9, 1e-4, 0.000123, 123456.789, -40.25, 99999999.5, 1e15, 1e16, 1e-5, .pi]
        for _ in 0..<20_000 {
            let places = Int.random(in: 0...6, using: &rng)
            let n = Int64.random(in: -100_000_000...100_000_000, using: &rng)
            values.append(Double(n) / pow(10, Double(places)))
        }
        for v in values {
            let expected = v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
            #expect(Self.text(v) == expected, "\(v)")
        }
    }

    @Test("any Double reads back as itself")
    func roundTrips() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let v = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng))
            guard v.isFinite else { continue }
            #expect(Double(Self.text(v)) == v, "\(v)")
        }
    }
}
