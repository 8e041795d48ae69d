import Foundation
@testable import FireWatchCore

/// Helpers for the rule tests: the repository's default pack and a tiny driver with a virtual clock.
enum RulesSupport {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static var rulesDir: String { root.appendingPathComponent("Rules").path }
    static var scenariosDir: String { root.appendingPathComponent("Tests/scenarios").path }

    static func defaultPack() throws -> RuleSet { try RuleSet.load(directory: rulesDir) }

    static func parse(_ text: String) throws -> RuleSet { try RuleSet.parse(text, file: "test.rules") }

    static func number(_ device: String, _ channel: String, _ v: Double, at t: Double) -> Reading {
        Reading(device: device, channel: Channel(unchecked: channel), value: .number(v), time: t)
    }

    static func state(_ device: String, _ channel: String, _ s: DetectorState, at t: Double) -> Reading {
        Reading(device: device, channel: Channel(unchecked: channel), value: .state(s), time: t)
    }

    /// Drives an engine: each reading is processed at its own time; the clock ticks every second between.
    final class Driver {
        let engine: RuleEngine
        var now: Double
        var events: [EngineEvent] = []

        init(_ rules: RuleSet, start: Double = 0) {
            engine = RuleEngine(rules: rules)
            now = start
        }

        func tick(to t: Double) {
            while now + 1 <= t {
                now += 1
                engine.advance(monotonic: now, wall: now, into: &events)
            }
            now = max(now, t)
        }

        func feed(_ r: Reading) {
            tick(to: r.time)
            engine.process(r, monotonic: r.time, into: &events)
        }

        /// `device.channel = value` every `period` seconds from `from` to `to` (inclusive).
        func series(_ device: String, _ channel: String, from: Double, to: Double, every period: Double = 5,
                    _ value: (Double) -> Double) {
            var t = from
            while t <= to {
                feed(RulesSupport.number(device, channel, value(t), at: t))
                t += period
            }
        }

        var summary: [String] { events.map { "\($0.rule) \($0.channel) \($0.transition.rawValue)" } }
    }
}
