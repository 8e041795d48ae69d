import Foundation

/// The `Devices/*.json5` format of an MQTT profile (`transport: "mqtt"`). Modbus profiles share the
/// folder and are skipped here; the profile library combines both loaders.
///
/// ```json5
/// {
///   transport: "mqtt", id: "json-4g-detector", description: "...",
///   topic: "4g/+/data",              // MQTT levels; `{device}` captures the device id from a level
///   deviceField: "serialNo",         // or the device id from the payload
///   maxPayloadBytes: 4096, maxFutureSeconds: 600, maxPastSeconds: 604800,   // optional limits
///   time: { field: "collectTime", format: "local", timeZone: "Asia/Shanghai" }, // auto|epoch_s|epoch_ms|local
///   require: { method: "thing.event.property.post" },   // exact values a message must carry
///   values: [ { field: "residualCurrent", channel: "residual_current.1", scale: 1, offset: 0 } ],
///   states: [ { field: "alarm", bits: { "0": "state.residual_current.1" }, set: "alarm" },
///             { field: "st", codes: { "0": { "state.temperature.1": "normal" } } } ],
///   event:  { field: "eventType", codes: { "1": [ { channel: "state.residual_current.1", state: "alarm" },
///                                                 { channel: "residual_current.1", field: "value" } ],
///                                          "4": [ { channel: "device.online", value: 0 } ] } },
///   parameterised: true,             // field mapping given per device at registration (`specialised`)
/// }
/// ```
extension MQTTProfile {
    struct File: Decodable {
        struct Time: Decodable {
            var field: String
            var format: String?
            var timeZone: String?
        }
        struct Value: Decodable {
            var field: String
            var channel: String
            var scale: Double?
            var offset: Double?
        }
        struct State: Decodable {
            var field: String
            var codes: [String: [String: String]]?
            var bits: [String: String]?
            var set: String?
        }
        struct Output: Decodable {
            var channel: String
            var state: String?
            var value: Double?
            var field: String?
            var scale: Double?
        }
        struct Event: Decodable {
            var field: String
            var codes: [String: [Output]]
        }
        var transport: String
        var id: String
        var description: String?
        var topic: String
        var deviceField: String?
        var maxPayloadBytes: Int?
        var maxFutureSeconds: Double?
        var maxPastSeconds: Double?
        var time: Time?
        var require: [String: JSONValue]?
        var values: [Value]?
        var states: [State]?
        var event: Event?
        var parameterised: Bool?
    }

    private struct TransportPeek: Decodable { var transport: String? }

    /// Loads every MQTT profile of a folder (`*.json5`, `*.json`), skipping other transports.
    /// All errors of all files are collected so a person fixes them in one pass.
    public static func load(directory: String) throws(ConfigErrors) -> [MQTTProfile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigErrors([ConfigError(file: directory, message: "cannot list the profile folder",
                                            hint: "check the path (\(error.localizedDescription))")])
        }
        var out: [MQTTProfile] = []
        var errors: [ConfigError] = []
        var seen: [String: String] = [:]
        for name in names.sorted() where name.hasSuffix(".json5") || name.hasSuffix(".json") {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                guard let p = try load(file: path) else { continue }
                if let other = seen[p.id] {
                    errors.append(ConfigError(file: path, message: "profile id '\(p.id)' is already defined in \(other)",
                                              hint: "give every profile a unique id"))
                    continue
                }
                seen[p.id] = path
                out.append(p)
            } catch {
                errors.append(error)
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return out
    }

    /// Loads one file; nil when it is not an MQTT profile.
    public static func load(file: String) throws(ConfigError) -> MQTTProfile? {
        try load(source: try JSON5Source(file: file))
    }

    public static func load(source: JSON5Source) throws(ConfigError) -> MQTTProfile? {
        let peek = try source.decode(TransportPeek.self)
        guard peek.transport == "mqtt" else { return nil }
        return try compile(try source.decode(File.self), source: source)
    }

