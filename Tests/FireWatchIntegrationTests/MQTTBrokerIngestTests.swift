import Foundation
import Testing
@testable import FireWatchCore
@testable import FireWatchMQTT

@Suite("MQTT ingest through a real mosquitto", .serialized, .timeLimit(.minutes(3)))
struct MQTTBrokerIngestTests {
    func start(_ broker: MQTTTestBroker, devices: [(String, Device)], params: [String: [String: String]] = [:],
               tls: MQTTOptions.TLS? = nil, maxPayloadBytes: Int = 1 << 20, sink: MQTTTestSink,
               id: String) throws -> (MQTTClient, MQTTIngest) {
        let ingest = MQTTIngest(profiles: mqttProfiles, devices: Dictionary(uniqueKeysWithValues: devices), profileParameters: params,
                                sink: sink, monitor: sink, rateLimit: .unlimited, log: { _ in })
        let client = try MQTTClient(options: MQTTOptions(port: broker.port, clientID: id, keepaliveSeconds: 5, tls: tls,
                                                         reconnectMinSeconds: 0.2, reconnectMaxSeconds: 1,
                                                         maxPayloadBytes: maxPayloadBytes), log: { _ in })
        ingest.attach(to: client)
        client.start()
        #expect(TestSupport.wait(timeout: 15) { client.isConnected }, "client did not connect")
        Thread.sleep(forTimeInterval: 0.5)  // SUBACKs
        return (client, ingest)
    }

