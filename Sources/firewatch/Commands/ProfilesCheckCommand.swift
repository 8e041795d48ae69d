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
            let library: ProfileLibrary
            do throws(ConfigErrors) { library = try ProfileLibrary.load(directory: dir) } catch {
                for e in error.errors { printError(e.description) }
                printError("\(error.errors.count) error\(error.errors.count == 1 ? "" : "s") in \(dir)")
                return ExitStatus.failure
            }
            let modbus = library.modbus.count, mqtt = library.mqtt.count
            print("ok: \(modbus) Modbus and \(mqtt) MQTT profiles in \(dir)")
            return ExitStatus.ok
        })
}
