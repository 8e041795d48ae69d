import Foundation

/// How one kind of MQTT detector publishes: which topics it uses, where its device id is, and how
/// its JSON payload maps onto canonical channels (../shared/domain.md §2 and §5).
///
/// Loaded from `Devices/*.json5` files with `transport: "mqtt"` (see `MQTTProfile.load(directory:)`),
/// then `decode` is a pure function of (topic, payload, now): no clock, no I/O.
public struct MQTTProfile: Sendable {
    /// Limits on what a payload may be before it is rejected.
    public struct Limits: Sendable, Equatable {
        public var maxPayloadBytes: Int
        /// A payload time further ahead of `now` than this is rejected (device clock wrong).
        public var maxFutureSeconds: Double
        /// A payload time further behind `now` than this is rejected (stale replay, clock reset).
        public var maxPastSeconds: Double

        public init(maxPayloadBytes: Int = 16_384, maxFutureSeconds: Double = 600, maxPastSeconds: Double = 7 * 86_400) {
            self.maxPayloadBytes = maxPayloadBytes
            self.maxFutureSeconds = maxFutureSeconds
            self.maxPastSeconds = maxPastSeconds
        }
    }

    /// A dotted path into the payload (`params.electric_read`, `data.0.value`), split once at load.
    public struct FieldPath: Sendable, Equatable, CustomStringConvertible {
        public let text: String
        let parts: [String]
        /// Where the profile's field plan keeps this path's value (set by `reindex()`).
        var slot = -1
        public init(_ text: String) {
            self.text = text
            parts = text.split(separator: ".").map(String.init)
        }
        public var description: String { text }
        public static func == (a: FieldPath, b: FieldPath) -> Bool { a.text == b.text }

        /// The device id in `value`, the value of this path as the device field.
        func deviceID(_ value: JSONValue?) -> Result<String, MQTTPayloadRejection> {
            switch value {
            case .string(let s)? where !s.isEmpty: return .success(s)
            // Integers a Double holds exactly (a 15-digit IMEI); larger ones would not name one device.
            case .number(let n)? where n.rounded() == n && abs(n) <= 9_007_199_254_740_992: return .success(String(Int64(n)))
            case nil, .null?, .string?: return .failure(.missingDevice(field: text))
            case let v?: return .failure(.wrongType(field: text, expected: "a string", found: v.typeName))
            }
        }
    }

    public enum TimeFormat: String, Sendable, Equatable, CaseIterable {
        /// Numbers: milliseconds when above 10^11 (after 1973-03), otherwise seconds; strings: local time.
        case auto
        case epochSeconds = "epoch_s"
        case epochMilliseconds = "epoch_ms"
        /// `yyyy-MM-dd HH:mm:ss` (or with `T`) in the profile's time zone.
        case local
    }

    struct TimeSpec: Sendable {
        var field: FieldPath
        var format: TimeFormat
        var timeZone: TimeZone { offsets.zone }
        let offsets: ZoneOffsets

        init(field: FieldPath, format: TimeFormat, timeZone: TimeZone) {
            self.field = field
            self.format = format
            offsets = ZoneOffsets(timeZone)
        }

        /// The time the payload gives (checked against `limits`), nil when it gives none.
        func reading(in fields: MQTTPayloadFields, now: Double, limits: Limits) -> Result<Double, MQTTPayloadRejection>? {
            guard let raw = fields[field], raw != .null else { return nil }
            let t: Double
            switch (raw, format) {
            case (.number(let n), .auto): t = n > 1e11 ? n / 1000 : n
            case (.number(let n), .epochSeconds): t = n
            case (.number(let n), .epochMilliseconds): t = n / 1000
            case (.string(let s), .auto), (.string(let s), .local):
                guard let parsed = MQTTProfile.parseLocalTime(s, offsets: offsets) else {
                    return .failure(.timestampUnreadable(field: field.text, value: "'\(s.prefix(40))'"))
                }
                t = parsed
            default:
                return .failure(.wrongType(field: field.text, expected: format == .local ? "a string" : "a number", found: raw.typeName))
            }
            if t - now > limits.maxFutureSeconds {
                return .failure(.timestampInFuture(field: field.text, seconds: t - now, limit: limits.maxFutureSeconds))
            }
            if now - t > limits.maxPastSeconds {
                return .failure(.timestampTooOld(field: field.text, seconds: now - t, limit: limits.maxPastSeconds))
            }
            return .success(t)
        }
    }

