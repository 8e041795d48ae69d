import Foundation

/// The text encodings registry files arrive in: UTF-8 (with or without the BOM Excel writes) and
/// GB18030, the superset of GBK and GB2312 that Chinese government systems export.
public enum RegistryTextEncoding: String, Sendable, Codable, Equatable {
    case utf8 = "UTF-8"
    case utf8BOM = "UTF-8 with BOM"
    case gb18030 = "GB18030"
}

/// A decoded registry file: its text, the encoding found, and lines whose bytes were not valid in it
/// (their text is left empty, so they are rejected by line number instead of importing garbage).
public struct DecodedRegistryText: Sendable, Equatable {
    public var text: String
    public var encoding: RegistryTextEncoding
    public var undecodableLines: [Int]

    public init(text: String, encoding: RegistryTextEncoding, undecodableLines: [Int] = []) {
        self.text = text
        self.encoding = encoding
        self.undecodableLines = undecodableLines
    }
}

/// Detects and decodes the encoding of a registry file.
///
/// Rule: a UTF-8 BOM means UTF-8. Otherwise bytes that are valid UTF-8 are UTF-8 (GBK text of any
/// length almost never is: its lead bytes 0x81–0xFE followed by 0x40–0xFE break UTF-8's
/// continuation pattern). Otherwise GB18030, unless more than half of the non-ASCII lines are valid UTF-8 on their
/// own (a UTF-8 file with a few damaged lines). Lines that do not decode are reported, not guessed.
///
/// GB18030 decoding uses Foundation's CoreFoundation converter (kCFStringEncodingGB_18030_2000,
/// which swift-corelibs-foundation ships on Linux, checked on Swift 6.3 / Debian 12), so this stays
/// free of C modules. Line breaks are split on raw 0x0A bytes, which is safe in GB18030: its
/// trailing bytes are 0x30–0x39 and 0x40–0xFE, never 0x0A.
public enum RegistryTextDecoder {
    /// `String.Encoding` for GB18030-2000: CFStringEncoding 0x0632 with the NSString mapping bit.
    public static let gb18030 = String.Encoding(rawValue: 0x8000_0632)

    public static func decode(_ data: Data) -> DecodedRegistryText {
        let bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            return decodeUTF8(bytes.dropFirst(3), encoding: .utf8BOM)
        }
        if let s = String(validating: bytes, as: UTF8.self) {
            return DecodedRegistryText(text: s, encoding: .utf8, undecodableLines: [])
        }
        let lines = split(bytes)
        let nonASCII = lines.filter { $0.contains { $0 >= 0x80 } }
        let validUTF8 = nonASCII.filter { String(validating: $0, as: UTF8.self) != nil }.count
        if !nonASCII.isEmpty, validUTF8 * 2 > nonASCII.count {
            return decodeUTF8(bytes[...], encoding: .utf8)
        }
        if let s = String(data: data, encoding: gb18030) {
            return DecodedRegistryText(text: s, encoding: .gb18030, undecodableLines: [])
        }
        var out: [String] = []
        var bad: [Int] = []
        for (i, l) in lines.enumerated() {
            if let s = String(data: Data(l), encoding: gb18030) { out.append(s) } else { out.append(""); bad.append(i + 1) }
        }
        return DecodedRegistryText(text: out.joined(separator: "\n"), encoding: .gb18030, undecodableLines: bad)
    }

    private static func decodeUTF8(_ bytes: ArraySlice<UInt8>, encoding: RegistryTextEncoding) -> DecodedRegistryText {
        if let s = String(validating: bytes, as: UTF8.self) {
            return DecodedRegistryText(text: s, encoding: encoding, undecodableLines: [])
        }
        var out: [String] = []
        var bad: [Int] = []
        for (i, l) in split(Array(bytes)).enumerated() {
            if let s = String(validating: l, as: UTF8.self) { out.append(s) } else { out.append(""); bad.append(i + 1) }
        }
        return DecodedRegistryText(text: out.joined(separator: "\n"), encoding: encoding, undecodableLines: bad)
    }

    /// Physical lines on 0x0A (a trailing CR stays with its line; the CSV reader handles it).
    private static func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    }
}
