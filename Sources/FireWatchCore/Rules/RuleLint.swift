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
            }
            if let first = byKind[r.kind] {
                var diffs: [String] = []
                if first.category != r.category { diffs.append("category \(first.category) vs \(r.category)") }
                if first.signal != r.signal { diffs.append("signal \(first.signal.rawValue) vs \(r.signal.rawValue)") }
                if first.severity != r.severity { diffs.append("severity \(first.severity.rawValue) vs \(r.severity.rawValue)") }
                if !diffs.isEmpty {
                    errors.append(at(r, "rule '\(r.name)' claims hazard kind '\(r.kind)' inconsistently with rule '\(first.name)' ("
                                     + diffs.joined(separator: ", ") + ")",
                                     hint: "rules sharing a kind must agree on category, signal and severity; or give it its own kind"))
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

    private static func at(_ r: Rule, _ message: String, hint: String? = nil) -> ConfigError {
        ConfigError(file: r.file, line: r.position.line, column: r.position.column, message: message, hint: hint)
    }
}
