import Foundation
import Testing
@testable import FireWatchCore

@Suite("firewatch edge with MQTT detectors through a real mosquitto", .serialized, .timeLimit(.minutes(2)))
struct MQTTEdgeTests {
    @Test("a 4G detector's alarm becomes a hazard on its premises; an unregistered serial shows as quarantined in status")
    func edgeEndToEnd() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let dir = TestSupport.temporaryDirectory("mqtt-edge")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data").path
        let gov = dir.appendingPathComponent("gov.db").path
        let config = dir.appendingPathComponent("edge.json5")
        try """
        {
          edge: "mqtt-e2e",
          data: "\(data)",
          governance: "\(gov)",
          devicesDir: "\(TestSupport.devicesDir)",
          rulesDir: "\(TestSupport.rulesDir)",
          premises: [{ platformID: "P-MQTT-1", qrCode: "QR-MQTT-1", name: "测试档口", kind: "market_stall", address: "",
                       community: "", grid: "", ownerName: "", ownerPhone: "", status: "active" }],
          mqtt: { url: "mqtt://127.0.0.1:\(broker.port)", clientID: "mqtt-e2e-detectors" },
          devices: [{ id: "SN-E2E", profile: "json-4g-detector", premises: "P-MQTT-1", transport: "mqtt://SN-E2E" }],
        }
        """.write(to: config, atomically: true, encoding: .utf8)
        let edge = try ChildProcess(TestSupport.firewatchBinary, ["edge", "--config", config.path, "--duration", "90"],
                                    directory: dir, label: "edge")
        defer { edge.stop() }

        let alarm = #"{"serialNo":"SN-E2E","residualCurrent":120,"aTemperature":30,"alarm":1}"#
        let stranger = #"{"serialNo":"STRANGER-7","residualCurrent":1}"#
        var hazards = ""
        let found = TestSupport.wait(timeout: 60) {
            _ = try? runCommand("/usr/bin/mosquitto_pub", ["-p", "\(broker.port)", "-t", "4g/site/data", "-q", "1", "-m", alarm], timeout: 10)
            _ = try? runCommand("/usr/bin/mosquitto_pub", ["-p", "\(broker.port)", "-t", "4g/site/data", "-q", "1", "-m", stranger], timeout: 10)
            hazards = (try? firewatch(["hazard", "list", "--db", gov, "--json"], timeout: 20).out) ?? ""
            return hazards.contains("SN-E2E")
        }
        #expect(found, "no hazard for SN-E2E; edge stderr: \(edge.stderr.suffix(2000))")
        #expect(hazards.contains("P-MQTT-1"))
        #expect(!hazards.contains("STRANGER-7"))

        var status = ""
        #expect(TestSupport.wait(timeout: 30) {
            status = (try? firewatch(["status", "--data", data], timeout: 20).out) ?? ""
            return status.contains("STRANGER-7")
        }, "status does not list the quarantined id: \(status)")
        #expect(status.contains("quarantined STRANGER-7"))
    }
}

@Suite("a running edge binds MQTT detectors registered after it started", .serialized, .timeLimit(.minutes(2)))
struct MQTTLiveRegistrationTests {
    @Test("registered while running: quarantined before, its alarm a hazard after; decommissioned: quarantined again")
    func registerWhileRunning() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let dir = TestSupport.temporaryDirectory("mqtt-live")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data").path
        let gov = dir.appendingPathComponent("gov.db").path
        let config = dir.appendingPathComponent("edge.json5")
        try """
        {
          edge: "mqtt-live",
          market: { id: "M-LIVE", name: "测试市场", address: "测试路1号", community: "测试社区" },
          data: "\(data)",
          governance: "\(gov)",
          devicesDir: "\(TestSupport.devicesDir)",
          rulesDir: "\(TestSupport.rulesDir)",
          registryRefreshSeconds: 0.5,
          premises: [{ platformID: "P-LIVE-1", qrCode: "QR-LIVE-1", name: "测试档口", kind: "market_stall", address: "",
                       community: "", grid: "", marketID: "M-LIVE", ownerName: "", ownerPhone: "", status: "active" }],
          mqtt: { url: "mqtt://127.0.0.1:\(broker.port)", clientID: "mqtt-live-detectors" },
          devices: [],
        }
        """.write(to: config, atomically: true, encoding: .utf8)
        let edge = try ChildProcess(TestSupport.firewatchBinary, ["edge", "--config", config.path, "--duration", "100"],
                                    directory: dir, label: "edge")
        defer { edge.stop() }
        let alarm = #"{"serialNo":"SN-LIVE","residualCurrent":150,"aTemperature":30,"alarm":1}"#
        func publish() { _ = try? runCommand("/usr/bin/mosquitto_pub", ["-p", "\(broker.port)", "-t", "4g/site/data", "-q", "1", "-m", alarm], timeout: 10) }

        // Not registered yet: quarantined, no hazard.
        var status = ""
        #expect(TestSupport.wait(timeout: 30) {
            publish()
            status = (try? firewatch(["status", "--data", data], timeout: 20).out) ?? ""
            return status.contains("quarantined SN-LIVE")
        }, "the unregistered detector is not quarantined: \(status)\n\(edge.stderr.suffix(2000))")

        // A technician registers it beside the running edge (same registry database).
        let reg = try firewatch(["device", "register", "--db", gov, "--devices-dir", TestSupport.devicesDir, "--rules", TestSupport.rulesDir,
                                 "--premises", "QR-LIVE-1", "--profile", "json-4g-detector", "--mqtt-id", "SN-LIVE",
                                 "--id", "SN-LIVE", "--location", "A区01号档口配电箱", "--by", "测试员"], timeout: 30)
        #expect(reg.status == 0, "register failed: \(reg.out) \(reg.err)")
        var hazards = ""
        #expect(TestSupport.wait(timeout: 40) {
            publish()
            hazards = (try? firewatch(["hazard", "list", "--db", gov, "--json"], timeout: 20).out) ?? ""
            return hazards.contains("SN-LIVE")
        }, "no hazard after registering SN-LIVE; edge stderr: \(edge.stderr.suffix(3000))")
        #expect(hazards.contains("P-LIVE-1"))
        #expect(edge.stderr.contains("bound while running: SN-LIVE"), "\(edge.stderr.suffix(2000))")

        // Decommissioned: unbound again (its messages are counted as quarantined, not readings).
        let off = try firewatch(["device", "decommission", "SN-LIVE", "--db", gov, "--by", "测试员", "--reason", "拆除"], timeout: 30)
        #expect(off.status == 0, "decommission failed: \(off.out) \(off.err)")
        #expect(TestSupport.wait(timeout: 30) { edge.stderr.contains("no longer bound (decommissioned or moved): SN-LIVE") },
                "\(edge.stderr.suffix(2000))")
    }
}
