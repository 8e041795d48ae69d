import Foundation

/// Reads a JSON5 file (comments, trailing commas, unquoted keys) with Foundation and turns decoding
/// errors into `ConfigError`s that name the file, the line of the offending key and the field path.
public struct JSON5Source: Sendable {
    public let file: String
    public let text: String

    public init(file: String) throws(ConfigError) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, message: "cannot read file", hint: "check the path and permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, message: "file is not UTF-8 text")
        }
        self.file = file
        self.text = text
    }

    public init(file: String, text: String) {
        self.file = file
        self.text = text
    }

    public func decode<T: Decodable>(_ type: T.Type) throws(ConfigError) -> T {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw describe(error)
        } catch {
            throw ConfigError(file: file, message: "\(error)")
        }
    }

    /// Parses into a `JSONValue` tree for hand-walked formats.
    public func tree() throws(ConfigError) -> JSONValue { try decode(JSONValue.self) }

    /// 1-based line of the first occurrence of `key` (as `key:` or `"key":`) at or after `afterLine`.
    public func line(ofKey key: String, afterLine: Int = 1) -> Int? {
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where i + 1 >= afterLine {
            let l = raw.trimmingCharacters(in: .whitespaces)
            if l.hasPrefix("\"\(key)\"") || l.hasPrefix("'\(key)'") || l.hasPrefix("\(key):") || l.hasPrefix("\(key) :") {
                return i + 1
            }
        }
        return nil
    }

    private func lineOfSyntaxError(_ detail: String) -> Int? {
        // Foundation reports "around line N, column M" or a character offset.
        if let r = detail.range(of: "line ") {
            let digits = detail[r.upperBound...].prefix(while: \.isNumber)
            return Int(digits)
        }
        if let r = detail.range(of: "character ") {
            let digits = detail[r.upperBound...].prefix(while: \.isNumber)
            if let offset = Int(digits) {
                return text.utf8.prefix(offset).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            }
        }
        return nil
    }

    func describe(_ error: DecodingError) -> ConfigError {
        func path(_ p: [any CodingKey]) -> String {
            p.map { k in k.intValue.map { "[\($0)]" } ?? ".\(k.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        func lastKeyLine(_ p: [any CodingKey]) -> Int? {
            var line = 1
            var found: Int?
            for k in p where k.intValue == nil {
                if let l = self.line(ofKey: k.stringValue, afterLine: line) { found = l; line = l }
            }
            return found
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            let where_ = ctx.codingPath
            return ConfigError(file: file, line: lastKeyLine(where_), field: path(where_ + [key]),
                               message: "missing required field '\(key.stringValue)'")
        case .typeMismatch(let type, let ctx):
            return ConfigError(file: file, line: lastKeyLine(ctx.codingPath), field: path(ctx.codingPath),
                               message: "wrong type: expected \(type)", hint: ctx.debugDescription)
        case .valueNotFound(let type, let ctx):
            return ConfigError(file: file, line: lastKeyLine(ctx.codingPath), field: path(ctx.codingPath),
                               message: "missing value: expected \(type)")
        case .dataCorrupted(let ctx):
            let ns = ctx.underlyingError as NSError?
            let detail = (ns?.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ctx.debugDescription
            return ConfigError(file: file, line: ctx.codingPath.isEmpty ? lineOfSyntaxError(detail) : lastKeyLine(ctx.codingPath),
                               field: ctx.codingPath.isEmpty ? nil : path(ctx.codingPath), message: detail)
        @unknown default:
            return ConfigError(file: file, message: "\(error)")
        }
    }
}
