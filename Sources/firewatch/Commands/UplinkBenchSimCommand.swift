import FireWatchCore
import FireWatchEdge
import FireWatchModbus
import Foundation

extension Commands {
    /// The simulator side of the end-to-end latency benchmark (bench/office/latency.sh).
    static let uplinkBenchSim = CommandSpec(
        name: "bench-sim", abstract: "benchmark: simulated detectors that flip into and out of alarm at logged times",
        discussion: """
        Serves --devices generic-1r4t detectors (calm baselines) as Modbus TCP slaves on 127.0.0.1:--port,
        unit ids 1…N, and after --warmup seconds flips the detectors' own residual-current state register
        (state.residual_current.1) between alarm and normal, one device at a time every --interval seconds
        (plus a jitter so flips fall at every phase of the poll). Each flip is logged as a JSON line
        {device, transition, time} to --log, for bench/office/latency.py to match with the hazard rows.
        """,
        options: [.value("--port", "P", help: "TCP port of the simulated detectors", required: true),
                  .value("--devices", "N", help: "detectors (FC-ARCM-001…)", default: "4"),
                  .value("--flips", "K", help: "state changes in total", default: "60"),
                  .value("--interval", "SECONDS", help: "time between flips", default: "2"),
                  .value("--warmup", "SECONDS", help: "wait before the first flip", default: "5"),
                  .value("--log", "FILE", help: "flip log (JSON lines)", required: true),
                  CommonOptions.devices],
        run: { args in
            let port = try args.int("--port", range: 1...65535) ?? 1502
            let n = try args.int("--devices", range: 1...247) ?? 4
            let flips = try args.int("--flips", range: 1...100_000) ?? 60
            let interval = try args.double("--interval", range: 0.05...3600) ?? 2
            let warmup = try args.double("--warmup", range: 0...3600) ?? 5
            let log = try args.require("--log")
            let dir = EdgeAssembly.defaultFolder("Devices", configured: args.string("--devices-dir"))
            let profile = try ModbusProfile.resolve("generic-1r4t", in: ModbusProfile.loadAll(directory: dir))
            let sim = MarketSimulator(.init(deviceCount: n, profile: profile, script: .calm, seed: 3, port: port))
            do { _ = try sim.start() } catch {
                throw CommandFailure("cannot serve on 127.0.0.1:\(port): \(error)", status: ExitStatus.unavailable)
            }
            defer { sim.stop() }
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            guard let out = FileHandle(forWritingAtPath: log) else { throw CommandFailure("cannot write \(log)") }
            defer { try? out.close() }
            Thread.sleep(forTimeInterval: warmup)
            var rng = SystemRandomNumberGenerator()
            let channel = Channel(unchecked: "state.residual_current.1")
            for k in 0..<flips {
                let device = k % n
                let raise = (k / n) % 2 == 0
                sim.override(device: device, channel: channel, value: .state(raise ? .alarm : .normal))
                let t = Date().timeIntervalSince1970
                out.write(Data((Output.jsonLine(FlipJSON(device: DemoMarket.deviceID(device + 1),
                                                         transition: raise ? "raise" : "clear", time: t)) + "\n").utf8))
                Thread.sleep(forTimeInterval: interval + Double.random(in: 0..<1, using: &rng))
            }
            printError("bench-sim: \(flips) flips logged to \(log)")
            return ExitStatus.ok
        })
}

struct FlipJSON: Encodable {
    var device: String
    var transition: String
    var time: Double
}
