/// The one JSON grammar of MQTT payloads (RFC 8259 over bytes, nesting bounded).
///
/// `MQTTPayloadParser` materialises a whole `JSONValue` with it; `MQTTFieldPlan` walks only the
/// fields a profile reads and skips the rest. Both go through the same string, number, literal,
/// object and array code, so they accept exactly the same payloads and report the first error with
/// the same text at the same byte offset.
struct MQTTPayloadScanner {
    typealias Failure = MQTTPayloadSyntaxError

    /// Where a string's content lies (between its quotes), already validated.
    struct StringSpan {
        var start: Int
        var end: Int
        var isASCII: Bool
        var hasEscapes: Bool
        /// The bytes between the quotes are the text itself.
        var isPlainASCII: Bool { isASCII && !hasEscapes }
        var count: Int { end - start }
    }

    let buf: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0

    init(buf: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buf = buf
        self.maxDepth = maxDepth
    }

    /// Runs `body` on the whole payload: leading space, one value, trailing space, nothing else.
    static func document<T>(_ buf: UnsafeBufferPointer<UInt8>, maxDepth: Int,
                            _ body: (inout MQTTPayloadScanner) throws(Failure) -> T) -> Result<T, Failure> {
        var p = MQTTPayloadScanner(buf: buf, maxDepth: maxDepth)
        do throws(Failure) {
            p.skipSpace()
            let v = try body(&p)
            p.skipSpace()
            if p.i != buf.count { throw p.fail("unexpected data after the JSON value") }
            return .success(v)
        } catch {
            return .failure(error)
        }
    }

    func fail(_ what: String) -> Failure { MQTTPayloadSyntaxError(offset: i, what: what) }

