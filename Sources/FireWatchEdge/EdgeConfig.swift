import FireWatchCore
import FireWatchMQTT
import Foundation

/// The edge daemon's configuration file (JSON5), documented in docs/edge-config.md.
public struct EdgeConfig: Sendable, Decodable {
    public struct DeviceEntry: Sendable, Decodable {
        public var id: String
        public var profile: String
        public var premises: String
        /// `tcp://HOST:PORT#UNIT`, `rtu://BUS#UNIT` or `mqtt://DEVICE-ID`.
        public var transport: String
        public var location: String?
        public var setpoints: [String: Double]?
        public var cable: Device.CableClass?
        /// Poll period in seconds (Modbus); default the edge's `pollPeriod`.
        public var pollPeriod: Double?
        /// Profile parameters for generic profiles (docs/profiles.md).
        public var params: [String: String]?
        public var status: Device.Status?

        public init(id: String, profile: String, premises: String, transport: String, location: String? = nil,
                    setpoints: [String: Double]? = nil, cable: Device.CableClass? = nil, pollPeriod: Double? = nil,
                    params: [String: String]? = nil, status: Device.Status? = nil) {
            self.id = id
            self.profile = profile
            self.premises = premises
            self.transport = transport
            self.location = location
            self.setpoints = setpoints
            self.cable = cable
            self.pollPeriod = pollPeriod
            self.params = params
            self.status = status
        }
    }

    public struct SerialBus: Sendable, Decodable {
        public var name: String
        public var path: String
        public var baud: Int
        public var parity: String?
        public var dataBits: Int?
        public var stopBits: Int?
        public var rts: String?
    }

    public typealias Broker = BrokerSettings

    /// Per-device flood limit of MQTT detectors: `burst` messages at once, refilled at `perSecond`.
    public struct RateLimit: Sendable, Decodable, Equatable {
        public var perSecond: Double
        public var burst: Double
        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    /// This edge box's id: the first part of every event's identity.
    public var edge: String
    public var market: Market?
    /// Data directory: edge.db (journal, outbox, engine state), readings.db, status.json.
    public var data: String?
    /// A governance database written directly (demo, standalone edge without an office).
    public var governance: String?
    public var devicesDir: String?
    public var rulesDir: String?
    public var pollPeriod: Double?
    /// Premises to make sure exist in the local registry (demo and tests; production imports them).
    public var premises: [Premises]?
    public var devices: [DeviceEntry]
    public var buses: [SerialBus]?
    /// Broker the edge's MQTT detectors report to.
    public var mqtt: Broker?
    /// The fire office's broker for the uplink.
    public var office: Broker?
    /// Uplink tunables (heartbeat, acknowledgement timeout, batch sizes; docs/uplink.md).
    public var uplink: UplinkSettings?
    /// Flood limit per MQTT detector; default 2 messages/s with bursts of 20 (`MQTTRateLimit`).
    public var mqttRateLimit: RateLimit?
    /// How often the running edge looks for MQTT detectors registered meanwhile (seconds; default 10).
    public var registryRefreshSeconds: Double?

    public init(edge: String, market: Market? = nil, data: String? = nil, governance: String? = nil,
                devicesDir: String? = nil, rulesDir: String? = nil, pollPeriod: Double? = nil, premises: [Premises]? = nil,
                devices: [DeviceEntry], buses: [SerialBus]? = nil, mqtt: Broker? = nil, office: Broker? = nil) {
        self.edge = edge
        self.market = market
        self.data = data
        self.governance = governance
        self.devicesDir = devicesDir
        self.rulesDir = rulesDir
        self.pollPeriod = pollPeriod
        self.premises = premises
        self.devices = devices
        self.buses = buses
        self.mqtt = mqtt
        self.office = office
    }

    /// A rule set-value name such as `residual_current_prealarm` or `comm_loss_timeout`, optionally `.N`.
    static func isSetValueName(_ key: String) -> Bool {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let name = parts.first, !name.isEmpty,
              name.allSatisfy({ $0 == "_" || ($0.isASCII && $0.isLowercase) }) else { return false }
        return parts.count == 1 || Int(parts[1]).map { (1...64).contains($0) } == true
    }

