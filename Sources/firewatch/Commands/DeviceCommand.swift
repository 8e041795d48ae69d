import FireWatchCore
import FireWatchEdge
import FireWatchStore
import Foundation

extension Commands {
    static let deviceCommands: [CommandSpec] = [deviceRegister, deviceList, deviceShow, deviceMove, deviceDecommission, deviceCommission]

    static let addressOptions: [OptionSpec] = [
        .value("--bus", "NAME", help: "RS-485 bus name from the edge config (Modbus RTU)"),
        .value("--tcp", "HOST:PORT", help: "Modbus TCP endpoint (gateway or detector)"),
        .value("--mqtt-id", "ID", help: "the id an MQTT detector reports under"),
        .value("--unit", "N", help: "Modbus unit id 1–247 (with --bus or --tcp)"),
    ]

    /// The rules folder the edge runs: `--rules DIR`, else ./Rules, else /usr/share/firewatch/Rules (as `firewatch edge`).
    static let rulesOption = OptionSpec.value("--rules", "DIR", help: "rules folder the edge runs (which channels the rules watch)",
                                              default: "./Rules, else /usr/share/firewatch/Rules")

    static let deviceRegister = CommandSpec(
        name: "register", abstract: "bind a detector to a premises (validates premises, address, profile, set values)",
        discussion: """
        Example: firewatch device register --premises QR-0012 --profile generic-1r4t --bus A --unit 3 \\
                   --location A区12号档口配电箱 --setpoint residual_current.1=300 --setpoint temperature.1=55 --cable pvc
        The profile is checked against the loaded rules (--rules): refused when no alarm or pre-alarm rule
        watches any of its channels; a warning names the rules that never fire for it (their channels are
        not in the profile) and the rules that read channels it lacks.
        Refusals say why and what to do (exit 1); malformed options exit 64; a bad rules file exits 65.
        """,
        options: [CommonOptions.db, CommonOptions.json, CommonOptions.devices, rulesOption,
                  .value("--premises", "QR-OR-ID", help: "premises QR code or platform id", required: true),
                  .value("--profile", "ID", help: "device profile id in Devices/", required: true)]
            + addressOptions
            + [.value("--location", "TEXT", help: "where the detector hangs, e.g. A区12号档口配电箱", required: true),
               .repeatable("--setpoint", "CHANNEL=VALUE", help: "alarm set value in canonical units (mA, °C)"),
               .value("--cable", "pvc|xlpe", help: "cable insulation class (sets the temperature limits)"),
               .value("--id", "ID", help: "device id (default: premises id + address)"),
               .value("--serial", "SERIAL", help: "manufacturer serial (default: the id)"),
               .value("--by", "NAME", help: "who registers it", default: "$USER")],
        run: { args in
            let transport = try parseTransport(args, required: true)!
            var setpoints: [String: Double] = [:]
            for s in args.strings("--setpoint") {
                let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let v = Double(parts[1].trimmingCharacters(in: .whitespaces)), v.isFinite else {
                    throw UsageError("--setpoint '\(s)' is not CHANNEL=VALUE, e.g. residual_current.1=300", command: args.commandPath)
                }
                let channel = parts[0].trimmingCharacters(in: .whitespaces)
                guard setpoints[channel] == nil else { throw UsageError("--setpoint \(channel) given twice", command: args.commandPath) }
                setpoints[channel] = v
            }
            var cable: Device.CableClass?
            if let c = args.string("--cable") {
                guard let parsed = Device.CableClass(rawValue: c.lowercased()) else {
                    throw UsageError("--cable '\(c)' is not pvc or xlpe", command: args.commandPath)
                }
                cable = parsed
            }
            let profiles = try loadProfiles(args)
            let rules = try loadRules(args)
            let service = RegistrationService(store: try openStore(args), profiles: profiles)
            let request = RegistrationRequest(premises: try args.require("--premises"), profile: try args.require("--profile"),
                                              transport: transport, location: try args.require("--location"), setpoints: setpoints,
                                              cable: cable, id: args.string("--id"), serial: args.string("--serial"), actor: actor(args))
            switch try service.register(request, rules: rules, now: Date().timeIntervalSince1970) {
            case .failure(let p):
                if args.has("--json") { print(Output.jsonLine(RefusalJSON(p))) }
                throw CommandFailure("refused (\(p.code)): \(p.message)")
            case .success(let o):
                for w in o.warnings { printError("warning: \(w)") }
                if args.has("--json") { print(Output.jsonLine(DeviceJSON(o.device))) }
                else {
                    print("已登记 registered \(o.device.id) at \(o.premises.platformID) \(o.premises.name) (\(o.device.location)), \(o.device.transport)")
                    print("next: firewatch device commission \(o.device.id)")
                }
                return ExitStatus.ok
            }
        })

