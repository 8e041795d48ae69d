/// Checks a loaded rule set beyond syntax and types (unknown channels, names and functions are parse
/// errors already): rules that can never fire, hazard kinds claimed inconsistently, and — as
/// warnings — delays that break the standards' time budgets (../shared/domain.md §3).
public enum RuleLint {
    /// Errors: `firewatch rules check` exits non-zero when there is any.
    public static func check(_ set: RuleSet) -> [ConfigError] {
        var errors: [ConfigError] = []
        var byKind: [String: Rule] = [:]
        for r in set.rules {
            if r.constantRaise == 0 {
                errors.append(at(r, "rule '\(r.name)' can never fire: its `when` is always false"))
            } else if let why = contradiction(r) {
                errors.append(at(r, "rule '\(r.name)' can never fire: \(why)"))
            }
            if let first = byKind[r.kind] {
                var diffs: [String] = []
                if first.category != r.category { diffs.append("category \(first.category) vs \(r.category)") }
                // A pre-alarm and an alarm may share a kind: the hazard escalates from one to the other (the
                // pre-alarm no more severe than the alarm). Anything else, e.g. alarm and fault, may not (GB 50116).
                let pair = Set([first.signal, r.signal])
                if pair == [.prealarm, .alarm] {
                    let (pre, alarm) = first.signal == .prealarm ? (first, r) : (r, first)
                    if pre.severity > alarm.severity {
                        diffs.append("pre-alarm severity \(pre.severity.rawValue) above alarm severity \(alarm.severity.rawValue)")
                    }
                } else {
                    if first.signal != r.signal { diffs.append("signal \(first.signal.rawValue) vs \(r.signal.rawValue)") }
                    if first.severity != r.severity { diffs.append("severity \(first.severity.rawValue) vs \(r.severity.rawValue)") }
                }
                if !diffs.isEmpty {
                    errors.append(at(r, "rule '\(r.name)' claims hazard kind '\(r.kind)' inconsistently with rule '\(first.name)' ("
                                     + diffs.joined(separator: ", ") + ")",
                                     hint: "rules sharing a kind must agree on category, signal and severity (a pre-alarm may share its alarm's kind); or give it its own kind"))
                }
            } else {
                byKind[r.kind] = r
            }
        }
        return errors
    }

    /// Warnings: allowed, but worth a look.
    public static func warnings(_ set: RuleSet, pollSeconds: Double = 5) -> [ConfigError] {
        var out: [ConfigError] = []
        for r in set.rules {
            if r.constantRaise == 1 {
                out.append(at(r, "rule '\(r.name)' always fires: its `when` does not depend on readings"))
            }
            if let c = r.program.clear, c.count == 1, c[0].op == .constant, c[0].imm == 0, !r.latch {
                out.append(at(r, "rule '\(r.name)' never clears: its `clear when` is always false", hint: "use `latch` if it should hold until reset"))
            }
            guard r.signal == .alarm else {
                if r.signal == .fault, r.isDeviceLevel, r.horizon + pollSeconds > 100 {
                    out.append(at(r, "device fault '\(r.name)' waits \(RuleFormat.number(r.horizon)) s; comm loss must show within 100 s (GB 4717 / GB 50166)"))
                }
                continue
            }
            let budgets: [(String, Double, String)] = [
                ("residual_current.", 30, "GB 50166-2019 §4.8: residual-current alarm ≤ 30 s"),
                ("temperature.", 40, "GB 50166-2019 §4.8: temperature alarm ≤ 40 s"),
                ("arc.", 30, "GB 50166-2019 §4.8: fault-arc alarm ≤ 30 s"),
            ]
            for (prefix, budget, source) in budgets where r.patterns.contains(where: { $0.text.hasPrefix(prefix) }) {
                if r.onDelay + pollSeconds > budget {
                    out.append(at(r, "rule '\(r.name)' raises up to \(RuleFormat.number(r.onDelay + pollSeconds)) s after onset at a \(RuleFormat.number(pollSeconds)) s poll; \(source)"))
                }
            }
        }
        return out
    }

    /// Finds `and`-joined conditions that exclude each other: bounds on `value` with an empty
    /// intersection (`value > 500mA and value < 300mA`) or one state required equal to two names.
    static func contradiction(_ r: Rule) -> String? {
        var conjuncts: [RuleExpr] = []
        func flatten(_ e: RuleExpr) {
            if case .binary(.and, let a, let b) = e.node { flatten(a); flatten(b) } else { conjuncts.append(e) }
        }
        flatten(r.whenExpr)
        var lo = -Double.infinity, loStrict = false, hi = Double.infinity, hiStrict = false
        var stateEquals: [String: Double] = [:]
        for c in conjuncts {
            var compiler = RuleCompiler(file: r.file, patterns: r.patterns)
            guard let code = try? compiler.condition(c, what: "").code, code.count == 3 else { continue }
            var (a, b, op) = (code[0], code[1], code[2].op)
            if a.op == .constant {
                swap(&a, &b)
                op = switch op { case .lt: .gt; case .le: .ge; case .gt: .lt; case .ge: .le; default: op }
            }
            guard b.op == .constant else { continue }
            let k = b.imm
            switch a.op {
            case .value:
                switch op {
                case .gt: if k >= lo { lo = k; loStrict = true }
                case .ge: if k > lo { lo = k; loStrict = false }
                case .lt: if k <= hi { hi = k; hiStrict = true }
                case .le: if k < hi { hi = k; hiStrict = false }
                case .eq:
                    if k > lo { lo = k; loStrict = false }
                    if k < hi { hi = k; hiStrict = false }
                default: break
                }
            case .ownState, .refState:
                guard op == .eq else { continue }
                let key = "\(a.op)\(a.a)"
                if let other = stateEquals[key], other != k {
                    let names = [other, k].compactMap { DetectorState(code: Int($0))?.rawValue }
                    return "it needs one state to be both \(names.joined(separator: " and "))"
                }
                stateEquals[key] = k
            default: continue
            }
        }
        if lo > hi || (lo == hi && (loStrict || hiStrict)) {
            return "no value is both \(loStrict ? ">" : ">=") \(RuleFormat.number(lo)) and \(hiStrict ? "<" : "<=") \(RuleFormat.number(hi))"
        }
        return nil
    }

    private static func at(_ r: Rule, _ message: String, hint: String? = nil) -> ConfigError {
        ConfigError(file: r.file, line: r.position.line, column: r.position.column, message: message, hint: hint)
    }
}
