import FireWatchCore
import FireWatchModbus
import Foundation
import Synchronization

extension Commands {
    static let devicePoll = CommandSpec(
        name: "poll", abstract: "poll a range of Modbus units for a while and print per-line counters",
        discussion: """
        For commissioning a bus (is every detector answering at its period?) and for benchmarks
        (bench/modbus/). --tcp may be given several times (one owner thread each); every endpoint
        is polled for the same --units. --period 0 polls as fast as the line allows.
        Prints one summary (a table, or one JSON object with --json) when --duration has passed.
        """,
        options: [.repeatable("--tcp", "HOST:PORT", help: "Modbus TCP endpoint (repeatable)")]
            + modbusTargetOptions.filter { $0.name != "--tcp" } + [
            .value("--units", "A-B", help: "unit ids", default: "1"),
            .value("--profile", "ID", help: "profile id or generic:...", required: true),
            .value("--period", "S", help: "poll period per device (0: as fast as possible)"),
            .value("--max-backoff", "S", help: "longest pause between attempts at a silent slave", default: "30"),
            .value("--duration", "S", help: "how long to poll", default: "10"),
            CommonOptions.json, CommonOptions.devices,
        ],
        run: { args in
            let profile = try loadModbusProfile(try args.require("--profile"), args)
            let (lo, hi) = try unitRange(args, default: "1")
            let duration = try args.double("--duration", range: 0.1...86_400) ?? 10
            let period = try args.double("--period", range: 0...86_400)
            let timeout = try args.double("--timeout", range: 0.01...60)
            var transports: [(Int) -> Transport] = []
            var buses: [SerialBusConfig] = []
            for tcp in args.strings("--tcp") {
                guard case .tcp(let host, let port) = try modbusTarget(ParsedArguments(commandPath: args.commandPath, values: ["--tcp": [tcp]])) else { continue }
                transports.append { .modbusTCP(host: host, port: port, unit: $0) }
            }
            if args.string("--rtu") != nil {
                var rtuArgs = args
                rtuArgs.values["--tcp"] = nil
                guard case .rtu(var bus) = try modbusTarget(rtuArgs) else { throw UsageError("bad --rtu", command: args.commandPath) }
                bus.name = "line"
                buses.append(bus)
                transports.append { .modbusRTU(bus: "line", unit: $0) }
            }
            guard !transports.isEmpty else { throw UsageError("give --tcp HOST:PORT (repeatable) or --rtu DEVICE", command: args.commandPath) }
            var devices: [PolledDevice] = []
            for (k, make) in transports.enumerated() {
                for unit in lo...hi {
                    devices.append(PolledDevice(id: transports.count == 1 ? "unit-\(unit)" : "\(k)-\(unit)", profile: profile,
                                                transport: make(unit), period: period.map { max($0, 0.01) }, responseTimeout: timeout))
                }
            }
            let sink = CountingSink()
            let poller: ModbusPoller
            do {
                poller = try ModbusPoller(devices: devices, buses: buses, sink: sink,
                                          options: .init(maxBackoff: try args.double("--max-backoff", range: 0.01...3600) ?? 30),
                                          log: { printError($0) })
            } catch { throw CommandFailure("\(error)") }
            let registersPerPoll = profile.readPlan().reduce(0) { $0 + $1.count }
            let started = Date()
            poller.start()
            StopSignal.wait(timeout: duration)
            poller.stop()
            let elapsed = Date().timeIntervalSince(started)
            let c = poller.counters()
            let live = c.values.filter { $0.successes > 0 }
            let summary = PollSummaryJSON(
                profile: profile.id, devices: devices.count, seconds: elapsed,
                polls: c.values.reduce(0) { $0 + $1.polls }, successes: c.values.reduce(0) { $0 + $1.successes },
                timeouts: c.values.reduce(0) { $0 + $1.timeouts }, exceptions: c.values.reduce(0) { $0 + $1.exceptions },
                bad_responses: c.values.reduce(0) { $0 + $1.badResponses }, transport_errors: c.values.reduce(0) { $0 + $1.transportErrors },
                registers_per_poll: registersPerPoll, readings: sink.count,
                live_devices: live.count, dead_devices: devices.count - live.count,
                transactions_per_second: Double(c.values.reduce(0) { $0 + $1.successes + $1.exceptions }) / elapsed,
                registers_per_second: Double(c.values.reduce(0) { $0 + $1.successes } * registersPerPoll) / elapsed,
                live_mean_period: live.isEmpty ? nil : elapsed / (Double(live.reduce(0) { $0 + $1.successes }) / Double(live.count)),
                dead_timeouts_each: devices.count == live.count ? nil
                    : Double(c.values.filter { $0.successes == 0 }.reduce(0) { $0 + $1.timeouts }) / Double(devices.count - live.count),
                mean_poll_ms: live.isEmpty ? nil : live.reduce(0) { $0 + $1.meanPollSeconds } / Double(live.count) * 1000)
            if args.has("--json") {
                print(Output.jsonLine(summary))
            } else {
                print(Output.table(["设备", "成功", "超时", "异常", "错误帧", "平均耗时 ms"], c.keys.sorted().map { id in
                    let d = c[id]!
                    return [id, String(d.successes), String(d.timeouts), String(d.exceptions), String(d.badResponses),
                            String(format: "%.1f", d.meanPollSeconds * 1000)]
                }))
                print(String(format: "%d devices, %.1f s: %.1f transactions/s, %.0f registers/s", devices.count, elapsed,
                             summary.transactions_per_second, summary.registers_per_second))
            }
            return ExitStatus.ok
        })

    static func unitRange(_ args: ParsedArguments, default def: String) throws -> (Int, Int) {
        let text = args.string("--units", default: def)
        let bounds = text.split(separator: "-").compactMap { Int($0) }
        guard (1...2).contains(bounds.count), let lo = bounds.first, let hi = bounds.last, lo <= hi,
              (0...247).contains(lo), (0...247).contains(hi) else {
            throw UsageError("--units expects A-B within 0-247, got '\(text)'", command: args.commandPath)
        }
        return (lo, hi)
    }
}

/// Counts readings without keeping them (benchmarks, commissioning).
final class CountingSink: ReadingSink {
    private let total = Atomic<Int>(0)
    func accept(_ readings: [Reading]) { total.add(readings.count, ordering: .relaxed) }
    var count: Int { total.load(ordering: .relaxed) }
}

struct PollSummaryJSON: Encodable {
    var profile: String
    var devices: Int
    var seconds: Double
    var polls: Int
    var successes: Int
    var timeouts: Int
    var exceptions: Int
    var bad_responses: Int
    var transport_errors: Int
    var registers_per_poll: Int
    var readings: Int
    var live_devices: Int
    var dead_devices: Int
    var transactions_per_second: Double
    var registers_per_second: Double
    var live_mean_period: Double?
    var dead_timeouts_each: Double?
    var mean_poll_ms: Double?
}
