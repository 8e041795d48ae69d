import Foundation

/// A topic pattern of an MQTT profile: MQTT filter levels (`+`, `#`, literals) plus at most one
/// capture `{device}` that takes the device id from one level, optionally with a literal prefix or
/// suffix in the same level (Alink's `<vendor>/<id>-post` is `+/{device}-post`).
///
/// Parsed once when the profile loads; matching walks the topic's bytes with no regex.
public struct MQTTTopicPattern: Sendable, Equatable, CustomStringConvertible {
    enum Level: Sendable, Equatable {
        case literal(String)
        case single
        case multi
        case capture(prefix: String, suffix: String)
    }

    public let text: String
    let levels: [Level]

    /// The subscription filter (`{device}` levels become `+`).
    public let filter: String
    /// Whether the pattern names the device (otherwise the profile takes it from the payload).
    public var capturesDevice: Bool { levels.contains { if case .capture = $0 { true } else { false } } }

    public init(_ text: String) throws(MQTTPatternError) {
        guard !text.isEmpty else { throw MQTTPatternError(pattern: text, reason: "empty topic pattern") }
        var levels: [Level] = []
        var captures = 0
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        for (n, part) in parts.enumerated() {
            let p = String(part)
            if p == "#" {
                guard n == parts.count - 1 else { throw MQTTPatternError(pattern: text, reason: "'#' must be the last level") }
                levels.append(.multi)
            } else if p == "+" {
                levels.append(.single)
            } else if let open = p.range(of: "{device}") {
                captures += 1
                let prefix = String(p[..<open.lowerBound]), suffix = String(p[open.upperBound...])
                guard !(prefix + suffix).contains(where: { "+#{}".contains($0) }) else {
                    throw MQTTPatternError(pattern: text, reason: "level '\(p)' mixes {device} with wildcards")
                }
                levels.append(.capture(prefix: prefix, suffix: suffix))
            } else {
                guard !p.contains(where: { "+#{}".contains($0) }) else {
                    throw MQTTPatternError(pattern: text, reason: "level '\(p)': wildcards must fill a whole level; use {device} to capture")
                }
                levels.append(.literal(p))
            }
        }
        guard captures <= 1 else { throw MQTTPatternError(pattern: text, reason: "more than one {device}") }
        self.text = text
        self.levels = levels
        filter = levels.map { l -> String in
            switch l {
            case .literal(let s): s
            case .single, .capture: "+"
            case .multi: "#"
            }
        }.joined(separator: "/")
    }

    public var description: String { text }

    /// `nil` when the topic does not match; otherwise the captured device id (empty when the pattern
    /// has no `{device}`). Works on the topic's UTF-8 bytes (no per-character Unicode work).
    public func match(_ topic: String) -> String? {
        var topic = topic
        return topic.withUTF8 { u -> String? in
            var captured: Range<Int>?
            var pos = 0
            var level = 0
            while true {
                guard level < levels.count else { return nil }  // topic has more levels than the pattern
                if case .multi = levels[level] { break }
                var end = pos
                while end < u.count && u[end] != 0x2F { end += 1 }
                let segment = UnsafeBufferPointer(rebasing: u[pos..<end])
                switch levels[level] {
                case .literal(let lit):
                    guard lit.utf8.elementsEqual(segment) else { return nil }
                case .single, .multi:
                    break
                case .capture(let prefix, let suffix):
                    let p = prefix.utf8.count, q = suffix.utf8.count
                    guard segment.count > p + q, prefix.utf8.elementsEqual(segment.prefix(p)),
                          suffix.utf8.elementsEqual(segment.suffix(q)) else { return nil }
                    captured = (pos + p)..<(end - q)
                }
                level += 1
                if end == u.count {
                    // The topic ends here: the pattern must end too, or continue only with `#`
                    // (which also matches the parent level).
                    if level == levels.count { break }
                    if level == levels.count - 1, case .multi = levels[level] { break }
                    return nil
                }
                pos = end + 1
            }
            guard let captured else { return "" }
            return String(decoding: UnsafeBufferPointer(rebasing: u[captured]), as: UTF8.self)
        }
    }
}

public struct MQTTPatternError: Error, Equatable, Sendable, CustomStringConvertible {
    public var pattern: String
    public var reason: String
    public var description: String { "topic pattern '\(pattern)': \(reason)" }
}
