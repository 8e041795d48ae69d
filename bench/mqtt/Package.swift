// swift-tools-version:6.0
// MQTT ingest benchmark harness (issue 4 §6). Builds the firewatch modules from the root package's
// sources (symlinked in Sources/, because the root package exports no library product) in release.
// Run with ./run.sh from this folder; figures go to the MQTT section of BENCHMARKS.md.
import PackageDescription

let package = Package(
    name: "mqtt-bench",
    platforms: [.macOS(.v15)],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3"),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus"),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto"),
        .target(name: "FireWatchCore"),
        .target(name: "FireWatchStore", dependencies: ["FireWatchCore", "CSQLite"]),
        .target(name: "FireWatchModbus", dependencies: ["FireWatchCore", "CModbus"]),
        .target(name: "FireWatchMQTT", dependencies: ["FireWatchCore", "CMosquitto"]),
        .target(name: "FireWatchEdge", dependencies: ["FireWatchCore", "FireWatchStore", "FireWatchModbus", "FireWatchMQTT"]),
        .executableTarget(name: "mqtt-ingest-bench",
                          dependencies: ["FireWatchCore", "FireWatchMQTT", "FireWatchStore", "FireWatchEdge"]),
    ],
    swiftLanguageModes: [.v6]
)
