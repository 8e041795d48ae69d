import Foundation

/// The columns of a premises registry file (docs/registry.md), with the header names accepted for
/// each: the English names firewatch exports and the Chinese ones the governance platform exports.
public enum PremisesColumn: String, Sendable, CaseIterable {
    case platformID = "platform_id"
    case qrCode = "qr_code"
    case name
    case kind
    case address
    case community
    case grid
    case market
    case ownerName = "owner_name"
    case ownerPhone = "owner_phone"
    case status

    /// The Chinese header firewatch writes on export (the platform's own spelling).
    public var chineseHeader: String {
        switch self {
        case .platformID: "平台编号"
        case .qrCode: "二维码"
        case .name: "名称"
        case .kind: "类型"
        case .address: "地址"
        case .community: "社区"
        case .grid: "网格"
        case .market: "市场"
        case .ownerName: "负责人"
        case .ownerPhone: "电话"
        case .status: "状态"
        }
    }

    /// Every header name accepted for this column (compared after trimming, case-insensitively).
    public var aliases: [String] {
        switch self {
        case .platformID: ["platform_id", "platform id", "platformid", "id", "平台编号", "场所编号", "编号", "平台id"]
        case .qrCode: ["qr_code", "qr code", "qrcode", "qr", "二维码", "二维码编号", "场所二维码"]
        case .name: ["name", "名称", "场所名称", "单位名称"]
        case .kind: ["kind", "type", "类型", "场所类型"]
        case .address: ["address", "地址", "详细地址", "场所地址"]
        case .community: ["community", "社区", "所属社区", "村居"]
        case .grid: ["grid", "网格", "所属网格"]
        case .market: ["market", "market_id", "市场", "所属市场", "市场编号"]
        case .ownerName: ["owner_name", "owner", "负责人", "联系人", "负责人姓名"]
        case .ownerPhone: ["owner_phone", "phone", "电话", "联系电话", "负责人电话", "手机"]
        case .status: ["status", "状态", "场所状态"]
        }
    }

    public static let required: [PremisesColumn] = [.platformID, .qrCode, .name]
}

/// One row of a registry file that passed validation, with its line for messages.
public struct PremisesImportRow: Sendable, Equatable {
    public var line: Int
    /// `marketID` holds the file's market text (an id or a name), resolved against `markets` on import.
    public var premises: Premises

    public init(line: Int, premises: Premises) {
        self.line = line
        self.premises = premises
    }
}

/// A row not imported: its line, its platform id if it had one, and why (with what to change).
public struct RegistryRejection: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public var line: Int
    public var platformID: String?
    public var reason: String

    public init(line: Int, platformID: String?, reason: String) {
        self.line = line
        self.platformID = platformID
        self.reason = reason
    }

    public var description: String { "line \(line)" + (platformID.map { " (\($0))" } ?? "") + ": \(reason)" }

    enum CodingKeys: String, CodingKey { case line, platformID = "platform_id", reason }
}

/// A parsed registry file: valid rows, rejected rows, or a file-level problem (no usable header).
public struct PremisesCSVParse: Sendable {
    public var rows: [PremisesImportRow]
    public var rejections: [RegistryRejection]
    /// Header columns that were not recognised (ignored, listed so a typo is noticed).
    public var ignoredColumns: [String]
}

/// A file that cannot be imported at all.
public struct PremisesCSVFileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Parsing, validation and export of premises registry CSV files (pure: text in, rows out).
public enum PremisesCSV {
    /// Status texts accepted for `active` and `closed` (English codes and the platform's Chinese words).
    static let activeWords: Set<String> = ["", "active", "open", "正常", "在营", "营业", "在业", "有效", "开业", "启用"]
    static let closedWords: Set<String> = ["closed", "inactive", "关闭", "已关闭", "注销", "已注销", "停业", "歇业", "无效", "停用"]

    public static func statusLabel(_ s: Premises.Status) -> String { s == .active ? "正常" : "关闭" }

