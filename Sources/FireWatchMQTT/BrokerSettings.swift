/// A broker as written in a config file (the edge's detector broker and office uplink, the office's
/// broker): one place that turns it into client options, so TLS and credentials mean the same everywhere.
public struct BrokerSettings: Sendable, Decodable, Equatable {
    /// `mqtt://HOST:PORT` or `mqtts://HOST:PORT`.
    public var url: String
    /// Stable client id (the broker keeps the persistent session under it); each user has a default.
    public var clientID: String?
    public var username: String?
    public var password: String?
    /// CA certificate; required for `mqtts://` unless the system CAs should be used (`caFile` omitted
    /// with `systemCAs` allowed by the caller).
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// Skip host-name verification (tests only).
    public var insecure: Bool?

    public init(url: String, clientID: String? = nil, username: String? = nil, password: String? = nil,
                caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecure: Bool? = nil) {
        self.url = url
        self.clientID = clientID
        self.username = username
        self.password = password
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecure = insecure
    }

    /// Why settings could not become client options, in words a person can act on.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Client options for these settings.
    /// - Parameters:
    ///   - defaultClientID: used when the settings name none.
    ///   - role: what the broker is for, in messages (e.g. "office broker").
    ///   - systemCAs: a CA bundle to use for `mqtts://` without `caFile` (nil: `caFile` is required).
    public func options(defaultClientID: String, role: String = "broker", will: MQTTOptions.Will? = nil,
                        keepaliveSeconds: Int32 = 30, reconnectMaxSeconds: Double = 30,
                        systemCAs: String? = nil) throws(Problem) -> MQTTOptions {
        guard let endpoint = MQTTOptions.endpoint(url: url) else {
            throw Problem(message: "\(role) '\(url)' is not mqtt://HOST:PORT or mqtts://HOST:PORT")
        }
        var tls: MQTTOptions.TLS?
        if let ca = caFile ?? (endpoint.tls ? systemCAs : nil) {
            tls = MQTTOptions.TLS(caFile: ca, certFile: certFile, keyFile: keyFile, insecure: insecure ?? false)
        } else if endpoint.tls {
            throw Problem(message: "\(role) '\(url)' uses TLS (mqtts://) but no caFile is given")
        }
        return MQTTOptions(host: endpoint.host, port: endpoint.port, clientID: clientID ?? defaultClientID,
                           keepaliveSeconds: keepaliveSeconds, username: username, password: password, tls: tls, will: will,
                           reconnectMinSeconds: 0.5, reconnectMaxSeconds: reconnectMaxSeconds)
    }
}

extension MQTTOptions {
    /// The same connection settings under a derived client id (a second client of one daemon, e.g.
    /// its registry sync, must not take over the first one's session).
    public func withClientID(suffix: String) -> MQTTOptions {
        var o = self
        o.clientID += suffix
        return o
    }
}
