import Foundation
import Testing
@testable import FireWatchCore
@testable import FireWatchMQTT

/// A ReadingSink and IngestMonitor that keep everything for assertions.
final class MQTTTestSink: ReadingSink, IngestMonitor, @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var batches: [[Reading]] = []
    private var problems: [(String, IngestProblem)] = []
    private var recoveries: [String] = []

    func accept(_ readings: [Reading]) { lock.withLock { batches.append(readings) } }
    func problem(device: String, _ problem: IngestProblem) { lock.withLock { problems.append((device, problem)) } }
    func recovered(device: String) { lock.withLock { recoveries.append(device) } }

    var messages: [[Reading]] { lock.withLock { batches } }
    var readings: [Reading] { lock.withLock { batches.flatMap { $0 } } }
    var problemList: [(String, IngestProblem)] { lock.withLock { problems } }
    var recovered: [String] { lock.withLock { recoveries } }
}

let mqttProfiles: [MQTTProfile] = {
    (try? MQTTProfile.load(directory: TestSupport.devicesDir)) ?? []
}()

func mqttDevice(_ id: String, profile: String, mqttID: String? = nil) -> (String, Device) {
    (mqttID ?? id, Device(id: id, profileID: profile, premisesID: "P-\(id)", transport: .mqtt(deviceID: mqttID ?? id)))
}