    /// Parses decoded text: header row first, then one premises per record.
    /// Duplicate platform ids or QR codes within the file: the first row wins, later ones are rejected.
    public static func parse(_ decoded: DecodedRegistryText) throws(PremisesCSVFileError) -> PremisesCSVParse {
        let (records, problems) = CSVReader.parse(decoded.text)
        var rejections = problems.map { RegistryRejection(line: $0.line, platformID: nil, reason: $0.message) }
        rejections += decoded.undecodableLines.map {
            RegistryRejection(line: $0, platformID: nil,
                              reason: "bytes not valid \(decoded.encoding.rawValue); re-export the file as UTF-8 or GBK")
        }
        guard let header = records.first else {
            throw PremisesCSVFileError(message: "the file has no header row; the first line must name the columns (docs/registry.md)")
        }
        var index: [PremisesColumn: Int] = [:]
        var ignored: [String] = []
        for (i, raw) in header.fields.enumerated() {
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if let column = PremisesColumn.allCases.first(where: { $0.aliases.contains(name) }) {
                if index[column] != nil {
                    throw PremisesCSVFileError(message: "line \(header.line): column '\(raw)' names \(column.rawValue) a second time; keep one")
                }
                index[column] = i
            } else if !name.isEmpty {
                ignored.append(raw)
            }
        }
        let missing = PremisesColumn.required.filter { index[$0] == nil }
        if !missing.isEmpty {
            throw PremisesCSVFileError(message: "line \(header.line): the header lacks "
                + missing.map { "\($0.rawValue) (\($0.chineseHeader))" }.joined(separator: ", ")
                + "; found: " + header.fields.joined(separator: ", ") + ". See docs/registry.md for the columns.")
        }
        var rows: [PremisesImportRow] = []
        rows.reserveCapacity(records.count)
        var seenID: [String: Int] = [:]
        var seenQR: [String: Int] = [:]
        for record in records.dropFirst() {
            switch row(record, index: index, headerCount: header.fields.count) {
            case .failure(let r): rejections.append(r)
            case .success(let row):
                let p = row.premises
                if let first = seenID[p.platformID] {
                    rejections.append(RegistryRejection(line: row.line, platformID: p.platformID,
                        reason: "duplicate platform id (first on line \(first)); keep one row per premises"))
                } else if let first = seenQR[p.qrCode] {
                    rejections.append(RegistryRejection(line: row.line, platformID: p.platformID,
                        reason: "QR code \(p.qrCode) is also on line \(first); every premises has its own QR plate"))
                } else {
                    seenID[p.platformID] = row.line
                    seenQR[p.qrCode] = row.line
                    rows.append(row)
                }
            }
        }
        rejections.sort { $0.line < $1.line }
        return PremisesCSVParse(rows: rows, rejections: rejections, ignoredColumns: ignored)
    }

    /// Validates one record against the header's column positions.
    public static func row(_ record: CSVRecord, index: [PremisesColumn: Int],
                           headerCount: Int) -> Result<PremisesImportRow, RegistryRejection> {
        func field(_ c: PremisesColumn) -> String {
            guard let i = index[c], i < record.fields.count else { return "" }
            return record.fields[i].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let id = field(.platformID)
        func reject(_ why: String) -> Result<PremisesImportRow, RegistryRejection> {
            .failure(RegistryRejection(line: record.line, platformID: id.isEmpty ? nil : id, reason: why))
        }
        if record.fields.count > headerCount {
            return reject("\(record.fields.count) fields but the header has \(headerCount); quote fields that contain commas")
        }
        if id.isEmpty { return reject("platform id (平台编号) is empty") }
        if id.count > 64 || id.contains(where: { $0.isWhitespace || $0 == "," }) {
            return reject("platform id '\(id)' must be at most 64 characters without spaces")
        }
        let qr = field(.qrCode)
        if qr.isEmpty { return reject("QR code (二维码) is empty") }
        if qr.count > 256 { return reject("QR code is longer than 256 characters") }
        let name = field(.name)
        if name.isEmpty { return reject("name (名称) is empty") }
        let kindText = field(.kind)
        let kind: Premises.Kind
        if kindText.isEmpty { kind = .other }
        else if let k = Premises.Kind(text: kindText) { kind = k }
        else {
            return reject("kind '\(kindText)' is not one of "
                          + Premises.Kind.allCases.map { "\($0.label)/\($0.rawValue)" }.joined(separator: ", "))
        }
        let statusText = field(.status).lowercased()
        let status: Premises.Status
        if activeWords.contains(statusText) { status = .active }
        else if closedWords.contains(statusText) { status = .closed }
        else { return reject("status '\(field(.status))' is neither active (正常) nor closed (关闭)") }
        let phone = field(.ownerPhone)
        if !phone.isEmpty, phone.count > 40 || phone.contains(where: { !($0.isASCII && ($0.isNumber || "+-() /、,;".contains($0))) && $0 != "，" }) {
            return reject("phone '\(phone)' is not a phone number (digits, +, -, spaces)")
        }
        let market = field(.market)
        return .success(PremisesImportRow(line: record.line, premises: Premises(
            platformID: id, qrCode: qr, name: name, kind: kind, address: field(.address), community: field(.community),
            grid: field(.grid), marketID: market.isEmpty ? nil : market, ownerName: field(.ownerName),
            ownerPhone: phone, status: status)))
    }

    /// The registry as CSV with the platform's Chinese headers, UTF-8 with a BOM so Excel opens it;
    /// `premises import` reads it back unchanged.
    public static func export(_ premises: [Premises], bom: Bool = true) -> String {
        var out = bom ? "\u{FEFF}" : ""
        out += CSVReader.line(PremisesColumn.allCases.map(\.chineseHeader))
        for p in premises {
            out += CSVReader.line([p.platformID, p.qrCode, p.name, p.kind.label, p.address, p.community, p.grid,
                                   p.marketID ?? "", p.ownerName, p.ownerPhone, statusLabel(p.status)])
        }
        return out
    }
}
