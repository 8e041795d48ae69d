import FireWatchCore
import Foundation
import Synchronization

/// `firewatch device probe --mqtt`: wait for the next message on a topic and decode it with a profile.
public enum MQTTProbe {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case badURL(String)
        case client(MQTTError)
        case notConnected(url: String, seconds: Double)
        case timeout(topic: String, seconds: Double)
        case undecodable(topic: String, reason: MQTTPayloadRejection, payloadPreview: String)

        public var description: String {
            switch self {
            case .badURL(let u):
                "'\(u)' is not an MQTT URL; expected mqtt://HOST:PORT (or mqtts://HOST:PORT)"
            case .client(let e):
                "cannot set up the MQTT client: \(e)"
            case .notConnected(let url, let s):
                "could not connect to the broker at \(url) within \(Int(s)) s; check the address and that the broker runs"
            case .timeout(let topic, let s):
                "no message on '\(topic)' within \(Int(s)) s; check the topic and that the detector is powered and online"
            case .undecodable(let topic, let reason, let preview):
                "message on '\(topic)' does not decode with this profile: \(reason) (payload: \(preview))"
            }
        }
    }

    /// Connects, subscribes to `topic` (wildcards allowed), ignores retained messages (they are the
    /// last message, not the next one), decodes the first live message and returns the probe shape.
    public static func run(profile: MQTTProfile, url: String, topic: String, timeout: Double,
                           tls: MQTTOptions.TLS? = nil, username: String? = nil, password: String? = nil,
                           log: @escaping MQTTClient.Log = { _ in },
                           now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) -> Result<ProbeResult, Failure> {
        guard let endpoint = MQTTOptions.endpoint(url: url) else { return .failure(.badURL(url)) }
        var tlsOptions = tls
        if endpoint.tls, tlsOptions == nil { tlsOptions = MQTTOptions.TLS(caFile: "/etc/ssl/certs/ca-certificates.crt") }
        let options = MQTTOptions(host: endpoint.host, port: endpoint.port,
                                  clientID: "firewatch-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))",
                                  keepaliveSeconds: 10, username: username, password: password, tls: tlsOptions,
                                  reconnectMinSeconds: 0.5, reconnectMaxSeconds: 2, cleanSession: true)
        let client: MQTTClient
        do { client = try MQTTClient(options: options, log: log) } catch { return .failure(.client(error)) }
        let first = Mutex<MQTTMessage?>(nil)
        let arrived = DispatchSemaphore(value: 0)
        client.onMessage = { message in
            guard !message.retain else { return }
            let isFirst = first.withLock { slot -> Bool in
                guard slot == nil else { return false }
                slot = message
                return true
            }
            if isFirst { arrived.signal() }
        }
        client.subscribe(topic, qos: 1)
        client.start()
        defer { client.stop() }
        guard arrived.wait(timeout: .now() + timeout) == .success, let message = first.withLock({ $0 }) else {
            return .failure(client.connectCount == 0 ? .notConnected(url: url, seconds: timeout) : .timeout(topic: topic, seconds: timeout))
        }
        if message.isTruncated {
            return .failure(.undecodable(topic: message.topic, reason: .tooLarge(bytes: message.size, limit: profile.limits.maxPayloadBytes),
                                         payloadPreview: preview(message.payload)))
        }
        switch profile.decode(topic: message.topic, payload: message.payload, now: now()) {
        case .failure(let reason):
            return .failure(.undecodable(topic: message.topic, reason: reason, payloadPreview: preview(message.payload)))
        case .success(let d):
            return .success(ProbeResult(profile: profile.id, unit: nil, channels: ProbeResult.channels(from: d.readings),
                                        setpoints: nil, time: iso8601(d.time)))
        }
    }

    static func preview(_ payload: [UInt8]) -> String {
        let head = payload.prefix(120)
        if let s = String(validating: head, as: UTF8.self) {
            return s.debugDescription + (payload.count > 120 ? " … \(payload.count) bytes" : "")
        }
        return head.map { String(format: "%02x", $0) }.joined(separator: " ") + " (\(payload.count) bytes, not UTF-8)"
    }

    /// ISO-8601 in UTC, with milliseconds when the time has them.
    public static func iso8601(_ t: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = t.rounded() == t ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: t))
    }
}
