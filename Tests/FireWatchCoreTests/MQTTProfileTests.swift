import Foundation
import Testing
@testable import FireWatchCore

private let devicesDir: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { break }
    }
    return url.appendingPathComponent("Devices").path
}()

private func shipped(_ id: String) throws -> MQTTProfile {
    let all = try MQTTProfile.load(directory: devicesDir)
    return try #require(all.first { $0.id == id }, "profile \(id) not in Devices/")
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

private func values(_ d: MQTTDecoded) -> [String: Double] {
    Dictionary(d.readings.compactMap { r in r.number.map { (r.channel.name, $0) } }, uniquingKeysWith: { $1 })
}
private func states(_ d: MQTTDecoded) -> [String: DetectorState] {
    Dictionary(d.readings.compactMap { r in r.state.map { (r.channel.name, $0) } }, uniquingKeysWith: { $1 })
}

/// 2026-12-03 10:15:00 Asia/Shanghai = 02:15:00 UTC.
private let collectTime = 1_796_264_100.0

@Suite("MQTT device profiles")
struct MQTTProfileTests {
    @Test("the shipped profiles load, and files of other transports are skipped")
    func loadsShipped() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mqtt-prof-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in try FileManager.default.contentsOfDirectory(atPath: devicesDir) where name.hasPrefix("mqtt-") {
            try FileManager.default.copyItem(atPath: devicesDir + "/" + name, toPath: dir.appendingPathComponent(name).path)
        }
        try #"{ transport: "modbus", id: "some-modbus", registers: [] }"#.write(
            to: dir.appendingPathComponent("modbus-x.json5"), atomically: true, encoding: .utf8)
        let ids = try MQTTProfile.load(directory: dir.path).map(\.id).sorted()
        #expect(ids == ["alink-detector", "event-frame", "generic-json", "json-4g-detector"])
    }

    @Test("json-4g-detector maps the flat JSON of domain.md §5 onto canonical channels, collectTime in Asia/Shanghai")
    func json4g() throws {
        let p = try shipped("json-4g-detector")
        #expect(p.topic.filter == "4g/+/data")
        let payload = #"{"serialNo":"SN0042","residualCurrent":123,"aTemperature":31.5,"bTemperature":32,"cTemperature":33.25,"aVoltage":221.3,"bVoltage":220,"cVoltage":219.5,"aCurrent":3.2,"bCurrent":0,"cCurrent":1.5,"alarm":2,"collectTime":"2026-12-03 10:15:00"}"#
        let d = try p.decode(topic: "4g/acme/data", payload: bytes(payload), now: collectTime + 5).get()
        #expect(d.deviceID == "SN0042")
        #expect(d.time == collectTime)
        #expect(values(d) == ["residual_current.1": 123, "temperature.1": 31.5, "temperature.2": 32, "temperature.3": 33.25,
                              "voltage.a": 221.3, "voltage.b": 220, "voltage.c": 219.5,
                              "current.a": 3.2, "current.b": 0, "current.c": 1.5, "device.online": 1])
        #expect(states(d) == ["state.residual_current.1": .normal, "state.temperature.1": .alarm,
                              "state.temperature.2": .normal, "state.temperature.3": .normal])
        #expect(d.readings.allSatisfy { $0.device == "SN0042" && $0.time == collectTime })
    }

    @Test("json-4g-detector takes a single-phase payload without the missing fields")
    func json4gPartial() throws {
        let p = try shipped("json-4g-detector")
        let d = try p.decode(topic: "4g/x/data", payload: bytes(#"{"serialNo":"A1","residualCurrent":50,"aTemperature":25}"#), now: 1000).get()
        #expect(values(d) == ["residual_current.1": 50, "temperature.1": 25, "device.online": 1])
        #expect(d.time == 1000)
        let alarmed = try p.decode(topic: "4g/x/data", payload: bytes(#"{"serialNo":"A1","residualCurrent":50,"aTemperature":25,"alarm":4}"#), now: 1000).get()
        // Clear bits of absent probes say nothing; a set bit always counts.
        #expect(states(alarmed) == ["state.residual_current.1": .normal, "state.temperature.1": .normal, "state.temperature.2": .alarm])
    }

    @Test("the Alink profile reads params of property posts and takes the device from <vendor>/<id>-post")
    func alink() throws {
        let p = try shipped("alink-detector")
        #expect(p.topic.filter == "+/+")
        let payload = #"{"id":"77","version":"1.0","method":"thing.event.property.post","params":{"electric_read":5.2,"voltage_read":220.3,"leakage_read":88,"time":1796264100000}}"#
        let d = try p.decode(topic: "acrel/DEV-9-post", payload: bytes(payload), now: collectTime).get()
        #expect(d.deviceID == "DEV-9")
        #expect(d.time == collectTime)
        #expect(values(d) == ["current.a": 5.2, "voltage.a": 220.3, "residual_current.1": 88, "device.online": 1])

        let set = #"{"id":"78","method":"thing.service.property.set","params":{"electric_read":1}}"#
        #expect(p.decode(topic: "acrel/DEV-9-post", payload: bytes(set), now: 0) ==
            .failure(.unexpectedMessage(field: "method", expected: "thing.event.property.post", found: "thing.service.property.set")))
        #expect(p.decode(topic: "acrel/DEV-9", payload: bytes(payload), now: collectTime) ==
            .failure(.topicMismatch(topic: "acrel/DEV-9", pattern: "+/{device}-post")))
    }

    @Test("event frames turn codes into states on state.* channels, offline into device.online = 0",
          arguments: [
            (#"{"event":1,"value":523}"#, ["state.residual_current.1": "alarm", "residual_current.1": "523.0", "device.online": "1.0"]),
            (#"{"event":2,"value":61.5}"#, ["state.temperature.1": "alarm", "temperature.1": "61.5", "device.online": "1.0"]),
            (#"{"event":3}"#, ["state.residual_current.1": "fault_open", "device.online": "1.0"]),
            (#"{"event":4}"#, ["device.online": "0.0"]),
            (#"{"event":5,"value":80}"#, ["state.residual_current.1": "normal", "residual_current.1": "80.0", "device.online": "1.0"]),
            (#"{"event":6}"#, ["state.temperature.1": "normal", "device.online": "1.0"]),
            (#"{"event":7}"#, ["state.residual_current.1": "normal", "device.online": "1.0"]),
            (#"{"event":0}"#, ["device.online": "1.0"]),
            (#"{"event":"heartbeat"}"#, ["device.online": "1.0"]),
          ])
    func eventFrame(payload: String, expected: [String: String]) throws {
        let p = try shipped("event-frame")
        let d = try p.decode(topic: "nb/860000000000001/event", payload: bytes(payload), now: 5000).get()
        #expect(d.deviceID == "860000000000001")
        var got: [String: String] = [:]
        for r in d.readings { got[r.channel.name] = r.state?.rawValue ?? r.number.map { "\($0)" } }
        #expect(got == expected)
        let signal = d.readings.compactMap { $0.state?.signalClass }.first
        if payload.contains(#""event":1"#) || payload.contains(#""event":2"#) { #expect(signal == .alarm) }
        if payload.contains(#""event":3"#) { #expect(signal == .fault) }
    }

    @Test("the generic profile maps fields given in the device's registration")
    func generic() throws {
        let p = try shipped("generic-json")
        #expect(p.isParameterised)
        let payload = bytes(#"{"data":{"leak":1234,"t1":40.5},"ts":1796264100000}"#)
        #expect(p.decode(topic: "fw/G1/up", payload: payload, now: collectTime) == .failure(.noMappedField(expected: [])))
        let s = try p.specialised(parameters: ["residual_current.1": "data.leak*0.1", "temperature.1": "data.t1",
                                               "time": "ts", "time.format": "epoch_ms"])
        let d = try s.decode(topic: "fw/G1/up", payload: payload, now: collectTime + 1).get()
        #expect(d.deviceID == "G1" && d.time == collectTime)
        #expect(values(d) == ["residual_current.1": 123.4, "temperature.1": 40.5, "device.online": 1])
        #expect(throws: ConfigError.self) { try p.specialised(parameters: ["leak.1": "data.leak"]) }
        #expect(throws: ConfigError.self) { try p.specialised(parameters: ["temperature.1": "data.t*x"]) }
    }

    @Test("bad payloads are rejected with a reason naming the field")
    func rejections() throws {
        let p = try shipped("json-4g-detector")
        let now = collectTime
        func r(_ s: String) -> MQTTPayloadRejection? {
            if case .failure(let e) = p.decode(topic: "4g/x/data", payload: bytes(s), now: now) { return e }
            return nil
        }
        #expect(r("not json") != nil)
        if case .notJSON? = r("{\"serialNo\":\"A\",") {} else { Issue.record("truncated JSON must be notJSON") }
        #expect(r("[1,2]") == .notAnObject)
        #expect(r(#"{"residualCurrent":1}"#) == .missingDevice(field: "serialNo"))
        #expect(r(#"{"serialNo":"A","residualCurrent":"12"}"#) == .wrongType(field: "residualCurrent", expected: "a number", found: "a string"))
        #expect(r(#"{"serialNo":"A","residualCurrent":true}"#) == .wrongType(field: "residualCurrent", expected: "a number", found: "a boolean"))
        #expect(r(#"{"serialNo":"A","alarm":1.5}"#) != nil)
        #expect(r(#"{"serialNo":"A","residualCurrent":1,"collectTime":"2026-12-03 10:30:01"}"#)
            == .timestampInFuture(field: "collectTime", seconds: 901, limit: 600))
        #expect(r(#"{"serialNo":"A","residualCurrent":1,"collectTime":"2026-11-20 10:15:00"}"#)
            == .timestampTooOld(field: "collectTime", seconds: 13 * 86400, limit: 604800))
        #expect(r(#"{"serialNo":"A","residualCurrent":1,"collectTime":"03/12/2026"}"#)
            == .timestampUnreadable(field: "collectTime", value: "'03/12/2026'"))
        #expect(r(#"{"serialNo":"A"}"#) != nil)
        let big = "{\"serialNo\":\"A\",\"pad\":\"" + String(repeating: "x", count: 5000) + "\"}"
        #expect(r(big) == .tooLarge(bytes: big.utf8.count, limit: 4096))
        #expect(r(#"{"serialNo":"A","residualCurrent":1}"#) == nil)

        let e = try shipped("event-frame")
        #expect(e.decode(topic: "nb/1/event", payload: bytes(#"{"event":99}"#), now: 0) == .failure(.unknownCode(field: "event", code: "99")))
        #expect(e.decode(topic: "nb/1/event", payload: bytes(#"{"event":[1]}"#), now: 0)
            == .failure(.wrongType(field: "event", expected: "an event code", found: "an array")))
        // Every rejection reads as a sentence.
        #expect(MQTTPayloadRejection.timestampInFuture(field: "collectTime", seconds: 901, limit: 600).description.contains("device clock"))
    }

    @Test("local times are read in Asia/Shanghai, epoch numbers as seconds or milliseconds")
    func times() throws {
        let sh = try #require(TimeZone(identifier: "Asia/Shanghai"))
        #expect(MQTTProfile.parseLocalTime("2026-12-03 10:15:00", in: sh) == collectTime)
        #expect(MQTTProfile.parseLocalTime("2026-12-03T10:15:00", in: sh) == collectTime)
        #expect(MQTTProfile.parseLocalTime("1970-01-01 08:00:00", in: sh) == 0)
        #expect(MQTTProfile.parseLocalTime("2024-02-29 00:00:00", in: sh) == 1_709_136_000)
        for bad in ["2026-13-01 00:00:00", "2026-12-03 10:15", "2026-12-03 10:15:00Z", "", "abcd-ef-gh ij:kl:mn"] {
            #expect(MQTTProfile.parseLocalTime(bad, in: sh) == nil, "\(bad)")
        }
    }

    @Test("topic patterns match MQTT levels and capture the device id")
    func patterns() throws {
        let a = try MQTTTopicPattern("+/{device}-post")
        #expect(a.match("acrel/123-post") == "123")
        #expect(a.match("acrel/-post") == nil)
        #expect(a.match("acrel/123-pos") == nil)
        #expect(a.match("a/b/123-post") == nil)
        let b = try MQTTTopicPattern("site/#")
        #expect(b.match("site") == "")
        #expect(b.match("site/a/b") == "")
        #expect(b.match("other/a") == nil)
        let c = try MQTTTopicPattern("nb/{device}/event")
        #expect(c.filter == "nb/+/event")
        #expect(c.match("nb/99/event") == "99")
        #expect(c.match("nb/99/event/x") == nil)
        #expect(c.match("nb/99") == nil)
        #expect(throws: MQTTPatternError.self) { try MQTTTopicPattern("a/#/b") }
        #expect(throws: MQTTPatternError.self) { try MQTTTopicPattern("a/x+/b") }
        #expect(throws: MQTTPatternError.self) { try MQTTTopicPattern("{device}/{device}") }
    }

    @Test("the payload parser is strict JSON and keeps numbers and booleans apart")
    func parser() throws {
        #expect(try MQTTPayloadParser.parse(bytes(#" {"a":[1,-2.5,3e2,true,null],"b":"x\"\u00e9\ud83d\ude00"} "#)).get()
            == .object(["a": .array([.number(1), .number(-2.5), .number(300), .bool(true), .null]), "b": .string("x\"é😀")]))
        #expect(try MQTTPayloadParser.parse(bytes("0.1")).get() == .number(0.1))
        #expect(try MQTTPayloadParser.parse(bytes("123456789.123")).get() == .number(123456789.123))
        for bad in ["", "{", "{\"a\":}", "[1,]", "01", "1.", "{\"a\" 1}", "tru", "\"\u{01}\"", "{} x", "\"\\ud800\""] {
            if case .success = MQTTPayloadParser.parse(bytes(bad)) { Issue.record("accepted \(bad.debugDescription)") }
        }
        #expect(throws: MQTTPayloadSyntaxError.self) { try MQTTPayloadParser.parse([0xFF, 0xFE]).get() }
        #expect(throws: MQTTPayloadSyntaxError.self) { try MQTTPayloadParser.parse(bytes("\"\u{FF}\"").map { $0 == 0xBF ? 0xFF : $0 }).get() }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: MQTTPayloadSyntaxError.self) { try MQTTPayloadParser.parse(bytes(deep)).get() }
    }

    @Test("a profile with a mistake is reported with file, line and field")
    func badProfile() throws {
        let text = """
        {
          transport: "mqtt",
          id: "bad",
          topic: "x/{device}",
          values: [
            { field: "a", channel: "leak.1" },
          ],
        }
        """
        #expect(throws: ConfigError.self) { try MQTTProfile.load(source: JSON5Source(file: "Devices/bad.json5", text: text)) }
        do {
            _ = try MQTTProfile.load(source: JSON5Source(file: "Devices/bad.json5", text: text))
        } catch {
            #expect(error.line == 6)
            #expect(error.field == "values[0].channel")
            #expect(error.description.hasPrefix("Devices/bad.json5:6: error:"))
        }
        let noDevice = #"{ transport: "mqtt", id: "n", topic: "x/+", values: [{field: "a", channel: "power"}] }"#
        #expect(throws: ConfigError.self) { try MQTTProfile.load(source: JSON5Source(file: "n.json5", text: noDevice)) }
    }
}
