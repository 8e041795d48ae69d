import FireWatchCore
import FireWatchModbus
import Foundation

extension Commands {
    /// Options naming a Modbus line, shared by `device probe` and `device scan`.
    static let modbusTargetOptions: [OptionSpec] = [
        .value("--tcp", "HOST:PORT", help: "Modbus TCP endpoint"),
        .value("--rtu", "DEVICE", help: "serial device, e.g. /dev/ttyUSB0"),
        .value("--baud", "N", help: "RTU baud rate", default: "9600"),
        .value("--parity", "N|E|O", help: "RTU parity", default: "N"),
        .value("--stop", "1|2", help: "RTU stop bits", default: "1"),
        .value("--timeout", "S", help: "Modbus: response timeout; MQTT: how long to wait for the next message (default 30)"),
    ]

    static let deviceProbe = CommandSpec(
        name: "probe", abstract: "read every channel of one detector once (Modbus) or its next message (MQTT)",
        discussion: """
        Modbus (--tcp or --rtu, with --unit): prints a table, or with --json exactly one object:
        {"profile": ..., "unit": N, "channels": {"residual_current.1": {"value": 123.0, "unit": "mA", "state": "normal"}},
         "setpoints": {"residual_current.1": 300.0}}. A value the device marks invalid is null.
        MQTT (--mqtt and --topic): waits for the next (not retained) message on the topic, decodes it with --profile and
        prints {"profile": ..., "channels": {...}, "time": ISO-8601}.
        Exits 69 when the device, broker or message does not answer in time, 65 when a payload does not decode.
        """,
        options: [.value("--profile", "ID", help: "profile id, or generic:... (docs/modbus-profiles.md)", required: true)]
            + modbusTargetOptions
            + [.value("--unit", "N", help: "Modbus unit id (required with --tcp/--rtu)"), CommonOptions.json, CommonOptions.devices]
            + mqttProbeOptions,
        run: { args in
            let modbus = args.string("--tcp") != nil || args.string("--rtu") != nil
            let mqtt = args.string("--mqtt") != nil
            guard modbus != mqtt else {
                throw UsageError("give one of --tcp HOST:PORT, --rtu DEVICE (Modbus) or --mqtt URL --topic TOPIC (MQTT)",
                                 command: args.commandPath)
            }
            if mqtt { return try mqttProbe(args) }
            guard args.string("--unit") != nil else { throw UsageError("missing --unit N for a Modbus probe", command: args.commandPath) }
            return try modbusProbe(args)
        })

    /// The Modbus branch of `device probe`: the probe command calls it when --tcp or --rtu is given.
    static func modbusProbe(_ args: ParsedArguments) throws -> Int32 {
        let target = try modbusTarget(args)
        let unit = try args.int("--unit", range: 0...247) ?? 1
        let profile = try loadModbusProfile(try args.require("--profile"), args)
        let result: ProbeResult
        do {
            result = try ModbusProbe.probe(profile: profile, target: target, unit: unit,
                                           responseTimeout: try args.double("--timeout", range: 0.01...60))
        } catch {
            throw CommandFailure("\(error)", status: ExitStatus.unavailable)
        }
        if args.has("--json") {
            print(Output.jsonLine(result))
            return ExitStatus.ok
        }
        print("\(profile.name.isEmpty ? profile.id : profile.name)  单元 \(unit)  \(target)")
        print(Output.table(["通道", "数值", "单位", "状态"], result.channels.keys.sorted().map { name in
            let c = result.channels[name]!
            let state = DetectorState(rawValue: c.state).map { "\($0.label) (\($0.rawValue))" } ?? c.state
            return [name, c.value.map { Output.number($0) } ?? "无效", c.unit, state]
        }))
        if let setpoints = result.setpoints, !setpoints.isEmpty {
            print("\n设定值:")
            print(Output.table(["通道", "设定值", "单位"], setpoints.keys.sorted().map { name in
                [name, Output.number(setpoints[name]), Channel(unchecked: name).unit.rawValue]
            }))
        }
        return ExitStatus.ok
    }

    /// `--tcp HOST:PORT` or `--rtu DEVICE --baud N --parity P --stop S`, exactly one.
    static func modbusTarget(_ args: ParsedArguments) throws -> ModbusTarget {
        switch (args.string("--tcp"), args.string("--rtu")) {
        case (let tcp?, nil):
            guard let colon = tcp.lastIndex(of: ":"), let port = Int(tcp[tcp.index(after: colon)...]), (1...65535).contains(port) else {
                throw UsageError("--tcp expects HOST:PORT, got '\(tcp)'", command: args.commandPath)
            }
            return .tcp(host: String(tcp[..<colon]), port: port)
        case (nil, let path?):
            let parity = args.string("--parity", default: "N").uppercased()
            guard ["N", "E", "O"].contains(parity) else {
                throw UsageError("--parity must be N, E or O, got '\(parity)'", command: args.commandPath)
            }
            let baud = try args.int("--baud", range: 300...4_000_000) ?? 9600
            let stop = try args.int("--stop", range: 1...2) ?? 1
            return .rtu(SerialBusConfig(name: "cli", path: path, baud: baud, parity: parity, stopBits: stop))
        case (nil, nil):
            throw UsageError("give --tcp HOST:PORT or --rtu DEVICE", command: args.commandPath)
        default:
            throw UsageError("give either --tcp or --rtu, not both", command: args.commandPath)
        }
    }
}
