import Foundation

extension ModbusProfile {
    /// Loads and validates one profile file. Every problem found is reported, with file:line.
    public static func load(file: String) throws(ConfigErrors) -> ModbusProfile {
        let source: JSON5Source
        do { source = try JSON5Source(file: file) } catch { throw ConfigErrors([error]) }
        return try load(source: source)
    }

    /// Loads a profile from text (tests, embedded defaults).
    public static func load(source: JSON5Source) throws(ConfigErrors) -> ModbusProfile {
        let tree: JSONValue
        do { tree = try source.tree() } catch { throw ConfigErrors([error]) }
        var reader = ModbusProfileReader(source: source)
        let profile = reader.read(tree)
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return profile
    }

    /// Whether a parsed file declares `transport: "modbus"` (files of other transports are skipped).
    static func isModbus(_ tree: JSONValue) -> Bool { tree["transport"]?.string == "modbus" }

    /// Loads every `*.json5` profile in `directory` whose `transport` is `"modbus"`, keyed by id.
    /// Errors of all files are collected; duplicate ids are an error.
    public static func loadAll(directory: String) throws(ConfigErrors) -> [String: ModbusProfile] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw ConfigErrors([ConfigError(file: directory, message: "cannot list directory",
                                            hint: "give the folder holding the *.json5 profiles")])
        }
        var out: [String: ModbusProfile] = [:]
        var errors: [ConfigError] = []
        for name in names.sorted() where name.hasSuffix(".json5") {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                let source = try JSON5Source(file: path)
                let tree = try source.tree()
                guard isModbus(tree) else { continue }
                var reader = ModbusProfileReader(source: source)
                let profile = reader.read(tree)
                if !reader.errors.isEmpty { errors += reader.errors; continue }
                if let other = out[profile.id] {
                    errors.append(ConfigError(file: path, line: source.line(ofKey: "id"),
                                              message: "profile id '\(profile.id)' is also used by \(other.file)",
                                              hint: "give every profile its own id"))
                    continue
                }
                out[profile.id] = profile
            } catch {
                errors.append(error)
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return out
    }

    /// Finds a profile by id: a file profile from `library`, a `generic:` parameter string, or
    /// `generic-modbus` with the device registration's profile parameters (`ModbusProfile.generic(parameters:)`).
    public static func resolve(_ id: String, parameters: [String: String]? = nil,
                               in library: [String: ModbusProfile]) throws(ConfigErrors) -> ModbusProfile {
        if id.hasPrefix("generic:") { return try generic(parameters: id) }
        if id == genericID {
            guard let parameters, !parameters.isEmpty else {
                throw ConfigErrors([ConfigError(file: "profile", field: id, message: "\(genericID) needs profile parameters",
                                                hint: "e.g. params: { \"residual_current.1\": \"0x0000*0.1\", \"temperature.1-4\": \"0x0001*0.1-50\" }")])
            }
            return try generic(parameters: parameters)
        }
        guard let p = library[id] else {
            let known = library.keys.sorted().joined(separator: ", ")
            throw ConfigErrors([ConfigError(file: "profile", field: id, message: "no Modbus profile '\(id)'",
                                            hint: "known: \(known.isEmpty ? "none" : known), or generic:...")])
        }
        return p
    }
}

/// Walks a parsed profile tree, collecting every error with its line.
struct ModbusProfileReader {
    let source: JSON5Source
    var errors: [ConfigError] = []
    private var occurrences: [String: Int] = [:]

    init(source: JSON5Source) { self.source = source }

    static let topKeys: Set<String> = ["transport", "id", "name", "manufacturer", "model", "source", "notes",
                                       "timing", "defaults", "channels", "states", "setpoints", "password", "identity"]
    static let entryKeys: Set<String> = ["channel", "table", "address", "type", "order", "bits", "scale", "offset",
                                         "sentinels", "codes", "count", "first", "stride", "bit_stride",
                                         "writable", "range", "equals", "note"]
    static let timingKeys: Set<String> = ["poll_period", "response_timeout", "byte_timeout", "max_registers_per_read",
                                          "turnaround", "gap_fill"]

    mutating func error(_ line: Int?, _ field: String?, _ message: String, _ hint: String? = nil) {
        errors.append(ConfigError(file: source.file, line: line, field: field, message: message, hint: hint))
    }