func json4g(_ serial: String, leak: Double, time: String? = nil) -> String {
    var s = #"{"serialNo":"\#(serial)","residualCurrent":\#(leak),"aTemperature":30.5,"aVoltage":220.1,"aCurrent":2.5,"alarm":0"#
    if let time { s += #","collectTime":"\#(time)""# }
    return s + "}"
}

@Suite("MQTT ingest: binding, rejection, quarantine, rate limits")
struct MQTTIngestTests {
    let lines = Collector<String>()

    func makeIngest(_ devices: [(String, Device)], params: [String: [String: String]] = [:],
                    rate: MQTTRateLimit = .unlimited, sink: MQTTTestSink) -> MQTTIngest {
        let lines = self.lines
        return MQTTIngest(profiles: mqttProfiles, devices: Dictionary(uniqueKeysWithValues: devices), profileParameters: params,
                          sink: sink, monitor: sink, rateLimit: rate, log: { lines.append($0) })
    }

    @Test("a message of a registered device becomes readings of that device, under its registered id")
    func binds() throws {
        let sink = MQTTTestSink()
        let ingest = makeIngest([mqttDevice("stall-12", profile: "json-4g-detector", mqttID: "SN1")], sink: sink)
        ingest.handle(topic: "4g/p/data", payload: Array(json4g("SN1", leak: 310).utf8), now: 1000, monotonic: 1)
        let r = try #require(sink.messages.first)
        #expect(r.allSatisfy { $0.device == "stall-12" })
        #expect(r.first { $0.channel.name == "residual_current.1" }?.number == 310)
        #expect(ingest.snapshot().devices["stall-12"]?.accepted == 1)
    }

    @Test("a batch (the decode stage's) gives the same readings, counters and recoveries as its messages one by one")
    func batchMatchesSingle() throws {
        let topics = ["4g/p/data", "4g/p/data", "4g/p/data", "4g/p/data", "4g/p/data", "nb/E1/event"]
        let payloads = [json4g("SN1", leak: 10), "{not json", #"{"serialNo":"SN1","residualCurrent":"high"}"#,
                        json4g("STRANGER", leak: 1), json4g("SN1", leak: 20), #"{"event":1}"#]
        let messages = zip(topics, payloads).map { MQTTMessage(topic: $0, payload: Array($1.utf8)) }
        let devices = [mqttDevice("stall-1", profile: "json-4g-detector", mqttID: "SN1"), mqttDevice("E1", profile: "event-frame")]
        let one = MQTTTestSink(), all = MQTTTestSink()
        let single = MQTTIngest(profiles: mqttProfiles, devices: Dictionary(uniqueKeysWithValues: devices), sink: one, monitor: one,
                                rateLimit: .unlimited, log: { _ in }, wallClock: { 1000 }, monotonicClock: { 1 })
        let batched = MQTTIngest(profiles: mqttProfiles, devices: Dictionary(uniqueKeysWithValues: devices), sink: all, monitor: all,
                                 rateLimit: .unlimited, log: { _ in }, wallClock: { 1000 }, monotonicClock: { 1 })
        for m in messages { single.handle(m) }
        batched.handle(messages)
        #expect(all.messages == one.messages)
        #expect(all.messages.count == 3, "two telemetry messages and the event; the bad ones and the unregistered give none")
        #expect(all.recovered == one.recovered && all.recovered == ["stall-1"], "the good message after the bad one ends its trouble")
        #expect(batched.snapshot() == single.snapshot())
    }

    @Test("an unregistered device id is quarantined: counted, logged once, never readings")
    func quarantine() {
        let sink = MQTTTestSink()
        let ingest = makeIngest([mqttDevice("A", profile: "json-4g-detector")], sink: sink)
        for i in 0..<5 { ingest.handle(topic: "4g/p/data", payload: Array(json4g("STRANGER", leak: 1).utf8), now: 1000, monotonic: Double(i)) }
        ingest.handle(topic: "nb/IMEI9/event", payload: Array(#"{"event":1}"#.utf8), now: 1000, monotonic: 9)
        ingest.handle(topic: "some/other/topic/x", payload: Array("{}".utf8), now: 1000, monotonic: 9)
        #expect(sink.readings.isEmpty)
        let snap = ingest.snapshot()
        #expect(snap.quarantined == ["STRANGER": 5, "IMEI9": 1, "topic some/other/topic/x": 1])
        #expect(lines.all.filter { $0.contains("STRANGER") }.count == 1)
        #expect(snap.lines.contains { $0.contains("quarantined STRANGER: 5 messages") })
    }

    @Test("bad payloads are rejected with one log line naming device, topic and reason, counted per device and reported")
    func rejects() throws {
        let sink = MQTTTestSink()
        let ingest = makeIngest([mqttDevice("A", profile: "json-4g-detector"), mqttDevice("E1", profile: "event-frame")], sink: sink)
        ingest.handle(topic: "4g/p/data", payload: Array(#"{"serialNo":"A","residualCurrent":"high"}"#.utf8), now: 1000, monotonic: 1)
        ingest.handle(topic: "nb/E1/event", payload: Array("garbage".utf8), now: 1000, monotonic: 1)
        ingest.handle(topic: "4g/p/data", payload: Array("{not json".utf8), now: 1000, monotonic: 1)
        #expect(sink.readings.isEmpty)
        let snap = ingest.snapshot()
        #expect(snap.devices["A"]?.rejected == 1)
        #expect(snap.devices["E1"]?.rejected == 1)
        #expect(snap.unattributed == ["4g/p/data": 1])
        let line = try #require(lines.all.first { $0.contains("device A") })
        #expect(line.contains("4g/p/data") && line.contains("residualCurrent") && line.contains("expected a number"))
        #expect(sink.problemList.contains { $0.0 == "E1" && { if case .rejectedPayload = $0.1 { true } else { false } }($0) })
        // A good message afterwards counts as a recovery.
        ingest.handle(topic: "nb/E1/event", payload: Array(#"{"event":0}"#.utf8), now: 1000, monotonic: 2)
        #expect(sink.recovered == ["E1"])
    }

    @Test("a device that floods is limited by its token bucket; others are not affected")
    func rateLimit() {
        let sink = MQTTTestSink()
        let ingest = makeIngest([mqttDevice("A", profile: "json-4g-detector"), mqttDevice("B", profile: "json-4g-detector")],
                                rate: MQTTRateLimit(messagesPerSecond: 1, burst: 5), sink: sink)
        for _ in 0..<50 { ingest.handle(topic: "4g/p/data", payload: Array(json4g("A", leak: 1).utf8), now: 1000, monotonic: 100) }
        ingest.handle(topic: "4g/p/data", payload: Array(json4g("B", leak: 1).utf8), now: 1000, monotonic: 100)
        // 3 s later three more tokens.
        for _ in 0..<10 { ingest.handle(topic: "4g/p/data", payload: Array(json4g("A", leak: 1).utf8), now: 1003, monotonic: 103) }
        let snap = ingest.snapshot()
        #expect(snap.devices["A"]?.accepted == 8)
        #expect(snap.devices["A"]?.rateLimited == 52)
        #expect(snap.devices["B"]?.accepted == 1)
        #expect(sink.problemList.filter { $0.1 == .rateLimited }.count == 52)
    }

    @Test("a device registered with another profile than the topic's is rejected, not mis-decoded")
    func profileMismatch() {
        let sink = MQTTTestSink()
        let ingest = makeIngest([mqttDevice("X", profile: "event-frame")], sink: sink)
        ingest.handle(topic: "4g/p/data", payload: Array(json4g("X", leak: 1).utf8), now: 1000, monotonic: 1)
        #expect(sink.readings.isEmpty)
        #expect(ingest.snapshot().devices["X"]?.lastRejection?.contains("registered with 'event-frame'") == true)
    }

    @Test("generic devices decode with their registration parameters; bad parameters reject clearly")
    func generic() throws {
        let sink = MQTTTestSink()
        let ingest = makeIngest([mqttDevice("G1", profile: "generic-json"), mqttDevice("G2", profile: "generic-json")],
                                params: ["G1": ["residual_current.1": "d.leak*0.1"], "G2": ["nonsense.9": "x"]], sink: sink)
        ingest.handle(topic: "fw/G1/up", payload: Array(#"{"d":{"leak":3000}}"#.utf8), now: 1000, monotonic: 1)
        ingest.handle(topic: "fw/G2/up", payload: Array(#"{"x":1}"#.utf8), now: 1000, monotonic: 1)
        #expect(sink.readings.first { $0.channel.name == "residual_current.1" }?.number == 300)
        #expect(ingest.snapshot().devices["G2"]?.lastRejection?.contains("registration parameters are invalid") == true)
    }

    @Test("devices can be registered at runtime")
    func update() {
        let sink = MQTTTestSink()
        let ingest = makeIngest([], sink: sink)
        ingest.handle(topic: "nb/N1/event", payload: Array(#"{"event":0}"#.utf8), now: 1000, monotonic: 1)
        #expect(sink.readings.isEmpty)
        ingest.updateDevices(Dictionary(uniqueKeysWithValues: [mqttDevice("N1", profile: "event-frame")]))
        ingest.handle(topic: "nb/N1/event", payload: Array(#"{"event":0}"#.utf8), now: 1000, monotonic: 2)
        #expect(sink.readings.map(\.channel.name) == ["device.online"])
    }
}