    /// A numeric field onto a measured channel: value × scale + offset, in the channel's unit.
    struct ValueMap: Sendable {
        var field: FieldPath
        var channel: Channel
        var scale: Double
        var offset: Double
    }

    /// A field whose code (or bits) is what the detector says about a channel.
    struct StateMap: Sendable {
        enum Coding: Sendable {
            case codes(MQTTCodeTable<(Channel, DetectorState)>)
            /// Bit n set → `set` on that channel, clear → normal. `subject` is the index in `values`
            /// of the measured channel the state describes, if the profile maps it.
            case bits([(bit: Int, channel: Channel, subject: Int?)], set: DetectorState)
        }
        var field: FieldPath
        var coding: Coding
    }

    enum EventOutput: Sendable {
        case state(Channel, DetectorState)
        case constant(Channel, Double)
        case field(Channel, FieldPath, scale: Double)
    }

    struct EventMap: Sendable {
        var field: FieldPath
        var codes: MQTTCodeTable<EventOutput>
    }

    /// Everything the loader (or `specialised`) decides and what `reindex()` derives from it. A
    /// profile holds it in `Storage`, shared by all its copies; `specialised` makes a new one.
    struct Mapping: Sendable {
        var id: String
        var summary: String
        var file: String
        var topic: MQTTTopicPattern
        var deviceField: FieldPath?
        var isParameterised: Bool
        var time: TimeSpec?
        var requirements: [(FieldPath, JSONValue)]
        var values: [ValueMap]
        var states: [StateMap]
        var event: EventMap?
        /// Upper bound of readings per message, to allocate once (set by `reindex()`).
        private(set) var readingCapacity = 0
        /// Every path above as one trie, each path's `slot` pointing into it (set by `reindex()`).
        private(set) var plan = MQTTFieldPlan.empty

        init(id: String, summary: String, file: String, topic: MQTTTopicPattern, deviceField: FieldPath?,
             isParameterised: Bool, time: TimeSpec?, requirements: [(FieldPath, JSONValue)], values: [ValueMap],
             states: [StateMap], event: EventMap?) {
            self.id = id
            self.summary = summary
            self.file = file
            self.topic = topic
            self.deviceField = deviceField
            self.isParameterised = isParameterised
            self.time = time
            self.requirements = requirements
            self.values = values
            self.states = states
            self.event = event
            reindex()
        }

        /// Recomputes what depends on the mappings (after init and after `specialised`).
        mutating func reindex() {
            var n = values.count + 1
            for (k, st) in states.enumerated() {
                switch st.coding {
                case .codes(let c):
                    n += c.maxOutputs
                case .bits(let b, let set):
                    n += b.count
                    let values = self.values
                    states[k].coding = .bits(b.map { bit in (bit.bit, bit.channel, values.firstIndex { $0.channel == bit.channel.stateSubject }) }, set: set)
                }
            }
            readingCapacity = n + (event?.codes.maxOutputs ?? 0)

            var paths: [[String]] = []
            forEachFieldPath { paths.append($0.parts) }
            let (plan, slots) = MQTTFieldPlan.make(paths: paths)
            var k = 0
            forEachFieldPath { path in
                path.slot = slots[k]
                k += 1
            }
            self.plan = plan
        }

        /// Every field path the profile reads, in one fixed order.
        private mutating func forEachFieldPath(_ body: (inout FieldPath) -> Void) {
            if deviceField != nil { body(&deviceField!) }
            if time != nil { body(&time!.field) }
            for k in requirements.indices { body(&requirements[k].0) }
            for k in values.indices { body(&values[k].field) }
            for k in states.indices { body(&states[k].field) }
            guard event != nil else { return }
            body(&event!.field)
            for e in event!.codes.entries.indices {
                for o in event!.codes.entries[e].outputs.indices {
                    guard case .field(let channel, var path, let scale) = event!.codes.entries[e].outputs[o] else { continue }
                    body(&path)
                    event!.codes.entries[e].outputs[o] = .field(channel, path, scale: scale)
                }
            }
        }
    }

