/// Why an MQTT payload produced no readings. Each case names the field and what was wrong, so
/// one log line tells a technician what to fix (../shared/pitfalls.md: bad input never silent).
public enum MQTTPayloadRejection: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLarge(bytes: Int, limit: Int)
    case notJSON(String)
    case notAnObject
    case topicMismatch(topic: String, pattern: String)
    case missingDevice(field: String)
    case missingField(String)
    case wrongType(field: String, expected: String, found: String)
    case unexpectedMessage(field: String, expected: String, found: String)
    case unknownCode(field: String, code: String)
    case timestampUnreadable(field: String, value: String)
    case timestampInFuture(field: String, seconds: Double, limit: Double)
    case timestampTooOld(field: String, seconds: Double, limit: Double)
    case noMappedField(expected: [String])

    public var description: String {
        switch self {
        case .tooLarge(let bytes, let limit):
            "payload of \(bytes) bytes is over the limit of \(limit) bytes"
        case .notJSON(let why):
            "payload is not JSON: \(why)"
        case .notAnObject:
            "payload is JSON but not an object ({...})"
        case .topicMismatch(let topic, let pattern):
            "topic '\(topic)' does not match the profile's pattern '\(pattern)'"
        case .missingDevice(let field):
            "no device id: field '\(field)' is missing or empty"
        case .missingField(let field):
            "required field '\(field)' is missing"
        case .wrongType(let field, let expected, let found):
            "field '\(field)' has the wrong type: expected \(expected), found \(found)"
        case .unexpectedMessage(let field, let expected, let found):
            "not a message this profile reads: '\(field)' is \(found), expected \(expected)"
        case .unknownCode(let field, let code):
            "field '\(field)' has code \(code), which the profile does not know"
        case .timestampUnreadable(let field, let value):
            "timestamp '\(field)' = \(value) is not epoch seconds/milliseconds or 'yyyy-MM-dd HH:mm:ss'"
        case .timestampInFuture(let field, let seconds, let limit):
            "timestamp '\(field)' is \(Int(seconds)) s in the future (limit \(Int(limit)) s); check the device clock"
        case .timestampTooOld(let field, let seconds, let limit):
            "timestamp '\(field)' is \(Int(seconds)) s in the past (limit \(Int(limit)) s); check the device clock"
        case .noMappedField(let expected):
            "payload has none of the fields the profile maps (\(expected.prefix(6).joined(separator: ", "))\(expected.count > 6 ? ", ..." : ""))"
        }
    }
}

extension JSONValue {
    /// The JSON type's name, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// A short rendering of a scalar for messages and code lookups.
    var codeText: String {
        switch self {
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .array: "[...]"
        case .object: "{...}"
        }
    }
}
