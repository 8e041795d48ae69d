// swift-tools-version:6.0
import PackageDescription

// Upcoming features on for every Swift target, in one place (swift-log style).
let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "firewatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "firewatch", targets: ["firewatch"]),
    ],
    targets: [
        // C libraries from Debian, each as a module map + shim, nothing else.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CModbus", pkgConfig: "libmodbus", providers: [.apt(["libmodbus-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),

        // Pure core: domain model, profile decoding, rule language and engine. Imports no C module.
        .target(name: "FireWatchCore", swiftSettings: strictness),

        // One adapter per C library.
        .target(name: "FireWatchStore", dependencies: ["FireWatchCore", "CSQLite"], swiftSettings: strictness),
        .target(name: "FireWatchModbus", dependencies: ["FireWatchCore", "CModbus"], swiftSettings: strictness),
        .target(name: "FireWatchMQTT", dependencies: ["FireWatchCore", "CMosquitto"], swiftSettings: strictness),

        // The two daemons' wiring.
        .target(name: "FireWatchEdge",
                dependencies: ["FireWatchCore", "FireWatchStore", "FireWatchModbus", "FireWatchMQTT"],
                swiftSettings: strictness),
        .target(name: "FireWatchOffice",
                dependencies: ["FireWatchCore", "FireWatchStore", "FireWatchMQTT"],
                swiftSettings: strictness),

        // Commands only: parse, call, print.
        .executableTarget(name: "firewatch",
                          dependencies: ["FireWatchCore", "FireWatchStore", "FireWatchModbus",
                                         "FireWatchMQTT", "FireWatchEdge", "FireWatchOffice"],
                          swiftSettings: strictness),

        .testTarget(name: "FireWatchCoreTests", dependencies: ["FireWatchCore"], swiftSettings: strictness),
        .testTarget(name: "FireWatchStoreTests", dependencies: ["FireWatchCore", "FireWatchStore"], swiftSettings: strictness),
        .testTarget(name: "FireWatchIntegrationTests",
                    dependencies: ["FireWatchCore", "FireWatchStore", "FireWatchModbus", "FireWatchMQTT",
                                   "FireWatchEdge", "FireWatchOffice"],
                    swiftSettings: strictness),
    ],
    swiftLanguageModes: [.v6]
)
