import FireWatchCore
import Foundation

/// Shared printing for commands: JSON lines, aligned tables, local times.
enum Output {
    static let jsonEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// One JSON object on one line.
    static func jsonLine(_ value: some Encodable) -> String {
        (try? String(decoding: jsonEncoder.encode(value), as: UTF8.self)) ?? "{}"
    }

    /// ISO-8601 in UTC with seconds, e.g. 2026-12-03T02:15:00Z.
    static func iso(_ t: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    /// Local wall time in Asia/Shanghai, the time a fire officer reads.
    static func local(_ t: Double, withDate: Bool = true) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "Asia/Shanghai")
        f.dateFormat = withDate ? "yyyy-MM-dd HH:mm:ss" : "HH:mm:ss"
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    /// A table with columns padded to their widest cell, counting CJK characters as two columns.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for r in all { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], displayWidth(c)) } }
        return all.map { r in
            r.enumerated().map { i, c in
                i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - displayWidth(c) + 2)
            }.joined()
        }.joined(separator: "\n")
    }

    static func displayWidth(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 && ($1.properties.isIdeographic || $1.value >= 0xFF00) ? 2 : 1) }
    }

    static func number(_ v: Double?) -> String {
        guard let v else { return "-" }
        return v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.1f", v)
    }
}
