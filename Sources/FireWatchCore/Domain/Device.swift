/// A registered detector: what it is (profile), where it hangs (premises), and how to reach it.
public struct Device: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Registered, not yet commissioned: readings and alarms flow, the report is missing.
        case registered
        case commissioned
        /// Shelved / out of service (ISA-18.2): events are recorded but not announced.
        case outOfService = "out_of_service"
        case decommissioned
    }

    /// Cable insulation class, which sets the temperature alarm (GB 51348-2019 §13.5.6).
    public enum CableClass: String, Sendable, Codable, CaseIterable {
        case pvc
        case xlpe

        /// Maximum rated conductor temperature in °C.
        public var ratedTemperatureCelsius: Double {
            switch self {
            case .pvc: 70
            case .xlpe: 90
            }
        }
    }

    /// Identifier used everywhere (events, hazards, topics); usually the detector's serial number.
    public var id: String
    public var serial: String
    public var profileID: String
    public var premisesID: String
    public var marketID: String?
    public var location: String
    public var transport: Transport
    /// Registered set values per channel, in canonical units (e.g. residual_current.1 = 300 mA).
    public var setpoints: [String: Double]
    public var cable: CableClass?
    public var status: Status
    public var commissionedAt: Double?
    public var commissionedBy: String?
    public var commissionReport: String?

    public init(id: String, serial: String? = nil, profileID: String, premisesID: String, marketID: String? = nil,
                location: String = "", transport: Transport, setpoints: [String: Double] = [:],
                cable: CableClass? = nil, status: Status = .registered, commissionedAt: Double? = nil,
                commissionedBy: String? = nil, commissionReport: String? = nil) {
        self.id = id
        self.serial = serial ?? id
        self.profileID = profileID
        self.premisesID = premisesID
        self.marketID = marketID
        self.location = location
        self.transport = transport
        self.setpoints = setpoints
        self.cable = cable
        self.status = status
        self.commissionedAt = commissionedAt
        self.commissionedBy = commissionedBy
        self.commissionReport = commissionReport
    }

    /// Events of shelved or out-of-service devices are recorded but not announced.
    public var isAnnounced: Bool { status == .registered || status == .commissioned }
}

/// How a device is reached. RTU devices name a bus configured on the edge box.
public enum Transport: Sendable, Equatable, Codable, CustomStringConvertible {
    case modbusTCP(host: String, port: Int, unit: Int)
    case modbusRTU(bus: String, unit: Int)
    case mqtt(deviceID: String)

    public var description: String {
        switch self {
        case .modbusTCP(let host, let port, let unit): "tcp://\(host):\(port)#\(unit)"
        case .modbusRTU(let bus, let unit): "rtu://\(bus)#\(unit)"
        case .mqtt(let id): "mqtt://\(id)"
        }
    }

    /// Parses the form printed by `description`.
    public init?(text: String) {
        func split(_ rest: Substring) -> (String, Int)? {
            guard let hash = rest.lastIndex(of: "#"), let unit = Int(rest[rest.index(after: hash)...]) else { return nil }
            return (String(rest[..<hash]), unit)
        }
        if text.hasPrefix("tcp://"), let (hp, unit) = split(text.dropFirst(6)),
           let colon = hp.lastIndex(of: ":"), let port = Int(hp[hp.index(after: colon)...]) {
            self = .modbusTCP(host: String(hp[..<colon]), port: port, unit: unit)
        } else if text.hasPrefix("rtu://"), let (bus, unit) = split(text.dropFirst(6)) {
            self = .modbusRTU(bus: bus, unit: unit)
        } else if text.hasPrefix("mqtt://") {
            self = .mqtt(deviceID: String(text.dropFirst(7)))
        } else {
            return nil
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let t = Transport(text: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription:
                "transport '\(text)' is not tcp://HOST:PORT#UNIT, rtu://BUS#UNIT or mqtt://ID")
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
