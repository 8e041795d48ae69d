import Foundation

/// One record of a CSV file: its fields and the (1-based) line it starts on.
public struct CSVRecord: Sendable, Equatable {
    public var line: Int
    public var fields: [String]

    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}

/// A record the reader could not split into fields (RFC 4180 violations it does not tolerate).
public struct CSVProblem: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}

/// An RFC 4180 reader: comma-separated fields, records ended by CRLF or LF, fields in double quotes
/// may hold commas, line breaks and doubled quotes (`""`). Blank lines are skipped.
///
/// Tolerated (as spreadsheet exports do): a quote inside an unquoted field is kept as a character,
/// a missing line break at the end of the file. Refused, per record: text after a closing quote,
/// and a quoted field never closed (reported at the line it opened; the rest of the file is lost to it).
public enum CSVReader {
    public static func parse(_ text: String) -> (records: [CSVRecord], problems: [CSVProblem]) {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { parse(UnsafeBufferPointer($0)) }
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> (records: [CSVRecord], problems: [CSVProblem]) {
        let comma: UInt8 = 0x2C, quote: UInt8 = 0x22, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
        var records: [CSVRecord] = []
        var problems: [CSVProblem] = []
        var i = 0
        var line = 1
        let n = b.count
        var scratch: [UInt8] = []
        while i < n {
            let recordLine = line
            var fields: [String] = []
            var broken: String?
            // A blank line (LF or CRLF alone) is no record.
            if b[i] == lf { i += 1; line += 1; continue }
            if b[i] == cr, i + 1 < n, b[i + 1] == lf { i += 2; line += 1; continue }
            fieldLoop: while true {
                if i < n, b[i] == quote {
                    i += 1
                    scratch.removeAll(keepingCapacity: true)
                    var closed = false
                    while i < n {
                        let c = b[i]
                        if c == quote {
                            if i + 1 < n, b[i + 1] == quote { scratch.append(quote); i += 2; continue }
                            i += 1
                            closed = true
                            break
                        }
                        if c == lf { line += 1 }
                        scratch.append(c)
                        i += 1
                    }
                    if !closed {
                        problems.append(CSVProblem(line: recordLine, message: "a quoted field opened here is never closed (missing \")"))
                        return (records, problems)
                    }
                    fields.append(String(decoding: scratch, as: UTF8.self))
                    // After a closing quote: a comma, the end of the record or the end of the file.
                    if i >= n { break fieldLoop }
                    switch b[i] {
                    case comma: i += 1; continue fieldLoop
                    case lf: i += 1; line += 1; break fieldLoop
                    case cr where i + 1 < n && b[i + 1] == lf: i += 2; line += 1; break fieldLoop
                    default:
                        broken = "text after the closing quote of field \(fields.count); quote the whole field and double any \" inside it"
                        while i < n, b[i] != lf { i += 1 }
                        if i < n { i += 1; line += 1 }
                        break fieldLoop
                    }
                } else {
                    let start = i
                    while i < n, b[i] != comma, b[i] != lf { i += 1 }
                    var end = i
                    if i < n, b[i] == lf, end > start, b[end - 1] == cr { end -= 1 }
                    else if i >= n, end > start, b[end - 1] == cr { end -= 1 }
                    fields.append(String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
                    if i >= n { break fieldLoop }
                    if b[i] == comma { i += 1; if i >= n { fields.append("") ; break fieldLoop }; continue fieldLoop }
                    i += 1
                    line += 1
                    break fieldLoop
                }
            }
            if let broken {
                problems.append(CSVProblem(line: recordLine, message: broken))
            } else {
                records.append(CSVRecord(line: recordLine, fields: fields))
            }
        }
        return (records, problems)
    }

    /// One field as RFC 4180 wants it written: quoted when it holds a comma, quote or line break.
    public static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One record, fields escaped, ended by CRLF (RFC 4180).
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\r\n"
    }
}
