/// The codes a state or event field may carry and what each means, matched without hashing:
/// numbers by value, strings by text, exactly as a `[String: Output]` table looked up with the
/// value's `codeText` would match them.
struct MQTTCodeTable<Output: Sendable>: Sendable {
    struct Entry: Sendable {
        var code: String
        /// The number whose `codeText` is `code`, if there is one (`"1"` → 1; `"01"`, `"1.0"` → none).
        var number: Double?
        var outputs: [Output]
    }

    var entries: [Entry]

    init(_ table: [String: [Output]]) {
        entries = table.sorted { $0.key < $1.key }.map { code, outputs in
            let n = Double(code).flatMap { JSONValue.number($0).codeText == code ? $0 : nil }
            return Entry(code: code, number: n, outputs: outputs)
        }
    }

    /// The outputs for `raw`, nil when the table does not know its code.
    func outputs(for raw: JSONValue) -> [Output]? {
        switch raw {
        case .number(let n):
            for e in entries where e.number == n { return e.outputs }
        case .string(let s):
            for e in entries where e.code == s { return e.outputs }
        default:
            let text = raw.codeText
            for e in entries where e.code == text { return e.outputs }
        }
        return nil
    }

    /// The most outputs one code has (to reserve readings once).
    var maxOutputs: Int { entries.map(\.outputs.count).max() ?? 0 }

    var allOutputs: [Output] { entries.flatMap(\.outputs) }
}
