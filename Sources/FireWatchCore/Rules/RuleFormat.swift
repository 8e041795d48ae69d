/// Number formatting shared by titles, messages and the replay table: at most 2 decimals, no trailing zeros.
enum RuleFormat {
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        var s = String((v * 100).rounded() / 100)
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}
