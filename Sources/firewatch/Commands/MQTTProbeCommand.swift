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
        .value("--timeout", "SECONDS", help: "how long to wait for the next message", default: "30"),
        .value("--ca", "FILE", help: "CA certificate for mqtts:// (default: the system CAs)"),
    ]

    /// Until the shared `device probe` exists on main: the command with the MQTT branch only.
    static let deviceProbeMQTT = CommandSpec(
        name: "probe", abstract: "read one device live and print its channels",
        discussion: """
        MQTT: waits for the next (not retained) message on --topic, decodes it with --profile and prints
        {"profile": ..., "channels": {"residual_current.1": {"value": 123.0, "unit": "mA", "state": "normal"}}, "time": ISO-8601}.
        Exit 69 when the broker or the message does not come within --timeout, 65 when the payload does not decode.
        """,
        options: [.value("--profile", "ID", help: "device profile id from Devices/", required: true),
                  CommonOptions.devices, CommonOptions.json] + mqttProbeOptions,
        run: { args in
            guard args.string("--mqtt") != nil else {
                throw UsageError("give --mqtt mqtt://HOST:PORT and --topic TOPIC", command: args.commandPath)
            }
            return try mqttProbe(args)
        })

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
