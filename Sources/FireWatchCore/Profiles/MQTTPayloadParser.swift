/// A small, strict JSON parser for MQTT payloads (RFC 8259), straight from bytes into `JSONValue`.
///
/// Faster than going through Foundation for the few hundred bytes a detector sends, keeps numbers
/// and booleans apart (Foundation's `NSNumber` does not), and bounds nesting so a hostile payload
/// cannot exhaust the stack. Returns a short reason on failure, with the byte offset. The grammar is
/// `MQTTPayloadScanner`'s, which a profile's field scan (`MQTTProfile.fields`) shares.
public enum MQTTPayloadParser {
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 32) -> Result<JSONValue, MQTTPayloadSyntaxError> {
        bytes.withUnsafeBufferPointer { buf in
            MQTTPayloadScanner.document(buf, maxDepth: maxDepth) { p throws(MQTTPayloadSyntaxError) in try p.value(depth: 0) }
        }
    }
}

/// Why a payload is not JSON, and where.
public struct MQTTPayloadSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var what: String
    public var description: String { "\(what) at byte \(offset)" }
}
