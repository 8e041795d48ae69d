import FireWatchCore
import FireWatchModbus
import FireWatchMQTT
import Foundation
import Synchronization

/// What `firewatch status` shows: written by the running edge to `DATA/status.json` every few seconds
/// (atomically), so a technician can look at a live box without attaching to the process.
public struct EdgeStatus: Sendable, Codable {
    public struct ModbusDevice: Sendable, Codable {
        public var polls, successes, timeouts, exceptions, badResponses, transportErrors, consecutiveFailures: Int
        public var backoffSeconds: Double
        public var lastSuccess: Double?
    }

    public struct MQTT: Sendable, Codable {
        public var messages, accepted, rejected, rateLimited: Int
        /// Device ids seen on topics that match no registered device, with message counts.
        public var quarantined: [String: Int]
        public var rejectedByDevice: [String: Int]
        public var lastRejection: [String: String]
    }

    public var edge: String
    public var updatedAt: Double
    public var devices: Int
    public var queueAccepted: Int
    public var queueOverflowed: Int
    public var queueDepth: Int
    /// Readings committed to the readings archive, and those given up (full disk, backlog over its bound).
    public var readingsArchived: Int?
    public var readingsNotArchived: Int?
    public var modbus: [String: ModbusDevice]
    public var mqtt: MQTT?

    public static func load(dataDirectory: String) throws -> EdgeStatus {
        let data = try Data(contentsOf: URL(fileURLWithPath: dataDirectory + "/status.json"))
        return try JSONDecoder().decode(EdgeStatus.self, from: data)
    }

    public var lines: [String] {
        var out = ["edge \(edge): \(devices) devices; queue \(queueAccepted) readings in, \(queueOverflowed) refused (full), depth \(queueDepth)"]
        if let archived = readingsArchived {
            out.append("archive: \(archived) readings stored" + ((readingsNotArchived ?? 0) > 0 ? ", \(readingsNotArchived!) not archived (disk full or backlog)" : ""))
        }
        for (id, d) in modbus.sorted(by: { $0.key < $1.key }) where d.consecutiveFailures > 0 || d.exceptions > 0 || d.badResponses > 0 {
            var l = "  modbus \(id): \(d.successes)/\(d.polls) polls ok, \(d.timeouts) timeouts, \(d.exceptions) exceptions, \(d.badResponses) bad responses"
            if d.consecutiveFailures > 0 { l += "; failing (\(d.consecutiveFailures) in a row, next try in \(Int(d.backoffSeconds)) s)" }
            out.append(l)
        }
        if let m = mqtt {
            out.append("mqtt: \(m.messages) messages, \(m.accepted) accepted, \(m.rejected) rejected, \(m.rateLimited) rate-limited")
            for (id, n) in m.rejectedByDevice.sorted(by: { $0.key < $1.key }) {
                out.append("  device \(id): \(n) rejected; last: \(m.lastRejection[id] ?? "-")")
            }
            for (id, n) in m.quarantined.sorted(by: { $0.key < $1.key }) {
                out.append("  quarantined \(id): \(n) messages (no registered device; register it or fix its topic)")
            }
        }
        return out
    }
}

/// Writes `status.json` every `interval` seconds from its own thread until stopped.
final class EdgeStatusWriter: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    /// Signalled by `stop()`, so the writer does not sleep out its interval first.
    private let wake = DispatchSemaphore(value: 0)
    private let collect: @Sendable () -> EdgeStatus
    private let path: String
    private let interval: Double

    init(path: String, interval: Double = 2, collect: @escaping @Sendable () -> EdgeStatus) {
        self.path = path
        self.interval = interval
        self.collect = collect
    }

    func start() {
        let t = Thread { [self] in
            nameThisThread("fw status")
            while !stopped.load(ordering: .acquiring) {
                write()
                _ = wake.wait(timeout: .now() + interval)
            }
            write()
            done.signal()
        }
        t.start()
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        done.wait()
    }

    private func write() {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(collect()) else { return }
        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

extension EdgeStatus.ModbusDevice {
    init(_ c: DeviceCounters) {
        self.init(polls: c.polls, successes: c.successes, timeouts: c.timeouts, exceptions: c.exceptions,
                  badResponses: c.badResponses, transportErrors: c.transportErrors, consecutiveFailures: c.consecutiveFailures,
                  backoffSeconds: c.backoff, lastSuccess: c.lastSuccess)
    }
}

extension EdgeStatus.MQTT {
    init(_ s: MQTTIngestSnapshot) {
        self.init(messages: s.messages, accepted: s.accepted, rejected: s.rejected, rateLimited: s.rateLimited,
                  quarantined: s.quarantined,
                  rejectedByDevice: s.devices.filter { $0.value.rejected > 0 }.mapValues(\.rejected),
                  lastRejection: s.devices.compactMapValues(\.lastRejection))
    }
}
