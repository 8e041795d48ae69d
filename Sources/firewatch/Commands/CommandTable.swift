/// The command table. Each command lives in `Commands/<Name>Command.swift` as a `static let` on
/// `Commands` and is listed here in its group; commands only parse, call library code and print.
enum Commands {
    static let root = CommandSpec(
        name: "firewatch",
        abstract: "electrical-fire early-warning gateway for market edge boxes and the fire office",
        discussion: """
        Quick start: `firewatch demo` runs a simulated market end to end into firewatch.db,
        then `firewatch hazard list` shows the hazard records it opened.
        """,
        subcommands: [demo, edge, office, simulate, status, readings, deviceGroup, premisesGroup, hazardGroup, inspectionGroup,
                      rulesGroup, profilesGroup, uplinkGroup])

    static let deviceGroup = CommandSpec(
        name: "device", abstract: "find, probe, register and commission detectors",
        subcommands: [deviceProbe, deviceScan, devicePoll] + deviceCommands)

    static let premisesGroup = CommandSpec(
        name: "premises", abstract: "the premises registry (stalls, shops, rental buildings)",
        subcommands: premisesCommands + [premisesGrade])

    static let hazardGroup = CommandSpec(
        name: "hazard", abstract: "hazard records and their lifecycle",
        subcommands: hazardCommands)

    static let rulesGroup = CommandSpec(
        name: "rules", abstract: "check and replay alarm rules",
        subcommands: rulesCommands)

    static let profilesGroup = CommandSpec(
        name: "profiles", abstract: "device profiles in Devices/",
        subcommands: [profilesCheck])
}
