import FireWatchCore
import FireWatchStore
import Foundation

extension Commands {
    static let readings = CommandSpec(
        name: "readings", abstract: "print a detector's archived readings (the edge's readings.db), oldest first",
        discussion: """
        Reads DATA/readings.db read-only, so it can run beside a running edge. Times for --since and
        --until are local (Asia/Shanghai) `yyyy-MM-dd HH:mm:ss` or `yyyy-MM-dd`, or seconds since 1970.
        Readings committed in the last second may not be there yet (the archive commits every second).
        """,
        options: [.value("--data", "DIR", help: "the edge's data directory", required: true),
                  .value("--since", "TIME", help: "only readings at or after TIME"),
                  .value("--until", "TIME", help: "only readings at or before TIME"),
                  .value("--limit", "N", help: "at most the last N samples", default: "1000"),
                  CommonOptions.json],
        positionals: [PositionalSpec(name: "DEVICE", help: "device id, as in `firewatch status` or the registry", isOptional: false)],
        run: { args in
            guard let device = args.positional(0) else { throw UsageError("give the device id", command: args.commandPath) }
            let since = try timeOption(args, "--since") ?? -.infinity
            let until = try timeOption(args, "--until") ?? .infinity
            guard since <= until else { throw UsageError("--since is after --until", command: args.commandPath) }
            let limit = try args.int("--limit", range: 1...10_000_000) ?? 1000
            let dir = try args.require("--data")
            let path = (dir as NSString).appendingPathComponent("readings.db")
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("no readings archive at \(path): is --data the edge's data directory?")
            }
            let db = try SQLiteConnection(path: path, readOnly: true)
            let samples = try ReadingArchive.samples(in: db, device: device, from: since, through: until, newest: limit)
            if args.has("--json") {
                for s in samples { print(Output.jsonLine(SampleJSON(s))) }
            } else if samples.isEmpty {
                print("设备 \(device) 没有存档读数 (no archived readings of \(device) in \(path) for that time)")
            } else {
                for s in samples {
                    print(Output.local(s.time) + "  " + s.values.map { "\($0.channel)=\($0.value)" }.joined(separator: "  "))
                }
            }
            return ExitStatus.ok
        })

    /// Local `yyyy-MM-dd HH:mm:ss` (or a date alone, its midnight) in Asia/Shanghai, or epoch seconds.
    static func timeOption(_ args: ParsedArguments, _ name: String) throws(UsageError) -> Double? {
        guard let text = args.string(name) else { return nil }
        if let v = Double(text), v.isFinite { return v }
        let shanghai = TimeZone(identifier: "Asia/Shanghai") ?? .current
        let full = text.count == 10 ? text + " 00:00:00" : text
        guard let t = MQTTProfile.parseLocalTime(full, in: shanghai) else {
            throw UsageError("\(name) expects local time `yyyy-MM-dd HH:mm:ss`, a date `yyyy-MM-dd` or seconds since 1970, got '\(text)'",
                             command: args.commandPath)
        }
        return t
    }
}

/// One archived sample as JSON: numbers stay numbers, states and `invalid` are strings.
struct SampleJSON: Encodable {
    enum Value: Encodable {
        case number(Double), text(String)
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .number(let v): try c.encode(v)
            case .text(let s): try c.encode(s)
            }
        }
    }
    var device: String
    var time: String
    var epoch: Double
    var channels: [String: Value]

    init(_ s: ArchivedSample) {
        device = s.device
        time = Output.iso(s.time)
        epoch = s.time
        var channels: [String: Value] = [:]
        for (name, value) in s.values {
            // A non-finite number (a float register read as NaN) stays text: JSON has no NaN.
            channels[name] = Double(value).flatMap { $0.isFinite ? Value.number($0) : nil } ?? .text(value)
        }
        self.channels = channels
    }
}
