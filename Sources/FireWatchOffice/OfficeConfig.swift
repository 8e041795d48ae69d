import FireWatchCore
import FireWatchMQTT
import Foundation

/// The fire office receiver's configuration file (JSON5; deploy/examples/office.json5, docs/uplink.md).
public struct OfficeConfig: Sendable, Decodable {
    public struct Broker: Sendable, Decodable {
        /// `mqtt://HOST:PORT` or `mqtts://HOST:PORT`.
        public var url: String
        public var clientID: String?
        public var username: String?
        public var password: String?
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var insecure: Bool?
    }

    /// The notification hook (an SMS gateway stand-in): run for each new hazard with its JSON on stdin.
    public struct Notify: Sendable, Decodable {
        /// Run with `/bin/sh -c`; relative paths are resolved against the config file's folder.
        public var command: String
        /// Which signal classes notify: `alarm`, `prealarm`, `fault` (default: alarm only).
        public var signals: [SignalClass]?
        /// A hook still running after this is killed and counted as failed.
        public var timeoutSeconds: Double?
    }

    /// The office's own id: edge-offline faults are events of this id with their own sequence.
    public var office: String?
    public var broker: Broker
    /// Data directory: the governance database (`office.db`) unless `governance` names one.
    public var data: String?
    public var governance: String?
    /// An edge whose heartbeat is missing for longer than this is flagged offline (a fault hazard).
    public var heartbeatTimeoutSeconds: Double?
    public var notify: Notify?

    public var officeID: String { office ?? "office" }
    public var heartbeatTimeout: Double { heartbeatTimeoutSeconds ?? 90 }

    /// The governance database path: `governance`, else `<data>/office.db`, else `office.db`.
    public var governancePath: String {
        if let governance { return governance }
        if let data { return (data as NSString).appendingPathComponent("office.db") }
        return "office.db"
    }

    /// Loads and validates a config file; relative paths are resolved against the file's folder.
    public static func load(file: String) throws(ConfigErrors) -> OfficeConfig {
        let source: JSON5Source
        do { source = try JSON5Source(file: file) } catch { throw ConfigErrors([error]) }
        var config: OfficeConfig
        do { config = try source.decode(OfficeConfig.self) } catch { throw ConfigErrors([error]) }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        func resolve(_ p: String?) -> String? {
            guard let p else { return nil }
            return p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardizedFileURL.path
        }
        config.data = resolve(config.data)
        config.governance = resolve(config.governance)
        config.broker.caFile = resolve(config.broker.caFile)
        config.broker.certFile = resolve(config.broker.certFile)
        config.broker.keyFile = resolve(config.broker.keyFile)
        if let cmd = config.notify?.command, cmd.hasPrefix("./") || cmd.hasPrefix("../") {
            config.notify?.command = base.appendingPathComponent(cmd).standardizedFileURL.path
        }
        var errors: [ConfigError] = []
        if MQTTOptions.endpoint(url: config.broker.url) == nil {
            errors.append(ConfigError(file: file, line: source.line(ofKey: "url"), field: "broker.url",
                                      message: "'\(config.broker.url)' is not a broker address", hint: "mqtt://HOST:PORT or mqtts://HOST:PORT"))
        }
        let id = config.officeID
        if id.isEmpty || id.contains("/") || id.contains("+") || id.contains("#") {
            errors.append(ConfigError(file: file, line: source.line(ofKey: "office"), field: "office",
                                      message: "office id '\(id)' is empty or contains / + #", hint: "use letters, digits, - and _"))
        }
        if let t = config.heartbeatTimeoutSeconds, !(1...86_400).contains(t) {
            errors.append(ConfigError(file: file, line: source.line(ofKey: "heartbeatTimeoutSeconds"), field: "heartbeatTimeoutSeconds",
                                      message: "\(t) s is outside 1...86400", hint: "90 s is three missed 30 s heartbeats"))
        }
        if let n = config.notify, n.command.trimmingCharacters(in: .whitespaces).isEmpty {
            errors.append(ConfigError(file: file, line: source.line(ofKey: "command"), field: "notify.command",
                                      message: "the notification command is empty", hint: "a program that reads the hazard JSON on stdin"))
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return config
    }
}
