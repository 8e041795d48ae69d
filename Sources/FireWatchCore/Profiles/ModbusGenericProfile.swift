import Foundation

extension ModbusProfile {
    /// The profile id a device registration names to use its profile parameters as a generic profile.
    public static let genericID = "generic-modbus"

    /// The generic profile from a device registration's parameters: each key is an entry's left side,
    /// each value its right side (`["temperature.1-4": "0x0001*0.1-50", "period": "5"]`).
    public static func generic(parameters: [String: String]) throws(ConfigErrors) -> ModbusProfile {
        try generic(parameters: "generic:" + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";"))
    }

    /// A profile a technician writes on the command line or into a device registration's profile field
    /// instead of a file: `generic:` then `;`-separated entries (documented in docs/modbus-profiles.md):
    ///
    ///     generic:residual_current.1=0x0000*0.1;temperature.1-4=0x0001*0.1-50;set.residual_current.1=0x0020*0.1;period=5
    ///
    /// - `CHANNEL=[TABLE:]ADDRESS[/TYPE[/ORDER]][*SCALE][+OFFSET|-OFFSET]`: a measured channel;
    ///   `temperature.1-4` maps four consecutive values. TABLE is holding (default), input, coils or
    ///   discrete_inputs; TYPE u16 (default), i16, u32, i32, f32; ORDER ABCD (default), CDAB, BADC, DCBA.
    /// - `state.CHANNEL=ADDRESS@CODE:STATE,CODE:STATE,...`: a state register (`@0:normal,1:alarm,5:fault_open`).
    /// - `set.CHANNEL=ADDRESS*SCALE`: a readable set-value register.
    /// - `period=S`, `timeout=S`, `byte_timeout=S`, `max_read=N`, `gap=N`: timing.
    public static func generic(parameters text: String) throws(ConfigErrors) -> ModbusProfile {
        let file = text
        var errors: [ConfigError] = []
        func fail(_ field: String, _ message: String, _ hint: String? = nil) {
            errors.append(ConfigError(file: "profile", field: field, message: message,
                                      hint: hint ?? "form: generic:residual_current.1=0x0000*0.1;temperature.1-4=0x0001*0.1-50"))
        }
        guard text.hasPrefix("generic:") else {
            throw ConfigErrors([ConfigError(file: "profile", message: "a generic profile starts with generic:")])
        }
        var channels: [JSONValue] = [], states: [JSONValue] = [], setpoints: [JSONValue] = []
        var timing: [String: JSONValue] = [:]
        let timingNames = ["period": "poll_period", "timeout": "response_timeout", "byte_timeout": "byte_timeout",
                           "max_read": "max_registers_per_read", "gap": "gap_fill", "turnaround": "turnaround"]
        for part in text.dropFirst("generic:".count).split(separator: ";") {
            let entry = part.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            guard let eq = entry.firstIndex(of: "=") else {
                fail(entry, "entry '\(entry)' has no '='")
                continue
            }
            let key = String(entry[..<eq]), value = String(entry[entry.index(after: eq)...])
            if let t = timingNames[key] {
                guard let n = Double(value) else { fail(key, "\(key) must be a number"); continue }
                timing[t] = .number(n)
                continue
            }
            var kind = "channel", name = key
            if name.hasPrefix("set.") { kind = "set"; name = String(name.dropFirst(4)) }
            else if name.hasPrefix("state.") { kind = "state" }
            var object: [String: JSONValue] = [:]
            // Range suffix: temperature.1-4
            if let dot = name.lastIndex(of: "."), let dash = name[dot...].firstIndex(of: "-"),
               let lo = Int(name[name.index(after: dot)..<dash]), let hi = Int(name[name.index(after: dash)...]) {
                guard hi >= lo else { fail(key, "range \(lo)-\(hi) runs backwards"); continue }
                object["first"] = .number(Double(lo))
                object["count"] = .number(Double(hi - lo + 1))
                name = String(name[...dot]) + "{n}"
            }
            object["channel"] = .string(name)
            var rest = Substring(value)
            if kind == "state" {
                guard let at = rest.firstIndex(of: "@") else {
                    fail(key, "a state entry needs codes: ADDRESS@0:normal,1:alarm")
                    continue
                }
                var codes: [String: JSONValue] = [:]
                for pair in rest[rest.index(after: at)...].split(separator: ",") {
                    let kv = pair.split(separator: ":", maxSplits: 1)
                    guard kv.count == 2 else { fail(key, "code '\(pair)' is not CODE:STATE"); continue }
                    codes[String(kv[0])] = .string(String(kv[1]))
                }
                object["codes"] = .object(codes)
                rest = rest[..<at]
            }
            // Offset: the last + or - that is not at the start (and not inside 0x…).
            if let sign = rest.lastIndex(where: { $0 == "+" || $0 == "-" }), sign != rest.startIndex {
                guard let off = Double(rest[rest.index(after: sign)...]) else { fail(key, "offset in '\(value)' is not a number"); continue }
                object["offset"] = .number(rest[sign] == "-" ? -off : off)
                rest = rest[..<sign]
            }
            if let star = rest.firstIndex(of: "*") {
                guard let scale = Double(rest[rest.index(after: star)...]) else { fail(key, "scale in '\(value)' is not a number"); continue }
                object["scale"] = .number(scale)
                rest = rest[..<star]
            }
            if let colon = rest.firstIndex(of: ":") {
                object["table"] = .string(String(rest[..<colon]))
                rest = rest[rest.index(after: colon)...]
            }
            let pieces = rest.split(separator: "/")
            guard let first = pieces.first else { fail(key, "missing address in '\(value)'"); continue }
            object["address"] = .string(String(first))
            if pieces.count > 1 { object["type"] = .string(String(pieces[1])) }
            if pieces.count > 2 { object["order"] = .string(String(pieces[2])) }
            switch kind {
            case "set": setpoints.append(.object(object))
            case "state": states.append(.object(object))
            default: channels.append(.object(object))
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        let tree = JSONValue.object([
            "transport": .string("modbus"), "id": .string(text), "name": .string("generic Modbus detector"),
            "timing": .object(timing), "channels": .array(channels), "states": .array(states),
            "setpoints": .array(setpoints),
        ])
        var reader = ModbusProfileReader(source: JSON5Source(file: "profile", text: ""))
        var profile = reader.read(tree)
        if !reader.errors.isEmpty {
            throw ConfigErrors(reader.errors.map { e in
                var e = e
                e.line = nil
                return e
            })
        }
        profile.file = file
        return profile
    }
}
