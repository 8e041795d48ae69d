import Foundation

/// Replays recorded readings through a rule set on a virtual clock (docs/rules.md, "Replay").
///
/// CSV rows are `time,device,channel,value` (header optional, `#` comments); time is ISO-8601 with a
/// zone or epoch seconds; a `state.*` value is a state name such as `fault_open`; an empty value or
/// `invalid` is an invalid reading. Rows are taken in time order (stable for equal times). The clock
/// ticks every virtual second between rows and runs on past the last row by the rules' longest
/// horizon, so a device that falls silent shows its comm loss.
public enum RuleReplay {
    public static func run(rules: RuleSet, csv: String, file: String, devices: [DeviceContext]) throws(ConfigErrors) -> [EngineEvent] {
        run(rules: rules, readings: try parseCSV(csv, file: file), devices: devices)
    }

    /// Replays readings already parsed; each reading's `time` is both its monotonic and its wall time.
    public static func run(rules: RuleSet, readings: [Reading], devices: [DeviceContext]) -> [EngineEvent] {
        let engine = RuleEngine(rules: rules)
        for d in devices { engine.register(d) }
        let ordered = readings.enumerated().sorted { a, b in
            a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
        }.map(\.element)
        let horizon = rules.longestHorizon(devices: devices)
        var events: [EngineEvent] = []
        var clock: Double?

        /// Ticks whole virtual seconds after `from` up to (not including) `to`; a long gap ticks only
        /// through the horizon (nothing can come due later) and then jumps.
        func tick(from: Double, to: Double) {
            var t = from + 1
            let stop = min(to, from + horizon + 2)
            while t < stop {
                engine.advance(monotonic: t, wall: t, into: &events)
                t += 1
            }
        }
        for r in ordered {
            if let c = clock { tick(from: c, to: r.time) } else { engine.advance(monotonic: r.time, wall: r.time, into: &events) }
            engine.process(r, monotonic: r.time, into: &events)
            clock = r.time
        }
        // The tail: the recording ends, the devices do not. A device that still reported within two
        // of its own poll intervals of the last row stays alive; one already silent shows its comm loss.
        if let c = clock {
            let alive = devicesAlive(at: c, ordered)
            var t = c + 1
            while t < c + horizon + 2 {
                for d in alive { engine.markAlive(device: d, monotonic: t) }
                engine.advance(monotonic: t, wall: t, into: &events)
                t += 1
            }
        }
        return events
    }

    /// Devices whose last data (not a failed poll's device.online = 0) lies within two of their own
    /// median poll intervals of `end`.
    static func devicesAlive(at end: Double, _ readings: [Reading]) -> [String] {
        var times: [String: [Double]] = [:]
        for r in readings where !(r.channel.name == "device.online" && r.number == 0) {
            if times[r.device]?.last != r.time { times[r.device, default: []].append(r.time) }
        }
        return times.keys.sorted().filter { device in
            let ts = times[device]!
            let gaps = zip(ts.dropFirst(), ts).map { $0 - $1 }.sorted()
            let interval = gaps.isEmpty ? 0 : gaps[gaps.count / 2]
            return end - ts.last! <= 2 * interval
        }
    }

    /// Parses replay CSV; every bad row is reported with its line and column.
    public static func parseCSV(_ csv: String, file: String) throws(ConfigErrors) -> [Reading] {
        var readings: [Reading] = []
        var errors: [ConfigError] = []
        var lineNumber = 0
        for raw in csv.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = splitFields(String(raw))
            if readings.isEmpty, errors.isEmpty, fields.first?.text.lowercased() == "time" { continue }
            func fail(_ column: Int, _ message: String, _ hint: String? = nil) {
                errors.append(ConfigError(file: file, line: lineNumber, column: column, message: message, hint: hint))
            }
            guard fields.count == 4 else {
                fail(1, "expected 4 fields time,device,channel,value, found \(fields.count)")
                continue
            }
            guard let time = parseTime(fields[0].text) else {
                fail(fields[0].column, "bad time '\(fields[0].text)'", "ISO-8601 with a zone (2026-12-03T10:15:00+08:00) or epoch seconds")
                continue
            }
            guard !fields[1].text.isEmpty else { fail(fields[1].column, "empty device id"); continue }
            guard let channel = try? Channel(fields[2].text) else {
                fail(fields[2].column, "'\(fields[2].text)' is not a canonical channel", "e.g. residual_current.1, temperature.2, state.temperature.2, device.online")
                continue
            }
            let text = fields[3].text
            let value: Reading.Value
            if text.isEmpty || text == "invalid" {
                value = .invalid
            } else if channel.isState {
                guard let s = DetectorState(rawValue: text) else {
                    fail(fields[3].column, "'\(text)' is not a detector state",
                         "one of " + DetectorState.allCases.map(\.rawValue).joined(separator: ", "))
                    continue
                }
                value = .state(s)
            } else {
                guard let v = Double(text), v.isFinite else { fail(fields[3].column, "'\(text)' is not a number"); continue }
                value = .number(v)
            }
            readings.append(Reading(device: fields[1].text, channel: channel, value: value, time: time))
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return readings
    }

    private static func splitFields(_ line: String) -> [(text: String, column: Int)] {
        var fields: [(String, Int)] = []
        var current = ""
        var start = 1
        var column = 0
        var quoted = false
        for c in line {
            column += 1
            if c == "\"" { quoted.toggle(); continue }
            if c == ",", !quoted {
                fields.append((current.trimmingCharacters(in: .whitespaces), start))
                current = ""
                start = column + 1
                continue
            }
            current.append(c)
        }
        fields.append((current.trimmingCharacters(in: .whitespacesAndNewlines), start))
        return fields
    }

    /// ISO-8601 with a zone (`Z`, `+08:00`; a space may replace the `T`; fractional seconds allowed) or epoch seconds.
    public static func parseTime(_ text: String) -> Double? {
        if let v = Double(text), v.isFinite { return v }
        let iso = text.replacingOccurrences(of: " ", with: "T")
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: iso) { return d.timeIntervalSince1970 }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: iso)?.timeIntervalSince1970
    }

    /// ISO-8601 in UTC, with milliseconds only when the time has them.
    public static func formatTime(_ time: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = time == time.rounded() ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: time))
    }

    /// Reads a devices file: a JSON5 list of `{id, setpoints, cable, announced}` (docs/rules.md).
    public static func loadDevices(file: String) throws(ConfigErrors) -> [DeviceContext] {
        do {
            let source = try JSON5Source(file: file)
            return try source.decode([DeviceContext].self)
        } catch {
            throw ConfigErrors([error])
        }
    }

    /// One event as a JSON line: `{"time","device","channel","rule","kind","transition","value"}`.
    public static func jsonLine(_ e: EngineEvent) -> String {
        func quote(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
                }
            }
            return out + "\""
        }
        let value = e.value.map { v -> String in v == v.rounded() && abs(v) < 1e15 ? String(format: "%.1f", v) : "\(v)" } ?? "null"
        return "{\"time\": \(quote(formatTime(e.time))), \"device\": \(quote(e.device)), \"channel\": \(quote(e.channel)), "
            + "\"rule\": \(quote(e.rule)), \"kind\": \(quote(e.signal.rawValue)), \"transition\": \(quote(e.transition.rawValue)), "
            + "\"value\": \(value)}"
    }
}
