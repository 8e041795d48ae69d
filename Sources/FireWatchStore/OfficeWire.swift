import FireWatchCore
import Foundation

/// The uplink's topic tree and message bodies between an edge box and the fire office (docs/uplink.md).
///
/// One tree per edge: `firewatch/edge/<edge>/{events,telemetry,heartbeat,status}` go up (QoS 1),
/// `firewatch/edge/<edge>/ack` comes down (QoS 1). Bodies are JSON with the Swift property names
/// as keys (camelCase, the same keys `AlarmEvent` has in the journal).
public enum OfficeWire {
    public static let root = "firewatch/edge"

    public enum Leaf: String, Sendable, CaseIterable {
        case events, telemetry, heartbeat, status, ack
    }

    public static func topic(edge: String, _ leaf: Leaf) -> String { "\(root)/\(edge)/\(leaf.rawValue)" }

    /// Subscription filter for one leaf of every edge (the office's side).
    public static func everyEdge(_ leaf: Leaf) -> String { "\(root)/+/\(leaf.rawValue)" }

    /// Splits `firewatch/edge/<edge>/<leaf>`; nil for any other topic.
    public static func parse(topic: String) -> (edge: String, leaf: Leaf)? {
        let parts = topic.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "firewatch", parts[1] == "edge", !parts[2].isEmpty,
              let leaf = Leaf(rawValue: String(parts[3])) else { return nil }
        return (String(parts[2]), leaf)
    }

    /// One journaled event as sent: the event with its identity, when the edge journaled it, and
    /// whether it is late (sent from a backlog, after an outage or as a resend).
    public struct EventItem: Codable, Sendable, Equatable {
        public var event: AlarmEvent
        public var journaledAt: Double
        public var late: Bool

        public init(event: AlarmEvent, journaledAt: Double, late: Bool) {
            self.event = event
            self.journaledAt = journaledAt
            self.late = late
        }
    }

    /// `events`: a batch of consecutive journal entries.
    public struct EventBatch: Codable, Sendable, Equatable {
        public var edge: String
        public var sentAt: Double
        public var items: [EventItem]

        public init(edge: String, sentAt: Double, items: [EventItem]) {
            self.edge = edge
            self.sentAt = sentAt
            self.items = items
        }
    }

    /// One channel's minute at the edge: min, max and last value (canonical units).
    public struct TelemetrySummary: Codable, Sendable, Equatable {
        public var device: String
        public var channel: String
        /// Start of the minute, seconds since 1970 (a multiple of 60).
        public var minute: Double
        public var min: Double
        public var max: Double
        public var last: Double
        public var samples: Int

        public init(device: String, channel: String, minute: Double, min: Double, max: Double, last: Double, samples: Int) {
            self.device = device
            self.channel = channel
            self.minute = minute
            self.min = min
            self.max = max
            self.last = last
            self.samples = samples
        }
    }

    /// `telemetry`: closed minutes, acknowledged by `batch` number.
    public struct TelemetryBatch: Codable, Sendable, Equatable {
        public var edge: String
        public var batch: Int64
        public var late: Bool
        public var summaries: [TelemetrySummary]

        public init(edge: String, batch: Int64, late: Bool, summaries: [TelemetrySummary]) {
            self.edge = edge
            self.batch = batch
            self.late = late
            self.summaries = summaries
        }
    }

    /// `ack` (office → edge): the highest sequence up to which every event of this edge is stored
    /// in the governance database, and optionally a telemetry batch stored.
    public struct Ack: Codable, Sendable, Equatable {
        public var storedThrough: Int64
        public var telemetryBatch: Int64?
        public var at: Double

        public init(storedThrough: Int64, telemetryBatch: Int64? = nil, at: Double) {
            self.storedThrough = storedThrough
            self.telemetryBatch = telemetryBatch
            self.at = at
        }
    }

    /// `heartbeat`: the edge is alive, with its outbox figures.
    public struct Heartbeat: Codable, Sendable, Equatable {
        public var edge: String
        public var time: Double
        public var lastSequence: Int64
        public var ackedThrough: Int64
        public var pendingEvents: Int64
        public var pendingTelemetry: Int64
        public var telemetryEvicted: Int64
        /// The edge's data directory refused a write (disk full or I/O error) since the last heartbeat.
        public var storageFault: Bool

        public init(edge: String, time: Double, lastSequence: Int64, ackedThrough: Int64, pendingEvents: Int64,
                    pendingTelemetry: Int64, telemetryEvicted: Int64, storageFault: Bool) {
            self.edge = edge
            self.time = time
            self.lastSequence = lastSequence
            self.ackedThrough = ackedThrough
            self.pendingEvents = pendingEvents
            self.pendingTelemetry = pendingTelemetry
            self.telemetryEvicted = telemetryEvicted
            self.storageFault = storageFault
        }
    }

    /// `status` (retained): `online` on connect; the broker publishes the last will `offline`.
    public struct Status: Codable, Sendable, Equatable {
        public var state: String
        public var time: Double?

        public init(state: String, time: Double?) {
            self.state = state
            self.time = time
        }
    }

    public static func encode(_ value: some Encodable) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return Array((try? e.encode(value)) ?? Data("{}".utf8))
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        let d = JSONDecoder()
        return try d.decode(type, from: Data(bytes))
    }
}
