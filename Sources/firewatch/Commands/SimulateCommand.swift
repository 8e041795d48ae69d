import FireWatchCore
import FireWatchModbus
import Foundation
import Synchronization

extension Commands {
    static let simulate = CommandSpec(
        name: "simulate", abstract: "serve a simulated market of Modbus TCP detectors on loopback",
        discussion: """
        Each port carries up to --devices-per-port detectors as unit ids 1, 2, ... (like one RS-485
        gateway per line); device i answers at port P + i / devices-per-port, unit i % devices-per-port + 1.
        Script `demo`: residual current past 300 mA (device 0, from 10 s), cable temperature past 60 °C
        (device 1, from 15 s), probe open (device 2, at 30 s), device silent (device 3, at 35 s).
        Script `calm`: baselines only.
        """,
        options: [
            .value("--devices", "N", help: "number of simulated detectors", required: true),
            .value("--port", "P", help: "first TCP port (0: free ports)", default: "1502"),
            .value("--devices-per-port", "N", help: "detectors per port, as unit ids 1..N", default: "247"),
            .value("--profile", "ID", help: "register layout of this profile", default: "generic-1r4t"),
            .value("--script", "NAME", help: "demo or calm", default: "demo"),
            .value("--seed", "S", help: "seed of baselines and noise", default: "1"),
            .value("--duration", "S", help: "stop after S seconds (default: until Ctrl-C)"),
            .value("--host", "ADDR", help: "loopback address to listen on", default: "127.0.0.1"),
            .value("--report", "S", help: "print `served N requests` to stderr every S seconds"),
            CommonOptions.devices,
            CommonOptions.json,
        ],
        run: { args in
            let count = try args.int("--devices", range: 1...100_000) ?? 1
            let port = try args.int("--port", range: 0...65535) ?? 1502
            let perPort = try args.int("--devices-per-port", range: 1...247) ?? 247
            let seed = try args.int("--seed", range: 0...Int.max) ?? 1
            let duration = try args.double("--duration", range: 0...31_536_000)
            let host = args.string("--host", default: "127.0.0.1")
            guard host.hasPrefix("127.") else {
                throw UsageError("--host must be a loopback address (127.0.0.0/8)", command: args.commandPath)
            }
            let scriptName = args.string("--script", default: "demo")
            guard let script = SimulationScript.named(scriptName, deviceCount: count) else {
                throw UsageError("--script must be demo or calm, got '\(scriptName)'", command: args.commandPath)
            }
            let profile = try loadModbusProfile(args.string("--profile", default: "generic-1r4t"), args)
            let sim = MarketSimulator(.init(deviceCount: count, profile: profile, script: script, seed: UInt64(seed),
                                            host: host, port: port, devicesPerPort: perPort))
            let endpoints: [MarketSimulator.Endpoint]
            do { endpoints = try sim.start() } catch {
                throw CommandFailure("cannot serve on \(host):\(port): \(error) (is the port in use? try --port 0)",
                                     status: ExitStatus.unavailable)
            }
            if args.has("--json") {
                for e in endpoints { print(Output.jsonLine(SimulatedEndpointJSON(device: e.device, transport: e.transport.description))) }
            } else {
                print("模拟市场: \(count) 台探测器 (\(profile.id)), 脚本 \(scriptName), 种子 \(seed)")
                let shown = endpoints.prefix(20)
                print(Output.table(["设备", "地址"], shown.map { ["sim-\($0.device)", $0.transport.description] }))
                if endpoints.count > shown.count { print("… \(endpoints.count - shown.count) more") }
                for i in script.incidents {
                    print("incident: sim-\(i.device) \(i.kind.rawValue) channel \(i.channel) at \(Output.number(i.start)) s")
                }
            }
            printError("simulating; Ctrl-C stops" + (duration.map { " (or after \(Output.number($0)) s)" } ?? ""))
            let reporting = Atomic<Bool>(true)
            if let every = try args.double("--report", range: 0.1...3600) {
                Thread.detachNewThread {
                    while true {
                        Thread.sleep(forTimeInterval: every)
                        guard reporting.load(ordering: .relaxed) else { return }
                        printError("served \(sim.servedRequests) requests at \(String(format: "%.3f", Date().timeIntervalSince1970))")
                    }
                }
            }
            StopSignal.wait(timeout: duration)
            reporting.store(false, ordering: .relaxed)
            sim.stop()
            printError("stopped after \(sim.servedRequests) requests")
            return ExitStatus.ok
        })

    /// A Modbus profile by id (file in --devices-dir, `generic:...`), as a usage-friendly failure.
    static func loadModbusProfile(_ id: String, _ args: ParsedArguments) throws -> ModbusProfile {
        let dir = args.string("--devices-dir") ?? "Devices"
        if id.hasPrefix("generic:") { return try ModbusProfile.generic(parameters: id) }
        let library = try ModbusProfile.loadAll(directory: dir)
        return try ModbusProfile.resolve(id, in: library)
    }
}

struct SimulatedEndpointJSON: Encodable {
    var device: Int
    var transport: String
}
