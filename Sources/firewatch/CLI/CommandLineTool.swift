@preconcurrency import Glibc
import Foundation
import FireWatchCore

/// Walks the command table, handles `--help` on every level, parses options and runs the command.
struct CommandLineTool {
    let root: CommandSpec

    /// Parses `arguments` (without the program name) and runs; returns the process exit status.
    func run(_ arguments: [String]) -> Int32 {
        var path = [root.name]
        var spec = root
        var rest = arguments[...]
        while let next = rest.first, let sub = spec.subcommands.first(where: { $0.name == next }) {
            spec = sub
            path.append(next)
            rest = rest.dropFirst()
        }
        let pathText = path.joined(separator: " ")
        if rest.contains("--help") || rest.contains("-h") || (rest.first == "help" && spec.run == nil) {
            print(help(for: spec, path: pathText))
            return ExitStatus.ok
        }
        guard let run = spec.run else {
            let message = rest.first.map { "unknown command '\($0)'" } ?? "missing subcommand"
            return usageFailure(UsageError(message, command: pathText), spec: spec)
        }
        do {
            let parsed = try parse(Array(rest), spec: spec, path: pathText)
            return try run(parsed)
        } catch let error as UsageError {
            return usageFailure(error, spec: spec)
        } catch let error as CommandFailure {
            printError("error: \(error.message)")
            return error.status
        } catch let error as ConfigErrors {
            printError(error.description)
            return ExitStatus.dataError
        } catch let error as ConfigError {
            printError(error.description)
            return ExitStatus.dataError
        } catch {
            printError("error: \(error)")
            return ExitStatus.failure
        }
    }

    private func usageFailure(_ error: UsageError, spec: CommandSpec) -> Int32 {
        printError("error: \(error.message)")
        printError(usageLine(for: spec, path: error.command))
        printError("See '\(error.command) --help'.")
        return ExitStatus.usage
    }

    func parse(_ arguments: [String], spec: CommandSpec, path: String) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments(commandPath: path)
        var i = 0
        var onlyPositionals = false
        func option(named name: String) -> OptionSpec? {
            spec.options.first { $0.name == name || ($0.short != nil && $0.short == name) }
        }
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("-") || arg == "-" || Double(arg) != nil {
                parsed.positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            var name = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            guard let opt = option(named: name) else {
                throw UsageError("unknown option '\(name)'", command: path)
            }
            switch opt.kind {
            case .flag:
                if inline != nil { throw UsageError("\(opt.name) takes no value", command: path) }
                parsed.flags.insert(opt.name)
            case .value, .repeatable:
                let value: String
                if let inline { value = inline }
                else {
                    guard i < arguments.count else { throw UsageError("\(opt.name) needs a value \(opt.valueName)", command: path) }
                    value = arguments[i]
                    i += 1
                }
                if opt.kind == .value, parsed.values[opt.name] != nil {
                    throw UsageError("\(opt.name) given more than once", command: path)
                }
                parsed.values[opt.name, default: []].append(value)
            }
        }
        for opt in spec.options where opt.isRequired && parsed.values[opt.name] == nil {
            throw UsageError("missing required option \(opt.name) \(opt.valueName)", command: path)
        }
        let required = spec.positionals.filter { !$0.isOptional }.count
        if parsed.positionals.count < required {
            throw UsageError("missing \(spec.positionals[parsed.positionals.count].name)", command: path)
        }
        if parsed.positionals.count > spec.positionals.count {
            throw UsageError("unexpected argument '\(parsed.positionals[spec.positionals.count])'", command: path)
        }
        return parsed
    }

    func usageLine(for spec: CommandSpec, path: String) -> String {
        if spec.run == nil { return "Usage: \(path) <subcommand> [options]" }
        var parts = ["Usage:", path]
        for opt in spec.options where opt.isRequired { parts.append("\(opt.name) \(opt.valueName)") }
        if spec.options.contains(where: { !$0.isRequired }) { parts.append("[options]") }
        for p in spec.positionals { parts.append(p.isOptional ? "[\(p.name)]" : p.name) }
        return parts.joined(separator: " ")
    }

    func help(for spec: CommandSpec, path: String) -> String {
        var out = "\(path): \(spec.abstract)\n\n\(usageLine(for: spec, path: path))\n"
        if !spec.discussion.isEmpty { out += "\n\(spec.discussion)\n" }
        if !spec.subcommands.isEmpty {
            out += "\nSubcommands:\n"
            let width = spec.subcommands.map(\.name.count).max() ?? 0
            for sub in spec.subcommands {
                out += "  \(sub.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(sub.abstract)\n"
            }
            out += "\nSee '\(path) <subcommand> --help' for details.\n"
        }
        if !spec.positionals.isEmpty {
            out += "\nArguments:\n"
            for p in spec.positionals { out += "  \(p.name)  \(p.help)\n" }
        }
        let opts = spec.options + [OptionSpec.flag("--help", short: "-h", help: "show this help")]
        if spec.run != nil {
            out += "\nOptions:\n"
            let labels = opts.map { o -> String in
                var l = o.short.map { "\($0), " } ?? ""
                l += o.name
                if o.kind != .flag { l += " \(o.valueName)" }
                if o.kind == .repeatable { l += " ..." }
                return l
            }
            let width = labels.map(\.count).max() ?? 0
            for (o, l) in zip(opts, labels) {
                var line = "  \(l.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(o.help)"
                if o.isRequired { line += " (required)" }
                if let d = o.defaultDescription { line += " (default: \(d))" }
                out += line + "\n"
            }
        }
        return out
    }
}

/// Writes a line to standard error (logs, errors, progress), leaving stdout for records.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
