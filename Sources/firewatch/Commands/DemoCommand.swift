import FireWatchCore
import FireWatchEdge
import FireWatchModbus
import FireWatchStore
import Foundation

extension Commands {
    static let demo = CommandSpec(
        name: "demo", abstract: "run a simulated market end to end into a governance database (no broker needed)",
        discussion: """
        Seeds a market of stalls with one detector each, serves the detectors as real Modbus TCP slaves on
        loopback, runs the edge (poller, rule engine, journal, hazard ledger) in this process, and prints
        alarms and hazards as they happen. Scripted incidents: a residual-current excess, a cable heating up,
        a temperature probe going open, a detector going silent (its comm-loss fault follows after 60 s).
        The database is left behind: see `firewatch hazard list --db FILE`.
        """,
        options: [.value("--db", "FILE", help: "governance database file", default: "firewatch-demo.db"),
                  .value("--duration", "SECONDS", help: "stop by itself after this long (default: until Ctrl-C)"),
                  .value("--stalls", "N", help: "number of stalls, one detector each", default: "30"),
                  .value("--poll", "SECONDS", help: "poll period", default: "2"),
                  .value("--data", "DIR", help: "edge data directory", default: "FILE without .db + -data"),
                  CommonOptions.devices, CommonOptions.rules, CommonOptions.json],
        run: { args in
            let db = args.string("--db") ?? "firewatch-demo.db"
            let stalls = try args.int("--stalls", range: 4...247) ?? 30
            let poll = try args.double("--poll", range: 0.2...60) ?? 2
            let duration = try args.double("--duration", range: 1...1e9)
            let data = args.string("--data") ?? (db.hasSuffix(".db") ? String(db.dropLast(3)) : db) + "-data"
            let devicesDir = EdgeAssembly.defaultFolder("Devices", configured: args.string("--devices-dir"))
            let rulesDir = EdgeAssembly.defaultFolder("Rules", configured: args.string("--rules"))
            let observer = ConsoleObserver(json: args.has("--json"))

            let profile = try ModbusProfile.resolve("generic-1r4t", in: ModbusProfile.loadAll(directory: devicesDir))
            let script = SimulationScript(incidents: [
                .init(device: 2, kind: .residualCurrentRise, start: 5),
                .init(device: 6, kind: .temperatureRise, start: 8, channel: 2),
                .init(device: 11, kind: .probeOpen, start: 12, channel: 3),
                .init(device: 17, kind: .silent, start: 15),
            ])
            let simulator = MarketSimulator(.init(deviceCount: stalls, profile: profile, script: script, seed: 7))
            let endpoints = try simulator.start()
            defer { simulator.stop() }

            let premises = DemoMarket.premises(count: stalls)
            let devices = endpoints.map { ep in
                EdgeConfig.DeviceEntry(id: DemoMarket.deviceID(ep.device + 1), profile: profile.id,
                                       premises: premises[ep.device].platformID, transport: ep.transport.description,
                                       location: "\(premises[ep.device].name) 末端配电箱",
                                       setpoints: ["residual_current.1": 300], cable: .pvc)
            }
            let config = EdgeConfig(edge: "demo-edge", market: DemoMarket.market, data: data, governance: db,
                                    devicesDir: devicesDir, rulesDir: rulesDir, pollPeriod: poll, premises: premises,
                                    devices: devices)
            let edge = try EdgeAssembly(config: config, observer: observer)
            try edge.start()
            if !args.has("--json") {
                print("""
                firewatch 演示：\(DemoMarket.market.name)，\(stalls) 个档口各装 1 台剩余电流/温度探测器（模拟 Modbus TCP \(endpoints.first.map { "\($0.host):\($0.port)" } ?? "")），每 \(Output.number(poll)) 秒轮询。
                预设事件：\(premises[2].name) 剩余电流升高；\(premises[6].name) 线缆温度升高；\(premises[11].name) 温度探头开路；\(premises[17].name) 探测器失联。
                数据库：\(db)    \(duration.map { "运行 \(Output.number($0)) 秒" } ?? "按 Ctrl-C 结束")
                """)
            }
            StopSignal.wait(timeout: duration)
            edge.stop()
            if !args.has("--json") {
                let store = try SQLiteGovernanceStore(path: db)
                let open = try store.hazards(HazardFilter(openOnly: true))
                print("\n演示结束：\(open.count) 条未关闭隐患，已写入 \(db)。查看：firewatch hazard list --db \(db)")
            }
            return ExitStatus.ok
        })
}
