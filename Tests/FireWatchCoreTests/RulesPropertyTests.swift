import Testing
@testable import FireWatchCore

/// Seeded, so a failure reproduces; SplitMix64 (Steele et al.), not the system RNG.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("rule engine properties over random walks")
struct RulesPropertyTests {
    /// A random walk of several devices over residual current, temperature, states, arcs and silences.
    static func walk(seed: UInt64, steps: Int = 3000) -> [Reading] {
        var rng = SeededGenerator(seed: seed)
        var out: [Reading] = []
        var residual = [150.0, 250.0, 320.0]
        var temperature = [35.0, 50.0, 58.0]
        var t = 1_800_000_000.0
        for _ in 0..<steps {
            t += Double(Int.random(in: 1...6, using: &rng))
            let d = Int.random(in: 0..<3, using: &rng)
            let device = "dev\(d)"
            if Double.random(in: 0..<1, using: &rng) < 0.02 { t += Double.random(in: 30...120, using: &rng) } // a silence
            residual[d] = max(0, residual[d] + Double.random(in: -25...25, using: &rng))
            temperature[d] = temperature[d] + Double.random(in: -1.5...1.5, using: &rng)
            out.append(RulesSupport.number(device, "residual_current.1", residual[d], at: t))
            out.append(RulesSupport.number(device, "temperature.1", temperature[d], at: t))
            if Int.random(in: 0..<20, using: &rng) == 0 {
                let s = [DetectorState.normal, .normal, .faultOpen, .faultShort, .alarm].randomElement(using: &rng)!
                out.append(RulesSupport.state(device, "state.temperature.1", s, at: t))
            }
            if Int.random(in: 0..<50, using: &rng) == 0 {
                out.append(RulesSupport.number(device, "arc.1", Double(Int.random(in: 0...20, using: &rng)), at: t))
            }
            out.append(RulesSupport.number(device, "device.online", Int.random(in: 0..<10, using: &rng) == 0 ? 0 : 1, at: t))
        }
        return out
    }

    @Test("raises and clears alternate per key: no clear without a raise, no two raises without a clear",
          arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func alternate(seed: UInt64) throws {
        let events = RuleReplay.run(rules: try RulesSupport.defaultPack(), readings: Self.walk(seed: seed), devices: [])
        #expect(events.count > 5, "the walk must exercise the rules")
        var active: Set<String> = []
        for e in events {
            let key = "\(e.device)|\(e.channel)|\(e.rule)"
            if e.transition == .raise {
                #expect(!active.contains(key), "two raises without a clear for \(key)")
                active.insert(key)
            } else {
                #expect(active.contains(key), "clear without a raise for \(key)")
                active.remove(key)
            }
        }
    }

    @Test("replay is deterministic: the same readings give the same events", arguments: [11, 12, 13] as [UInt64])
    func deterministic(seed: UInt64) throws {
        let pack = try RulesSupport.defaultPack()
        let readings = Self.walk(seed: seed)
        let a = RuleReplay.run(rules: pack, readings: readings, devices: [])
        let b = RuleReplay.run(rules: pack, readings: readings, devices: [])
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    @Test("the Reading path's name cache gives the events of interned slots, in any channel order", arguments: [31, 32] as [UInt64])
    func nameCache(seed: UInt64) throws {
        let pack = try RulesSupport.defaultPack()
        var rng = SeededGenerator(seed: seed)
        var readings = Self.walk(seed: seed, steps: 1500)
        // Shuffle within each time step so channel order changes from poll to poll.
        readings = Dictionary(grouping: readings, by: \.time).sorted { $0.key < $1.key }.flatMap { $0.value.shuffled(using: &rng) }
        let byName = RuleEngine(rules: pack), bySlot = RuleEngine(rules: pack)
        var a: [EngineEvent] = [], b: [EngineEvent] = []
        for r in readings {
            byName.process(r, monotonic: r.time, into: &a)
            let slot = bySlot.slot(device: r.device, channel: r.channel)
            switch r.value {
            case .number(let v): bySlot.process(slot: slot, number: v, monotonic: r.time, wall: r.time, into: &b)
            case .state(let st): bySlot.process(slot: slot, state: st, monotonic: r.time, wall: r.time, into: &b)
            case .invalid: Issue.record("the walk has no invalid readings")
            }
        }
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    @Test("a snapshot taken anywhere and restored gives the same events as running on", arguments: [21, 22] as [UInt64])
    func restoreEquivalence(seed: UInt64) throws {
        let pack = try RulesSupport.defaultPack()
        let readings = Self.walk(seed: seed, steps: 1500)
        let cut = readings.count / 2
        let whole = RuleEngine(rules: pack)
        var expected: [EngineEvent] = []
        for r in readings { whole.process(r, monotonic: r.time, into: &expected) }
        var got: [EngineEvent] = []
        let first = RuleEngine(rules: pack)
        for r in readings[..<cut] { first.process(r, monotonic: r.time, into: &got) }
        let t0 = readings[cut - 1].time
        let second = RuleEngine(rules: pack)
        // The new process's monotonic clock is offset; only elapsed times carry over.
        second.restore(first.snapshot(monotonic: t0), monotonic: t0 - 1_000_000)
        for r in readings[cut...] { second.process(r, monotonic: r.time - 1_000_000, into: &got) }
        #expect(got == expected)
    }
}
