import Foundation
import Testing
@testable import FireWatchCore
@testable import FireWatchMQTT

@Suite("firewatch device probe --mqtt against a real mosquitto", .serialized, .timeLimit(.minutes(2)))
struct MQTTProbeTests {
    /// Runs the probe binary and publishes `payload` every 0.3 s until it exits.
    func probe(_ broker: MQTTTestBroker, payload: String, extra: [String] = []) throws -> (status: Int32?, out: String, err: String) {
        let probe = try ChildProcess(TestSupport.firewatchBinary,
                                     ["device", "probe", "--profile", "json-4g-detector", "--mqtt", "mqtt://127.0.0.1:\(broker.port)",
                                      "--topic", "4g/+/data", "--timeout", "20", "--devices-dir", TestSupport.devicesDir] + extra,
                                     label: "probe")
        let deadline = Date().addingTimeInterval(25)
        while probe.isRunning && Date() < deadline {
            _ = try runCommand("/usr/bin/mosquitto_pub", ["-p", "\(broker.port)", "-t", "4g/site/data", "-q", "1", "-m", payload], timeout: 10)
            Thread.sleep(forTimeInterval: 0.3)
        }
        let status = probe.waitForExit(timeout: 5)
        probe.stop()
        return (status, probe.stdout, probe.stderr)
    }

    @Test("prints the probe shape for the next message: channels with value, unit, state, and the time")
    func decodes() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let r = try probe(broker, payload: #"{"serialNo":"SN9","residualCurrent":123,"aTemperature":31.5,"aVoltage":221.3,"alarm":1,"collectTime":"2026-12-03 10:15:00"}"#,
                          extra: ["--json"])
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(json["profile"] as? String == "json-4g-detector")
        #expect(json["unit"] == nil)
        // collectTime is 2026-12-03 10:15:00 in Asia/Shanghai; a probe accepts it up to 7 days old.
        let now = Date().timeIntervalSince1970
        if now - 1_796_264_100 < 7 * 86400 && now > 1_796_264_100 - 600 {
            #expect(json["time"] as? String == "2026-12-03T02:15:00Z")
        }
        let channels = try #require(json["channels"] as? [String: [String: Any]])
        #expect(channels["residual_current.1"]?["value"] as? Double == 123)
        #expect(channels["residual_current.1"]?["unit"] as? String == "mA")
        #expect(channels["residual_current.1"]?["state"] as? String == "alarm")
        #expect(channels["temperature.1"]?["state"] as? String == "normal")
        #expect(channels["voltage.a"]?["unit"] as? String == "V")
    }

    @Test("an undecodable payload exits non-zero with what was wrong")
    func undecodable() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let r = try probe(broker, payload: #"{"serialNo":"SN9","residualCurrent":"high"}"#)
        #expect(r.status == 65)
        #expect(r.err.contains("residualCurrent") && r.err.contains("expected a number"))
    }

    @Test("no message or no broker within the timeout exits 69 with a clear message")
    func timeouts() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let quiet = try firewatch(["device", "probe", "--profile", "json-4g-detector", "--mqtt", "mqtt://127.0.0.1:\(broker.port)",
                                   "--topic", "4g/+/data", "--timeout", "1", "--devices-dir", TestSupport.devicesDir], timeout: 30)
        #expect(quiet.status == 69)
        #expect(quiet.err.contains("no message on '4g/+/data' within 1 s"))
        broker.stop()
        let down = try firewatch(["device", "probe", "--profile", "json-4g-detector", "--mqtt", "mqtt://127.0.0.1:\(broker.port)",
                                  "--topic", "4g/+/data", "--timeout", "1", "--devices-dir", TestSupport.devicesDir], timeout: 30)
        #expect(down.status == 69)
        #expect(down.err.contains("could not connect to the broker"))
        let unknown = try firewatch(["device", "probe", "--profile", "nope", "--mqtt", "mqtt://127.0.0.1:1", "--topic", "x",
                                     "--devices-dir", TestSupport.devicesDir], timeout: 30)
        #expect(unknown.status == 65)
        #expect(unknown.err.contains("no MQTT profile 'nope'"))
    }
}
