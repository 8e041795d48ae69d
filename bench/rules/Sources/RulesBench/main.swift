import FireWatchCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Readings per second through RuleEngine with the default pack over 10,000 channels on one core,
// against a hand-coded baseline doing the same threshold checks without a rule language.
// Usage: RulesBench [--rules DIR] [--rounds N] [--quick]   (--quick: few rounds, for valgrind)

/// CPU time of this thread: on a machine shared with other builds, time spent waiting for a core
/// does not count against the engine.
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

var rulesDir = "Rules"
var rounds = 300
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--rules": rulesDir = args.popFirst() ?? rulesDir
    case "--rounds": rounds = Int(args.popFirst() ?? "") ?? rounds
    default: fatalError("unknown argument \(a)")
    }
}

let pack: RuleSet
do { pack = try RuleSet.load(directory: rulesDir) } catch { fatalError("\(error)") }

// 1,000 detectors × 10 channels: 3 residual loops, 4 cable probes, one probe state, one arc channel
// and one voltage no rule watches (ARCM300 / AAFD-DU style devices, domain.md §4).
let channelNames = ["residual_current.1", "residual_current.2", "residual_current.3", "temperature.1", "temperature.2",
                    "temperature.3", "temperature.4", "state.temperature.1", "arc.1", "voltage.a"]
let deviceCount = 1000
let engine = RuleEngine(rules: pack)
var slots: [EngineSlot] = []
var isState: [Bool] = []
var readings: [Reading] = []
var values: [Double] = []
for d in 0..<deviceCount {
    let id = String(format: "M%04d", d)
    engine.register(DeviceContext(id: id, cable: d % 3 == 0 ? .xlpe : nil))
    for (k, c) in channelNames.enumerated() {
        let channel = Channel(unchecked: c)
        slots.append(engine.slot(device: id, channel: channel))
        isState.append(channel.isState)
        let v: Double = c.hasPrefix("residual") ? 100 + Double((d * 7 + k) % 100)
            : c.hasPrefix("temperature") ? 30 + Double((d + k) % 10)
            : c.hasPrefix("arc") ? 0 : 220
        values.append(v)
        readings.append(Reading(device: id, channel: channel,
                                value: channel.isState ? .state(.normal) : .number(v), time: 0))
    }
}
let n = slots.count
var events: [EngineEvent] = []
events.reserveCapacity(1024)

// Warm-up: first sight of every channel creates its machines (allocates, once).
var now = 0.0
for i in 0..<n {
    if isState[i] { engine.process(slot: slots[i], state: .normal, monotonic: now, wall: now, into: &events) }
    else { engine.process(slot: slots[i], number: values[i], monotonic: now, wall: now, into: &events) }
}

@MainActor func runFastPath(_ rounds: Int) -> Double {
    let start = cpuSeconds()
    for r in 0..<rounds {
        now += 5
        let jitter = Double(r & 3)
        for i in 0..<n {
            if isState[i] { engine.process(slot: slots[i], state: .normal, monotonic: now, wall: now, into: &events) }
            else { engine.process(slot: slots[i], number: values[i] + jitter, monotonic: now, wall: now, into: &events) }
        }
    }
    return Double(rounds * n) / (cpuSeconds() - start)
}

@MainActor func runReadingPath(_ rounds: Int) -> Double {
    let start = cpuSeconds()
    for _ in 0..<rounds {
        now += 5
        for i in 0..<n { engine.process(readings[i], monotonic: now, into: &events) }
    }
    return Double(rounds * n) / (cpuSeconds() - start)
}

/// Baseline: the same decisions hand-coded (thresholds + on-delay per channel), no language, no engine.
struct BaselineChannel { var threshold: Double; var delay: Double; var since: Double; var active: Bool }
var baseline: [BaselineChannel] = (0..<n).map { i in
    let c = channelNames[i % channelNames.count]
    return BaselineChannel(threshold: c.hasPrefix("residual") ? 300 : c.hasPrefix("temperature") ? 56 : 14,
                           delay: c.hasPrefix("temperature") ? 15 : 10, since: .nan, active: false)
}
var baselineRaises = 0
@MainActor func runBaseline(_ rounds: Int) -> Double {
    let start = cpuSeconds()
    var clock = now
    var raises = 0
    baseline.withUnsafeMutableBufferPointer { b in
        values.withUnsafeBufferPointer { v in
            for r in 0..<rounds {
                clock += 5
                let now = clock
                let jitter = Double(r & 3)
                for i in 0..<n {
                    let x = v[i] + jitter
                    // Prealarm at 80 % and alarm, like the pack's two rules per measured channel.
                    for level in [0.8, 1.0] where x >= b[i].threshold * level {
                        if b[i].since.isNaN { b[i].since = now } else if now - b[i].since >= b[i].delay, !b[i].active {
                            b[i].active = true
                            raises += 1
                        }
                    }
                    if x < b[i].threshold * 0.8 { b[i].since = .nan }
                }
            }
        }
    }
    now = clock
    baselineRaises += raises
    return Double(rounds * n) / (cpuSeconds() - start)
}

let fast = runFastPath(rounds)
let viaReading = runReadingPath(max(1, rounds / 5))
let base = runBaseline(rounds)
let steadyEvents = events.count
let advanceStart = cpuSeconds()
for _ in 0..<100 { now += 1; engine.advance(monotonic: now, wall: now, into: &events) }
let advanceMicros = (cpuSeconds() - advanceStart) / 100 * 1e6

func m(_ x: Double) -> String { String(format: "%.2f M/s", x / 1e6) }
print("rules: \(pack.rules.count), channels: \(n), rounds: \(rounds), events while processing: \(steadyEvents)")
print("engine, slot fast path:      \(m(fast))  (\(String(format: "%.0f", 1e9 / fast)) ns/reading)")
print("engine, Reading path:        \(m(viaReading))")
print("baseline, hand-coded checks: \(m(base))  → engine/baseline = \(String(format: "%.2f", fast / base))")
print("advance() over all machines: \(String(format: "%.0f", advanceMicros)) µs per call")
print("advance() after 100 s of silence raised \(events.count - steadyEvents) comm-loss faults (one per device)")
