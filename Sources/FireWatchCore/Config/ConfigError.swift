/// An error in a file a person wrote (config, profile, rules, CSV): where, what is wrong, what would be right.
///
/// Printed as `file:line:column: error: message (hint)` so editors and people can jump to it.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// A field path such as `devices[3].unit`, when the position is a field rather than a line.
    public var field: String?
    public var message: String
    /// What would be right, or what to do.
    public var hint: String?

    public init(file: String, line: Int? = nil, column: Int? = nil, field: String? = nil, message: String,
                hint: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        var text = "\(place): error: "
        if let field { text += "\(field): " }
        text += message
        if let hint { text += " (\(hint))" }
        return text
    }
}

/// Several errors found in one pass, so a person fixes them all at once.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