    /// The mapping behind one reference, so that copying a profile is one retain. Callers in other
    /// modules (`MQTTIngest`, per message) get a copy of the profile for each call of `fields`,
    /// `deviceID` and `decode`; with the mapping stored inline that was a memcpy and a dozen
    /// retains and releases per call, ~0.4 µs a message (perf, issue #4).
    final class Storage: Sendable {
        let mapping: Mapping
        init(_ mapping: Mapping) { self.mapping = mapping }
    }

    let storage: Storage
    public var limits: Limits

    public var id: String { storage.mapping.id }
    public var summary: String { storage.mapping.summary }
    public var file: String { storage.mapping.file }
    public var topic: MQTTTopicPattern { storage.mapping.topic }
    /// Where the device id is when the topic does not carry it.
    public var deviceField: FieldPath? { storage.mapping.deviceField }
    /// True for a profile whose field mapping comes from each device's registration (`specialised`).
    public var isParameterised: Bool { storage.mapping.isParameterised }
    var time: TimeSpec? { storage.mapping.time }
    var requirements: [(FieldPath, JSONValue)] { storage.mapping.requirements }
    var values: [ValueMap] { storage.mapping.values }
    var states: [StateMap] { storage.mapping.states }
    var event: EventMap? { storage.mapping.event }
    /// Upper bound of readings per message, to allocate once.
    var readingCapacity: Int { storage.mapping.readingCapacity }
    /// Every field path of the mapping as one trie, each path's `slot` pointing into it.
    var plan: MQTTFieldPlan { storage.mapping.plan }

    init(_ mapping: Mapping, limits: Limits) {
        storage = Storage(mapping)
        self.limits = limits
    }

    init(id: String, summary: String, file: String, topic: MQTTTopicPattern, deviceField: FieldPath?, limits: Limits,
         isParameterised: Bool, time: TimeSpec?, requirements: [(FieldPath, JSONValue)], values: [ValueMap],
         states: [StateMap], event: EventMap?) {
        self.init(Mapping(id: id, summary: summary, file: file, topic: topic, deviceField: deviceField,
                          isParameterised: isParameterised, time: time, requirements: requirements, values: values,
                          states: states, event: event),
                  limits: limits)
    }

    /// Every channel this profile can produce (for documentation and `device probe`).
    public var channels: [Channel] {
        var out = values.map(\.channel)
        for s in states {
            switch s.coding {
            case .codes(let c): out += c.allOutputs.map(\.0)
            case .bits(let b, _): out += b.map(\.channel)
            }
        }
        for o in event?.codes.allOutputs ?? [] {
            switch o {
            case .state(let c, _), .constant(let c, _), .field(let c, _, _): out.append(c)
            }
        }
        return Array(Set(out + [Channel(unchecked: "device.online")])).sorted()
    }

    // MARK: decoding

    /// Parses and decodes one message. `now` is the wall time of receipt (seconds since 1970).
    public func decode(topic: String, payload: [UInt8], now: Double) -> Result<MQTTDecoded, MQTTPayloadRejection> {
        let fields: MQTTPayloadFields
        switch self.fields(payload) {
        case .failure(let r): return .failure(r)
        case .success(let f): fields = f
        }
        switch deviceID(topic: topic, fields: fields) {
        case .failure(let r): return .failure(r)
        case .success(let device): return decode(device: device, fields: fields, now: now)
        }
    }

    /// The device id the message names: the topic's `{device}` level or the payload's device field.
    /// `fields` (from this profile's `fields(_:)`) may be nil when the topic carries the id.
    public func deviceID(topic: String, fields: MQTTPayloadFields?) -> Result<String, MQTTPayloadRejection> {
        guard let captured = self.topic.match(topic) else {
            return .failure(.topicMismatch(topic: topic, pattern: self.topic.text))
        }
        if self.topic.capturesDevice { return .success(captured) }
        guard deviceField != nil else { return .failure(.missingDevice(field: "{device} in topic")) }
        guard let fields else { return .failure(.notAnObject) }
        precondition(canDecode(fields), "MQTTProfile \(id): fields scanned with another profile's plan (check canDecode)")
        // Through the optional in place: binding it would copy the path per message.
        return deviceField!.deviceID(fields[deviceField!])
    }

