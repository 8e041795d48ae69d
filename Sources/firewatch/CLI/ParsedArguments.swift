import Foundation

/// The result of parsing one command's arguments: typed accessors that turn bad values into usage errors.
struct ParsedArguments: Sendable {
    let commandPath: String
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    func string(_ name: String) -> String? { values[name]?.last }

    func string(_ name: String, default def: String) -> String { values[name]?.last ?? def }

    func strings(_ name: String) -> [String] { values[name] ?? [] }

    func require(_ name: String) throws(UsageError) -> String {
        guard let v = string(name) else { throw UsageError("missing \(name)", command: commandPath) }
        return v
    }

    func int(_ name: String, range: ClosedRange<Int>? = nil) throws(UsageError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let v = Int(text) else { throw UsageError("\(name) expects a whole number, got '\(text)'", command: commandPath) }
        if let range, !range.contains(v) {
            throw UsageError("\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)", command: commandPath)
        }
        return v
    }

    func double(_ name: String, range: ClosedRange<Double>? = nil) throws(UsageError) -> Double? {
        guard let text = string(name) else { return nil }
        guard let v = Double(text), v.isFinite else {
            throw UsageError("\(name) expects a number, got '\(text)'", command: commandPath)
        }
        if let range, !range.contains(v) {
            throw UsageError("\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)", command: commandPath)
        }
        return v
    }

    func positional(_ index: Int) -> String? { positionals.indices.contains(index) ? positionals[index] : nil }

    /// The governance database path: --db, else $FIREWATCH_DB, else ./firewatch.db.
    var databasePath: String {
        string("--db") ?? ProcessInfo.processInfo.environment["FIREWATCH_DB"] ?? "firewatch.db"
    }
}

/// A mistake in how the command was called: printed with the command's usage, exit 64 (EX_USAGE).
struct UsageError: Error, CustomStringConvertible {
    var message: String
    var command: String
    init(_ message: String, command: String) {
        self.message = message
        self.command = command
    }
    var description: String { message }
}

/// A failure that is not a usage error: printed as `error: …`, with a chosen exit status.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var status: Int32
    init(_ message: String, status: Int32 = 1) {
        self.message = message
        self.status = status
    }
    var description: String { message }
}

/// Exit statuses (sysexits.h where one fits).
enum ExitStatus {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 64
    /// Bad input data: a config, profile, rules or CSV file with errors.
    static let dataError: Int32 = 65
    /// A peer (device, broker) did not answer.
    static let unavailable: Int32 = 69
}