    /// Line of the n-th (0-based) occurrence of `key:` after line `after`, counting every key on a line.
    func line(ofOccurrence n: Int, of key: String, after: Int) -> Int? {
        var seen = 0
        let patterns = ["\(key):", "\"\(key)\":", "'\(key)':", "\(key) :", "\"\(key)\" :"]
        for (i, raw) in source.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where i + 1 > after {
            var line = Substring(raw)
            if let c = line.range(of: "//") { line = line[..<c.lowerBound] }
            var rest = line
            while let r = patterns.compactMap({ p in rest.range(of: p).map { (p, $0) } }).min(by: { $0.1.lowerBound < $1.1.lowerBound }) {
                // A match must start a key, not end a longer identifier (bit_stride vs stride).
                let before = r.1.lowerBound == line.startIndex ? nil : line[line.index(before: r.1.lowerBound)]
                if before == nil || !(before!.isLetter || before!.isNumber || before! == "_") {
                    if seen == n { return i + 1 }
                    seen += 1
                }
                rest = rest[r.1.upperBound...]
            }
        }
        return nil
    }

    mutating func read(_ tree: JSONValue) -> ModbusProfile {
        guard let top = tree.object else {
            error(1, nil, "a profile is one object { transport: \"modbus\", id: ..., channels: [...] }")
            return ModbusProfile(id: "", file: source.file)
        }
        for key in top.keys where !Self.topKeys.contains(key) {
            error(source.line(ofKey: key), key, "unknown field '\(key)'", "expected one of \(Self.topKeys.sorted().joined(separator: ", "))")
        }
        if top["transport"]?.string != "modbus" {
            error(source.line(ofKey: "transport"), "transport", "transport must be \"modbus\" for a Modbus profile")
        }
        let fallbackID = ((source.file as NSString).lastPathComponent as NSString).deletingPathExtension
        var profile = ModbusProfile(id: top["id"]?.string ?? fallbackID, name: top["name"]?.string ?? "",
                                    manufacturer: top["manufacturer"]?.string ?? "", model: top["model"]?.string ?? "",
                                    file: source.file)
        if top["id"] != nil, top["id"]?.string?.isEmpty ?? true {
            error(source.line(ofKey: "id"), "id", "id must be a non-empty string")
        }
        if let t = top["timing"] { profile.timing = readTiming(t) }
        let defaults = top["defaults"]?.object ?? [:]
        let src = source
        let sectionLine = { (key: String) in src.line(ofKey: key) ?? 1 }

        for (i, e) in (top["channels"]?.array ?? []).enumerated() {
            let line = self.line(ofOccurrence: i, of: "channel", after: sectionLine("channels"))
            for (name, register, object) in expand(e, defaults: defaults, field: "channels[\(i)]", line: line) {
                guard let channel = channel(name, field: "channels[\(i)].channel", line: line) else { continue }
                if channel.isState || channel.quantity == .device {
                    error(line, "channels[\(i)].channel", "'\(name)' is not a measured channel",
                          "state.* channels go under states: [...]")
                    continue
                }
                let scale = number(object["scale"], default: 1, field: "channels[\(i)].scale", line: line)
                if scale == 0 { error(line, "channels[\(i)].scale", "scale must not be 0") }
                profile.measurements.append(.init(
                    channel: channel, register: register, scale: scale,
                    offset: number(object["offset"], default: 0, field: "channels[\(i)].offset", line: line),
                    sentinels: sentinels(object["sentinels"], field: "channels[\(i)].sentinels", line: line), line: line))
            }
        }
        for (i, e) in (top["states"]?.array ?? []).enumerated() {
            let line = self.line(ofOccurrence: i, of: "channel", after: sectionLine("states"))
            for (name, register, object) in expand(e, defaults: defaults, field: "states[\(i)]", line: line) {
                guard let channel = channel(name, field: "states[\(i)].channel", line: line) else { continue }
                guard channel.isState else {
                    error(line, "states[\(i)].channel", "'\(name)' is not a state channel", "write state.\(name)")
                    continue
                }
                let codes = self.codes(object["codes"], field: "states[\(i)].codes", line: line)
                if codes.isEmpty { error(line, "states[\(i)].codes", "a state register needs codes: { \"0\": \"normal\", ... }") }
                profile.states.append(.init(channel: channel, register: register, codes: codes, line: line))
            }
        }
        for (i, e) in (top["setpoints"]?.array ?? []).enumerated() {
            let line = self.line(ofOccurrence: i, of: "channel", after: sectionLine("setpoints"))
            for (name, register, object) in expand(e, defaults: defaults, field: "setpoints[\(i)]", line: line) {
                guard let channel = channel(name, field: "setpoints[\(i)].channel", line: line) else { continue }
                if channel.isState { error(line, "setpoints[\(i)].channel", "a set value belongs to a measured channel, not '\(name)'") }
                var range: ClosedRange<Double>?
                if let r = object["range"] {
                    if let a = r.array, a.count == 2, let lo = a[0].number, let hi = a[1].number, lo <= hi { range = lo...hi }
                    else { error(line, "setpoints[\(i)].range", "range must be [low, high]") }
                }
                let scale = number(object["scale"], default: 1, field: "setpoints[\(i)].scale", line: line)
                if scale == 0 { error(line, "setpoints[\(i)].scale", "scale must not be 0") }
                if object["writable"]?.bool == true && !register.table.isWritable {
                    error(line, "setpoints[\(i)].writable", "\(register.table.rawValue) cannot be written", "use holding or coils")
                }
                profile.setpoints.append(.init(
                    channel: channel, register: register, scale: scale,
                    offset: number(object["offset"], default: 0, field: "setpoints[\(i)].offset", line: line),
                    writable: object["writable"]?.bool ?? false, range: range, line: line))
            }
        }
        if let p = top["password"] {
            let line = source.line(ofKey: "password")
            if let r = register(p.object ?? [:], defaults: defaults, field: "password", line: line) {
                profile.passwordRegister = r
            }
        }
        for (i, e) in (top["identity"]?.array ?? []).enumerated() {
            let line = self.line(ofOccurrence: i, of: "equals", after: sectionLine("identity"))
            guard let o = e.object, let r = register(o, defaults: defaults, field: "identity[\(i)]", line: line) else { continue }
            guard let v = integer(o["equals"]), v >= 0, v <= 0xFFFF_FFFF else {
                error(line, "identity[\(i)].equals", "identity needs equals: the value this model holds there")
                continue
            }
            profile.identity.append(.init(register: r, equals: UInt32(v), line: line))
        }
        if profile.measurements.isEmpty && profile.states.isEmpty {
            error(source.line(ofKey: "channels"), "channels", "the profile maps no channel",
                  "add channels: [{ channel: \"residual_current.1\", address: 0, type: \"u16\" }]")
        }
        checkOverlaps(profile)
        return profile
    }

