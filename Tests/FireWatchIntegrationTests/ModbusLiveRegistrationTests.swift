import Foundation
import Testing
@testable import FireWatchEdge

@Suite("a running edge polls Modbus detectors registered after it started", .serialized, .timeLimit(.minutes(2)))
struct ModbusLiveRegistrationTests {
    /// A generic-1r4t register map whose detector reports a residual-current alarm state (hazard at once).
    static func alarmingUnit(residualTenthsMilliamps: Int) -> [String: Any] {
        ["holding": [["address": 0, "words": [residualTenthsMilliamps, 800, 800, 800, 800]],
                     ["address": 0x10, "words": [1]]]]
    }

    @Test("registered while running, on the config's endpoint and on a new one: polled, hazards without a restart; decommissioned: no longer polled; an unknown bus: refused with a log line")
    func registerWhileRunning() throws {
        let dir = TestSupport.temporaryDirectory("modbus-live")
        defer { try? FileManager.default.removeItem(at: dir) }
        let portA = TestSupport.freePort(), portB = TestSupport.freePort()
        let peerA = try ModbusPeers.pymodbus(spec: ["units": ["1": Self.alarmingUnit(residualTenthsMilliamps: 1000),
                                                              "2": Self.alarmingUnit(residualTenthsMilliamps: 2000)]],
                                             tcpPort: portA, in: dir, label: "peer-a")
        defer { peerA.stop() }
        let peerB = try ModbusPeers.pymodbus(spec: ["units": ["1": Self.alarmingUnit(residualTenthsMilliamps: 3000)]],
                                             tcpPort: portB, in: dir, label: "peer-b")
        defer { peerB.stop() }

        let data = dir.appendingPathComponent("data").path
        let gov = dir.appendingPathComponent("gov.db").path
        let config = dir.appendingPathComponent("edge.json5")
        let premises = (1...4).map { i in
            """
            { platformID: "P-MB-\(i)", qrCode: "QR-MB-\(i)", name: "档口\(i)", kind: "market_stall", address: "", community: "",
              grid: "", marketID: "M-MB", ownerName: "", ownerPhone: "", status: "active" }
            """
        }.joined(separator: ",\n")
        // Modbus only: no mqtt broker, so the registry watcher must run without one.
        try """
        {
          edge: "modbus-live",
          market: { id: "M-MB", name: "测试市场", address: "测试路2号", community: "测试社区" },
          data: "\(data)",
          governance: "\(gov)",
          devicesDir: "\(TestSupport.devicesDir)",
          rulesDir: "\(TestSupport.rulesDir)",
          pollPeriod: 0.5,
          registryRefreshSeconds: 0.5,
          premises: [\(premises)],
          devices: [{ id: "MB-1", profile: "generic-1r4t", premises: "P-MB-1", transport: "tcp://127.0.0.1:\(portA)#1" }],
        }
        """.write(to: config, atomically: true, encoding: .utf8)
        let edge = try ChildProcess(TestSupport.firewatchBinary, ["edge", "--config", config.path, "--duration", "100"],
                                    directory: dir, label: "edge")
        defer { edge.stop() }
        func hazards() -> String { (try? firewatch(["hazard", "list", "--db", gov, "--json"], timeout: 20).out) ?? "" }
        #expect(TestSupport.wait(timeout: 30) { hazards().contains("MB-1") }, "no hazard for the configured MB-1: \(edge.stderr.suffix(2000))")
        #expect(!hazards().contains("MB-2") && !hazards().contains("MB-3"))

        func register(_ id: String, premises: String, _ address: [String]) throws {
            let r = try firewatch(["device", "register", "--db", gov, "--devices-dir", TestSupport.devicesDir, "--rules", TestSupport.rulesDir,
                                   "--premises", premises, "--profile", "generic-1r4t", "--id", id, "--location", "配电箱", "--by", "测试员"]
                                  + address, timeout: 30)
            #expect(r.status == 0, "register \(id) failed: \(r.out) \(r.err)")
        }
        try register("MB-2", premises: "QR-MB-2", ["--tcp", "127.0.0.1:\(portA)", "--unit", "2"])  // the running owner's endpoint
        try register("MB-3", premises: "QR-MB-3", ["--tcp", "127.0.0.1:\(portB)", "--unit", "1"])  // an endpoint nobody polls yet
        try register("MB-4", premises: "QR-MB-4", ["--bus", "busX", "--unit", "3"])                // a bus this edge does not have

        var list = ""
        #expect(TestSupport.wait(timeout: 30) { list = hazards(); return list.contains("MB-2") && list.contains("MB-3") },
                "no hazards for the registered MB-2 / MB-3: \(list)\n\(edge.stderr.suffix(3000))")
        #expect(list.contains("P-MB-2") && list.contains("P-MB-3"))
        #expect(edge.stderr.contains("Modbus detector(s) now polled: MB-2 (tcp://127.0.0.1:\(portA)#2), MB-3 (tcp://127.0.0.1:\(portB)#1)"),
                "\(edge.stderr.suffix(2000))")
        #expect(edge.stderr.contains("Modbus detector MB-4 (rtu://busX#3) is not polled: serial bus 'busX' is not configured"),
                "no refusal line for the unknown bus: \(edge.stderr.suffix(2000))")
        #expect(edge.stderr.contains("define the bus under `buses` in the edge config"))
        #expect(edge.isRunning, "the edge survives the unknown bus")

        // `firewatch status` counts the detectors added while running.
        var status: EdgeStatus?
        #expect(TestSupport.wait(timeout: 20) {
            status = try? EdgeStatus.load(dataDirectory: data)
            return ["MB-1", "MB-2", "MB-3"].allSatisfy { (status?.modbus[$0]?.successes ?? 0) > 0 }
        }, "status lacks the added detectors: \(String(describing: status?.modbus.keys.sorted()))")
        #expect(status?.modbus["MB-4"] == nil)
        #expect(TestSupport.wait(timeout: 10) { (try? EdgeStatus.load(dataDirectory: data))?.devices == 3 },
                "the status line's device count is not the three polled detectors")

        // Decommissioned: no longer polled (no new samples in the archive), the others go on.
        let off = try firewatch(["device", "decommission", "MB-3", "--db", gov, "--by", "测试员", "--reason", "拆除"], timeout: 30)
        #expect(off.status == 0, "decommission failed: \(off.out) \(off.err)")
        #expect(TestSupport.wait(timeout: 20) { edge.stderr.contains("Modbus detector(s) no longer polled (decommissioned or moved): MB-3") },
                "\(edge.stderr.suffix(2000))")
        func samples(_ id: String) -> Int {
            let out = (try? firewatch(["readings", "--data", data, id, "--json", "--limit", "1000000"], timeout: 20).out) ?? ""
            return out.split(separator: "\n").count
        }
        Thread.sleep(forTimeInterval: 1.5)  // the last poll in flight and the archive's next commit
        let mb3 = samples("MB-3"), mb2 = samples("MB-2")
        #expect(mb3 > 0)
        Thread.sleep(forTimeInterval: 2.5)
        #expect(samples("MB-3") == mb3, "MB-3 is still polled after its decommissioning")
        #expect(samples("MB-2") >= mb2 + 3, "MB-2 is no longer polled either")
        #expect(TestSupport.wait(timeout: 10) {
            let s = try? EdgeStatus.load(dataDirectory: data)
            return s?.modbus["MB-3"] == nil && s?.devices == 2
        }, "status still counts MB-3")
    }
}
