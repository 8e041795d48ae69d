/// Which channels a rule watches: one exact canonical name, a name with one `*` segment
/// (`residual_current.*`, `state.temperature.*`), or `device` for device-level rules such as comm loss.
public struct ChannelPattern: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) { self.text = text }

    public var description: String { text }
    /// `device`: one state machine per device, not per channel.
    public var isDevice: Bool { text == "device" }
    public var hasWildcard: Bool { text.hasSuffix(".*") }
    public var isState: Bool { text.hasPrefix("state.") }

    /// The unit of the channels it matches (nil for state and device patterns).
    public var unit: MeasurementUnit? {
        if isDevice || isState { return nil }
        return Channel(unchecked: text).unit
    }

    /// For a match, the text `*` stands for (`"2"` for `temperature.2` against `temperature.*`);
    /// `""` for an exact match; nil when it does not match.
    public func binding(for channel: String) -> String? {
        if isDevice { return nil }
        if !hasWildcard { return channel == text ? "" : nil }
        let prefix = text.dropLast()
        guard channel.hasPrefix(prefix) else { return nil }
        let rest = channel.dropFirst(prefix.count)
        return rest.isEmpty || rest.contains(".") ? nil : String(rest)
    }

    public func matches(_ channel: String) -> Bool { binding(for: channel) != nil }

    /// Whether the pattern names channels of the canonical vocabulary.
    var isValid: Bool {
        if isDevice { return true }
        guard hasWildcard else { return Channel.isValid(text) }
        let base = String(text.dropLast())
        return Channel.isValid(base + "1") || Channel.isValid(base + "a")
    }

    /// A referenced channel for one match: `@` becomes the matched channel, `*` its index.
    static func resolve(_ template: String, channel: String, binding: String) -> String {
        var out = ""
        for c in template {
            switch c {
            case "@": out += channel
            case "*": out += binding
            default: out.append(c)
            }
        }
        return out
    }

    /// `text` with `*` replaced.
    func instantiate(_ binding: String) -> String {
        hasWildcard ? String(text.dropLast()) + binding : text
    }
}
