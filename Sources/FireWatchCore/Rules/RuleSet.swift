import Foundation

/// All rules of a pack (every `*.rules` file of a directory), checked and compiled.
public struct RuleSet: Sendable {
    public private(set) var rules: [Rule]

    public init(rules: [Rule] = []) { self.rules = rules }

    /// Loads every `*.rules` file in `directory`, in name order; reports the errors of all files at once.
    public static func load(directory: String) throws(ConfigErrors) -> RuleSet {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".rules") }.sorted()
        } catch {
            throw ConfigErrors([ConfigError(file: directory, message: "cannot read rules directory",
                                            hint: "give a directory holding *.rules files, e.g. Rules/")])
        }
        guard !names.isEmpty else {
            throw ConfigErrors([ConfigError(file: directory, message: "no *.rules files in this directory")])
        }
        var rules: [Rule] = []
        var errors: [ConfigError] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                errors.append(ConfigError(file: path, message: "cannot read file as UTF-8 text"))
                continue
            }
            let (r, e) = compile(text, file: path)
            rules += r
            errors += e
        }
        errors += duplicateNames(rules)
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return RuleSet(rules: rules)
    }

    /// Parses and compiles one rules text.
    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> RuleSet {
        let (rules, errors) = compile(text, file: file)
        let all = errors + duplicateNames(rules)
        guard all.isEmpty else { throw ConfigErrors(all) }
        return RuleSet(rules: rules)
    }

    /// Longest on-delay, off-delay, window or silence threshold in seconds: how far replay must run
    /// past the last reading for every pending decision to come out.
    public var longestHorizon: Double { rules.map(\.horizon).max() ?? 0 }

    /// `longestHorizon`, lengthened by duration set values the devices register (such as a
    /// `comm_loss_timeout` of 900 s for a 4G detector with a 5-minute heartbeat).
    public func longestHorizon(devices: [DeviceContext]) -> Double {
        var horizon = longestHorizon
        for r in rules {
            for key in r.program.durationSetpointKeys {
                for d in devices {
                    for (name, v) in d.setpoints where name == key || name.hasPrefix(key + ".") { horizon = max(horizon, v) }
                }
            }
        }
        return horizon
    }

    /// What each rule reads: the channels it watches and the other channels of the same device it
    /// refers to. `device register` checks a profile against it with `missingChannels(provided:)`.
    public var requiredChannels: [ChannelRequirement] {
        rules.map { ChannelRequirement(rule: $0.name, watches: $0.patterns, reads: $0.referencedChannels) }
    }

    /// For a profile that provides `provided` channels: the channels rules would read but the profile
    /// does not provide (a rule on `temperature.*` that reads `state.temperature.*`, say).
    public func missingChannels(provided: Set<String>) -> [(rule: String, channel: String)] {
        var missing: [(String, String)] = []
        for rule in rules {
            for channel in provided.sorted() {
                guard let binding = rule.match(channel) else { continue }
                for template in rule.referencedChannels {
                    let name = ChannelPattern.resolve(template, channel: channel, binding: binding)
                    if !provided.contains(name), !missing.contains(where: { $0 == (rule.name, name) }) {
                        missing.append((rule.name, name))
                    }
                }
            }
        }
        return missing
    }

    /// Names of the rules that would watch `channel`.
    public func rules(watching channel: String) -> [String] {
        rules.filter { $0.match(channel) != nil }.map(\.name)
    }

    public func rule(named name: String) -> Rule? { rules.first { $0.name == name } }

    static func duplicateNames(_ rules: [Rule]) -> [ConfigError] {
        var seen: [String: Rule] = [:]
        var errors: [ConfigError] = []
        for r in rules {
            if let first = seen[r.name] {
                errors.append(ConfigError(file: r.file, line: r.position.line, column: r.position.column,
                                          message: "rule '\(r.name)' is defined twice",
                                          hint: "first at \(first.file):\(first.position.line); rule names key events and state"))
            } else {
                seen[r.name] = r
            }
        }
        return errors
    }

    static func compile(_ text: String, file: String) -> ([Rule], [ConfigError]) {
        var parser: RuleParser
        do {
            parser = try RuleParser(text: text, file: file)
        } catch {
            return ([], [error])
        }
        let (decls, syntaxErrors) = parser.parseFile()
        var rules: [Rule] = []
        var errors = syntaxErrors
        for d in decls {
            do {
                rules.append(try build(d, file: file))
            } catch {
                errors.append(error)
            }
        }
        return (rules, errors)
    }

    static func build(_ d: RuleDecl, file: String) throws(ConfigError) -> Rule {
        func fail(_ m: String, _ p: SourcePosition, hint: String? = nil) -> ConfigError {
            ConfigError(file: file, line: p.line, column: p.column, message: m, hint: hint)
        }
        var patterns: [ChannelPattern] = []
        for (text, p) in d.patterns {
            let pattern = ChannelPattern(text)
            guard pattern.isValid else {
                throw fail("'\(text)' is not a channel pattern of the canonical vocabulary", p,
                           hint: "e.g. residual_current.*, temperature.2, state.temperature.*, arc.*, device (docs/rules.md)")
            }
            patterns.append(pattern)
        }
        if patterns.contains(where: \.isDevice), patterns.count > 1 {
            throw fail("`device` cannot be combined with channel patterns", d.patterns[1].position)
        }
        let measuredUnits = Set(patterns.filter { !$0.isState && !$0.isDevice }.compactMap(\.unit))
        if measuredUnits.count > 1 {
            throw fail("the channels of one rule must share a unit (\(measuredUnits.map(\.rawValue).sorted().joined(separator: ", ")))",
                       d.patterns[1].position, hint: "split it into one rule per quantity")
        }
        let units = Set(patterns.map(\.isState))
        if units.count > 1 {
            throw fail("a rule watches either state channels or measured channels, not both", d.position,
                       hint: "split it into two rules with the same kind")
        }
        guard let (signalText, signalPos) = d.signal else {
            throw fail("rule '\(d.name)' has no `signal`", d.position, hint: "add `signal alarm`, `signal prealarm` or `signal fault`")
        }
        guard let signal = SignalClass(rawValue: signalText) else {
            throw fail("expected alarm, prealarm or fault, found '\(signalText)'", signalPos)
        }
        var severity: Severity = signal == .alarm ? .high : .medium
        if let (text, p) = d.severity {
            guard let s = Severity(rawValue: text) else { throw fail("expected low, medium, high or critical, found '\(text)'", p) }
            severity = s
        }
        guard let when = d.when else {
            throw fail("rule '\(d.name)' has no `when` condition", d.position, hint: "add e.g. `when value >= 300mA for 10s`")
        }
        var compiler = RuleCompiler(file: file, patterns: patterns)
        let raise = try compiler.condition(when, what: "`when`")
        compiler.noteSetpoint()
        var clearExpr = d.clearWhen
        if let db = d.deadband {
            guard clearExpr == nil else { throw fail("give either `deadband` or `clear when`, not both", db.position) }
            guard case .binary(let op, let lhs, let rhs) = when.node, [.gt, .ge, .lt, .le].contains(op) else {
                throw fail("`deadband` needs a `when` that is one comparison such as value >= X", db.position,
                           hint: "or write the clear condition with `clear when`")
            }
            let up = op == .gt || op == .ge
            let bound = RuleExpr(node: .binary(up ? .sub : .add, rhs, db), position: db.position)
            clearExpr = RuleExpr(node: .binary(up ? .lt : .gt, lhs, bound), position: db.position)
        }
        let clear = try clearExpr.map { e throws(ConfigError) in try compiler.condition(e, what: "`clear when`").code }
        let titleText = d.title?.0 ?? "{device} {channel_label}" + signal.label
        let (template, unknown) = TitleTemplate.parse(titleText)
        guard let template else {
            throw fail("unknown placeholder {\(unknown ?? "")} in title", d.title?.1 ?? d.position,
                       hint: "placeholders: " + TitleTemplate.Placeholder.allCases.map { "{\($0.rawValue)}" }.joined(separator: " "))
        }
        let program = CompiledRule(
            raise: raise.code, clear: clear, deviceConstants: compiler.deviceConstants, setpointKeys: compiler.setpointKeys,
            setpointConstant: compiler.firstSetpointConstant, refs: compiler.refs, window: compiler.window,
            usesSilence: compiler.usesSilence,
            stackDepth: max(compiler.stackDepth(raise.code), clear.map(compiler.stackDepth) ?? 0,
                            compiler.deviceConstants.map(compiler.stackDepth).max() ?? 0, 1),
            durationSetpointKeys: compiler.durationSetpointKeys, longestDuration: compiler.longestDuration)
        return Rule(name: d.name, file: file, position: d.position, patterns: patterns, signal: signal, severity: severity,
                    category: d.category ?? (signal == .fault ? "equipment" : "electrical"), kind: d.kind?.0 ?? d.name,
                    titleTemplate: titleText, onDelay: d.onDelay, offDelay: d.offDelay, latch: d.latch,
                    program: program, title: template, constantRaise: raise.constant, whenExpr: when)
    }
}

/// What one rule reads (see `RuleSet.requiredChannels`).
public struct ChannelRequirement: Sendable, Equatable {
    public var rule: String
    public var watches: [ChannelPattern]
    /// Other channels of the same device; `*` is the matched index, `@` the matched channel.
    public var reads: [String]
}
