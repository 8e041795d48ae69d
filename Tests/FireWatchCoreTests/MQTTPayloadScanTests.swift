import Foundation
import Testing
@testable import FireWatchCore

/// The package's Devices/ folder (this file is Tests/FireWatchCoreTests/…).
private let devicesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Devices").path

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// 2026-12-03 10:15:00 Asia/Shanghai.
private let now = 1_796_264_100.0

/// A JSON string literal of `s`, for profile texts.
private func quoted(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// Profiles whose plans have what the shipped ones lack: a path and a deeper one through the same
/// node, array indices (also spelt `01`, `+1`, `-0`), keys equal only under canonical equivalence
/// (`é` precomposed and decomposed, `K` and the Kelvin sign), non-ASCII keys, a long key, the whole
/// payload as a path (`.`), codes, bits, an event with a field output, a required value.
private func testProfiles() throws -> [(profile: MQTTProfile, topic: String)] {
    let nestedFields = ["data", "data.leak", "data.t1", "data.0", "data.1.value", "data.01.value", "data.+1", "data.-0",
                        "K", "\u{212A}", "é", "e\u{0301}", "params.a.b.c", "x.y.z.w.v.u", "数据.温度",
                        "a_rather_long_key_over_sixteen_bytes", "a_rather_long_key_over_sixteen_bytez.0"]
    let values = nestedFields.enumerated().map { k, f in "{ field: \(quoted(f)), channel: \"temperature.\(k + 1)\", scale: 2, offset: 1 }" }
    let nested = """
    { transport: "mqtt", id: "scan-nested", topic: "t/{device}", maxPayloadBytes: 1000000,
      time: { field: "ts", format: "auto" },
      values: [ \(values.joined(separator: ", ")) ],
      states: [ { field: "st", codes: { "0": { "state.temperature.1": "normal" }, "1": { "state.temperature.1": "alarm" },
                                        "heartbeat": { "state.temperature.2": "normal" }, "1.5": { "state.temperature.3": "alarm" } } },
                { field: "data.alarm", bits: { "0": "state.temperature.1", "2": "state.temperature.3" }, set: "alarm" } ],
      event: { field: "ev", codes: { "1": [ { channel: "state.temperature.4", state: "alarm" }, { channel: "temperature.4", field: "value", scale: 0.5 } ],
                                     "2": [ { channel: "device.online", value: 0 } ], "post": [] } },
    }
    """
    let device = """
    { transport: "mqtt", id: "scan-device", topic: "u/+", deviceField: "id", maxPayloadBytes: 1000000,
      require: { kind: "post" }, values: [ { field: "v", channel: "current.a" }, { field: "arr.2", channel: "voltage.a" } ] }
    """
    let root = """
    { transport: "mqtt", id: "scan-root", topic: "r/{device}", maxPayloadBytes: 1000000,
      values: [ { field: ".", channel: "power" }, { field: "0", channel: "energy" } ] }
    """
    var out: [(MQTTProfile, String)] = []
    for (text, topic) in [(nested, "t/dev1"), (device, "u/x"), (root, "r/dev2")] {
        out.append((try #require(try MQTTProfile.load(source: JSON5Source(file: "test.json5", text: text))), topic))
    }
    let shipped = try MQTTProfile.load(directory: devicesDir)
    for (id, topic) in [("json-4g-detector", "4g/x/data"), ("alink-detector", "acrel/DEV-1-post"), ("event-frame", "nb/1/event")] {
        var p = try #require(shipped.first { $0.id == id })
        p.limits.maxPayloadBytes = 1_000_000
        out.append((p, topic))
    }
    var generic = try #require(shipped.first { $0.id == "generic-json" })
        .specialised(parameters: ["residual_current.1": "data.leak*0.1", "temperature.1": "data.t1", "temperature.2": "data",
                                  "time": "ts", "time.format": "epoch_ms"])
    generic.limits.maxPayloadBytes = 1_000_000
    out.append((generic, "fw/G1/up"))
    return out
}

/// Random JSON text: keys from a small vocabulary (so they hit the profiles' paths), every number
/// shape, escapes, raw and escaped unicode, nesting, repeated keys, random key order and spacing.
private struct PayloadGenerator {
    var rng: SeededGenerator
    static let keys = ["data", "leak", "t1", "0", "1", "01", "+1", "-0", "2", "value", "K", "\u{212A}", "é", "e\u{0301}",
                       "params", "a", "b", "c", "x", "y", "z", "w", "v", "u", "数据", "温度", "ts", "st", "ev", "alarm", "id",
                       "kind", "arr", "a_rather_long_key_over_sixteen_bytes", "a_rather_long_key_over_sixteen_bytez",
                       "serialNo", "residualCurrent", "aTemperature", "collectTime", "method", "event", "time", "electric_read",
                       "leakage_read", "unknown", "pad", "", "\"q\"", "back\\slash"]

    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func pick<T>(_ a: [T]) -> T { a[Int.random(in: 0..<a.count, using: &rng)] }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func space() -> String { chance(0.15) ? pick([" ", "\n", "\t", "\r\n ", "  "]) : "" }

    mutating func payload() -> String {
        let r = Double.random(in: 0..<1, using: &rng)
        return space() + (r < 0.5 ? shaped() : r < 0.93 ? object(depth: 1) : value(depth: 1)) + space()
    }

    /// Members the test profiles read: (key, good values, wrong values), the first member required.
    static let shapes: [[(String, [String], [String])]] = [
        [("serialNo", ["\"SN0042\"", "\"A1\"", "42"], ["\"\"", "1e20", "-1e20", "true"]), ("residualCurrent", ["123", "50.5"], ["\"12\""]),
         ("aTemperature", ["31.5"], []), ("bTemperature", ["32", "null"], []), ("aVoltage", ["221.3"], []), ("cCurrent", ["1.5e0"], []),
         ("alarm", ["0", "2", "15"], ["1.5", "-1"]),
         ("collectTime", ["\"2026-12-03 10:15:00\"", "\"2026-12-03T10:14:00\""], ["\"2026-12-03 10:30:01\"", "\"03/12/2026\""])],
        [("method", ["\"thing.event.property.post\""], ["\"thing.service.property.set\""]), ("id", ["\"77\""], []),
         ("params", [#"{"electric_read":5.2,"voltage_read":220.3,"leakage_read":88,"time":1796264100000}"#, #"{"temperature_read":30,"time":1796264100}"#],
          ["{}", #"{"time":"x"}"#])],
        [("event", ["0", "1", "2", "3", "4", "5", "6", "7", "\"heartbeat\""], ["99", "[1]"]), ("value", ["523", "61.5"], ["\"x\""]),
         ("time", ["1796264100", "1796264100000"], ["1796264900"])],
        [("data", [#"{"leak":1234,"t1":40.5,"alarm":5}"#, #"[7,{"value":9},3]"#, #"{"0":1,"1":{"value":2},"01":{"value":3},"alarm":1}"#], []),
         ("ts", ["1796264100000", "1796264100"], ["\"2026-12-03 10:15:00\""]), ("st", ["0", "1", "\"heartbeat\"", "1.5"], ["2", "true"]),
         ("ev", ["1", "2", "\"post\""], ["3"]), ("value", ["12", "null"], []), ("K", ["1"], []), ("\\u212a", ["2"], []), ("\\u00e9", ["3"], []),
         ("e\\u0301", ["4"], []), ("数据", [#"{"温度":20}"#], []), ("x", [#"{"y":{"z":{"w":{"v":{"u":6}}}}}"#], [])],
        [("id", ["\"dev\"", "7"], ["true"]), ("kind", ["\"post\""], ["\"get\""]), ("v", ["1", "2.5"], []), ("arr", ["[1,2,3]", "[1]"], [])],
    ]

    mutating func shaped() -> String {
        var members: [String] = []
        for (k, (name, good, bad)) in pick(Self.shapes).enumerated() where k == 0 || chance(0.85) {
            let v = bad.isEmpty || chance(0.93) ? pick(good) : pick(bad)
            members.append(space() + "\"" + name + "\"" + space() + ":" + space() + v)
            if chance(0.05) { members.append("\"" + name + "\":" + value(depth: 2)) }  // a repeated key
        }
        for _ in 0..<int(0...3) { members.append(key(pick(Self.keys)) + ":" + value(depth: 2)) }
        members.shuffle(using: &rng)
        return "{" + members.joined(separator: ",") + "}"
    }

    mutating func object(depth: Int) -> String {
        var members: [String] = []
        for _ in 0..<int(0...7) {
            let name = pick(Self.keys)
            members.append(space() + key(name) + space() + ":" + space() + value(depth: depth + 1) + space())
            if chance(0.12) { members.append(key(name) + ":" + value(depth: depth + 1)) }  // a repeated key
        }
        members.shuffle(using: &rng)
        return "{" + members.joined(separator: ",") + (members.isEmpty ? space() : "") + "}"
    }

    mutating func value(depth: Int) -> String {
        let r = Double.random(in: 0..<1, using: &rng)
        if depth < 7 && r < 0.2 { return object(depth: depth) }
        if depth < 7 && r < 0.3 {
            let items = (0..<int(0...4)).map { _ in space() + value(depth: depth + 1) + space() }
            return "[" + items.joined(separator: ",") + (items.isEmpty ? space() : "") + "]"
        }
        if r < 0.65 { return number() }
        if r < 0.9 { return string() }
        return pick(["true", "false", "null"])
    }

    mutating func number() -> String {
        let sign = chance(0.3) ? "-" : ""
        switch int(0...11) {
        case 0: return pick(["0", "-0", "0.0", "-0.0", "0e0"])
        case 1: return String(int(-1000...1000))
        case 2: return "\(sign)\(int(0...999)).\(int(0...99999))"
        case 3: return "\(sign)\(int(1...9))\(pick(["e", "E"]))\(pick(["", "+", "-"]))\(int(0...40))"
        case 4: return "\(sign)\(int(1...9)).\(int(0...999))e\(pick(["", "+", "-"]))\(int(0...300))"
        case 5: return sign + String(int(1...9)) + (0..<int(15...25)).map { _ in String(int(0...9)) }.joined()
        case 6: return "\(sign)0." + (0..<int(10...30)).map { _ in String(int(0...9)) }.joined()
        case 7: return pick(["0", "1", "2", "3", "4", "5", "7", "99"])
        case 8: return pick(["1796264100000", "1796264100", "1796264700.5", "1795000000000"])
        case 9: return pick(["4294967295", "4294967296", "15", "1.5", "3.0"])
        case 10: return chance(0.2) ? pick(["1e400", "-1e400"]) : pick(["1.5e-7", "2.5E+10", "123456789.123"])
        default: return String(Double.random(in: -1e6...1e6, using: &rng))
        }
    }

    mutating func string() -> String {
        let pieces = ["ab", "SN0042", "post", "heartbeat", "2026-12-03 10:15:00", "2026-12-03T10:15:00", " ", "\\n", "\\\"", "\\\\",
                      "\\/", "\\b\\f\\r\\t", "\\u00e9", "\\u00E9", "\\ud83d\\ude00", "\\u0000", "\\u212a", "温度", "😀", "é", "e\u{0301}", "1", "1.5"]
        return "\"" + (0..<int(0...3)).map { _ in pick(pieces) }.joined() + "\""
    }

    /// `s` as a JSON string, some scalars spelt as `\u` escapes (surrogate pairs above the BMP).
    mutating func key(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            if chance(0.1) || u.value < 0x20 {
                for unit in String(u).utf16 { out += String(format: "\\u%04x", unit) }
            } else if u == "\"" || u == "\\" {
                out += "\\" + String(u)
            } else if u == "/" && chance(0.5) {
                out += "\\/"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// Bytes that break JSON in interesting ways when put in place of another.
private let breakers: [UInt8] = Array("\"\\{}[],:0-e.+ untfx".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF]

/// What the tree path gives: the parser's tree, the field looked up in it with `JSONValue.at(path:)`,
/// decoded through the tree entry points.
private func viaTree(_ p: MQTTProfile, topic: String, _ b: [UInt8]) -> Result<MQTTDecoded, MQTTPayloadRejection> {
    guard b.count <= p.limits.maxPayloadBytes else { return .failure(.tooLarge(bytes: b.count, limit: p.limits.maxPayloadBytes)) }
    switch MQTTPayloadParser.parse(b) {
    case .failure(let e): return .failure(.notJSON(e.description))
    case .success(let json):
        guard case .object = json else { return .failure(.notAnObject) }
        switch p.deviceID(topic: topic, json: json) {
        case .failure(let r): return .failure(r)
        case .success(let device): return p.decode(device: device, json: json, now: now)
        }
    }
}

/// The scanner must agree with the parser on `b`: same acceptance, same first error (text and
/// offset), the same value at every path of the plan, the same decode. Returns a failure's text.
private func disagreement(_ p: MQTTProfile, topic: String, _ b: [UInt8]) -> String? {
    let tree = MQTTPayloadParser.parse(b)
    let scanned = p.fields(b)
    switch (tree, scanned) {
    case (.failure(let e), .failure(let r)):
        if r != .notJSON(e.description) { return "parser: \(e), scanner: \(r)" }
    case (.success(let json), .failure(let r)):
        if case .object = json { return "parser accepted, scanner: \(r)" }
        if r != .notAnObject { return "not an object, scanner: \(r)" }
    case (.failure(let e), .success):
        return "parser: \(e), scanner accepted"
    case (.success(let json), .success(let fields)):
        guard case .object = json else { return "not an object, scanner accepted" }
        guard p.canDecode(fields) else { return "fields not of this profile's plan" }
        for (slot, parts) in p.plan.paths.enumerated() {
            let path = parts.joined(separator: ".")
            let expected = path.isEmpty ? json : json.at(path: path)
            if fields.values[slot] != expected {
                return "path '\(path)': tree \(String(describing: expected)), scanner \(String(describing: fields.values[slot]))"
            }
        }
    }
    let a = p.decode(topic: topic, payload: b, now: now), e = viaTree(p, topic: topic, b)
    return a == e ? nil : "decode: scanner \(a), tree \(e)"
}

@Suite("MQTT payload field scan")
struct MQTTPayloadScanTests {
    @Test("the scanner accepts exactly what the parser accepts, with the same first error, values and decode, over random and corrupted payloads")
    func differential() throws {
        let profiles = try testProfiles()
        var gen = PayloadGenerator(rng: SeededGenerator(seed: 0x5CA7_2026))
        var checked = 0, accepted = 0, objects = 0, decoded = 0
        func check(_ b: [UInt8], profiles: ArraySlice<(profile: MQTTProfile, topic: String)>) {
            for (p, topic) in profiles {
                checked += 1
                if let why = disagreement(p, topic: topic, b) {
                    Issue.record("\(p.id): \(why)\n  payload: \(String(decoding: b, as: UTF8.self).debugDescription) \(b.count > 0 && String(validating: b, as: UTF8.self) == nil ? "(invalid UTF-8)" : "")")
                }
            }
            if case .success(let j) = MQTTPayloadParser.parse(b) {
                accepted += 1
                if case .object = j { objects += 1 }
            }
        }
        for round in 0..<300 {
            let payload = bytes(gen.payload())
            check(payload, profiles: profiles[...])
            for (p, topic) in profiles where p.decode(topic: topic, payload: payload, now: now).map({ _ in true }) == .success(true) {
                decoded += 1
            }
            // Corruptions go through a rotating pair of profiles (the grammar is the same for all):
            // every truncation of every fifth payload, some of the others'.
            let pair = profiles[(round % profiles.count)...].prefix(2)
            let cuts = round % 5 == 0 || payload.count < 2 ? Array(0..<payload.count) : (0..<12).map { _ in gen.int(0...(payload.count - 1)) }
            for cut in cuts { check(Array(payload[..<cut]), profiles: pair) }
            for _ in 0..<16 {
                var b = payload
                guard !b.isEmpty else { break }
                let at = gen.int(0...(b.count - 1))
                switch gen.int(0...3) {
                case 0: b.remove(at: at)
                case 1: b.insert(gen.pick(breakers), at: at)
                case 2: b[at] = UInt8(gen.int(0...255))
                default: b[at] = gen.pick(breakers)
                }
                check(b, profiles: pair)
            }
        }
        // The generator must reach every case, or the comparison proves little.
        #expect(checked > 20_000)
        #expect(accepted > 1_000 && objects > 1_000 && decoded > 60, "accepted \(accepted), objects \(objects), decoded \(decoded)")
    }

    @Test("nesting is bounded at 32 levels on paths of the plan and off them, with the parser's error")
    func depth() throws {
        let profiles = try testProfiles()
        for levels in [30, 31, 32, 33, 40] {
            let inPlan = String(repeating: #"{"data":"#, count: levels) + "1" + String(repeating: "}", count: levels)
            let offPlan = #"{"pad":"# + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "}"
            let mixed = #"{"data":{"0":"# + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "}}"
            for (text, depth) in [(inPlan, levels), (offPlan, levels + 1), (mixed, levels + 2)] {
                let rejected: Bool
                if case .failure = MQTTPayloadParser.parse(bytes(text)) { rejected = true } else { rejected = false }
                #expect(rejected == (depth > 32), "\(depth) levels")
                for (p, topic) in profiles {
                    #expect(disagreement(p, topic: topic, bytes(text)) == nil, "\(p.id), \(levels) levels")
                }
            }
        }
    }

    @Test("keys off the plan are still validated: a bad escape, invalid UTF-8 or a bad number in them rejects the payload")
    func skippedKeysAreValidated() throws {
        let p = try #require(try testProfiles().first { $0.profile.id == "scan-device" }).profile
        for (text, error) in [
            (#"{"kind":"post","pad":"a\x"}"#, "invalid escape at byte 25"),
            (#"{"kind":"post","pad":[1,01]}"#, "leading zero in number at byte 24"),
            (#"{"kind":"post","pad":{"a":1e400}}"#, "number out of range at byte 31"),
            (#"{"kind":"post","pad":"\ud800"}"#, "unpaired surrogate in \\u escape at byte 28"),
        ] {
            #expect(p.decode(topic: "u/x", payload: bytes(text), now: now) == .failure(.notJSON(error)), "\(text)")
        }
        var bad = bytes(#"{"kind":"post","pad":"éé"}"#)
        bad[23] = 0xFF
        #expect(p.decode(topic: "u/x", payload: bad, now: now) == .failure(.notJSON("string is not valid UTF-8 at byte 26")))
        #expect(p.fields(bytes("[1,2]")).map { _ in 0 } == .failure(.notAnObject))
        #expect(p.fields(bytes("{} {}")).map { _ in 0 } == .failure(.notJSON("unexpected data after the JSON value at byte 3")))
    }

    @Test("a repeated key replaces what the earlier one gave, also a whole object; array elements are found by index")
    func repeatedKeysAndIndices() throws {
        let p = try #require(try testProfiles().first { $0.profile.id == "scan-nested" }).profile
        func value(_ path: String, _ text: String) throws -> JSONValue? {
            let f = try p.fields(bytes(text)).get()
            let slot = try #require(p.plan.paths.firstIndex(of: path.split(separator: ".").map(String.init)))
            return f.values[slot]
        }
        #expect(try value("data.leak", #"{"data":{"leak":1},"data":{"t1":2}}"#) == nil)
        #expect(try value("data.t1", #"{"data":{"leak":1},"data":{"t1":2}}"#) == .number(2))
        #expect(try value("data.leak", #"{"data":{"leak":1,"leak":3}}"#) == .number(3))
        #expect(try value("data.leak", #"{"data":{"leak":1},"data":5}"#) == nil)
        #expect(try value("data", #"{"data":{"leak":1},"data":[7]}"#) == .array([.number(7)]))
        #expect(try value("data.0", #"{"data":[7,8]}"#) == .number(7))
        #expect(try value("data.1.value", #"{"data":[7,{"value":9}]}"#) == .number(9))
        #expect(try value("data.01.value", #"{"data":[7,{"value":9}]}"#) == .number(9))
        #expect(try value("data.01.value", #"{"data":{"01":{"value":4},"1":{"value":5}}}"#) == .number(4))
        #expect(try value("data.-0", #"{"data":[3]}"#) == .number(3))
        #expect(try value("K", #"{"\u212a":6}"#) == .number(6))
        #expect(try value("é", #"{"e\u0301":1,"\u00e9":2}"#) == .number(2))
        #expect(try value("a_rather_long_key_over_sixteen_bytes", #"{"a_rather_long_key_over_sixteen_bytez":1}"#) == nil)
        #expect(try value("a_rather_long_key_over_sixteen_bytes", #"{"a_rather_long_key_over_sixteen_bytes":1}"#) == .number(1))
    }

    @Test("a specialised profile has its own plan: fields of one profile are not decoded by another")
    func plansPerProfile() throws {
        let generic = try #require(try MQTTProfile.load(directory: devicesDir).first { $0.id == "generic-json" })
        let special = try generic.specialised(parameters: ["temperature.1": "data.t1"])
        let payload = bytes(#"{"data":{"t1":40.5}}"#)
        let genericFields = try generic.fields(payload).get()
        let specialFields = try special.fields(payload).get()
        #expect(generic.canDecode(genericFields) && !generic.canDecode(specialFields))
        #expect(special.canDecode(specialFields) && !special.canDecode(genericFields))
        let d = try special.decode(device: "G1", fields: specialFields, now: now).get()
        #expect(d.readings.map(\.channel.name) == ["temperature.1", "device.online"] && d.readings.first?.number == 40.5)
        #expect(generic.decode(device: "G1", fields: genericFields, now: now) == .failure(.noMappedField(expected: [])))
        #expect(special.deviceID(topic: "fw/G1/up", fields: nil) == .success("G1"))
    }

    @Test("the shipped profiles decode their sample messages through fields as through the tree")
    func shippedSamples() throws {
        let samples: [(String, String, String)] = [
            ("json-4g-detector", "4g/acme/data", #"{"serialNo":"SN0042","residualCurrent":123,"aTemperature":31.5,"bTemperature":32,"cTemperature":33.25,"aVoltage":221.3,"bVoltage":220,"cVoltage":219.5,"aCurrent":3.2,"bCurrent":0,"cCurrent":1.5,"alarm":2,"collectTime":"2026-12-03 10:15:00"}"#),
            ("json-4g-detector", "4g/x/data", #"{"serialNo":"A1","residualCurrent":50,"aTemperature":25,"alarm":4}"#),
            ("json-4g-detector", "4g/x/data", #"{"serialNo":7,"residualCurrent":"12"}"#),
            ("alink-detector", "acrel/DEV-9-post", #"{"id":"77","version":"1.0","method":"thing.event.property.post","params":{"electric_read":5.2,"voltage_read":220.3,"leakage_read":88,"time":1796264100000}}"#),
            ("alink-detector", "acrel/DEV-9-post", #"{"id":"78","method":"thing.service.property.set","params":{"electric_read":1}}"#),
            ("event-frame", "nb/860000000000001/event", #"{"event":1,"value":523}"#),
            ("event-frame", "nb/860000000000001/event", #"{"event":"heartbeat"}"#),
            ("event-frame", "nb/860000000000001/event", #"{"event":4}"#),
            ("event-frame", "nb/860000000000001/event", #"{"event":99}"#),
        ]
        let shipped = try MQTTProfile.load(directory: devicesDir)
        for (id, topic, text) in samples {
            let p = try #require(shipped.first { $0.id == id })
            #expect(disagreement(p, topic: topic, bytes(text)) == nil, "\(id) \(text)")
        }
    }

    @Test("UTF-8 validation accepts exactly what String(validating:) accepts")
    func utf8() {
        var rng = SeededGenerator(seed: 8)
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC,
                                    0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var valid = 0
        for _ in 0..<50_000 {
            let b = (0..<Int.random(in: 0...6, using: &rng)).map { _ in interesting[Int.random(in: 0..<interesting.count, using: &rng)] }
            let expected = String(validating: b, as: UTF8.self) != nil
            if expected { valid += 1 }
            #expect(b.withUnsafeBufferPointer { MQTTPayloadScanner.isValidUTF8($0, 0..<$0.count) } == expected, "\(b)")
        }
        #expect(valid > 1000)
    }

    @Test("code tables match numbers and strings as a dictionary keyed by the value's codeText")
    func codeTables() {
        let table = ["0": 0, "1": 1, "01": 2, "1.0": 3, "1.5": 4, "-1": 5, "heartbeat": 6, "1e+15": 7, "true": 8, "é": 9]
        let codes = MQTTCodeTable(table.mapValues { [$0] })
        let raws: [JSONValue] = [.number(0), .number(-0.0), .number(1), .number(1.5), .number(-1), .number(2), .number(1e15),
                                 .number(0.1), .string("01"), .string("1.0"), .string("heartbeat"), .string("e\u{0301}"),
                                 .string("x"), .bool(true), .null]
        for raw in raws {
            #expect(codes.outputs(for: raw)?.first == table[raw.codeText], "\(raw)")
        }
    }

    @Test("the parser's error texts and offsets stay what they were")
    func parserErrors() {
        let cases: [(String, String)] = [
            ("", "empty payload at byte 0"),
            ("{", "expected a quoted key at byte 1"),
            (#"{"a":}"#, "not JSON (unexpected byte 0x7d) at byte 5"),
            (#"{"a" 1}"#, "expected ':' after key 'a' at byte 5"),
            (#"{"\u0061b" 1}"#, "expected ':' after key 'ab' at byte 11"),
            ("[1,]", "not JSON (unexpected byte 0x5d) at byte 3"),
            ("[1 2]", "expected ',' or ']' at byte 3"),
            (#"{"a":1 "b"}"#, "expected ',' or '}' at byte 7"),
            ("01", "leading zero in number at byte 0"),
            ("1.", "invalid number (digit expected after '.') at byte 2"),
            ("1e", "invalid number (exponent) at byte 2"),
            ("-", "invalid number at byte 1"),
            ("tru", "unexpected end of payload at byte 0"),
            ("trux", "invalid literal at byte 0"),
            ("\"\u{01}\"", "control character in string at byte 1"),
            (#""\ud800""#, "unpaired surrogate in \\u escape at byte 7"),
            (#""\ud800\u0041""#, "invalid low surrogate at byte 13"),
            (#""\udc00""#, "invalid \\u escape at byte 7"),
            (#""\u12x4""#, "invalid hex digit in \\u escape at byte 5"),
            (#""\u12""#, "short \\u escape at byte 3"),
            (#""\u1"#, "short \\u escape at byte 3"),
            (#""abc"#, "unterminated string at byte 4"),
            (#""a\"#, "unterminated string at byte 3"),
            ("{} x", "unexpected data after the JSON value at byte 3"),
            ("[" + String(repeating: "[", count: 32), "nested deeper than 32 levels at byte 32"),
        ]
        for (text, error) in cases {
            if case .failure(let e) = MQTTPayloadParser.parse(bytes(text)) {
                #expect(e.description == error, "\(text.debugDescription)")
            } else {
                Issue.record("accepted \(text.debugDescription)")
            }
        }
        // Invalid UTF-8 is reported at the closing quote, or after it when the string had escapes.
        #expect(MQTTPayloadParser.parse([0x22, 0xFF, 0x22]) == .failure(MQTTPayloadSyntaxError(offset: 2, what: "string is not valid UTF-8")))
        #expect(MQTTPayloadParser.parse([0x22, 0xFF, 0x5C, 0x6E, 0x22]) == .failure(MQTTPayloadSyntaxError(offset: 5, what: "string is not valid UTF-8")))
    }
}
