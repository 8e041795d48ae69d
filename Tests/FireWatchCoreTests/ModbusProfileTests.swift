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

private func profile(_ text: String) throws(ConfigErrors) -> ModbusProfile {
    try ModbusProfile.load(source: JSON5Source(file: "test.json5", text: text))
}

private func errors(_ text: String) -> [ConfigError] {
    do {
        _ = try profile(text)
        return []
    } catch {
        return error.errors
    }
}

private func image(_ words: [Int: UInt16], table: ModbusProfile.Table = .holding) -> RegisterImage {
    var img = RegisterImage()
    for (a, v) in words { img.set(table, a, v) }
    return img
}

private func value(_ readings: [Reading], _ name: String) -> Reading.Value? {
    readings.first { $0.channel.name == name }?.value
}

@Suite("Modbus profiles")
struct ModbusProfileTests {
    @Test("the shipped profiles load and carry the documented channels")
    func shipped() throws {
        let all = try ModbusProfile.loadAll(directory: devicesDir)
        #expect(Set(all.keys).isSuperset(of: ["generic-1r4t", "acrel-aim-r100", "acrel-asj"]))
        let aim = try #require(all["acrel-aim-r100"])
        #expect(aim.measurements.count == 12)
        #expect(aim.states.count == 12)
        #expect(aim.setpointChannels.count == 12)
        #expect(aim.channels.contains(Channel(unchecked: "state.residual_current.12")))
        let r4t = try #require(all["generic-1r4t"])
        #expect(r4t.channels.contains(Channel(unchecked: "temperature.4")))
        #expect(r4t.passwordRegister?.address == 0x0030)
    }

