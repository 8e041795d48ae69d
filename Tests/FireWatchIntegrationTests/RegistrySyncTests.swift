import FireWatchCore
import FireWatchEdge
import FireWatchMQTT
import FireWatchOffice
import FireWatchStore
import Foundation
import Testing

/// One registry, two places: an office and an edge governance database kept in step by
/// `RegistrySyncOffice` and `RegistrySyncEdge` over a real mosquitto that goes away and comes back.
@Suite("Registry sync edge ↔ office", .serialized)
struct RegistrySyncTests {
    static let market = Market(id: "fc", name: "凤池五金市场")

    struct Fixture {
        let dir: URL
        let broker: MQTTTestBroker
        let officeDB: String
        let edgeDB: String
        let office: RegistrySyncOffice
        let edge: RegistrySyncEdge

        init() throws {
            let dir = TestSupport.temporaryDirectory("registry-sync")
            self.dir = dir
            officeDB = dir.appendingPathComponent("office.db").path
            edgeDB = dir.appendingPathComponent("edge-registry.db").path
            let broker = MQTTTestBroker(directory: dir.appendingPathComponent("broker"))
            self.broker = broker
            let store = try SQLiteGovernanceStore(path: officeDB)
            try store.upsertMarket(RegistrySyncTests.market, now: 1)
            try store.upsertMarket(Market(id: "other", name: "别的市场"), now: 1)
            for i in 1...3 {
                _ = try store.upsertPremises(Premises(platformID: "FS-00\(i)", qrCode: "QR-000\(i)", name: "档口\(i)", kind: .marketStall,
                                                      marketID: "fc"), now: 1)
            }
            _ = try store.upsertPremises(Premises(platformID: "FS-100", qrCode: "QR-0100", name: "别处", kind: .marketStall,
                                                  marketID: "other"), now: 1)
            let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(("[sync] " + $0 + "\n").utf8)) }
            func options(_ id: String) -> MQTTOptions {
                MQTTOptions(host: "127.0.0.1", port: broker.port, clientID: id, keepaliveSeconds: 5,
                            reconnectMinSeconds: 0.2, reconnectMaxSeconds: 1)
            }
            office = try RegistrySyncOffice(governancePath: officeDB, broker: options("office-registry-\(UUID().uuidString.prefix(6))"), log: log)
            edge = try RegistrySyncEdge(edgeID: "edge-fc-1", market: RegistrySyncTests.market, governancePath: edgeDB,
                                        broker: options("edge-registry-\(UUID().uuidString.prefix(6))"), interval: 0.3, log: log)
        }

        func stop() {
            edge.stop()
            office.stop()
            broker.stop()
            try? FileManager.default.removeItem(at: dir)
        }

        /// Starts broker, office and edge, and waits until the edge has cached its market's three premises.
        func startAndFillCache() throws {
            try broker.start()
            office.start()
            edge.start()
            #expect(TestSupport.wait(timeout: 30) { ((try? edgeStore().allPremises().count) ?? 0) == 3 })
        }

        /// Each side's own connection, opened for one look and closed.
        func officeStore() throws -> SQLiteGovernanceStore { try SQLiteGovernanceStore(path: officeDB) }
        func edgeStore() throws -> SQLiteGovernanceStore { try SQLiteGovernanceStore(path: edgeDB) }
    }

    static func service(_ store: SQLiteGovernanceStore) throws -> RegistrationService {
        RegistrationService(store: store, profiles: try ProfileCatalog.load(directory: TestSupport.devicesDir))
    }

    static func register(_ store: SQLiteGovernanceStore, id: String, unit: Int, now: Double) throws {
        let r = try service(store).register(RegistrationRequest(
            premises: "QR-0001", profile: "generic-1r4t", transport: .modbusRTU(bus: "A", unit: unit), location: "A区01档口配电箱",
            setpoints: ["residual_current.1": 300], id: id, actor: "张工"), rules: try RuleSet.load(directory: TestSupport.rulesDir), now: now)
        if case .failure(let p) = r { Issue.record("register \(id): \(p)") }
    }

    @Test("the edge caches its market's premises; a registration made offline reaches the office when the broker returns")
    func offlineRegistration() throws {
        let f = try Fixture()
        defer { f.stop() }
        try f.startAndFillCache()
        #expect(try f.edgeStore().premises(id: "FS-100") == nil, "another market's premises are not cached")

        f.broker.kill9()
        let now = Date().timeIntervalSince1970
        try Self.register(try f.edgeStore(), id: "D-E1", unit: 3, now: now)
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try f.officeStore().device(id: "D-E1") == nil, "nothing can arrive while the broker is down")

        try f.broker.start()
        #expect(TestSupport.wait(timeout: 60) { (try? f.officeStore().device(id: "D-E1")) != nil })
        let atOffice = try #require(try f.officeStore().device(id: "D-E1"))
        #expect(atOffice.premisesID == "FS-001" && atOffice.setpoints["residual_current.1"] == 300 && atOffice.marketID == "fc")
        #expect(try f.officeStore().deviceHistory(id: "D-E1").map(\.action) == ["registered"])
        #expect(try f.officeStore().syncValue("origin") == nil)
        // Acknowledged: the edge's cursor covers the registration, so it is not sent again and again.
        #expect(TestSupport.wait(timeout: 20) {
            (Int64((try? f.edgeStore().syncValue("edge_acked")) ?? nil ?? "0") ?? 0) >= ((try? f.edgeStore().lastRegistryChange) ?? .max)
        })

        // Office-wins for premises: a rename at the office reaches the edge's cache.
        _ = try f.officeStore().upsertPremises(Premises(platformID: "FS-002", qrCode: "QR-0002", name: "档口2（改名）", kind: .marketStall,
                                                        marketID: "fc"), now: now + 5)
        #expect(TestSupport.wait(timeout: 30) { (try? f.edgeStore().premises(id: "FS-002"))??.name == "档口2（改名）" })
    }

    @Test("conflicting changes: the later (updated_at, origin) wins on both sides and both histories are kept")
    func conflict() throws {
        let f = try Fixture()
        defer { f.stop() }
        try f.startAndFillCache()
        let t0 = Date().timeIntervalSince1970
        try Self.register(try f.officeStore(), id: "D-C1", unit: 5, now: t0)
        try Self.register(try f.officeStore(), id: "D-C2", unit: 6, now: t0)
        #expect(TestSupport.wait(timeout: 30) {
            (try? f.edgeStore().device(id: "D-C1")) != nil && (try? f.edgeStore().device(id: "D-C2")) != nil
        })

        f.broker.kill9()
        // D-C1: the edge's move is later; D-C2: the office's move is later.
        let office = try Self.service(try f.officeStore()), edge = try Self.service(try f.edgeStore())
        _ = try office.move(id: "D-C1", premises: nil, location: "办公室改的位置", transport: nil, actor: "办公室", now: t0 + 10)
        _ = try edge.move(id: "D-C1", premises: nil, location: "现场改的位置", transport: nil, actor: "张工", now: t0 + 20)
        _ = try edge.move(id: "D-C2", premises: "QR-0003", location: nil, transport: nil, actor: "张工", now: t0 + 10)
        _ = try office.move(id: "D-C2", premises: "QR-0002", location: nil, transport: nil, actor: "办公室", now: t0 + 20)
        try f.broker.start()

        let converged = TestSupport.wait(timeout: 60) {
            guard let o1 = try? f.officeStore().device(id: "D-C1"), let e1 = try? f.edgeStore().device(id: "D-C1"),
                  let o2 = try? f.officeStore().device(id: "D-C2"), let e2 = try? f.edgeStore().device(id: "D-C2") else { return false }
            return o1.location == "现场改的位置" && e1.location == "现场改的位置" && o2.premisesID == "FS-002" && e2.premisesID == "FS-002"
        }
        #expect(converged)
        for store in [try f.officeStore(), try f.edgeStore()] {
            let h1 = try store.deviceHistory(id: "D-C1")
            #expect(h1.map(\.action) == ["registered", "moved", "moved"] && Set(h1.map(\.actor)) == ["张工", "办公室"], "\(h1)")
            #expect(try store.deviceHistory(id: "D-C2").count == 3)
        }
    }

    @Test("a registration the office cannot take is refused and reported back; the rest of the batch is applied")
    func refusedRecord() throws {
        let f = try Fixture()
        defer { f.stop() }
        try f.startAndFillCache()
        let edgeStore = try f.edgeStore()
        // A premises only the edge knows (imported there by hand): the office has no such premises.
        _ = try edgeStore.upsertPremises(Premises(platformID: "FS-LOCAL", qrCode: "QR-LOCAL", name: "只在现场", kind: .marketStall,
                                                  marketID: "fc"), now: 5)
        let service = try Self.service(edgeStore)
        let now = Date().timeIntervalSince1970
        _ = try service.register(RegistrationRequest(premises: "QR-LOCAL", profile: "generic-1r4t", transport: .modbusRTU(bus: "A", unit: 9),
                                                     location: "现场电箱", id: "D-X", actor: "张工"), rules: try RuleSet.load(directory: TestSupport.rulesDir), now: now)
        try Self.register(edgeStore, id: "D-Y", unit: 10, now: now)
        #expect(TestSupport.wait(timeout: 30) { f.office.stats.rejected >= 1 && f.edge.stats.rejected >= 1 })
        #expect(try f.officeStore().device(id: "D-X") == nil)
        #expect(try f.officeStore().device(id: "D-Y") != nil)
    }
}
