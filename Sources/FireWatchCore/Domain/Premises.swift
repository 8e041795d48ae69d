import Foundation

/// A place a detector hangs in: a stall, shop or rental building, as registered on the town's
/// governance platform (identified there by `platformID` and on site by its QR code).
public struct Premises: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case businessUnit = "business_unit"
        case rentalBuilding = "rental_building"
        case marketStall = "market_stall"
        case other

        public var label: String {
            switch self {
            case .businessUnit: "经营单位"
            case .rentalBuilding: "出租屋"
            case .marketStall: "市场档口"
            case .other: "其他"
            }
        }

        /// Accepts the English code or the Chinese label, as found in platform exports.
        public init?(text: String) {
            let t = text.trimmingCharacters(in: .whitespaces)
            if let k = Kind(rawValue: t) { self = k; return }
            guard let k = Kind.allCases.first(where: { $0.label == t }) else { return nil }
            self = k
        }
    }

    public enum Status: String, Sendable, Codable, CaseIterable {
        case active
        case closed
    }

    public var platformID: String
    public var qrCode: String
    public var name: String
    public var kind: Kind
    public var address: String
    public var community: String
    public var grid: String
    public var marketID: String?
    public var ownerName: String
    public var ownerPhone: String
    public var riskGrade: RiskGrade?
    public var status: Status

    public init(platformID: String, qrCode: String, name: String, kind: Kind, address: String = "",
                community: String = "", grid: String = "", marketID: String? = nil, ownerName: String = "",
                ownerPhone: String = "", riskGrade: RiskGrade? = nil, status: Status = .active) {
        self.platformID = platformID
        self.qrCode = qrCode
        self.name = name
        self.kind = kind
        self.address = address
        self.community = community
        self.grid = grid
        self.marketID = marketID
        self.ownerName = ownerName
        self.ownerPhone = ownerPhone
        self.riskGrade = riskGrade
        self.status = status
    }
}

/// Risk grades from data (A and B self-inspect monthly; inspectors go to C and D).
public enum RiskGrade: String, Sendable, Codable, CaseIterable, Comparable {
    case a = "A", b = "B", c = "C", d = "D"
    public static func < (x: RiskGrade, y: RiskGrade) -> Bool { x.rawValue < y.rawValue }
}

/// A specialised market (wholesale or stall-type) with its edge box(es).
public struct Market: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var address: String
    public var community: String

    public init(id: String, name: String, address: String = "", community: String = "") {
        self.id = id
        self.name = name
        self.address = address
        self.community = community
    }
}

