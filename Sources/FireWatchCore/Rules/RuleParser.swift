/// Recursive-descent parser for the grammar in docs/rules.md.
struct RuleParser {
    let file: String
    private var tokens: [RuleToken]
    private var at = 0

    init(text: String, file: String) throws(ConfigError) {
        self.file = file
        var lexer = RuleLexer(text: text, file: file)
        self.tokens = try lexer.tokenize()
    }

    private var current: RuleToken { tokens[at] }
    private mutating func advance() { if at < tokens.count - 1 { at += 1 } }

    private func error(_ expected: String, _ token: RuleToken? = nil, hint: String? = nil) -> ConfigError {
        let t = token ?? current
        return ConfigError(file: file, line: t.position.line, column: t.position.column,
                           message: "expected \(expected), found \(t.text)", hint: hint)
    }

    private func isName(_ word: String) -> Bool {
        if case .name(word) = current.kind { return true }
        return false
    }
    private func isSymbol(_ s: String) -> Bool {
        if case .symbol(s) = current.kind { return true }
        return false
    }

    private mutating func expectSymbol(_ s: String, _ what: String? = nil) throws(ConfigError) {
        guard isSymbol(s) else { throw error(what ?? "'\(s)'") }
        advance()
    }

    private mutating func expectName(_ what: String) throws(ConfigError) -> (String, SourcePosition) {
        guard case .name(let n) = current.kind else { throw error(what) }
        let p = current.position
        advance()
        return (n, p)
    }

    /// Parses a whole file. Stops at the first syntax error in each rule but keeps going with the next
    /// `rule`, so one pass reports the errors of every rule.
    mutating func parseFile() -> (rules: [RuleDecl], errors: [ConfigError]) {
        var rules: [RuleDecl] = []
        var errors: [ConfigError] = []
        while current.kind != .end {
            do {
                rules.append(try parseRule())
            } catch {
                errors.append(error)
                // Resynchronise at the next `rule` keyword.
                advance()
                while current.kind != .end && !isName("rule") { advance() }
            }
        }
        return (rules, errors)
    }

    static let clauseWords = ["signal", "severity", "when", "clear", "deadband", "latch", "category", "kind", "title"]

    private mutating func parseRule() throws(ConfigError) -> RuleDecl {
        guard isName("rule") else { throw error("'rule'", hint: "a rules file is a list of `rule NAME on CHANNELS { ... }` blocks") }
        advance()
        let (name, position) = try expectName("a rule name")
        guard isName("on") else { throw error("'on' and a channel pattern such as residual_current.* or device") }
        advance()
        var decl = RuleDecl(name: name, position: position, patterns: [])
        repeat {
            if !decl.patterns.isEmpty { advance() }
            let (p, pp) = try expectName("a channel pattern such as residual_current.*, state.temperature.* or device")
            decl.patterns.append((p, pp))
        } while isSymbol(",")
        try expectSymbol("{", "'{' to open the rule body")
        while !isSymbol("}") {
            if isSymbol(";") { advance(); continue }
            guard case .name(let word) = current.kind, Self.clauseWords.contains(word) else {
                throw error("a clause (\(Self.clauseWords.joined(separator: ", "))) or '}'")
            }
            let wordPos = current.position
            advance()
            switch word {
            case "signal":
                let (s, p) = try expectName("alarm, prealarm or fault")
                decl.signal = (s, p)
            case "severity":
                let (s, p) = try expectName("low, medium, high or critical")
                decl.severity = (s, p)
            case "when":
                guard decl.when == nil else { throw duplicate("when", wordPos) }
                decl.when = try parseExpr()
                if isName("for") { advance(); decl.onDelay = try parseDuration() }
            case "clear":
                if isName("after") {
                    advance()
                    decl.offDelay = try parseDuration()
                } else if isName("when") {
                    guard decl.clearWhen == nil else { throw duplicate("clear when", wordPos) }
                    advance()
                    decl.clearWhen = try parseExpr()
                    if isName("for") { advance(); decl.offDelay = try parseDuration() }
                } else {
                    throw error("'when' or 'after' after 'clear'")
                }
            case "deadband":
                decl.deadband = try parseExpr()
            case "latch":
                decl.latch = true
            case "category":
                decl.category = try expectName("a category such as electrical or equipment").0
            case "kind":
                decl.kind = try expectName("a hazard kind such as residual_current_over")
            case "title":
                guard case .string(let s) = current.kind else { throw error("a quoted title template") }
                decl.title = (s, current.position)
                advance()
            default:
                break
            }
        }
        advance()
        return decl
    }

    private func duplicate(_ clause: String, _ p: SourcePosition) -> ConfigError {
        ConfigError(file: file, line: p.line, column: p.column, message: "'\(clause)' given twice in one rule",
                    hint: "combine the conditions with `or` / `and`")
    }

