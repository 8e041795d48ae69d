import FireWatchCore
import FireWatchMQTT
import FireWatchEdge
import FireWatchModbus
import FireWatchStore
import Foundation

extension Commands {
    static let deviceCommission = CommandSpec(
        name: "commission", abstract: "test a registered detector live, send a test alarm to the office, write the report",
        discussion: """
        Reads every channel once, checks plausibility at rest (temperatures −10…60 °C, residual current
        below its pre-alarm, no fault or alarm states, set values as registered), then sends a test alarm
        marked as a test (it never becomes a hazard): with --data DIR through the running edge's journal
        and uplink, waiting for the office's acknowledgement; without it straight into --db (standalone).
        The loaded rules (--rules) decide which channels must answer; a profile no alarm or pre-alarm rule
        watches fails, and the report names the rules that never fire for it.
        Writes commission-<ID>-<time>.json and .html (printable) into --report-dir. All checks passed:
        the device becomes commissioned (exit 0). A failed check leaves it registered and says what to fix (exit 1).
        """,
        options: [CommonOptions.db, CommonOptions.json, CommonOptions.devices, rulesOption,
                  .value("--by", "NAME", help: "who commissions it", default: "$USER"),
                  .value("--report-dir", "DIR", help: "where to write the report", default: "."),
                  .value("--data", "DIR", help: "the running edge's data directory (test alarm through the uplink)"),
                  .value("--config", "FILE", help: "edge config (for RS-485 bus settings of rtu:// devices)"),
                  .value("--broker", "URL", help: "broker MQTT detectors report to (mqtt:// devices)"),
                  .value("--timeout", "SECONDS", help: "wait for the office's acknowledgement / an MQTT message", default: "60"),
                  .value("--response-timeout", "SECONDS", help: "Modbus response timeout (default: the profile's)")],
        positionals: [PositionalSpec(name: "ID", help: "device id", isOptional: false)],
        run: { args in
            let rules = try loadRules(args)
            let store = try openStore(args)
            let devicesDir = args.string("--devices-dir") ?? ProcessInfo.processInfo.environment["FIREWATCH_DEVICES"] ?? "Devices"
            let timeout = try args.double("--timeout", range: 0.1...3600) ?? 60
            var buses: [String: SerialBusConfig] = [:]
            var broker = args.string("--broker")
            if let file = args.string("--config") {
                let config = try EdgeConfig.load(file: file)
                for b in config.buses ?? [] {
                    buses[b.name] = SerialBusConfig(name: b.name, path: b.path, baud: b.baud, parity: b.parity ?? "N",
                                                    dataBits: b.dataBits ?? 8, stopBits: b.stopBits ?? 1)
                }
                broker = broker ?? config.mqtt?.url
            }
            let reader = try LiveCommissionReader(devicesDir: devicesDir, buses: buses, mqttBroker: broker, mqttTimeout: timeout,
                                                  responseTimeout: try args.double("--response-timeout", range: 0.01...60))
            let route: TestAlarmRoute = args.string("--data").map { .edgeJournal(dataDir: $0, timeout: timeout) } ?? .governance
            let service = CommissioningService(store: store, profiles: try ProfileCatalog.load(directory: devicesDir),
                                               rules: rules, reader: reader, route: route)
            let result: Result<CommissionOutcome, RegistrationProblem>
            do {
                result = try service.commission(deviceID: args.positional(0)!, actor: actor(args),
                                                reportDir: args.string("--report-dir") ?? ".", now: Date().timeIntervalSince1970,
                                                localTime: { Output.local($0) })
            } catch let r as StoreRefusal { throw CommandFailure(r.message) }
            switch result {
            case .failure(let p):
                throw CommandFailure("refused (\(p.code)): \(p.message)")
            case .success(let o):
                if args.has("--json") {
                    print(Output.jsonLine(o.report))
                } else {
                    for c in o.report.checks {
                        let mark = switch c.passed { case true?: "合格  "; case false?: "不合格"; case nil: "不适用" }
                        print("\(mark)  \(c.title): \(c.detail)" + (c.passed == false ? "\n        → \(c.fix ?? "")" : ""))
                    }
                    print(o.report.passed
                          ? "调试合格 commissioned \(o.device.id)"
                          : "调试不合格 not commissioned: \(o.device.id) stays registered; fix the items above and run commission again")
                    if let h = o.htmlFile { print("report: \(h)  \(o.jsonFile ?? "")") }
                }
                return o.report.passed ? ExitStatus.ok : ExitStatus.failure
            }
        })
}
