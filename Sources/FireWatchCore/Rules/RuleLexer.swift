/// One token of the rule language (docs/rules.md, "Syntax").
struct RuleToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// A word or dotted name: `rule`, `value`, `residual_current.*`, `state.temperature.2`.
        case name(String)
        /// A number, with the unit written right after it if any (`300mA`, `70°C`, `10s`).
        case number(Double, unit: String?)
        case string(String)
        /// Punctuation and operators: `{ } ( ) , ; + - * / < <= > >= == !=`.
        case symbol(String)
        case end
    }
    var kind: Kind
    var position: SourcePosition

    var text: String {
        switch kind {
        case .name(let n): "'\(n)'"
        case .number(let v, let u): "number \(RuleFormat.number(v))\(u ?? "")"
        case .string: "a string"
        case .symbol(let s): "'\(s)'"
        case .end: "end of file"
        }
    }
}

/// Hand-written lexer: names may contain dots and `*` segments so channel patterns read as one word.
struct RuleLexer {
    let file: String
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var column = 1

    init(text: String, file: String) {
        self.file = file
        self.scalars = Array(text.unicodeScalars)
    }

    static let unitScalars: Set<Unicode.Scalar> = ["°", "℃", "%"]

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let i = index + offset
        return i < scalars.count ? scalars[i] : nil
    }

    private mutating func bump() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private static func isLetter(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_"
    }
    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    mutating func tokenize() throws(ConfigError) -> [RuleToken] {
        var tokens: [RuleToken] = []
        while true {
            skipSpaceAndComments()
            let here = SourcePosition(line: line, column: column)
            guard let c = peek() else {
                tokens.append(RuleToken(kind: .end, position: here))
                return tokens
            }
            if Self.isLetter(c) {
                tokens.append(RuleToken(kind: .name(lexName()), position: here))
            } else if Self.isDigit(c) || (c == "." && peek(1).map(Self.isDigit) == true) {
                tokens.append(RuleToken(kind: try lexNumber(at: here), position: here))
            } else if c == "\"" {
                tokens.append(RuleToken(kind: .string(try lexString(at: here)), position: here))
            } else {
                let two = peek(1).map { String(c) + String($0) } ?? ""
                if ["<=", ">=", "==", "!="].contains(two) {
                    bump(); bump()
                    tokens.append(RuleToken(kind: .symbol(two), position: here))
                } else if "{}(),;+-*/<>".unicodeScalars.contains(c) {
                    bump()
                    tokens.append(RuleToken(kind: .symbol(String(c)), position: here))
                } else {
                    throw ConfigError(file: file, line: line, column: column,
                                      message: "unexpected character '\(c)'",
                                      hint: "expected a name, a number, a string or an operator")
                }
            }
        }
    }

    private mutating func skipSpaceAndComments() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{FEFF}" {
                bump()
            } else if c == "#" || (c == "/" && peek(1) == "/") {
                while let d = peek(), d != "\n" { bump() }
            } else {
                return
            }
        }
    }

    private mutating func lexName() -> String {
        var s = String.UnicodeScalarView()
        while let c = peek() {
            if Self.isLetter(c) || Self.isDigit(c) {
                s.append(c); bump()
            } else if c == ".", let n = peek(1), Self.isLetter(n) || Self.isDigit(n) || n == "*" {
                s.append(c); bump()
                if n == "*" { s.append(n); bump() }
            } else {
                break
            }
        }
        return String(s)
    }

    private mutating func lexNumber(at here: SourcePosition) throws(ConfigError) -> RuleToken.Kind {
        var digits = ""
        var seenDot = false
        while let c = peek(), Self.isDigit(c) || (c == "." && !seenDot && peek(1).map(Self.isDigit) == true) {
            if c == "." { seenDot = true }
            digits.unicodeScalars.append(c)
            bump()
        }
        var unit = ""
        while let c = peek(), Self.isLetter(c) || Self.unitScalars.contains(c) {
            unit.unicodeScalars.append(c)
            bump()
        }
        guard let value = Double(digits) else {
            throw ConfigError(file: file, line: here.line, column: here.column, message: "bad number '\(digits)'")
        }
        return .number(value, unit: unit.isEmpty ? nil : unit)
    }

    private mutating func lexString(at here: SourcePosition) throws(ConfigError) -> String {
        bump()
        var s = String.UnicodeScalarView()
        while let c = peek() {
            if c == "\"" {
                bump()
                return String(s)
            }
            if c == "\n" { break }
            if c == "\\", let n = peek(1) {
                bump(); bump()
                switch n {
                case "n": s.append("\n")
                case "t": s.append("\t")
                default: s.append(n)
                }
                continue
            }
            s.append(c)
            bump()
        }
        throw ConfigError(file: file, line: here.line, column: here.column, message: "unterminated string",
                          hint: "close it with \" on the same line")
    }
}
