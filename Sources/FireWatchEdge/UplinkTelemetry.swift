import FireWatchCore
import FireWatchStore

/// Folds numeric readings into per device, channel and minute summaries (min, max, last) in memory
/// until the minute closes; the uplink then moves closed minutes into the outbox's telemetry lane.
///
/// Bounded: at most `maxOpenKeys` open minutes; readings for a new key beyond that are counted in
/// `refused`, never silently dropped.
public struct TelemetryMinutes: Sendable {
    struct Key: Hashable, Sendable {
        var device: String
        var channel: String
        var minute: Double
    }

    private var open: [Key: OfficeWire.TelemetrySummary] = [:]
    public let maxOpenKeys: Int
    public private(set) var refused = 0

    public init(maxOpenKeys: Int = 20_000) { self.maxOpenKeys = maxOpenKeys }

    public var openCount: Int { open.count }

    public mutating func add(_ readings: [Reading]) {
        for r in readings {
            guard let v = r.number, v.isFinite else { continue }
            let minute = (r.time / 60).rounded(.down) * 60
            let key = Key(device: r.device, channel: r.channel.name, minute: minute)
            if var s = open[key] {
                s.min = Swift.min(s.min, v)
                s.max = Swift.max(s.max, v)
                s.last = v
                s.samples += 1
                open[key] = s
            } else if open.count < maxOpenKeys {
                open[key] = OfficeWire.TelemetrySummary(device: r.device, channel: r.channel.name, minute: minute,
                                                       min: v, max: v, last: v, samples: 1)
            } else {
                refused += 1
            }
        }
    }

    /// Removes and returns every minute that ended at least `grace` seconds before `now`.
    public mutating func takeClosed(now: Double, grace: Double = 5) -> [OfficeWire.TelemetrySummary] {
        let closed = open.filter { $0.key.minute + 60 + grace <= now }
        for k in closed.keys { open.removeValue(forKey: k) }
        return closed.values.sorted { ($0.minute, $0.device, $0.channel) < ($1.minute, $1.device, $1.channel) }
    }
}