    static func compile(_ f: File, source: JSON5Source) throws(ConfigError) -> MQTTProfile {
        func error(_ field: String, _ message: String, near text: String? = nil, hint: String? = nil) -> ConfigError {
            let line = text.flatMap { t in source.lineContaining(t) } ?? source.line(ofKey: field.split(separator: ".").last.map(String.init) ?? field)
            return ConfigError(file: source.file, line: line, field: field, message: message, hint: hint)
        }
        func channel(_ name: String, _ field: String) throws(ConfigError) -> Channel {
            do { return try Channel(name) } catch let e { throw error(field, e.description, near: "\"\(name)\"") }
        }
        func state(_ name: String, _ field: String) throws(ConfigError) -> DetectorState {
            guard let s = DetectorState(rawValue: name) else {
                throw error(field, "'\(name)' is not a detector state", near: "\"\(name)\"",
                            hint: DetectorState.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return s
        }
        guard !f.id.isEmpty else { throw error("id", "profile id is empty") }
        let topic: MQTTTopicPattern
        do { topic = try MQTTTopicPattern(f.topic) } catch let e { throw error("topic", e.description) }
        if !topic.capturesDevice && f.deviceField == nil {
            throw error("topic", "no device id: put {device} in the topic or give deviceField",
                        hint: "e.g. topic: \"nb/{device}/event\" or deviceField: \"serialNo\"")
        }
        var limits = Limits()
        if let v = f.maxPayloadBytes { guard v > 0 else { throw error("maxPayloadBytes", "must be positive") }; limits.maxPayloadBytes = v }
        if let v = f.maxFutureSeconds { guard v >= 0 else { throw error("maxFutureSeconds", "must be ≥ 0") }; limits.maxFutureSeconds = v }
        if let v = f.maxPastSeconds { guard v >= 0 else { throw error("maxPastSeconds", "must be ≥ 0") }; limits.maxPastSeconds = v }

        var time: TimeSpec?
        if let t = f.time {
            guard let format = TimeFormat(rawValue: t.format ?? "auto") else {
                throw error("time.format", "unknown time format '\(t.format ?? "")'",
                            hint: TimeFormat.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let zoneName = t.timeZone ?? "Asia/Shanghai"
            guard let zone = TimeZone(identifier: zoneName) else { throw error("time.timeZone", "unknown time zone '\(zoneName)'") }
            time = TimeSpec(field: FieldPath(t.field), format: format, timeZone: zone)
        }
        var values: [ValueMap] = []
        for (i, v) in (f.values ?? []).enumerated() {
            values.append(ValueMap(field: FieldPath(v.field), channel: try channel(v.channel, "values[\(i)].channel"),
                                   scale: v.scale ?? 1, offset: v.offset ?? 0))
        }
        var states: [StateMap] = []
        for (i, s) in (f.states ?? []).enumerated() {
            if let codes = s.codes {
                var table: [String: [(Channel, DetectorState)]] = [:]
                for (code, outputs) in codes {
                    var list: [(Channel, DetectorState)] = []
                    for (c, st) in outputs.sorted(by: { $0.key < $1.key }) {
                        let ch = try channel(c, "states[\(i)].codes.\(code)")
                        guard ch.isState else { throw error("states[\(i)].codes.\(code)", "'\(c)' is not a state.* channel", near: "\"\(c)\"") }
                        list.append((ch, try state(st, "states[\(i)].codes.\(code)")))
                    }
                    table[code] = list
                }
                states.append(StateMap(field: FieldPath(s.field), coding: .codes(MQTTCodeTable(table))))
            } else if let bits = s.bits {
                var list: [(bit: Int, channel: Channel, subject: Int?)] = []
                for (b, c) in bits {
                    guard let bit = Int(b), (0..<32).contains(bit) else { throw error("states[\(i)].bits", "bit '\(b)' is not 0...31", near: "\"\(b)\"") }
                    let ch = try channel(c, "states[\(i)].bits.\(b)")
                    guard ch.isState else { throw error("states[\(i)].bits.\(b)", "'\(c)' is not a state.* channel", near: "\"\(c)\"") }
                    list.append((bit, ch, nil))  // subject indices: MQTTProfile.reindex()
                }
                states.append(StateMap(field: FieldPath(s.field),
                                       coding: .bits(list.sorted { $0.bit < $1.bit }, set: try state(s.set ?? "alarm", "states[\(i)].set"))))
            } else {
                throw error("states[\(i)]", "a state mapping needs 'codes' or 'bits'")
            }
        }
        var event: EventMap?
        if let e = f.event {
            var table: [String: [EventOutput]] = [:]
            for (code, outputs) in e.codes {
                var list: [EventOutput] = []
                for (k, o) in outputs.enumerated() {
                    let where_ = "event.codes.\(code)[\(k)]"
                    let ch = try channel(o.channel, where_)
                    if let st = o.state {
                        guard ch.isState else { throw error(where_, "'\(o.channel)' is not a state.* channel", near: "\"\(o.channel)\"") }
                        list.append(.state(ch, try state(st, where_)))
                    } else if let v = o.value {
                        list.append(.constant(ch, v))
                    } else if let field = o.field {
                        list.append(.field(ch, FieldPath(field), scale: o.scale ?? 1))
                    } else {
                        throw error(where_, "an event output needs 'state', 'value' or 'field'", near: "\"\(o.channel)\"")
                    }
                }
                table[code] = list
            }
            event = EventMap(field: FieldPath(e.field), codes: MQTTCodeTable(table))
        }
        let parameterised = f.parameterised ?? false
        if values.isEmpty && states.isEmpty && event == nil && !parameterised {
            throw error("values", "the profile maps no field", hint: "add values, states or event, or set parameterised: true")
        }
        return MQTTProfile(id: f.id, summary: f.description ?? "", file: source.file, topic: topic,
                           deviceField: f.deviceField.map(FieldPath.init), limits: limits, isParameterised: parameterised,
                           time: time, requirements: (f.require ?? [:]).sorted { $0.key < $1.key }.map { (FieldPath($0.key), $0.value) },
                           values: values, states: states, event: event)
    }

    /// The profile for one device whose field mapping comes from its registration (generic profiles).
    ///
    /// `parameters` maps a canonical channel to a payload path, optionally scaled: `"residual_current.1":
    /// "data.leak*0.1"`. Reserved keys: `time` (path of the timestamp), `time.format` (auto, epoch_s,
    /// epoch_ms, local), `time.zone` (default Asia/Shanghai). The profile's own mappings stay.
    public func specialised(parameters: [String: String], source: String = "device registration") throws(ConfigError) -> MQTTProfile {
        var m = storage.mapping
        var time = m.time
        for (key, raw) in parameters.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "time":
                time = TimeSpec(field: FieldPath(raw), format: time?.format ?? .auto, timeZone: time?.timeZone ?? TimeZone(identifier: "Asia/Shanghai")!)
            case "time.format":
                guard let f = TimeFormat(rawValue: raw) else {
                    throw ConfigError(file: source, field: key, message: "unknown time format '\(raw)'",
                                      hint: TimeFormat.allCases.map(\.rawValue).joined(separator: ", "))
                }
                guard let t = time else { throw ConfigError(file: source, field: key, message: "time.format given without time") }
                time = TimeSpec(field: t.field, format: f, timeZone: t.timeZone)
            case "time.zone":
                guard let z = TimeZone(identifier: raw) else { throw ConfigError(file: source, field: key, message: "unknown time zone '\(raw)'") }
                guard let t = time else { throw ConfigError(file: source, field: key, message: "time.zone given without time") }
                time = TimeSpec(field: t.field, format: t.format, timeZone: z)
            default:
                let channel: Channel
                do { channel = try Channel(key) } catch { throw ConfigError(file: source, field: key, message: error.description) }
                guard !channel.isState else {
                    throw ConfigError(file: source, field: key, message: "state channels cannot be mapped by parameters",
                                      hint: "map measured channels such as residual_current.1 or temperature.2")
                }
                let parts = raw.split(separator: "*", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard let path = parts.first, !path.isEmpty else {
                    throw ConfigError(file: source, field: key, message: "empty payload path", hint: "e.g. \"data.leak*0.1\"")
                }
                var scale = 1.0
                if parts.count == 2 {
                    guard let s = Double(parts[1]), s.isFinite else {
                        throw ConfigError(file: source, field: key, message: "scale '\(parts[1])' is not a number", hint: "e.g. \"data.leak*0.1\"")
                    }
                    scale = s
                }
                m.values.removeAll { $0.channel == channel }
                m.values.append(ValueMap(field: FieldPath(path), channel: channel, scale: scale, offset: 0))
            }
        }
        m.time = time
        m.reindex()
        return MQTTProfile(m, limits: limits)
    }
}

extension JSON5Source {
    /// 1-based line of the first line containing `text`.
    func lineContaining(_ text: String) -> Int? {
        for (i, l) in self.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where l.contains(text) {
            return i + 1
        }
        return nil
    }
}
