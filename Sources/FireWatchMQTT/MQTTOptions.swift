/// How an `MQTTClient` reaches its broker and who it says it is.
///
/// Clean session is always off and the client id must be stable, so the broker keeps the
/// subscriptions and the QoS 1 messages queued while the client was away (MQTT 3.1.1 §4.4).
public struct MQTTOptions: Sendable, Equatable {
    public struct TLS: Sendable, Equatable {
        /// PEM file of the CA(s) that signed the broker's certificate.
        public var caFile: String
        /// Client certificate and key (PEM) for brokers that require them.
        public var certFile: String?
        public var keyFile: String?
        /// Skips the check that the broker's certificate names the host (tests with ad-hoc certs only).
        public var insecure: Bool

        public init(caFile: String, certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecure = insecure
        }
    }

    /// The message the broker publishes for this client when it vanishes (the edge's own status).
    public struct Will: Sendable, Equatable {
        public var topic: String
        public var payload: [UInt8]
        public var qos: Int32
        public var retain: Bool

        public init(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = true) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }
    }

    public var host: String
    public var port: Int
    /// Stable id: the broker keys the persistent session on it.
    public var clientID: String
    public var keepaliveSeconds: Int32
    public var username: String?
    public var password: String?
    public var tls: TLS?
    public var will: Will?
    /// First reconnect delay; doubled after each failed attempt up to `reconnectMaxSeconds`, forever.
    public var reconnectMinSeconds: Double
    public var reconnectMaxSeconds: Double
    /// Off for every long-lived client (the point of a persistent session); on only for one-shot
    /// clients such as `device probe`, which must not leave a session queueing on the broker.
    public var cleanSession: Bool
    /// Payloads longer than this are not copied whole: the message carries the first bytes and its
    /// real size (`MQTTMessage.size`), so a hostile 100 MB payload costs no 100 MB.
    public var maxPayloadBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 1883, clientID: String, keepaliveSeconds: Int32 = 30,
                username: String? = nil, password: String? = nil, tls: TLS? = nil, will: Will? = nil,
                reconnectMinSeconds: Double = 0.5, reconnectMaxSeconds: Double = 30, cleanSession: Bool = false,
                maxPayloadBytes: Int = 1 << 20) {
        self.cleanSession = cleanSession
        self.maxPayloadBytes = maxPayloadBytes
        self.host = host
        self.port = port
        self.clientID = clientID
        self.keepaliveSeconds = keepaliveSeconds
        self.username = username
        self.password = password
        self.tls = tls
        self.will = will
        self.reconnectMinSeconds = reconnectMinSeconds
        self.reconnectMaxSeconds = reconnectMaxSeconds
    }

    /// Parses `mqtt://HOST:PORT` or `mqtts://HOST:PORT` (port defaults 1883 / 8883).
    public static func endpoint(url: String) -> (host: String, port: Int, tls: Bool)? {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("mqtt://") { tls = false; rest = url.dropFirst(7) }
        else if url.hasPrefix("mqtts://") { tls = true; rest = url.dropFirst(8) }
        else { return nil }
        let hostPort = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if let colon = hostPort.lastIndex(of: ":") {
            guard let port = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            let host = hostPort[..<colon]
            return host.isEmpty ? nil : (String(host), port, tls)
        }
        return hostPort.isEmpty ? nil : (String(hostPort), tls ? 8883 : 1883, tls)
    }
}

/// One received message; topic and payload are copies owned by Swift.
public struct MQTTMessage: Sendable, Equatable {
    public var topic: String
    /// The payload, or only its first `MQTTOptions.maxPayloadBytes` when `isTruncated`.
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
    /// The payload's size on the wire.
    public var size: Int

    public init(topic: String, payload: [UInt8], qos: Int32 = 0, retain: Bool = false, size: Int? = nil) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.size = size ?? payload.count
    }

    public var isTruncated: Bool { size > payload.count }
}

/// A libmosquitto error code with its text.
public struct MQTTError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "mqtt error \(code): \(message)" }
}