    @Test("a file of another transport is skipped by loadAll")
    func skipsOtherTransports() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mbp-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{ transport: "mqtt", id: "x", topics: [] }"#.write(to: dir.appendingPathComponent("x.json5"), atomically: true, encoding: .utf8)
        try #"{ transport: "modbus", id: "y", channels: [{ channel: "residual_current.1", address: 0 }] }"#
            .write(to: dir.appendingPathComponent("y.json5"), atomically: true, encoding: .utf8)
        #expect(try Array(ModbusProfile.loadAll(directory: dir.path).keys) == ["y"])
    }

    @Test("1R4T: leakage raw × 0.1 mA, temperature raw / 10 − 50 °C, state codes per channel")
    func generic1r4t() throws {
        let p = try ModbusProfile.load(file: devicesDir + "/generic-1r4t.json5")
        let img = image([0x0000: 0x1388, 0x0001: 850, 0x0002: 1100, 0x0003: 0, 0x0004: 0,
                         0x0010: 1, 0x0011: 0, 0x0012: 4, 0x0013: 5, 0x0014: 0])
        let r = p.decode(img, device: "d1", time: 10)
        #expect(value(r, "residual_current.1") == .number(500))
        #expect(value(r, "temperature.1") == .number(35))
        #expect(value(r, "temperature.2") == .number(60))
        #expect(value(r, "state.residual_current.1") == .state(.alarm))
        #expect(value(r, "state.temperature.2") == .state(.alarm))
        #expect(value(r, "state.temperature.3") == .state(.faultOpen))
        // An open probe does not measure: its value is invalid, not −50 °C.
        #expect(value(r, "temperature.3") == .invalid)
        #expect(value(r, "temperature.4") == .number(-50))
        // Registers not read (voltage block missing) leave their channels out.
        #expect(value(r, "voltage.a") == nil)
        #expect(r.allSatisfy { $0.device == "d1" && $0.time == 10 })
    }

    @Test("AIM-R100: loop 1 is bits 1–0 of 0x000B, loop 4 bits 7–6, loops 5–12 in 0x000C")
    func aimBits() throws {
        let p = try ModbusProfile.load(file: devicesDir + "/acrel-aim-r100.json5")
        // loop1 = 01 short, loop2 = 00, loop3 = 11 overload, loop4 = 10 break; type bits 15–12 = 1.
        let w0B: UInt16 = 0x1000 | 0b10_11_00_01
        // loop5 = 10 break, loop12 (bits 15–14) = 11 overload.
        let w0C: UInt16 = 0b11 << 14 | 0b10
        var words: [Int: UInt16] = [0x000B: w0B, 0x000C: w0C]
        for i in 0..<12 { words[0x004A + i] = UInt16(100 + i) }
        words[0x004A + 5] = 0xFAFA  // loop 6 CT break by sentinel
        let r = p.decode(image(words), device: "aim", time: 0)
        #expect(value(r, "state.residual_current.1") == .state(.faultShort))
        #expect(value(r, "state.residual_current.2") == .state(.normal))
        #expect(value(r, "state.residual_current.3") == .state(.overload))
        #expect(value(r, "state.residual_current.4") == .state(.ctBreak))
        #expect(value(r, "state.residual_current.5") == .state(.ctBreak))
        #expect(value(r, "state.residual_current.12") == .state(.overload))
        #expect(value(r, "residual_current.2") == .number(101))
        #expect(value(r, "residual_current.6") == .invalid)
        #expect(value(r, "state.residual_current.6") == .state(.ctBreak))
        #expect(p.matchesIdentity(image(words)))
        #expect(!p.matchesIdentity(image([0x000B: 0x0000])))
    }

    @Test("ASJ: status bits 2..0 map to prealarm, alarm and CT break")
    func asj() throws {
        let p = try ModbusProfile.load(file: devicesDir + "/acrel-asj.json5")
        // 0x0000 and 0x001B are 26 unused registers apart, more than gap_fill 16.
        #expect(p.readPlan() == [ReadBlock(table: .holding, start: 0, count: 1), ReadBlock(table: .holding, start: 0x1B, count: 1)])
        for (code, state) in [(0, DetectorState.normal), (1, .prealarm), (2, .alarm), (4, .ctBreak)] {
            let r = p.decode(image([0x0000: 250, 0x001B: UInt16(code) | 0xFFF8]), device: "a", time: 0)
            #expect(value(r, "state.residual_current.1") == .state(state))
            #expect(value(r, "residual_current.1") == (state == .ctBreak ? .invalid : .number(250)))
        }
        var img = image([0x0008: 300])
        #expect(p.decodeSetpoints(img) == [Channel(unchecked: "residual_current.1"): 300])
        #expect(p.encodeSetpoint(Channel(unchecked: "residual_current.1"), 500, into: &img))
        #expect(img[.holding, 0x0008] == 500)
    }

    @Test("every type and word order decodes", arguments: ModbusProfile.WordOrder.allCases)
    func wordOrders(order: ModbusProfile.WordOrder) throws {
        let p = try profile("""
        { transport: "modbus", id: "t", channels: [
            { channel: "power", address: 0, type: "f32", order: "\(order.rawValue)" },
            { channel: "energy", address: 2, type: "u32", order: "\(order.rawValue)" },
            { channel: "current.1", address: 4, type: "i32", order: "\(order.rawValue)", scale: 0.01 },
            { channel: "current.2", address: 6, type: "i16" },
            { channel: "current.3", address: 7, type: "u16", scale: 0.5, offset: 1 },
        ] }
        """)
        // Big-endian bytes of each value, then laid out on the wire in `order`.
        func wire(_ v: UInt32) -> [UInt16] {
            let a = UInt16(v >> 24), b = UInt16((v >> 16) & 0xFF), c = UInt16((v >> 8) & 0xFF), d = UInt16(v & 0xFF)
            switch order {
            case .abcd: return [a << 8 | b, c << 8 | d]
            case .cdab: return [c << 8 | d, a << 8 | b]
            case .badc: return [b << 8 | a, d << 8 | c]
            case .dcba: return [d << 8 | c, b << 8 | a]
            }
        }
        var img = RegisterImage()
        img.store(ReadBlock(table: .holding, start: 0, count: 2), values: wire(Float(123.5).bitPattern))
        img.store(ReadBlock(table: .holding, start: 2, count: 2), values: wire(3_000_000_123))
        img.store(ReadBlock(table: .holding, start: 4, count: 2), values: wire(UInt32(bitPattern: -123_456)))
        img.store(ReadBlock(table: .holding, start: 6, count: 2), values: [UInt16(bitPattern: -42), 9])
        let r = p.decode(img, device: "d", time: 0)
        #expect(value(r, "power") == .number(123.5))
        #expect(value(r, "energy") == .number(3_000_000_123))
        #expect(value(r, "current.1") == .number(-1234.56))
        #expect(value(r, "current.2") == .number(-42))
        #expect(value(r, "current.3") == .number(5.5))
        // Encoding is the inverse.
        var back = RegisterImage()
        for c in ["power", "energy", "current.1", "current.2", "current.3"] {
            let v = try #require(value(r, c))
            #expect(p.encode(Channel(unchecked: c), v, into: &back))
        }
        #expect(p.decode(back, device: "d", time: 0) == r)
    }

    @Test("read planning joins near registers, splits at the gap and at the device maximum")
    func readPlan() throws {
        let p = try profile("""
        { transport: "modbus", id: "t", timing: { max_registers_per_read: 10 }, channels: [
            { channel: "temperature.{n}", count: 4, address: 0 },
            { channel: "temperature.5", address: 6 },
            { channel: "temperature.6", address: 20, type: "u32" },
            { channel: "temperature.7", address: 3, table: "input" },
        ] }
        """)
        #expect(p.readPlan(maxGap: 0) == [ReadBlock(table: .holding, start: 0, count: 4), ReadBlock(table: .holding, start: 6, count: 1),
                                          ReadBlock(table: .holding, start: 20, count: 2), ReadBlock(table: .input, start: 3, count: 1)])
        #expect(p.readPlan(maxGap: 2) == [ReadBlock(table: .holding, start: 0, count: 7),
                                          ReadBlock(table: .holding, start: 20, count: 2), ReadBlock(table: .input, start: 3, count: 1)])
        // 0…21 would be 22 registers, over this device's 10.
        #expect(p.readPlan(maxGap: 50).count == 3)
        let aim = try ModbusProfile.load(file: devicesDir + "/acrel-aim-r100.json5")
        #expect(aim.readPlan() == [ReadBlock(table: .holding, start: 0x000B, count: 2), ReadBlock(table: .holding, start: 0x004A, count: 12)])
        #expect(aim.readPlan(maxGap: 100) == [ReadBlock(table: .holding, start: 0x000B, count: 0x55 - 0x0B + 1)])
        #expect(aim.readPlan(scope: .setpoints) == [ReadBlock(table: .holding, start: 0x0056, count: 12)])
        // The protocol's 125-register limit holds whatever the profile says.
        let wide = try profile("""
        { transport: "modbus", id: "w", channels: [
            { channel: "temperature.1", address: 0 }, { channel: "temperature.2", address: 200 } ] }
        """)
        #expect(wide.readPlan(maxGap: 500).count == 2)
    }

    @Test("profile errors name the line: overlap, unknown type, out-of-range address, channel outside the vocabulary")
    func checkErrors() {
        let text = """
        { transport: "modbus", id: "bad", channels: [
            { channel: "temperature.1", address: 0 },
            { channel: "temperature.2", address: 0 },
            { channel: "temperature.3", address: 1, type: "u24" },
            { channel: "temperature.4", address: 70000 },
            { channel: "leak.1", address: 5 },
        ] }
        """
        let e = errors(text)
        #expect(e.contains { $0.line == 3 && $0.message.contains("overlaps") })
        #expect(e.contains { $0.line == 4 && $0.message.contains("unknown type 'u24'") })
        #expect(e.contains { $0.line == 5 && $0.message.contains("outside 0–65535") })
        #expect(e.contains { $0.line == 6 && $0.message.contains("not a canonical channel") })
        #expect(e.allSatisfy { $0.file == "test.json5" })
    }

    @Test("bit fields may share a register, overlapping bits may not; unknown fields and states are errors")
    func bitOverlap() {
        #expect(errors("""
        { transport: "modbus", id: "b", states: [
            { channel: "state.residual_current.1", address: 1, bits: [1, 0], codes: { "0": "normal" } },
            { channel: "state.residual_current.2", address: 1, bits: [3, 2], codes: { "0": "normal" } },
        ] }
        """).isEmpty)
        let e = errors("""
        { transport: "modbus", id: "b", states: [
            { channel: "state.residual_current.1", address: 1, bits: [1, 0], codes: { "0": "normal" } },
            { channel: "state.residual_current.2", address: 1, bits: [2, 1], codes: { "0": "norml" } },
        ], colour: "red" }
        """)
        #expect(e.contains { $0.line == 3 && $0.message.contains("overlaps") })
        #expect(e.contains { $0.line == 3 && $0.message.contains("unknown state 'norml'") })
        #expect(e.contains { $0.message.contains("unknown field 'colour'") })
    }

    // Foundation's JSON5 parser reports no position for syntax errors on this toolchain: file only.
    @Test("a syntax error is one error naming the file")
    func syntax() {
        let e = errors("{ transport: \"modbus\",\n id: \"x\",\n channels: [ { channel: } ] }")
        #expect(e.count == 1)
        #expect(e.first?.file == "test.json5")
    }

    @Test("a generic profile is parameterised in one string")
    func generic() throws {
        let p = try ModbusProfile.generic(parameters:
            "generic:residual_current.1=0x0000*0.1;temperature.1-4=0x0001*0.1-50;power=input:0x10/f32/CDAB;"
            + "state.temperature.1=0x0011@0:normal,5:fault_open;set.residual_current.1=0x0020*0.1;period=2;timeout=1.5")
        #expect(p.timing.pollPeriod == 2)
        #expect(p.timing.responseTimeout == 1.5)
        #expect(p.measurements.count == 6)
        #expect(p.measurements[4].register == .init(table: .holding, address: 4))
        #expect(p.measurements[5].register == .init(table: .input, address: 0x10, type: .f32, order: .cdab))
        let r = p.decode(image([0: 3000, 1: 600, 0x11: 0]), device: "g", time: 0)
        #expect(value(r, "residual_current.1") == .number(300))
        #expect(value(r, "temperature.1") == .number(10))
        #expect(value(r, "state.temperature.1") == .state(.normal))
        #expect(p.setpointChannels == [Channel(unchecked: "residual_current.1")])
        #expect(throws: ConfigErrors.self) { try ModbusProfile.generic(parameters: "generic:temperature.1=0x0000/u17") }
        #expect(throws: ConfigErrors.self) { try ModbusProfile.generic(parameters: "generic:leak=0") }
        #expect(try ModbusProfile.resolve("generic:temperature.1=3", in: [:]).measurements.count == 1)
        #expect(throws: ConfigErrors.self) { try ModbusProfile.resolve("nope", in: [:]) }
    }

    @Test("a state encoded into registers decodes back, through a code or a sentinel")
    func encodeStates() throws {
        let p = try ModbusProfile.load(file: devicesDir + "/acrel-aim-r100.json5")
        var img = RegisterImage()
        p.encodeIdentity(into: &img)
        #expect(p.encode(Channel(unchecked: "state.residual_current.4"), .state(.ctBreak), into: &img))
        #expect(p.encode(Channel(unchecked: "state.residual_current.1"), .state(.overload), into: &img))
        let expected: UInt16 = 0x1000 | 0b10_00_00_11
        #expect(img[.holding, 0x000B] == expected)
        #expect(p.matchesIdentity(img))
    }
}
