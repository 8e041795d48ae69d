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
    /// has no `{device}`).
    public func match(_ topic: String) -> Substring? {
        var captured: Substring = ""
        var rest = Substring(topic)
        for (n, level) in levels.enumerated() {
            if case .multi = level { return captured }
            let segment: Substring
            if let slash = rest.firstIndex(of: "/") {
                segment = rest[..<slash]
                rest = rest[rest.index(after: slash)...]
            } else {
                segment = rest
                rest = ""
                // The topic ends here: every later level must be `#` (which also matches the parent).
                let remaining = levels[(n + 1)...]
                guard matches(level, segment, &captured) else { return nil }
                if remaining.isEmpty { return captured }
                if remaining.count == 1, remaining.first == .multi { return captured }
                return nil
            }
            guard matches(level, segment, &captured) else { return nil }
        }
        return nil  // topic has more levels than the pattern
    }

    private func matches(_ level: Level, _ segment: Substring, _ captured: inout Substring) -> Bool {
        switch level {
        case .literal(let s): return segment == s
        case .single: return true
        case .multi: return true
        case .capture(let prefix, let suffix):
            guard segment.count > prefix.count + suffix.count, segment.hasPrefix(prefix), segment.hasSuffix(suffix) else { return false }
            captured = segment.dropFirst(prefix.count).dropLast(suffix.count)
            return true
        }
    }
}

public struct MQTTPatternError: Error, Equatable, Sendable, CustomStringConvertible {
    public var pattern: String
    public var reason: String
    public var description: String { "topic pattern '\(pattern)': \(reason)" }
}