    static let deviceList = CommandSpec(
        name: "list", abstract: "list registered detectors",
        options: [CommonOptions.db, CommonOptions.json,
                  .value("--market", "ID", help: "only this market"),
                  .value("--premises", "QR-OR-ID", help: "only this premises"),
                  .value("--status", "STATUS", help: "registered, commissioned, out_of_service or decommissioned"),
                  .flag("--all", help: "include decommissioned detectors")],
        run: { args in
            let store = try openStore(args)
            var list: [Device]
            if let key = args.string("--premises") {
                guard let p = try store.premises(qrOrID: key) else { throw CommandFailure("no premises with QR code or platform id '\(key)'") }
                list = try store.devices(premisesID: p.platformID)
            } else {
                list = try store.devices(marketID: args.string("--market"))
            }
            if let s = args.string("--status") {
                guard let status = Device.Status(rawValue: s) else {
                    throw UsageError("--status '\(s)' is not one of \(Device.Status.allCases.map(\.rawValue).joined(separator: ", "))",
                                     command: args.commandPath)
                }
                list = list.filter { $0.status == status }
            } else if !args.has("--all") {
                list = list.filter { $0.status != .decommissioned }
            }
            if args.has("--json") { for d in list { print(Output.jsonLine(DeviceJSON(d))) } }
            else { print(list.isEmpty ? "没有探测器 (no detectors in \(args.databasePath))" : deviceTable(list)) }
            return ExitStatus.ok
        })

    static let deviceShow = CommandSpec(
        name: "show", abstract: "show one detector with its set values and history",
        options: [CommonOptions.db, CommonOptions.json],
        positionals: [PositionalSpec(name: "ID", help: "device id", isOptional: false)],
        run: { args in
            let store = try openStore(args)
            let id = args.positional(0)!
            guard let d = try store.device(id: id) else { throw CommandFailure("no device with id \(id); see `firewatch device list`") }
            let history = try store.deviceHistory(id: id)
            let premises = try store.premises(id: d.premisesID)
            if args.has("--json") {
                print(Output.jsonLine(DeviceDetailJSON(device: DeviceJSON(d), premises_name: premises?.name,
                    history: history.map { .init(time: Output.iso($0.time), action: $0.action, actor: $0.actor, detail: $0.detail) })))
                return ExitStatus.ok
            }
            print("探测器 \(d.id)   型号 \(d.profileID)   状态 \(statusLabel(d.status)) (\(d.status.rawValue))")
            print("场所: \(d.premisesID) \(premises?.name ?? "")   位置: \(d.location)   市场: \(d.marketID ?? "-")")
            print("地址: \(d.transport)   电缆: \(d.cable?.rawValue ?? "-")   序列号: \(d.serial)")
            if !d.setpoints.isEmpty {
                print("设定值: " + d.setpoints.sorted { $0.key < $1.key }.map { "\($0.key)=\(Output.number($0.value))" }.joined(separator: "  "))
            }
            if let t = d.commissionedAt { print("调试: \(Output.local(t)) by \(d.commissionedBy ?? "-")") }
            print("\n履历:")
            print(Output.table(["时间", "动作", "操作人", "说明"], history.map { [Output.local($0.time), $0.action, $0.actor, $0.detail] }))
            return ExitStatus.ok
        })

    static let deviceMove = CommandSpec(
        name: "move", abstract: "move a detector to another premises, location or address (history kept)",
        options: [CommonOptions.db, CommonOptions.json, CommonOptions.devices,
                  .value("--premises", "QR-OR-ID", help: "new premises"),
                  .value("--location", "TEXT", help: "new location text")] + addressOptions
            + [.value("--by", "NAME", help: "who moves it", default: "$USER")],
        positionals: [PositionalSpec(name: "ID", help: "device id", isOptional: false)],
        run: { args in
            let service = RegistrationService(store: try openStore(args), profiles: try loadProfiles(args))
            let result = try service.move(id: args.positional(0)!, premises: args.string("--premises"), location: args.string("--location"),
                                          transport: try parseTransport(args, required: false), actor: actor(args),
                                          now: Date().timeIntervalSince1970)
            return try finish(result, args: args) { "已迁移 moved \($0.id): \($0.premisesID) (\($0.location)), \($0.transport), \(statusLabel($0.status))" }
        })

    static let deviceDecommission = CommandSpec(
        name: "decommission", abstract: "take a detector out of service for good (address freed, history kept)",
        options: [CommonOptions.db, CommonOptions.json,
                  .value("--reason", "TEXT", help: "why (shown in the history)", default: ""),
                  .value("--by", "NAME", help: "who decommissions it", default: "$USER")],
        positionals: [PositionalSpec(name: "ID", help: "device id", isOptional: false)],
        run: { args in
            let service = RegistrationService(store: try openStore(args), profiles: [:])
            let result = try service.decommission(id: args.positional(0)!, reason: args.string("--reason") ?? "", actor: actor(args),
                                                  now: Date().timeIntervalSince1970)
            return try finish(result, args: args) { "已拆除 decommissioned \($0.id); unit address \($0.transport) is free again" }
        })