    /// Loads and validates a config file; relative paths are resolved against the file's folder.
    public static func load(file: String) throws(ConfigErrors) -> EdgeConfig {
        var (config, cf) = try ConfigFile.decode(EdgeConfig.self, file: file)
        let source = cf.source
        config.data = cf.resolve(config.data)
        config.governance = cf.resolve(config.governance)
        config.devicesDir = cf.resolve(config.devicesDir)
        config.rulesDir = cf.resolve(config.rulesDir)
        for keyPath in [\EdgeConfig.mqtt, \EdgeConfig.office] {
            guard var b = config[keyPath: keyPath] else { continue }
            b.caFile = cf.resolve(b.caFile)
            b.certFile = cf.resolve(b.certFile)
            b.keyFile = cf.resolve(b.keyFile)
            config[keyPath: keyPath] = b
        }
        try config.validate(source: source)
        return config
    }

    public func validate(source: JSON5Source) throws(ConfigErrors) {
        var errors: [ConfigError] = []
        func err(_ field: String, _ message: String, hint: String? = nil, key: String? = nil) {
            errors.append(ConfigError(file: source.file, line: key.flatMap { source.line(ofKey: $0) }, field: field,
                                      message: message, hint: hint))
        }
        if !ConfigFile.isTopicSegment(edge) {
            err("edge", "edge id '\(edge)' is empty or contains / + #", hint: "use letters, digits, - and _", key: "edge")
        }
        if let p = pollPeriod, !(0.1...3600).contains(p) {
            err("pollPeriod", "poll period \(p) s is outside 0.1...3600", hint: "5 s keeps alarms inside the 30 s budget", key: "pollPeriod")
        }
        var seen: Set<String> = []
        var transports: Set<String> = []
        let busNames = Set((buses ?? []).map(\.name))
        for (i, d) in devices.enumerated() {
            let field = "devices[\(i)]"
            if !seen.insert(d.id).inserted { err("\(field).id", "device id '\(d.id)' is used twice") }
            guard let t = Transport(text: d.transport) else {
                err("\(field).transport", "'\(d.transport)' is not a transport",
                    hint: "tcp://HOST:PORT#UNIT, rtu://BUS#UNIT or mqtt://DEVICE-ID", key: "transport")
                continue
            }
            if !transports.insert(t.description).inserted {
                err("\(field).transport", "\(t) is used by two devices", hint: "each unit id once per bus")
            }
            switch t {
            case .modbusTCP(_, let port, let unit):
                if !(1...247).contains(unit) && unit != 255 { err("\(field).transport", "unit id \(unit) is outside 1...247") }
                if !(1...65535).contains(port) { err("\(field).transport", "port \(port) is outside 1...65535") }
            case .modbusRTU(_, let unit):
                if !(1...247).contains(unit) { err("\(field).transport", "unit id \(unit) is outside 1...247") }
            case .mqtt: break
            }
            if case .modbusRTU(let bus, _) = t, !busNames.contains(bus) {
                err("\(field).transport", "bus '\(bus)' is not defined under buses",
                    hint: busNames.isEmpty ? "add a buses: [{name, path, baud}] entry" : "defined: \(busNames.sorted().joined(separator: ", "))")
            }
            for (channel, value) in d.setpoints ?? [:] {
                if !Channel.isValid(channel) && !EdgeConfig.isSetValueName(channel) {
                    err("\(field).setpoints", "'\(channel)' is neither a canonical channel nor a set-value name",
                        hint: "e.g. residual_current.1, residual_current_prealarm, temperature.2, comm_loss_timeout (docs/rules.md)")
                }
                if !value.isFinite || value < 0 { err("\(field).setpoints.\(channel)", "set value \(value) must be a positive number") }
            }
        }
        for (i, p) in (premises ?? []).enumerated() where p.marketID != nil && p.marketID != market?.id {
            err("premises[\(i)].marketID", "premises \(p.platformID) names market '\(p.marketID!)' but the config's market is "
                + (market.map { "'\($0.id)'" } ?? "not set"), hint: "set market: { id: \"\(p.marketID!)\", name: … }")
        }
        if let r = registryRefreshSeconds, !(0.2...3600).contains(r) {
            err("registryRefreshSeconds", "registry refresh \(r) s is outside 0.2...3600", hint: "10 s is the default", key: "registryRefreshSeconds")
        }
        if let r = mqttRateLimit, !(r.perSecond > 0) || !(r.burst >= 1) {
            err("mqttRateLimit", "rate limit \(r.perSecond)/s with bursts of \(r.burst) would refuse every message",
                hint: "perSecond > 0 and burst >= 1, e.g. { perSecond: 2, burst: 20 }", key: "mqttRateLimit")
        }
        if governance == nil && office == nil {
            err("governance", "neither governance (a local database) nor office (the fire office's broker) is set",
                hint: "events need somewhere to go")
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
    }
}