    static let durationUnits: [String: Double] = ["ms": 0.001, "s": 1, "min": 60, "h": 3600]

    /// `10s`, `1.5 min`, `2h`
    mutating func parseDuration() throws(ConfigError) -> Double {
        guard case .number(let v, var unit) = current.kind else { throw error("a duration such as 10s or 2min") }
        let start = current
        advance()
        if unit == nil, case .name(let n) = current.kind, Self.durationUnits[n] != nil {
            unit = n
            advance()
        }
        guard let u = unit, let scale = Self.durationUnits[u] else {
            throw error("a duration unit (ms, s, min, h) after the number", start)
        }
        return v * scale
    }

    mutating func parseExpr() throws(ConfigError) -> RuleExpr {
        try leftAssociative(["or": .or]) { (p: inout RuleParser) throws(ConfigError) in
            try p.leftAssociative(["and": .and]) { (q: inout RuleParser) throws(ConfigError) in try q.parseNot() }
        }
    }

    /// One left-associative level of binary operators (named like `and` or symbols like `+`).
    private mutating func leftAssociative(_ ops: [String: RuleExpr.BinaryOp],
                                          _ next: (inout RuleParser) throws(ConfigError) -> RuleExpr) throws(ConfigError) -> RuleExpr {
        var lhs = try next(&self)
        while true {
            let op: RuleExpr.BinaryOp? = switch current.kind {
            case .name(let n): ops[n]
            case .symbol(let s): ops[s]
            default: nil
            }
            guard let op else { return lhs }
            let p = current.position
            advance()
            lhs = RuleExpr(node: .binary(op, lhs, try next(&self)), position: p)
        }
    }

    private mutating func parseNot() throws(ConfigError) -> RuleExpr {
        if isName("not") {
            let p = current.position
            advance()
            return RuleExpr(node: .not(try parseNot()), position: p)
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(ConfigError) -> RuleExpr {
        let lhs = try parseSum()
        if case .symbol(let s) = current.kind, let op = RuleExpr.BinaryOp(rawValue: s), op.isComparison {
            let p = current.position
            advance()
            return RuleExpr(node: .binary(op, lhs, try parseSum()), position: p)
        }
        if isName("in") {
            let p = current.position
            advance()
            try expectSymbol("(", "'(' and a list such as (fault_open, fault_short)")
            var items = [try parseSum()]
            while isSymbol(",") {
                advance()
                items.append(try parseSum())
            }
            try expectSymbol(")", "',' or ')'")
            return RuleExpr(node: .member(lhs, items), position: p)
        }
        return lhs
    }

    private mutating func parseSum() throws(ConfigError) -> RuleExpr {
        try leftAssociative(["+": .add, "-": .sub]) { (p: inout RuleParser) throws(ConfigError) in
            try p.leftAssociative(["*": .mul, "/": .div]) { (q: inout RuleParser) throws(ConfigError) in try q.parseUnary() }
        }
    }

    private mutating func parseUnary() throws(ConfigError) -> RuleExpr {
        if isSymbol("-") {
            let p = current.position
            advance()
            return RuleExpr(node: .negate(try parseUnary()), position: p)
        }
        return try parsePrimary()
    }

    static let valueUnits: Set<String> = ["mA", "A", "V", "°C", "℃", "kW", "kWh", "ms", "s", "min", "h"]

    private mutating func parsePrimary() throws(ConfigError) -> RuleExpr {
        let t = current
        switch t.kind {
        case .number(let v, var unit):
            advance()
            if unit == nil, case .name(let n) = current.kind, Self.valueUnits.contains(n) {
                unit = n
                advance()
            }
            return RuleExpr(node: .number(v, unit: unit), position: t.position)
        case .string(let s):
            advance()
            return RuleExpr(node: .string(s), position: t.position)
        case .name(let n):
            if ["and", "or", "in", "for"].contains(n) || Self.clauseWords.contains(n) {
                throw error("a value, a channel, a function call or '('")
            }
            advance()
            if isSymbol("(") {
                advance()
                var args: [RuleExpr] = []
                if !isSymbol(")") {
                    args.append(try parseExpr())
                    while isSymbol(",") {
                        advance()
                        args.append(try parseExpr())
                    }
                }
                try expectSymbol(")", "',' or ')' to close the arguments of \(n)")
                return RuleExpr(node: .call(n, args), position: t.position)
            }
            return RuleExpr(node: .name(n), position: t.position)
        case .symbol("("):
            advance()
            let e = try parseExpr()
            try expectSymbol(")", "')'")
            return e
        default:
            throw error("a value, a channel, a function call or '('")
        }
    }
}