    static func finish(_ result: Result<Device, RegistrationProblem>, args: ParsedArguments,
                       text: (Device) -> String) throws -> Int32 {
        switch result {
        case .failure(let p):
            if args.has("--json") { print(Output.jsonLine(RefusalJSON(p))) }
            throw CommandFailure("refused (\(p.code)): \(p.message)")
        case .success(let d):
            print(args.has("--json") ? Output.jsonLine(DeviceJSON(d)) : text(d))
            return ExitStatus.ok
        }
    }

    /// --bus NAME --unit N | --tcp HOST:PORT --unit N | --mqtt-id ID (exactly one).
    static func parseTransport(_ args: ParsedArguments, required: Bool) throws(UsageError) -> Transport? {
        let given = ["--bus", "--tcp", "--mqtt-id"].filter { args.string($0) != nil }
        guard given.count <= 1 else { throw UsageError("give only one of --bus, --tcp, --mqtt-id", command: args.commandPath) }
        guard let which = given.first else {
            if required { throw UsageError("give the address: --bus NAME --unit N, --tcp HOST:PORT --unit N or --mqtt-id ID", command: args.commandPath) }
            if args.string("--unit") != nil { throw UsageError("--unit needs --bus or --tcp", command: args.commandPath) }
            return nil
        }
        if which == "--mqtt-id" {
            if args.string("--unit") != nil { throw UsageError("--unit is for Modbus; MQTT devices have only --mqtt-id", command: args.commandPath) }
            return .mqtt(deviceID: args.string("--mqtt-id")!)
        }
        guard let unit = try args.int("--unit") else {
            throw UsageError("\(which) needs --unit N (the Modbus address set on the detector, 1–247)", command: args.commandPath)
        }
        if which == "--bus" { return .modbusRTU(bus: args.string("--bus")!, unit: unit) }
        let hp = args.string("--tcp")!
        guard let colon = hp.lastIndex(of: ":"), let port = Int(hp[hp.index(after: colon)...]), !hp[..<colon].isEmpty else {
            throw UsageError("--tcp '\(hp)' is not HOST:PORT", command: args.commandPath)
        }
        return .modbusTCP(host: String(hp[..<colon]), port: port, unit: unit)
    }

    static func loadProfiles(_ args: ParsedArguments) throws -> [String: ProfileCapabilities] {
        try ProfileCatalog.load(directory: args.string("--devices-dir") ?? ProcessInfo.processInfo.environment["FIREWATCH_DEVICES"] ?? "Devices")
    }

    /// The rule set of `--rules DIR` (default as the edge's); a bad rules file throws ConfigErrors (exit 65, file:line).
    static func loadRules(_ args: ParsedArguments) throws(ConfigErrors) -> RuleSet {
        try RuleSet.load(directory: EdgeAssembly.defaultFolder("Rules", configured: args.string("--rules")))
    }

    static func actor(_ args: ParsedArguments) -> String {
        args.string("--by") ?? ProcessInfo.processInfo.environment["USER"] ?? "technician"
    }

    static func statusLabel(_ s: Device.Status) -> String {
        switch s {
        case .registered: "已登记未调试"
        case .commissioned: "已调试"
        case .outOfService: "停用"
        case .decommissioned: "已拆除"
        }
    }

    static func deviceTable(_ list: [Device]) -> String {
        Output.table(["设备", "型号", "场所", "位置", "地址", "状态"], list.map { d in
            [d.id, d.profileID, d.premisesID, d.location, d.transport.description, statusLabel(d.status)]
        })
    }
}

struct DeviceJSON: Encodable {
    var id: String
    var serial: String
    var profile: String
    var premises_id: String
    var market_id: String?
    var location: String
    var transport: String
    var cable: String?
    var setpoints: [String: Double]
    var status: String
    var commissioned_at: String?
    var commissioned_by: String?

    init(_ d: Device) {
        id = d.id; serial = d.serial; profile = d.profileID; premises_id = d.premisesID; market_id = d.marketID
        location = d.location; transport = d.transport.description; cable = d.cable?.rawValue; setpoints = d.setpoints
        status = d.status.rawValue; commissioned_at = d.commissionedAt.map(Output.iso); commissioned_by = d.commissionedBy
    }
}

struct DeviceDetailJSON: Encodable {
    struct Entry: Encodable { var time: String; var action: String; var actor: String; var detail: String }
    var device: DeviceJSON
    var premises_name: String?
    var history: [Entry]
}

struct RefusalJSON: Encodable {
    var refused: Bool = true
    var code: String
    var message: String
    init(_ p: RegistrationProblem) { code = p.code; message = p.message }
}