    @Test("all four shipped profiles decode real broker traffic")
    func fourProfiles() throws {
        #expect(mqttProfiles.count == 4)
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let sink = MQTTTestSink()
        let (client, ingest) = try start(broker, devices: [
            mqttDevice("SN-4G", profile: "json-4g-detector"), mqttDevice("AL-1", profile: "alink-detector"),
            mqttDevice("860001", profile: "event-frame"), mqttDevice("GEN-1", profile: "generic-json"),
        ], params: ["GEN-1": ["temperature.2": "t2"]], sink: sink, id: "four-profiles")
        defer { client.stop() }
        let now = Date().timeIntervalSince1970
        try broker.publish([
            ("4g/acme/data", json4g("SN-4G", leak: 123)),
            ("vendor/AL-1-post", #"{"id":"1","version":"1.0","method":"thing.event.property.post","params":{"electric_read":5.2,"voltage_read":220.3}}"#),
            ("nb/860001/event", #"{"event":1,"value":512,"time":\#(Int(now))}"#),
            ("fw/GEN-1/up", #"{"t2":44.5}"#),
        ])
        #expect(TestSupport.wait(timeout: 15) { sink.messages.count == 4 })
        func value(_ device: String, _ channel: String) -> Double? {
            sink.readings.first { $0.device == device && $0.channel.name == channel }?.number
        }
        #expect(value("SN-4G", "residual_current.1") == 123)
        #expect(value("SN-4G", "voltage.a") == 220.1)
        #expect(value("AL-1", "current.a") == 5.2)
        #expect(value("AL-1", "voltage.a") == 220.3)
        #expect(value("860001", "residual_current.1") == 512)
        #expect(sink.readings.first { $0.device == "860001" && $0.channel.name == "state.residual_current.1" }?.state == .alarm)
        #expect(value("GEN-1", "temperature.2") == 44.5)
        #expect(ingest.snapshot().rejected == 0)
    }

    @Test("a burst of malformed payloads beside good ones: every good reading arrives, every bad one is counted")
    func malformedBurst() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let sink = MQTTTestSink()
        let devices = (1...10).map { mqttDevice("D\($0)", profile: "json-4g-detector") } + [mqttDevice("E1", profile: "event-frame")]
        let (client, ingest) = try start(broker, devices: devices, sink: sink, id: "burst")
        defer { client.stop() }
        var messages: [(topic: String, payload: String)] = []
        var good = 0, badOnDevices = 0, badUnattributed = 0
        let future = Date(timeIntervalSinceNow: 3 * 3600 + 8 * 3600)  // 3 h ahead, written as Shanghai local time
        let f = DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        for i in 0..<400 {
            let device = "D\(i % 10 + 1)"
            switch i % 8 {
            case 1: messages.append(("nb/E1/event", #"\xff\xfe\x00garbage"#)); badOnDevices += 1
            case 3: messages.append(("4g/p/data", #"{"serialNo":"\#(device)","residualCurrent":"lots"}"#)); badOnDevices += 1
            case 5: messages.append(("4g/p/data", #"{"serialNo":"\#(device)","residualCurrent":1,"collectTime":"\#(f.string(from: future))"}"#)); badOnDevices += 1
            case 7: messages.append(("4g/p/data", "{\"serialNo\":\"\(device)\",\"pad\":\"" + String(repeating: "x", count: 5000) + "\"}")); badUnattributed += 1
            default: messages.append(("4g/p/data", json4g(device, leak: Double(i)))); good += 1
            }
        }
        try broker.publish(messages, qos: 1, raw: true)
        #expect(TestSupport.wait(timeout: 30) { ingest.snapshot().messages == 400 })
        let snap = ingest.snapshot()
        #expect(snap.accepted == good)
        #expect(sink.messages.count == good)
        let leaks = Set(sink.readings.filter { $0.channel.name == "residual_current.1" }.compactMap(\.number))
        #expect(leaks == Set((0..<400).filter { [0, 2, 4, 6].contains($0 % 8) }.map(Double.init)))
        #expect(snap.rejected == badOnDevices + badUnattributed)
        #expect(snap.devices["E1"]?.rejected == 50)
        #expect(snap.unattributed["4g/p/data"] == badUnattributed)
        #expect(snap.devices.values.reduce(0) { $0 + $1.rejected } == badOnDevices)
    }

    @Test("no reading lost across a client restart and a broker kill -9 through a small decode stage: QoS 1 messages queued meanwhile become readings")
    func restarts() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let sink = MQTTTestSink()
        let devices = [mqttDevice("R1", profile: "json-4g-detector")]
        // Through a decode stage, as the edge runs it: the network thread only reads.
        let ingest = MQTTIngest(profiles: mqttProfiles, devices: Dictionary(uniqueKeysWithValues: devices),
                                sink: sink, monitor: sink, rateLimit: .unlimited, log: { _ in })
        let stage = MQTTDecodeStage(capacity: 8) { ingest.handle($0) }
        stage.start()
        defer { stage.stop() }
        func connect() throws -> MQTTClient {
            let client = try MQTTClient(options: MQTTOptions(port: broker.port, clientID: "restarts", keepaliveSeconds: 5,
                                                             reconnectMinSeconds: 0.2, reconnectMaxSeconds: 1), log: { _ in })
            ingest.attach(to: client, through: stage)
            client.start()
            #expect(TestSupport.wait(timeout: 15) { client.isConnected }, "client did not connect")
            Thread.sleep(forTimeInterval: 0.5)  // SUBACKs
            return client
        }
        var client = try connect()
        func leaks() -> Set<Double> { Set(sink.readings.filter { $0.channel.name == "residual_current.1" }.compactMap(\.number)) }
        try broker.publish((0..<30).map { ("4g/p/data", json4g("R1", leak: Double($0))) })
        #expect(TestSupport.wait(timeout: 15) { leaks().count == 30 })

        // The edge process restarts: same client id, messages published while it was away.
        client.stop()
        try broker.publish((30..<60).map { ("4g/p/data", json4g("R1", leak: Double($0))) })
        client = try connect()
        defer { client.stop() }
        #expect(TestSupport.wait(timeout: 15) { leaks().count == 60 })

        // The broker dies hard and comes back; the client reconnects by itself.
        Thread.sleep(forTimeInterval: 1.5)  // session autosaved
        broker.kill9()
        try broker.start()
        try broker.publish((60..<90).map { ("4g/p/data", json4g("R1", leak: Double($0))) })
        #expect(TestSupport.wait(timeout: 20) { leaks().count == 90 })
        #expect(leaks() == Set((0..<90).map(Double.init)))
        #expect(ingest.snapshot().rejected == 0)
    }

    @Test("a 3 MB payload is not copied whole and is rejected as too large with its real size")
    func hugePayload() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let sink = MQTTTestSink()
        let (client, ingest) = try start(broker, devices: [mqttDevice("E9", profile: "event-frame")], maxPayloadBytes: 65_536,
                                         sink: sink, id: "huge")
        defer { client.stop() }
        let huge = "{\"event\":0,\"pad\":\"" + String(repeating: "x", count: 3_000_000) + "\"}"
        try broker.publish([("nb/E9/event", huge), ("nb/E9/event", #"{"event":0}"#)])
        #expect(TestSupport.wait(timeout: 20) { ingest.snapshot().messages == 2 })
        let c = ingest.snapshot().devices["E9"]
        #expect(c?.rejected == 1 && c?.accepted == 1)
        #expect(c?.lastRejection == MQTTPayloadRejection.tooLarge(bytes: huge.utf8.count, limit: 2048).description)
    }

    @Test("TLS with a CA and client certificate made by the test; a client trusting another CA does not connect")
    func tls() throws {
        let dir = TestSupport.temporaryDirectory("mqtt-tls")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try MQTTTestBroker.TLSFiles.make(in: dir)
        let broker = MQTTTestBroker(tls: files)
        defer { broker.remove() }
        try broker.start()
        let sink = MQTTTestSink()
        let tls = MQTTOptions.TLS(caFile: files.ca, certFile: files.clientCert, keyFile: files.clientKey)
        let (client, _) = try start(broker, devices: [mqttDevice("T1", profile: "json-4g-detector")], tls: tls, sink: sink, id: "tls")
        defer { client.stop() }
        try broker.publish([("4g/p/data", json4g("T1", leak: 77))])
        #expect(TestSupport.wait(timeout: 15) { sink.readings.contains { $0.channel.name == "residual_current.1" && $0.number == 77 } })

        let otherDir = TestSupport.temporaryDirectory("mqtt-tls-other")
        defer { try? FileManager.default.removeItem(at: otherDir) }
        let other = try MQTTTestBroker.TLSFiles.make(in: otherDir, label: "other")
        let stranger = try MQTTClient(options: MQTTOptions(port: broker.port, clientID: "stranger",
                                                           tls: .init(caFile: other.ca, certFile: other.clientCert, keyFile: other.clientKey),
                                                           reconnectMinSeconds: 0.2, reconnectMaxSeconds: 0.5), log: { _ in })
        stranger.start()
        defer { stranger.stop() }
        #expect(!TestSupport.wait(timeout: 3) { stranger.isConnected })
    }

    @Test("a TLS option pointing at a missing file is an error at creation, not a silent plain connection")
    func tlsMissingFile() {
        // Repeated: a failed init must free the handle exactly once (it used to be freed twice).
        for _ in 0..<100 {
            #expect(throws: MQTTError.self) {
                _ = try MQTTClient(options: MQTTOptions(clientID: "x", tls: .init(caFile: "/nonexistent/ca.crt")), log: { _ in })
            }
        }
        let ok = try? MQTTClient(options: MQTTOptions(clientID: "after"), log: { _ in })
        #expect(ok != nil)
    }
}
