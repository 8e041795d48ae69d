import Foundation
import FireWatchCore

/// What happens in a simulated market, as a value: scripted incidents on chosen devices at chosen
/// times (seconds after the simulator starts), so a demo can compress time and a test can drive it.
public struct SimulationScript: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Residual current climbs from its baseline past the 300 mA alarm set value (GB 51348-2019
        /// §13.5.6) to `peak` (default 480 mA) over `ramp` seconds (default 20).
        case residualCurrentRise = "residual_rise"
        /// A cable temperature climbs past ~60 °C to `peak` (default 78 °C) over `ramp` (default 30 s).
        case temperatureRise = "temperature_rise"
        /// A temperature probe goes open: state code 5 (fault_open, domain.md §4), value raw 0.
        case probeOpen = "probe_open"
        /// The device stops answering.
        case silent
    }

    public struct Incident: Sendable, Equatable {
        /// Index of the device (0-based).
        public var device: Int
        public var kind: Kind
        /// Seconds after start.
        public var start: Double
        /// Which loop or probe (residual_current.N / temperature.N).
        public var channel: Int
        /// Seconds the incident lasts; nil: until the simulator stops.
        public var duration: Double?
        public var peak: Double?
        public var ramp: Double?

        public init(device: Int, kind: Kind, start: Double, channel: Int = 1, duration: Double? = nil,
                    peak: Double? = nil, ramp: Double? = nil) {
            self.device = device
            self.kind = kind
            self.start = start
            self.channel = channel
            self.duration = duration
            self.peak = peak
            self.ramp = ramp
        }

        func isActive(at t: Double) -> Bool { t >= start && (duration.map { t < start + $0 } ?? true) }
    }

    public var incidents: [Incident]

    public init(incidents: [Incident] = []) { self.incidents = incidents }

    /// Baselines only.
    public static let calm = SimulationScript()

    /// The demo's market: a residual-current alarm, an over-temperature alarm, an open probe and a
    /// silent device, all within the first minute (devices 0–3, or fewer if the market is smaller).
    public static func demo(deviceCount: Int) -> SimulationScript {
        guard deviceCount > 0 else { return .calm }
        let kinds: [(Kind, Double)] = [(.residualCurrentRise, 10), (.temperatureRise, 15), (.probeOpen, 30), (.silent, 35)]
        return SimulationScript(incidents: kinds.enumerated().map { i, k in
            Incident(device: i % deviceCount, kind: k.0, start: k.1)
        })
    }

    /// `demo` or `calm`, as the command line names them.
    public static func named(_ name: String, deviceCount: Int) -> SimulationScript? {
        switch name {
        case "demo": demo(deviceCount: deviceCount)
        case "calm": .calm
        default: nil
        }
    }
}

/// The values a simulated detector shows at a time: deterministic in (seed, device, time), so a test
/// can predict them. Pure; the simulator calls it on its own thread.
public struct MarketModel: Sendable {
    public let profile: ModbusProfile
    public let script: SimulationScript
    public let seed: UInt64
    /// Whether a simulated detector raises its own state alarm past its set value (off: the gateway's rules decide).
    public var reportsOwnAlarms: Bool

    public init(profile: ModbusProfile, script: SimulationScript, seed: UInt64, reportsOwnAlarms: Bool = false) {
        self.profile = profile
        self.script = script
        self.seed = seed
        self.reportsOwnAlarms = reportsOwnAlarms
    }

    /// Deterministic value in [0, 1) for (device, stream, step).
    func unit(_ device: Int, _ stream: Int, _ step: Int) -> Double {
        var z = seed &+ UInt64(truncatingIfNeeded: device) &* 0x9E37_79B9_7F4A_7C15
        z = z &+ UInt64(truncatingIfNeeded: stream) &* 0xBF58_476D_1CE4_E5B9 &+ UInt64(truncatingIfNeeded: step) &* 0x94D0_49BB_1331_11EB
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        return Double(z >> 11) / Double(1 << 53)
    }

    /// Smooth noise: linear between per-second samples in [-1, 1].
    func noise(_ device: Int, _ stream: Int, _ t: Double) -> Double {
        let s = Int(t.rounded(.down)), f = t - Double(s)
        let a = unit(device, stream, s) * 2 - 1, b = unit(device, stream, s + 1) * 2 - 1
        return a + (b - a) * f
    }

    public func isSilent(device: Int, at t: Double) -> Bool {
        script.incidents.contains { $0.device == device && $0.kind == .silent && $0.isActive(at: t) }
    }

    /// Baseline of a measured channel: residual current 20–150 mA, temperatures 25–45 °C, ~220 V, 2–15 A.
    func baseline(_ channel: Channel, device: Int, stream: Int, t: Double) -> Double {
        let u = unit(device, stream, -1), phase = unit(device, stream, -2) * 2 * .pi
        switch channel.quantity {
        case .residualCurrent:
            let base = 35 + u * 90  // 35–125; drift ±8 and noise ±4 keep it inside 20–150
            return base + 8 * sin(2 * .pi * t / 180 + phase) + 4 * noise(device, stream, t)
        case .temperature:
            let base = 27 + u * 16  // 27–43 drifting ±2
            return base + 1.5 * sin(2 * .pi * t / 600 + phase) + 0.2 * noise(device, stream, t)
        case .voltage: return 220 + 4 * (u - 0.5) + 1.0 * noise(device, stream, t)
        case .current: return 2 + u * 13 + 0.3 * noise(device, stream, t)
        case .power: return 2 + u * 5
        case .energy: return 1000 + u * 5000 + t / 3600 * 3
        case .powerFactor: return 0.9 + 0.05 * u
        case .arc, .state, .device: return 0
        }
    }

    /// The canonical values of every channel the profile carries, at `t` seconds after start.
    public func values(device: Int, at t: Double, setpoints: [Channel: Double] = [:]) -> [(Channel, Reading.Value)] {
        var out: [Channel: Reading.Value] = [:]
        var states: [Channel: DetectorState] = [:]
        for s in profile.states { states[s.channel] = .normal }
        for (k, m) in profile.measurements.enumerated() {
            var v = baseline(m.channel, device: device, stream: k, t: t)
            for inc in script.incidents where inc.device == device && inc.isActive(at: t) {
                let elapsed = t - inc.start
                switch inc.kind {
                case .residualCurrentRise where m.channel.name == "residual_current.\(inc.channel)":
                    let peak = inc.peak ?? 480, ramp = inc.ramp ?? 20
                    v += (peak - v) * min(1, elapsed / max(ramp, 0.001))
                case .temperatureRise where m.channel.name == "temperature.\(inc.channel)":
                    let peak = inc.peak ?? 78, ramp = inc.ramp ?? 30
                    v += (peak - v) * min(1, elapsed / max(ramp, 0.001))
                case .probeOpen where m.channel.name == "temperature.\(inc.channel)":
                    v = m.offset  // raw 0
                    states[m.channel.stateChannel] = .faultOpen
                default: break
                }
            }
            out[m.channel] = .number(v)
            if reportsOwnAlarms, let set = setpoints[m.channel], v > set, states[m.channel.stateChannel] == .normal {
                states[m.channel.stateChannel] = .alarm
            }
        }
        var list = out.map { ($0.key, $0.value) }
        list += states.map { ($0.key, Reading.Value.state($0.value)) }
        return list.sorted { $0.0 < $1.0 }
    }
}