    /// Decodes for a device id already taken from this message with `deviceID(topic:fields:)`.
    /// `fields` must come from this profile (`canDecode`); the one mapping of values onto readings.
    public func decode(device: String, fields: MQTTPayloadFields, now: Double) -> Result<MQTTDecoded, MQTTPayloadRejection> {
        precondition(canDecode(fields), "MQTTProfile \(id): fields scanned with another profile's plan (check canDecode)")
        for (path, expected) in requirements {
            let found = fields[path]
            guard found == expected else {
                return .failure(.unexpectedMessage(field: path.text, expected: expected.codeText,
                                                   found: found.map(\.codeText) ?? "missing"))
            }
        }
        let time: Double
        switch readingTime(fields, now: now) {
        case .failure(let r): return .failure(r)
        case .success(let t): time = t
        }

        var out: [Reading] = []
        out.reserveCapacity(readingCapacity)
        var mapped = 0
        // Which of `values` this message carried (bit i for values[i]; profiles map < 64 values
        // in practice, larger indices are treated as present).
        var present: UInt64 = 0
        for i in values.indices {  // by index: no copy of each mapping per message
            switch fields[values[i].field] {
            case nil, .null?: continue
            case .number(let n)?:
                out.append(Reading(device: device, channel: values[i].channel, value: .number(n * values[i].scale + values[i].offset), time: time))
                mapped += 1
                if i < 64 { present |= 1 << UInt64(i) }
            case let other?:
                return .failure(.wrongType(field: values[i].field.text, expected: "a number", found: other.typeName))
            }
        }
        for s in states {
            guard let raw = fields[s.field], raw != .null else { continue }
            switch s.coding {
            case .codes(let codes):
                switch raw {
                case .number, .string: break
                default: return .failure(.wrongType(field: s.field.text, expected: "a state code", found: raw.typeName))
                }
                guard let outputs = codes.outputs(for: raw) else { return .failure(.unknownCode(field: s.field.text, code: raw.codeText)) }
                for (c, st) in outputs { out.append(Reading(device: device, channel: c, value: .state(st), time: time)) }
                mapped += 1
            case .bits(let bits, let set):
                guard case .number(let n) = raw, n >= 0, n.rounded() == n, n < 4_294_967_296 else {
                    return .failure(.wrongType(field: s.field.text, expected: "a non-negative integer bit mask", found: raw.codeText))
                }
                let mask = UInt64(n)
                for b in bits {
                    let on = mask & (1 << UInt64(b.bit)) != 0
                    // A clear bit says nothing about a probe this message has no value for (a
                    // single-probe detector still sends the whole mask).
                    if !on, let subject = b.subject, subject < 64, present & (1 << UInt64(subject)) == 0 { continue }
                    out.append(Reading(device: device, channel: b.channel, value: .state(on ? set : .normal), time: time))
                }
                mapped += 1
            }
        }
        var onlineSet = false
        if let event, let raw = fields[event.field], raw != .null {
            switch raw {
            case .number, .string:
                if case .failure(let r) = emitEvent(event, raw, fields, device, time, &out, &onlineSet) { return .failure(r) }
                mapped += 1
            default:
                return .failure(.wrongType(field: event.field.text, expected: "an event code", found: raw.typeName))
            }
        }
        if mapped == 0 && out.isEmpty && !onlineSet {
            var expected = values.map(\.field.text) + states.map(\.field.text)
            if let event { expected.append(event.field.text) }
            return .failure(.noMappedField(expected: expected))
        }
        // Liveness (docs/architecture.md): every good message says the device is online, unless the
        // message itself reported it offline.
        if !onlineSet { out.append(Reading(device: device, channel: MQTTProfile.online, value: .number(1), time: time)) }
        return .success(MQTTDecoded(deviceID: device, time: time, readings: out))
    }

    private static let online = Channel(unchecked: "device.online")