    mutating func readTiming(_ t: JSONValue) -> ModbusProfile.Timing {
        var timing = ModbusProfile.Timing()
        let line = source.line(ofKey: "timing")
        guard let o = t.object else {
            error(line, "timing", "timing must be an object { poll_period: 5, ... }")
            return timing
        }
        for key in o.keys where !Self.timingKeys.contains(key) {
            error(source.line(ofKey: key, afterLine: line ?? 1), "timing.\(key)", "unknown timing field '\(key)'",
                  "expected one of \(Self.timingKeys.sorted().joined(separator: ", "))")
        }
        func seconds(_ key: String, _ current: Double) -> Double {
            guard let v = o[key] else { return current }
            guard let n = v.number, n >= 0, n < 3600 else {
                error(source.line(ofKey: key, afterLine: line ?? 1), "timing.\(key)", "\(key) must be seconds (0–3600)")
                return current
            }
            return n
        }
        timing.pollPeriod = seconds("poll_period", timing.pollPeriod)
        timing.responseTimeout = seconds("response_timeout", timing.responseTimeout)
        timing.byteTimeout = seconds("byte_timeout", timing.byteTimeout)
        timing.turnaround = seconds("turnaround", timing.turnaround)
        if timing.pollPeriod <= 0 { error(line, "timing.poll_period", "poll_period must be above 0") }
        if timing.responseTimeout <= 0 { error(line, "timing.response_timeout", "response_timeout must be above 0") }
        if let v = o["max_registers_per_read"] {
            if let n = integer(v), (1...125).contains(n) { timing.maxRegistersPerRead = n }
            else { error(source.line(ofKey: "max_registers_per_read"), "timing.max_registers_per_read", "must be 1–125 (FC03/04 limit)") }
        }
        if let v = o["gap_fill"] {
            if let n = integer(v), (0...124).contains(n) { timing.gapFill = n }
            else { error(source.line(ofKey: "gap_fill"), "timing.gap_fill", "must be 0–124 registers") }
        }
        return timing
    }

