/// A small, strict JSON parser for MQTT payloads (RFC 8259), straight from bytes into `JSONValue`.
///
/// Faster than going through Foundation for the few hundred bytes a detector sends, keeps numbers
/// and booleans apart (Foundation's `NSNumber` does not), and bounds nesting so a hostile payload
/// cannot exhaust the stack. Returns a short reason on failure, with the byte offset.
public enum MQTTPayloadParser {
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 32) -> Result<JSONValue, MQTTPayloadSyntaxError> {
        bytes.withUnsafeBufferPointer { buf in
            var p = Parser(buf: buf, maxDepth: maxDepth)
            do {
                p.skipSpace()
                let v = try p.value(depth: 0)
                p.skipSpace()
                if p.i != buf.count { throw p.fail("unexpected data after the JSON value") }
                return .success(v)
            } catch let f as MQTTPayloadSyntaxError {
                return .failure(f)
            } catch {
                return .failure(MQTTPayloadSyntaxError(offset: p.i, what: "\(error)"))
            }
        }
    }
}

/// Why a payload is not JSON, and where.
public struct MQTTPayloadSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var what: String
    public var description: String { "\(what) at byte \(offset)" }
}

private struct Parser {
    let buf: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0

    init(buf: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buf = buf
        self.maxDepth = maxDepth
    }

    func fail(_ what: String) -> MQTTPayloadSyntaxError { MQTTPayloadSyntaxError(offset: i, what: what) }

    mutating func skipSpace() {
        while i < buf.count {
            switch buf[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard i < buf.count else { throw fail(i == 0 ? "empty payload" : "unexpected end of payload") }
        switch buf[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("not JSON (unexpected byte 0x\(String(buf[i], radix: 16)))")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= buf.count else { throw fail("unexpected end of payload") }
        for k in 0..<n where buf[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
    }

    mutating func object(depth: Int) throws -> JSONValue {
        guard depth <= maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
        i += 1
        var out: [String: JSONValue] = [:]
        out.reserveCapacity(16)  // detector payloads: about a dozen keys; avoids regrowing
        skipSpace()
        if i < buf.count, buf[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
        while true {
            skipSpace()
            guard i < buf.count, buf[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
            let key = try string()
            skipSpace()
            guard i < buf.count, buf[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key '\(key)'") }
            i += 1
            skipSpace()
            out[key] = try value(depth: depth)
            skipSpace()
            guard i < buf.count else { throw fail("unexpected end of payload") }
            if buf[i] == UInt8(ascii: ",") { i += 1; continue }
            if buf[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws -> JSONValue {
        guard depth <= maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if i < buf.count, buf[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
        while true {
            skipSpace()
            out.append(try value(depth: depth))
            skipSpace()
            guard i < buf.count else { throw fail("unexpected end of payload") }
            if buf[i] == UInt8(ascii: ",") { i += 1; continue }
            if buf[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func string() throws -> String {
        i += 1
        let start = i
        var ascii = true
        // Fast path: no escapes; ASCII needs no UTF-8 validation.
        while i < buf.count {
            let c = buf[i]
            if c == UInt8(ascii: "\"") {
                let bytes = UnsafeBufferPointer(rebasing: buf[start..<i])
                let s = ascii ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
                guard let s else { throw fail("string is not valid UTF-8") }
                i += 1
                return s
            }
            if c >= 0x80 { ascii = false }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in string") }
            i += 1
        }
        var bytes = Array(buf[start..<i])
        while i < buf.count {
            let c = buf[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
                return s
            }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            i += 1
            guard i < buf.count else { break }
            let e = buf[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < buf.count, buf[i] == UInt8(ascii: "\\"), buf[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                bytes.append(contentsOf: String(Character(u)).utf8)
            default: throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= buf.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buf[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    mutating func number() throws -> Double {
        let start = i
        var negative = false
        if buf[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var intDigits = 0
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        guard i < buf.count, isDigit(buf[i]) else { throw fail("invalid number") }
        if buf[i] == UInt8(ascii: "0"), i + 1 < buf.count, isDigit(buf[i + 1]) { throw fail("leading zero in number") }
        while i < buf.count, isDigit(buf[i]) {
            mantissa = mantissa &* 10 &+ UInt64(buf[i] - UInt8(ascii: "0"))
            digits += 1
            intDigits += 1
            i += 1
        }
        var fracDigits = 0
        if i < buf.count, buf[i] == UInt8(ascii: ".") {
            i += 1
            guard i < buf.count, isDigit(buf[i]) else { throw fail("invalid number (digit expected after '.')") }
            while i < buf.count, isDigit(buf[i]) {
                mantissa = mantissa &* 10 &+ UInt64(buf[i] - UInt8(ascii: "0"))
                digits += 1
                fracDigits += 1
                i += 1
            }
        }
        var hasExponent = false
        if i < buf.count, buf[i] == UInt8(ascii: "e") || buf[i] == UInt8(ascii: "E") {
            hasExponent = true
            i += 1
            if i < buf.count, buf[i] == UInt8(ascii: "+") || buf[i] == UInt8(ascii: "-") { i += 1 }
            guard i < buf.count, isDigit(buf[i]) else { throw fail("invalid number (exponent)") }
            while i < buf.count, isDigit(buf[i]) { i += 1 }
        }
        // Exact fast path: up to 15 significant digits and a power of ten that is exact in a Double.
        if !hasExponent, digits <= 15, fracDigits <= 22 {
            let v = Double(mantissa) / Parser.powers[fracDigits]
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
        guard let v = Double(text), v.isFinite else { throw fail("number out of range") }
        return v
    }

    static let powers: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { acc, _ in acc * 10 } }
}