    mutating func skipSpace() {
        while i < buf.count {
            switch buf[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    /// The first byte of the value at `i`.
    func valueStart() throws(Failure) -> UInt8 {
        guard i < buf.count else { throw fail(i == 0 ? "empty payload" : "unexpected end of payload") }
        return buf[i]
    }

    // MARK: values

    /// Parses the value at `i` into a `JSONValue`.
    mutating func value(depth: Int) throws(Failure) -> JSONValue {
        switch try valueStart() {
        case UInt8(ascii: "{"):
            var out: [String: JSONValue] = [:]
            out.reserveCapacity(16)  // detector payloads: about a dozen keys; avoids regrowing
            // A repeated key replaces the earlier value (the last one wins).
            try members(depth: depth + 1) { p, key throws(Failure) in out[p.text(of: key)] = try p.value(depth: depth + 1) }
            return .object(out)
        case UInt8(ascii: "["):
            var out: [JSONValue] = []
            try elements(depth: depth + 1) { p, _ throws(Failure) in out.append(try p.value(depth: depth + 1)) }
            return .array(out)
        default:
            return try scalar()
        }
    }

    /// Validates the value at `i` and moves past it, building nothing.
    mutating func skipValue(depth: Int) throws(Failure) {
        switch try valueStart() {
        case UInt8(ascii: "{"): try members(depth: depth + 1) { p, _ throws(Failure) in try p.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try elements(depth: depth + 1) { p, _ throws(Failure) in try p.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): _ = try skipString()
        default: _ = try scalar()
        }
    }

    /// A string, literal or number at `i`.
    mutating func scalar() throws(Failure) -> JSONValue {
        switch try valueStart() {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        case let c: throw fail("not JSON (unexpected byte 0x\(String(c, radix: 16)))")
        }
    }

    mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= buf.count else { throw fail("unexpected end of payload") }
        for k in 0..<n where buf[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
    }

    // MARK: containers

    /// The object at `i` (on its `{`): calls `member` for each key with the scanner on the key's value,
    /// which `member` must consume. `depth` is the object's own nesting level.
    @inline(__always)
    mutating func members(depth: Int, _ member: (inout MQTTPayloadScanner, StringSpan) throws(Failure) -> Void) throws(Failure) {
        guard try open(depth: depth, close: UInt8(ascii: "}")) else { return }
        repeat {
            skipSpace()
            guard i < buf.count, buf[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
            let key = try skipString()
            skipSpace()
            guard i < buf.count, buf[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key '\(text(of: key))'") }
            i += 1
            skipSpace()
            try member(&self, key)
        } while try next(close: UInt8(ascii: "}"))
    }

    /// The array at `i` (on its `[`): calls `element` with each element's index and the scanner on it.
    @inline(__always)
    mutating func elements(depth: Int, _ element: (inout MQTTPayloadScanner, Int) throws(Failure) -> Void) throws(Failure) {
        guard try open(depth: depth, close: UInt8(ascii: "]")) else { return }
        var k = 0
        repeat {
            skipSpace()
            try element(&self, k)
            k += 1
        } while try next(close: UInt8(ascii: "]"))
    }

    /// Enters the container at `i`; false when it is empty (then it is consumed whole).
    private mutating func open(depth: Int, close: UInt8) throws(Failure) -> Bool {
        guard depth <= maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
        i += 1
        skipSpace()
        guard i < buf.count, buf[i] == close else { return true }
        i += 1
        return false
    }

    /// After a member or element: true when another follows, false at the container's end.
    private mutating func next(close: UInt8) throws(Failure) -> Bool {
        skipSpace()
        guard i < buf.count else { throw fail("unexpected end of payload") }
        if buf[i] == UInt8(ascii: ",") { i += 1; return true }
        if buf[i] == close { i += 1; return false }
        throw fail(close == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'")
    }

    // MARK: strings

    /// The string at `i` (on its opening quote).
    mutating func string() throws(Failure) -> String {
        let (span, decoded) = try scanString(decodingEscapes: true)
        return decoded ?? raw(span)
    }

    /// Validates the string at `i` and moves past it; the span says where its content is.
    mutating func skipString() throws(Failure) -> StringSpan {
        try scanString(decodingEscapes: false).span
    }

    /// The text of a string already scanned (keys are scanned as spans first, most never become text).
    func text(of span: StringSpan) -> String {
        guard span.hasEscapes else { return raw(span) }
        var again = MQTTPayloadScanner(buf: buf, maxDepth: maxDepth)
        again.i = span.start - 1
        return (try? again.string()) ?? raw(span)  // cannot fail: the span was validated
    }

    /// The content bytes as text (valid UTF-8 without escapes, checked by `scanString`).
    private func raw(_ span: StringSpan) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buf[span.start..<span.end]), as: UTF8.self)
    }

    /// The string grammar, once. Without `decodingEscapes` an escaped string is validated only.
    @inline(__always)
    private mutating func scanString(decodingEscapes: Bool) throws(Failure) -> (span: StringSpan, decoded: String?) {
        i += 1
        let start = i
        var ascii = true
        // Fast path: no escapes; ASCII needs no UTF-8 validation.
        while i < buf.count {
            let c = buf[i]
            if c == UInt8(ascii: "\"") {
                guard ascii || Self.isValidUTF8(buf, start..<i) else { throw fail("string is not valid UTF-8") }
                i += 1
                return (StringSpan(start: start, end: i - 1, isASCII: ascii, hasEscapes: false), nil)
            }
            if c >= 0x80 { ascii = false }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in string") }
            i += 1
        }
        var bytes: [UInt8] = []
        if decodingEscapes { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<i])) }
        while i < buf.count {
            let c = buf[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                // Escapes decode to whole scalars, so the decoded text is valid UTF-8 exactly when
                // the bytes between the quotes are.
                guard ascii || Self.isValidUTF8(buf, start..<(i - 1)) else { throw fail("string is not valid UTF-8") }
                let span = StringSpan(start: start, end: i - 1, isASCII: ascii, hasEscapes: true)
                return (span, decodingEscapes ? String(decoding: bytes, as: UTF8.self) : nil)
            }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") {
                if c >= 0x80 { ascii = false }
                if decodingEscapes { bytes.append(c) }
                i += 1
                continue
            }
            i += 1
            guard i < buf.count else { break }
            let e = buf[i]
            i += 1
            let byte: UInt8
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte = e
            case UInt8(ascii: "b"): byte = 0x08
            case UInt8(ascii: "f"): byte = 0x0C
            case UInt8(ascii: "n"): byte = 0x0A
            case UInt8(ascii: "r"): byte = 0x0D
            case UInt8(ascii: "t"): byte = 0x09
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
                if decodingEscapes { bytes.append(contentsOf: u.utf8) }
                continue
            default: throw fail("invalid escape")
            }
            if decodingEscapes { bytes.append(byte) }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(Failure) -> UInt32 {
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

    /// Well-formed UTF-8 (Unicode 15, table 3-7): what `String(validating:as:)` accepts, without
    /// building a String.
    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var k = range.lowerBound
        let end = range.upperBound
        while k < end {
            let c = b[k]
            if c < 0x80 { k += 1; continue }
            let trailing: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: trailing = 1
            case 0xE0: trailing = 2; low = 0xA0
            case 0xED: trailing = 2; high = 0x9F
            case 0xE1...0xEF: trailing = 2
            case 0xF0: trailing = 3; low = 0x90
            case 0xF4: trailing = 3; high = 0x8F
            case 0xF1...0xF3: trailing = 3
            default: return false
            }
            guard end - k > trailing, b[k + 1] >= low, b[k + 1] <= high else { return false }
            var j = 2
            while j <= trailing {
                guard b[k + j] & 0xC0 == 0x80 else { return false }
                j += 1
            }
            k += trailing + 1
        }
        return true
    }

    // MARK: numbers

    mutating func number() throws(Failure) -> Double {
        let start = i
        var negative = false
        if buf[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        guard i < buf.count, isDigit(buf[i]) else { throw fail("invalid number") }
        if buf[i] == UInt8(ascii: "0"), i + 1 < buf.count, isDigit(buf[i + 1]) { throw fail("leading zero in number") }
        while i < buf.count, isDigit(buf[i]) {
            mantissa = mantissa &* 10 &+ UInt64(buf[i] - UInt8(ascii: "0"))
            digits += 1
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
            let v = Double(mantissa) / MQTTPayloadScanner.powers[fracDigits]
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
        guard let v = Double(text), v.isFinite else { throw fail("number out of range") }
        return v
    }

    static let powers: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { acc, _ in acc * 10 } }
}