    /// An entry, expanded by `count` into consecutive channels: `{n}` in the channel name is replaced by
    /// first, first+1, ...; the address advances by `stride` (default: the type's width), or with `bits`
    /// the bit field advances by `bit_stride` inside the register.
    mutating func expand(_ e: JSONValue, defaults: [String: JSONValue], field: String, line: Int?)
        -> [(String, ModbusProfile.Register, [String: JSONValue])] {
        guard let o = e.object else {
            error(line, field, "an entry is an object { channel: ..., address: ... }")
            return []
        }
        for key in o.keys where !Self.entryKeys.contains(key) {
            error(line, "\(field).\(key)", "unknown field '\(key)'", "expected one of \(Self.entryKeys.sorted().joined(separator: ", "))")
        }
        guard let name = o["channel"]?.string else {
            error(line, "\(field).channel", "missing channel name")
            return []
        }
        guard let base = register(o, defaults: defaults, field: field, line: line) else {
            // Still report a bad channel name in the same pass.
            _ = channel(name.replacingOccurrences(of: "{n}", with: "1"), field: "\(field).channel", line: line)
            return []
        }
        let count = integer(o["count"]) ?? 1
        guard count >= 1, count <= 64 else {
            error(line, "\(field).count", "count must be 1–64")
            return []
        }
        if count > 1 && !name.contains("{n}") {
            error(line, "\(field).channel", "with count > 1 the channel name needs {n}, e.g. residual_current.{n}")
            return []
        }
        let first = integer(o["first"]) ?? 1
        let stride = integer(o["stride"]) ?? base.count
        let bitStride = integer(o["bit_stride"]) ?? (base.bits.map { $0.high - $0.low + 1 } ?? 0)
        var out: [(String, ModbusProfile.Register, [String: JSONValue])] = []
        for k in 0..<count {
            var r = base
            if let bits = base.bits {
                r.bits = .init(high: bits.high + k * bitStride, low: bits.low + k * bitStride)
                if r.bits!.high > 15 {
                    error(line, "\(field).bits", "entry \(k + 1) of \(count) runs past bit 15", "check count and bit_stride")
                    break
                }
            } else {
                r.address = base.address + k * stride
                if r.lastAddress > 0xFFFF {
                    error(line, "\(field).address", "entry \(k + 1) of \(count) runs past address 0xFFFF")
                    break
                }
            }
            out.append((name.replacingOccurrences(of: "{n}", with: String(first + k)), r, o))
        }
        return out
    }

    mutating func register(_ o: [String: JSONValue], defaults: [String: JSONValue], field: String, line: Int?) -> ModbusProfile.Register? {
        var ok = true
        let tableText = o["table"]?.string ?? defaults["table"]?.string ?? "holding"
        let table = ModbusProfile.Table(text: tableText)
        if table == nil {
            error(line, "\(field).table", "unknown table '\(tableText)'", "use holding, input, coils or discrete_inputs")
            ok = false
        }
        let typeText = o["type"]?.string ?? defaults["type"]?.string ?? ((table?.isBits ?? false) ? "bit" : "u16")
        let type = ModbusProfile.ValueType(rawValue: typeText.lowercased())
        if type == nil {
            error(line, "\(field).type", "unknown type '\(typeText)'", "use u16, i16, u32, i32, f32 (or bit for coils)")
            ok = false
        }
        let orderText = o["order"]?.string ?? defaults["order"]?.string ?? "ABCD"
        let order = ModbusProfile.WordOrder(text: orderText)
        if order == nil {
            error(line, "\(field).order", "unknown word order '\(orderText)'", "use ABCD, CDAB, BADC or DCBA")
            ok = false
        }
        guard let address = integer(o["address"]) else {
            error(line, "\(field).address", "missing or non-integer address", "e.g. address: 0x004A")
            return nil
        }
        if address < 0 || address > 0xFFFF {
            error(line, "\(field).address", "address \(address) is outside 0–65535 (0x0000–0xFFFF)")
            ok = false
        }
        if let table, let type {
            if table.isBits != (type == .bit) {
                error(line, "\(field).type", table.isBits ? "\(table.rawValue) carry bits: use type bit" : "type bit needs table coils or discrete_inputs")
                ok = false
            }
            if address + type.width - 1 > 0xFFFF {
                error(line, "\(field).address", "\(type.rawValue) at \(address) runs past 0xFFFF")
                ok = false
            }
        }
        var bits: ModbusProfile.BitField?
        if let b = o["bits"] {
            if let a = b.array, a.count == 2, let hi = integer(a[0]), let lo = integer(a[1]), (0...15).contains(hi), (0...15).contains(lo) {
                bits = .init(high: hi, low: lo)
            } else if let one = integer(b), (0...15).contains(one) {
                bits = .init(high: one, low: one)
            } else {
                error(line, "\(field).bits", "bits must be [high, low] within 15–0, e.g. bits: [7, 6]")
                ok = false
            }
            if let type, type.width != 1 || type == .bit {
                error(line, "\(field).bits", "bit fields are taken from one 16-bit register (type u16)")
                ok = false
            }
        }
        guard ok, let table, let type, let order else { return nil }
        return .init(table: table, address: address, type: type, order: order, bits: bits)
    }