    private func emitEvent(_ event: EventMap, _ raw: JSONValue, _ fields: MQTTPayloadFields, _ device: String, _ time: Double,
                           _ out: inout [Reading], _ onlineSet: inout Bool) -> Result<Void, MQTTPayloadRejection> {
        guard let outputs = event.codes.outputs(for: raw) else {
            return .failure(.unknownCode(field: event.field.text, code: raw.codeText))
        }
        for o in outputs {
            switch o {
            case .state(let c, let s):
                out.append(Reading(device: device, channel: c, value: .state(s), time: time))
            case .constant(let c, let v):
                if c == MQTTProfile.online { onlineSet = true }
                out.append(Reading(device: device, channel: c, value: .number(v), time: time))
            case .field(let c, let path, let scale):
                switch fields[path] {
                case nil, .null?: continue
                case .number(let n)?: out.append(Reading(device: device, channel: c, value: .number(n * scale), time: time))
                case let other?: return .failure(.wrongType(field: path.text, expected: "a number", found: other.typeName))
                }
            }
        }
        return .success(())
    }

    private func readingTime(_ fields: MQTTPayloadFields, now: Double) -> Result<Double, MQTTPayloadRejection> {
        time?.reading(in: fields, now: now, limits: limits) ?? .success(now)
    }

    // MARK: parsed trees: the reference the scanner is tested against (MQTTPayloadScanTests)

    /// `deviceID(topic:fields:)` for a payload already parsed with `MQTTPayloadParser`.
    func deviceID(topic: String, json: JSONValue?) -> Result<String, MQTTPayloadRejection> {
        guard !self.topic.capturesDevice, let field = deviceField, self.topic.match(topic) != nil else {
            return deviceID(topic: topic, fields: nil)
        }
        guard let json, case .object = json else { return .failure(.notAnObject) }
        return field.deviceID(MQTTFieldPlan.lookup(field.parts[...], in: json))
    }

    /// `decode(device:fields:now:)` for a payload already parsed with `MQTTPayloadParser`.
    func decode(device: String, json: JSONValue, now: Double) -> Result<MQTTDecoded, MQTTPayloadRejection> {
        guard let fields = plan.fields(from: json) else { return .failure(.notAnObject) }
        return decode(device: device, fields: fields, now: now)
    }

    /// `yyyy-MM-dd HH:mm:ss` (or `T` between) in `zone`, to seconds since 1970; nil when malformed.
    public static func parseLocalTime(_ s: String, in zone: TimeZone) -> Double? {
        parseLocalTime(s, offsets: ZoneOffsets(zone))
    }

    static func parseLocalTime(_ s: String, offsets: ZoneOffsets) -> Double? {
        var text = s
        return text.withUTF8 { u -> Double? in
            guard u.count == 19 else { return nil }
            func digits(_ at: Int, _ n: Int) -> Int? {
                var v = 0
                for k in at..<(at + n) {
                    let c = u[k]
                    guard c >= 48 && c <= 57 else { return nil }
                    v = v * 10 + Int(c - 48)
                }
                return v
            }
            guard u[4] == 45, u[7] == 45, u[10] == 32 || u[10] == 84, u[13] == 58, u[16] == 58,
                  let y = digits(0, 4), let mo = digits(5, 2), let d = digits(8, 2),
                  let h = digits(11, 2), let mi = digits(14, 2), let se = digits(17, 2) else { return nil }
            return civil(y, mo, d, h, mi, se, offsets)
        }
    }

    private static func civil(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ se: Int, _ zone: ZoneOffsets) -> Double? {
        guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
        // Days from civil (H. Hinnant), proleptic Gregorian.
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = (mo + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let naive = Double(days * 86_400 + h * 3600 + mi * 60 + se)
        let offset = zone.secondsFromGMT(at: naive)
        let t = naive - Double(offset)
        let offset2 = zone.secondsFromGMT(at: t)
        return offset2 == offset ? t : naive - Double(offset2)
    }
}

/// What one MQTT message said: which device (its MQTT id), when, and the readings in canonical channels.
public struct MQTTDecoded: Sendable, Equatable {
    public var deviceID: String
    public var time: Double
    public var readings: [Reading]

    public init(deviceID: String, time: Double, readings: [Reading]) {
        self.deviceID = deviceID
        self.time = time
        self.readings = readings
    }
}
