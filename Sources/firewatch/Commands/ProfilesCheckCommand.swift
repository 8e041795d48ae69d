import FireWatchCore
import Foundation

extension Commands {
    static let profilesCheck = CommandSpec(
        name: "check", abstract: "validate every device profile in a folder",
        discussion: """
        Reports file:line errors: overlapping registers, unknown types or word orders, addresses outside
        0x0000–0xFFFF, channels outside the canonical vocabulary, unknown states, unknown fields.
        Exits 1 when any profile has an error.
        """,
        positionals: [PositionalSpec(name: "DIR", help: "profiles folder (default: Devices)", isOptional: true)],
        run: { args in
            let dir = args.positional(0) ?? "Devices"
            var errors: [ConfigError] = []
            var modbus = 0, mqtt = 0
            do throws(ConfigErrors) { modbus = try ModbusProfile.loadAll(directory: dir).count } catch { errors += error.errors }
            do throws(ConfigErrors) { mqtt = try MQTTProfile.load(directory: dir).count } catch {
                // A folder neither loader could list is reported once.
                let seen = errors
                errors += error.errors.filter { e in !seen.contains(e) }
            }
            if !errors.isEmpty {
                for e in errors { printError(e.description) }
                printError("\(errors.count) error\(errors.count == 1 ? "" : "s") in \(dir)")
                return ExitStatus.failure
            }
            print("ok: \(modbus) Modbus and \(mqtt) MQTT profiles in \(dir)")
            return ExitStatus.ok
        })
}
