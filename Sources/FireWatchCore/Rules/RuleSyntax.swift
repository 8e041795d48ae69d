/// The parsed (not yet checked) form of a rules file: what the parser builds and the compiler reads.
struct RuleExpr: Sendable {
    indirect enum Node: Sendable {
        case number(Double, unit: String?)
        case string(String)
        case name(String)
        case call(String, [RuleExpr])
        case not(RuleExpr)
        case negate(RuleExpr)
        case binary(BinaryOp, RuleExpr, RuleExpr)
        /// `x in (a, b, c)`
        case member(RuleExpr, [RuleExpr])
    }
    enum BinaryOp: String, Sendable {
        case add = "+", sub = "-", mul = "*", div = "/"
        case lt = "<", le = "<=", gt = ">", ge = ">=", eq = "==", ne = "!="
        case and, or

        var isComparison: Bool { [.lt, .le, .gt, .ge, .eq, .ne].contains(self) }
        var isArithmetic: Bool { [.add, .sub, .mul, .div].contains(self) }
    }
    var node: Node
    var position: SourcePosition
}

/// One `rule NAME on PATTERNS { clauses }` block as written.
struct RuleDecl: Sendable {
    var name: String
    var position: SourcePosition
    var patterns: [(text: String, position: SourcePosition)]
    var signal: (String, SourcePosition)?
    var severity: (String, SourcePosition)?
    var when: RuleExpr?
    var onDelay: Double = 0
    var clearWhen: RuleExpr?
    var offDelay: Double = 0
    var deadband: RuleExpr?
    var latch = false
    var category: String?
    var kind: (String, SourcePosition)?
    var title: (String, SourcePosition)?
}
