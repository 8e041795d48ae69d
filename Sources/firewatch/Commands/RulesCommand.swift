import FireWatchCore
import Foundation

extension Commands {
    static let rulesCommands: [CommandSpec] = [rulesCheck, rulesReplay]

    static let rulesCheck = CommandSpec(
        name: "check", abstract: "parse and lint a rules folder; exit 1 on errors",
        discussion: """
        Reports every syntax, type and lint error as FILE:LINE:COLUMN: unknown channels or functions,
        rules that can never fire, two rules claiming one hazard kind inconsistently. Warnings (delays
        past the GB 50166 time budgets) do not fail the check. The language: docs/rules.md.
        """,
        positionals: [PositionalSpec(name: "DIR", help: "rules folder (default: Rules)", isOptional: true)],
        run: { args in
            let dir = args.positional(0) ?? "Rules"
            let set: RuleSet
            do throws(ConfigErrors) {
                set = try RuleSet.load(directory: dir)
            } catch {
                for e in error.errors { printError(e.description) }
                printError("\(error.errors.count) error\(error.errors.count == 1 ? "" : "s") in \(dir)")
                return ExitStatus.failure
            }
            let errors = RuleLint.check(set)
            for e in errors { printError(e.description) }
            for w in RuleLint.warnings(set) {
                printError(w.description.replacingOccurrences(of: ": error: ", with: ": warning: "))
            }
            guard errors.isEmpty else {
                printError("\(errors.count) error\(errors.count == 1 ? "" : "s") in \(dir)")
                return ExitStatus.failure
            }
            print("\(dir): \(set.rules.count) rules ok (longest delay or window \(Output.number(set.longestHorizon)) s)")
            return ExitStatus.ok
        })

    static let rulesReplay = CommandSpec(
        name: "replay", abstract: "replay recorded readings through rules and print every event",
        discussion: """
        FILE.csv rows: time,device,channel,value (header optional; time ISO-8601 with a zone or epoch
        seconds; state.* values are state names such as fault_open). The virtual clock runs past the
        last row by the rules' longest delay, so a device that fell silent shows its comm loss.
        --devices: a JSON5 list of {id, setpoints, cable, announced}; without it the defaults apply.
        """,
        options: [.value("--rules", "DIR", help: "rules folder", default: "Rules"),
                  .value("--readings", "FILE.csv", help: "recorded readings", required: true),
                  .value("--devices", "FILE", help: "registered set values and cable classes (JSON5)"),
                  CommonOptions.json],
        run: { args in
            let rules = try RuleSet.load(directory: args.string("--rules", default: "Rules"))
            let file = try args.require("--readings")
            guard let data = FileManager.default.contents(atPath: file), let csv = String(data: data, encoding: .utf8) else {
                throw CommandFailure("cannot read \(file) as UTF-8 text", status: ExitStatus.dataError)
            }
            let devices = try args.string("--devices").map { path throws(ConfigErrors) in try RuleReplay.loadDevices(file: path) } ?? []
            let events = try RuleReplay.run(rules: rules, csv: csv, file: file, devices: devices)
            if args.has("--json") {
                for e in events { print(RuleReplay.jsonLine(e)) }
                return ExitStatus.ok
            }
            if events.isEmpty {
                print("no events")
                return ExitStatus.ok
            }
            print(Output.table(["time", "device", "channel", "rule", "kind", "transition", "value", "title"], events.map { e in
                [Output.iso(e.time), e.device, e.channel.isEmpty ? "-" : e.channel, e.rule, e.signal.rawValue,
                 e.transition.rawValue + (e.chattering ? " (chattering)" : "") + (e.announced ? "" : " (shelved)"),
                 Output.number(e.value), e.hazard.title]
            }))
            return ExitStatus.ok
        })
}
