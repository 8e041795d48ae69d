/// One command in the table: a name, help text, its options and positionals, subcommands, and `run`.
///
/// Shaped like swift-argument-parser's `CommandConfiguration` (which we cannot depend on): a command
/// table, `--help` on every level, the same option spellings everywhere, usage errors exit 64.
struct CommandSpec: Sendable {
    var name: String
    var abstract: String
    var discussion: String = ""
    var options: [OptionSpec] = []
    var positionals: [PositionalSpec] = []
    var subcommands: [CommandSpec] = []
    /// Runs the command and returns its exit status; nil for a group that only has subcommands.
    var run: (@Sendable (ParsedArguments) throws -> Int32)?

    init(name: String, abstract: String, discussion: String = "", options: [OptionSpec] = [],
         positionals: [PositionalSpec] = [], subcommands: [CommandSpec] = [],
         run: (@Sendable (ParsedArguments) throws -> Int32)? = nil) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = options
        self.positionals = positionals
        self.subcommands = subcommands
        self.run = run
    }
}

struct OptionSpec: Sendable {
    enum Kind: Sendable { case flag, value, repeatable }
    var name: String          // "--db"
    var short: String?        // "-d"
    var valueName: String     // "FILE"
    var help: String
    var kind: Kind
    var isRequired: Bool
    var defaultDescription: String?

    static func flag(_ name: String, short: String? = nil, help: String) -> OptionSpec {
        OptionSpec(name: name, short: short, valueName: "", help: help, kind: .flag, isRequired: false)
    }
    static func value(_ name: String, _ valueName: String, short: String? = nil, help: String,
                      required: Bool = false, default def: String? = nil) -> OptionSpec {
        OptionSpec(name: name, short: short, valueName: valueName, help: help, kind: .value, isRequired: required,
                   defaultDescription: def)
    }
    static func repeatable(_ name: String, _ valueName: String, help: String) -> OptionSpec {
        OptionSpec(name: name, short: nil, valueName: valueName, help: help, kind: .repeatable, isRequired: false)
    }
}

struct PositionalSpec: Sendable {
    var name: String
    var help: String
    var isOptional: Bool
}

/// The options every command that opens the governance database takes, spelled the same everywhere.
enum CommonOptions {
    static let db = OptionSpec.value("--db", "FILE", help: "governance database file",
                                     default: "firewatch.db (or $FIREWATCH_DB)")
    static let json = OptionSpec.flag("--json", help: "print records as JSON, one object per line")
    static let devices = OptionSpec.value("--devices-dir", "DIR", help: "device profiles folder", default: "Devices")
    static let rules = OptionSpec.value("--rules", "DIR", help: "rules folder", default: "Rules")
}
