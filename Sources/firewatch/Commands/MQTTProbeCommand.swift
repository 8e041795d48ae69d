import FireWatchCore
import FireWatchMQTT
import Foundation

/// The MQTT branch of `firewatch device probe`: `--profile ID --mqtt mqtt://HOST:PORT --topic TOPIC
/// [--timeout S] [--json]`. The shared `device probe` command calls `mqttProbe` when `--mqtt` is given.
extension Commands {
    /// Options of the MQTT branch, for the shared command's option list.
    static let mqttProbeOptions: [OptionSpec] = [
        .value("--mqtt", "URL", help: "probe an MQTT detector through the broker at mqtt://HOST:PORT (mqtts:// for TLS)"),
        .value("--topic", "TOPIC", help: "MQTT topic the detector publishes on (wildcards + and # allowed)"),
        .value("--ca", "FILE", help: "CA certificate for mqtts:// (default: the system CAs)"),
    ]

    /// Runs the MQTT probe for parsed `device probe` arguments and prints the result.
    static func mqttProbe(_ args: ParsedArguments) throws -> Int32 {
        let url = try args.require("--mqtt")
        let topic = try args.require("--topic")
        let profileID = try args.require("--profile")
        let timeout = try args.double("--timeout", range: 0.1...86_400) ?? 30
        guard MQTTOptions.endpoint(url: url) != nil else {
            throw UsageError("--mqtt '\(url)' is not mqtt://HOST:PORT", command: args.commandPath)
        }
        let dir = args.string("--devices-dir", default: "Devices")
        let profiles = try MQTTProfile.load(directory: dir)
        guard let profile = profiles.first(where: { $0.id == profileID }) else {
            throw CommandFailure("no MQTT profile '\(profileID)' in \(dir)/; MQTT profiles there: "
                                 + profiles.map(\.id).sorted().joined(separator: ", "), status: ExitStatus.dataError)
        }
        let tls = args.string("--ca").map { MQTTOptions.TLS(caFile: $0) }
        switch MQTTProbe.run(profile: profile, url: url, topic: topic, timeout: timeout, tls: tls) {
        case .failure(let failure):
            let status: Int32
            switch failure {
            case .undecodable: status = ExitStatus.dataError
            case .notConnected, .timeout: status = ExitStatus.unavailable
            case .badURL: status = ExitStatus.usage
            case .client: status = ExitStatus.failure
            }
            throw CommandFailure(failure.description, status: status)
        case .success(let result):
            if args.has("--json") {
                print(Output.jsonLine(result))
            } else {
                print("设备类型 \(result.profile)   时间 \(result.time ?? "-")")
                print(Output.table(["通道", "数值", "单位", "状态"], result.channels.sorted { $0.key < $1.key }.map { name, c in
                    [name, Output.number(c.value), c.unit, DetectorState(rawValue: c.state)?.label ?? c.state]
                }))
            }
            return ExitStatus.ok
        }
    }
}