    mutating func channel(_ name: String, field: String, line: Int?) -> Channel? {
        do { return try Channel(name) } catch {
            self.error(line, field, error.description)
            return nil
        }
    }

    mutating func number(_ v: JSONValue?, default d: Double, field: String, line: Int?) -> Double {
        guard let v else { return d }
        guard let n = v.number else {
            error(line, field, "must be a number")
            return d
        }
        return n
    }

    /// An integer from a number or a string ("0x004A", "74").
    func integer(_ v: JSONValue?) -> Int? {
        switch v {
        case .number(let n)?: return n.rounded() == n && abs(n) < 1e12 ? Int(n) : nil
        case .string(let s)?: return Self.parseInteger(s)
        default: return nil
        }
    }

    static func parseInteger(_ text: String) -> Int? {
        let s = text.trimmingCharacters(in: .whitespaces).lowercased()
        if s.hasPrefix("0x") { return Int(s.dropFirst(2), radix: 16) }
        if s.hasPrefix("0b") { return Int(s.dropFirst(2), radix: 2) }
        return Int(s)
    }

    mutating func state(_ text: String?, field: String, line: Int?) -> DetectorState? {
        guard let text, let s = DetectorState(rawValue: text) else {
            error(line, field, "unknown state '\(text ?? "?")'",
                  "use one of \(DetectorState.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return s
    }

    mutating func codes(_ v: JSONValue?, field: String, line: Int?) -> [Int: DetectorState] {
        guard let v else { return [:] }
        guard let o = v.object else {
            error(line, field, "codes must be an object { \"0\": \"normal\", \"1\": \"alarm\" }")
            return [:]
        }
        var out: [Int: DetectorState] = [:]
        for (k, s) in o {
            guard let code = Self.parseInteger(k) else {
                error(line, "\(field).\(k)", "code '\(k)' is not an integer")
                continue
            }
            if let state = state(s.string, field: "\(field).\(k)", line: line) { out[code] = state }
        }
        return out
    }

    mutating func sentinels(_ v: JSONValue?, field: String, line: Int?) -> [UInt32: DetectorState?] {
        guard let v else { return [:] }
        guard let o = v.object else {
            error(line, field, "sentinels must be an object { \"0xFAFA\": \"ct_break\" } (null: invalid without a state)")
            return [:]
        }
        var out: [UInt32: DetectorState?] = [:]
        for (k, s) in o {
            guard let raw = Self.parseInteger(k), raw >= 0, raw <= 0xFFFF_FFFF else {
                error(line, "\(field).\(k)", "sentinel '\(k)' is not a raw register value")
                continue
            }
            if s == .null { out[UInt32(raw)] = .some(nil); continue }
            if let state = state(s.string, field: "\(field).\(k)", line: line) { out[UInt32(raw)] = state }
        }
        return out
    }

    /// Two entries may share a register only through disjoint bit fields; identity registers may overlap anything.
    mutating func checkOverlaps(_ profile: ModbusProfile) {
        let regs = profile.allRegisters
        var seenChannels: [String: Int?] = [:]
        for r in regs where r.role != "password" {
            let key = "\(r.role):\(r.channel)"
            if let first = seenChannels[key] {
                error(r.line, r.channel, "\(r.role) '\(r.channel)' is mapped twice (first at line \(first.map(String.init) ?? "?"))")
            } else {
                seenChannels[key] = r.line
            }
        }
        for i in regs.indices {
            for j in regs.indices where j > i {
                let a = regs[i], b = regs[j]
                guard a.register.table == b.register.table,
                      a.register.address <= b.register.lastAddress, b.register.address <= a.register.lastAddress else { continue }
                if let x = a.register.bits, let y = b.register.bits, a.register.address == b.register.address,
                   a.register.count == 1, b.register.count == 1, !x.overlaps(y) { continue }
                error(b.line ?? a.line, b.channel,
                      "\(b.role) '\(b.channel)' at \(b.register.table.rawValue) 0x\(hex4(b.register.address)) overlaps \(a.role) '\(a.channel)' (line \(a.line.map(String.init) ?? "?"))",
                      "give each value its own register, or disjoint bits: [high, low]")
            }
        }
    }
}
