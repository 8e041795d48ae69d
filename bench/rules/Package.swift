// swift-tools-version:6.0
import PackageDescription

// Rule-engine benchmark. Builds FireWatchCore from the repository's own sources (through the
// Sources/FireWatchCore symlink, since the root package exports no library product) in release mode,
// without touching the root Package.swift. Run: bench/rules/run.sh
let package = Package(
    name: "rules-bench",
    platforms: [.macOS(.v15)],
    targets: [
        .target(name: "FireWatchCore"),
        .executableTarget(name: "RulesBench", dependencies: ["FireWatchCore"]),
    ],
    swiftLanguageModes: [.v6]
)
