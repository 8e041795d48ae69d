import FireWatchCore
import Foundation
import Synchronization

/// A per-device token bucket: `burst` messages at once, refilled at `messagesPerSecond`.
public struct MQTTRateLimit: Sendable, Equatable {
    public var messagesPerSecond: Double
    public var burst: Double

    /// Generous for detectors that report every 1–15 min with alarms at once (domain.md §5),
    /// tight enough that one broken device cannot flood the rule engine.
    public init(messagesPerSecond: Double = 2, burst: Double = 20) {
        self.messagesPerSecond = messagesPerSecond
        self.burst = burst
    }

    public static let unlimited = MQTTRateLimit(messagesPerSecond: .infinity, burst: .infinity)
}

/// Counters of the MQTT ingest, for `firewatch status`.
public struct MQTTIngestSnapshot: Sendable, Equatable {
    public struct DeviceCounters: Sendable, Equatable {
        public var accepted = 0
        public var rejected = 0
        public var rateLimited = 0
        public var lastRejection: String?
        public var lastMessageAt: Double?
    }

    /// Per registered device id.
    public var devices: [String: DeviceCounters] = [:]
    /// Messages from device ids (or, as `topic <t>`, topics) that match no registered device.
    public var quarantined: [String: Int] = [:]
    /// Quarantined messages beyond the first `MQTTIngest.quarantineKeys` distinct ids.
    public var quarantineOverflow = 0
    /// Bad messages that name no device (e.g. not JSON where the device id is in the payload), per topic.
    public var unattributed: [String: Int] = [:]
    public var messages = 0

    public var accepted: Int { devices.values.reduce(0) { $0 + $1.accepted } }
    public var rejected: Int { devices.values.reduce(0) { $0 + $1.rejected } + unattributed.values.reduce(0, +) }
    public var rateLimited: Int { devices.values.reduce(0) { $0 + $1.rateLimited } }
    public var quarantinedMessages: Int { quarantined.values.reduce(0, +) + quarantineOverflow }

    /// Lines for `firewatch status`.
    public var lines: [String] {
        var out = ["mqtt: \(messages) messages, \(accepted) accepted, \(rejected) rejected, \(rateLimited) rate-limited, "
                   + "\(quarantinedMessages) quarantined"]
        for (id, c) in devices.sorted(by: { $0.key < $1.key }) where c.rejected > 0 || c.rateLimited > 0 {
            out.append("  device \(id): \(c.rejected) rejected, \(c.rateLimited) rate-limited; last: \(c.lastRejection ?? "-")")
        }
        for (id, n) in quarantined.sorted(by: { $0.key < $1.key }) {
            out.append("  quarantined \(id): \(n) messages (not registered)")
        }
        if quarantineOverflow > 0 { out.append("  quarantined (more ids): \(quarantineOverflow) messages") }
        for (topic, n) in unattributed.sorted(by: { $0.key < $1.key }) {
            out.append("  unattributed topic \(topic): \(n) bad messages")
        }
        return out
    }
}

/// MQTT device ingestion: binds each message to a registered device through the profiles' topic
/// patterns, decodes it, and hands the readings to the sink.
///
/// Runs on the decode thread of an `MQTTDecodeStage` (the edge) or on the MQTT client's network
/// thread (probe, tests): decoding is a pure, bounded computation and the sink never blocks for long
/// (ReadingSink). Bad input never crashes
/// and is never silent: one log line naming device, topic and what was wrong, counted per device and
/// reported to the monitor. Unregistered device ids are quarantined (counted, logged once per id) and
/// never become readings. A token bucket per device drops (and counts) floods before decoding.
public final class MQTTIngest: Sendable {
    public typealias Log = @Sendable (String) -> Void

    /// At most this many distinct quarantined ids (or topics) are listed; the rest are summed.
    public static let quarantineKeys = 1000
    /// Rejections logged per device before logging only every 100th.
    static let loggedRejectionsPerDevice = 50

    /// One registered device with the profile that decodes it (a class: one retain per message).
    /// A profile is itself one reference (`MQTTProfile.Storage`), so it is kept by value.
    private final class Binding: Sendable {
        let device: Device
        let profile: Result<MQTTProfile, MQTTBindingError>
        /// The device's index in `State.perDevice`, kept across `updateDevices`.
        let slot: Int
        init(device: Device, profile: Result<MQTTProfile, MQTTBindingError>, slot: Int) {
            self.device = device
            self.profile = profile
            self.slot = slot
        }
    }

    private struct Bucket {
        var tokens: Double
        var last: Double
    }

    /// What is kept per registered device, by index (no hashing of its id per message).
    private struct PerDevice {
        var counters = MQTTIngestSnapshot.DeviceCounters()
        var bucket: Bucket?
        /// Rejected or rate-limited since its last good message (the monitor hears of the recovery).
        var troubled = false
    }

    private struct State {
        var bindings: [String: Binding] = [:]
        var slots: [String: Int] = [:]
        var perDevice: [PerDevice] = []
        /// Everything but `devices`, which `snapshot()` fills from `perDevice`.
        var counters = MQTTIngestSnapshot()

        mutating func slot(_ device: String) -> Int {
            if let i = slots[device] { return i }
            slots[device] = perDevice.count
            perDevice.append(PerDevice())
            return perDevice.count - 1
        }
    }

    public let profiles: [MQTTProfile]
    /// `profiles[k].topic`, kept apart: reading the pattern through the profile per message copied its
    /// level array (a retain and a release for each profile tried, on every message).
    private let topics: [MQTTTopicPattern]
    private let sink: any ReadingSink
    private let monitor: (any IngestMonitor)?
    private let rateLimit: MQTTRateLimit
    private let log: Log
    private let wallClock: @Sendable () -> Double
    private let monotonicClock: @Sendable () -> Double
    private let state = Mutex(State())

    /// - Parameters:
    ///   - profiles: the MQTT profiles (from `MQTTProfile.load(directory:)`).
    ///   - devices: registered devices keyed by their MQTT device id (`Transport.mqtt(deviceID:)`).
    ///   - profileParameters: per registered device id, field mappings for parameterised profiles
    ///     (see `MQTTProfile.specialised(parameters:)`).
    public init(profiles: [MQTTProfile], devices: [String: Device], profileParameters: [String: [String: String]] = [:],
                sink: any ReadingSink, monitor: (any IngestMonitor)? = nil, rateLimit: MQTTRateLimit = MQTTRateLimit(),
                log: @escaping Log = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) },
                wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                monotonicClock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.profiles = profiles
        topics = profiles.map(\.topic)
        self.sink = sink
        self.monitor = monitor
        self.rateLimit = rateLimit
        self.log = log
        self.wallClock = wallClock
        self.monotonicClock = monotonicClock
        updateDevices(devices, profileParameters: profileParameters)
    }

    /// The distinct subscription filters of all profiles.
    public var topicFilters: [String] { Array(Set(profiles.map(\.topic.filter))).sorted() }

    /// Installs the message handler and subscribes every profile's filter at QoS 1. Call before
    /// `client.start()`. With a `stage`, messages are decoded on its thread instead of the client's
    /// network thread (the edge's way; start and stop the stage with the client).
    public func attach(to client: MQTTClient, through stage: MQTTDecodeStage? = nil) {
        if let stage {
            client.onMessage = { message in stage.submit(message) }
        } else {
            client.onMessage = { [self] message in self.handle(message) }
        }
        for filter in topicFilters { client.subscribe(filter, qos: 1) }
    }

    /// Replaces the registered devices (at runtime, from any thread).
    public func updateDevices(_ devices: [String: Device], profileParameters: [String: [String: String]] = [:]) {
        var bindings: [String: (Device, Result<MQTTProfile, MQTTBindingError>)] = [:]
        let byID = Dictionary(profiles.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (mqttID, device) in devices {
            let profile: Result<MQTTProfile, MQTTBindingError>
            if let p = byID[device.profileID] {
                if let params = profileParameters[device.id] ?? profileParameters[mqttID] {
                    do {
                        profile = .success(try p.specialised(parameters: params, source: "registration of \(device.id)"))
                    } catch {
                        log("mqtt: device \(device.id): profile parameters rejected: \(error)")
                        profile = .failure(MQTTBindingError(text: "registration parameters are invalid: \(error)"))
                    }
                } else {
                    profile = .success(p)
                }
            } else {
                profile = .failure(MQTTBindingError(text: "registered with profile '\(device.profileID)', which is not an MQTT profile in Devices/"))
            }
            bindings[mqttID] = (device, profile)
        }
        state.withLock { s in
            s.bindings = bindings.mapValues { Binding(device: $0.0, profile: $0.1, slot: s.slot($0.0.id)) }
        }
    }

    public func snapshot() -> MQTTIngestSnapshot {
        state.withLock { s in
            var out = s.counters
            for (id, i) in s.slots { out.devices[id] = s.perDevice[i].counters }
            return out
        }
    }

    /// Registered devices bound now (registrations picked up while running included).
    public var boundDeviceCount: Int { state.withLock { $0.bindings.count } }

    /// Messages seen so far (cheap; `snapshot()` copies every counter).
    public var messageCount: Int { state.withLock { $0.counters.messages } }

    public func handle(_ message: MQTTMessage) {
        handle(topic: message.topic, payload: message.payload, size: message.size, now: wallClock(), monotonic: monotonicClock())
    }

    /// Messages taken together (the decode stage's batch), in order: one clock reading and one
    /// hand-over to the sink for all of them instead of one each.
    public func handle(_ messages: [MQTTMessage]) {
        guard !messages.isEmpty else { return }
        let now = wallClock(), monotonic = monotonicClock()
        var out: [[Reading]] = []
        out.reserveCapacity(messages.count)
        var recovered: [String] = []
        let bindings = state.withLock { $0.bindings }
        for m in messages {
            ingest(topic: m.topic, payload: m.payload, size: m.size, now: now, monotonic: monotonic, bindings: bindings,
                   into: &out, recovered: &recovered)
        }
        sink.accept(batches: out)
        // Counted once handed over, so `messageCount` reaching N means N messages' readings are queued.
        state.withLock { $0.counters.messages += messages.count }
        for device in recovered { monitor?.recovered(device: device) }
    }

    /// The whole per-message path with explicit times (wall for payload checks, monotonic for the rate
    /// limit). `size` is the payload's size on the wire when the client truncated it.
    public func handle(topic: String, payload: [UInt8], size: Int? = nil, now: Double, monotonic: Double) {
        var out: [[Reading]] = []
        var recovered: [String] = []
        let bindings = state.withLock { s in
            s.counters.messages += 1
            return s.bindings
        }
        ingest(topic: topic, payload: payload, size: size, now: now, monotonic: monotonic, bindings: bindings,
               into: &out, recovered: &recovered)
        for readings in out { sink.accept(readings) }
        for device in recovered { monitor?.recovered(device: device) }
    }

    /// Binds, checks and decodes one message; its readings go to `out`, a device whose trouble this
    /// message ends to `recovered` (for the monitor, once the readings are handed over).
    private func ingest(topic: String, payload: [UInt8], size: Int?, now: Double, monotonic: Double,
                        bindings: [String: Binding], into out: inout [[Reading]], recovered: inout [String]) {
        let size = max(size ?? payload.count, payload.count)
        // One strict scan per field plan: every profile of the shipped set reads its own fields, and
        // a syntax error is the same whichever plan found it.
        var scanned: Result<MQTTPayloadFields, MQTTPayloadRejection>?
        func fields(for profile: MQTTProfile) -> Result<MQTTPayloadFields, MQTTPayloadRejection> {
            switch scanned {
            case .success(let f)? where profile.canDecode(f): return .success(f)
            case .failure(.notJSON(let why))?: return .failure(.notJSON(why))
            case .failure(.notAnObject)?: return .failure(.notAnObject)
            default: break
            }
            let limit = profile.limits.maxPayloadBytes
            guard size <= limit else { return .failure(.tooLarge(bytes: size, limit: limit)) }
            let r = profile.fields(payload)
            scanned = r
            return r
        }

        // 1. Which registered device is this? Try every profile whose pattern matches the topic.
        var chosen: Binding?
        var chosenID = ""
        var unknownID: String?
        var mismatch: (Binding, String)?
        var unattributed: MQTTPayloadRejection?
        for (k, profile) in profiles.enumerated() {
            guard topics[k].match(topic) != nil else { continue }
            let id: Result<String, MQTTPayloadRejection>
            if topics[k].capturesDevice {
                id = profile.deviceID(topic: topic, fields: nil)
            } else {
                switch fields(for: profile) {
                case .failure(let r): id = .failure(r)
                case .success(let f): id = profile.deviceID(topic: topic, fields: f)
                }
            }
            guard case .success(let deviceID) = id else {
                if case .failure(let r) = id { unattributed = unattributed ?? r }
                continue
            }
            guard let binding = bindings[deviceID] else { unknownID = unknownID ?? deviceID; continue }
            if binding.device.profileID == profile.id { chosen = binding; chosenID = deviceID; break }
            mismatch = mismatch ?? (binding, profile.id)
        }

        guard let binding = chosen else {
            if let (binding, profileID) = mismatch {
                reject(binding.device.id, topic: topic, reason: "topic matches profile '\(profileID)' but the device is registered with '\(binding.device.profileID)'")
            } else if let unknownID {
                quarantine(unknownID, topic: topic)
            } else if let unattributed {
                rejectUnattributed(topic: topic, reason: unattributed.description)
            } else {
                quarantine("topic \(topic)", topic: topic)
            }
            return
        }
        let device = binding.device.id

        // 2. Rate limit before any more work.
        guard admit(binding, monotonic: monotonic) else {
            monitor?.problem(device: device, .rateLimited)
            return
        }

        // 3. Decode with the device's (possibly specialised) profile.
        guard case .success(let profile) = binding.profile else {
            if case .failure(let e) = binding.profile { reject(device, topic: topic, reason: e.text) }
            return
        }
        let decoded: Result<MQTTDecoded, MQTTPayloadRejection>
        switch fields(for: profile) {
        case .failure(let r): decoded = .failure(r)
        case .success(let f):
            let limit = profile.limits.maxPayloadBytes
            decoded = size > limit ? .failure(.tooLarge(bytes: size, limit: limit))
                                   : profile.decode(device: chosenID, fields: f, now: now)
        }
        switch decoded {
        case .failure(let r):
            reject(device, topic: topic, reason: r.description)
        case .success(var d):
            if d.deviceID != device {
                for i in d.readings.indices { d.readings[i].device = device }
            }
            let wasTroubled = state.withLock { s -> Bool in
                s.perDevice[binding.slot].counters.accepted += 1
                s.perDevice[binding.slot].counters.lastMessageAt = now
                defer { s.perDevice[binding.slot].troubled = false }
                return s.perDevice[binding.slot].troubled
            }
            out.append(d.readings)
            if wasTroubled { recovered.append(device) }
        }
    }

    // MARK: bookkeeping

    private func admit(_ binding: Binding, monotonic: Double) -> Bool {
        guard rateLimit.burst.isFinite else { return true }
        let device = binding.device.id
        let (ok, limitedSoFar) = state.withLock { s -> (Bool, Int) in
            let i = binding.slot
            var b = s.perDevice[i].bucket ?? Bucket(tokens: rateLimit.burst, last: monotonic)
            b.tokens = min(rateLimit.burst, b.tokens + max(0, monotonic - b.last) * rateLimit.messagesPerSecond)
            b.last = monotonic
            let ok = b.tokens >= 1
            if ok { b.tokens -= 1 }
            s.perDevice[i].bucket = b
            guard !ok else { return (true, 0) }
            s.perDevice[i].counters.rateLimited += 1
            s.perDevice[i].troubled = true
            return (false, s.perDevice[i].counters.rateLimited)
        }
        if !ok && (limitedSoFar == 1 || limitedSoFar % 1000 == 0) {
            log("mqtt: device \(device): over its rate limit of \(rateLimit.messagesPerSecond)/s (burst \(Int(rateLimit.burst))); "
                + "dropping its messages until it slows down (\(limitedSoFar) dropped so far, counted in status)")
        }
        return ok
    }

    private func reject(_ device: String, topic: String, reason: String) {
        let n = state.withLock { s -> Int in
            let i = s.slot(device)
            s.perDevice[i].counters.rejected += 1
            s.perDevice[i].counters.lastRejection = reason
            s.perDevice[i].troubled = true
            return s.perDevice[i].counters.rejected
        }
        if n <= MQTTIngest.loggedRejectionsPerDevice || n % 100 == 0 {
            log("mqtt: device \(device): rejected message on \(topic): \(reason)"
                + (n > MQTTIngest.loggedRejectionsPerDevice ? " (\(n) rejected so far; logging every 100th)" : ""))
        }
        monitor?.problem(device: device, .rejectedPayload(reason))
    }

    private func rejectUnattributed(topic: String, reason: String) {
        let n = state.withLock { s -> Int in
            if s.counters.unattributed[topic] == nil, s.counters.unattributed.count >= MQTTIngest.quarantineKeys {
                s.counters.quarantineOverflow += 1
                return -1
            }
            s.counters.unattributed[topic, default: 0] += 1
            return s.counters.unattributed[topic]!
        }
        if n > 0, n <= MQTTIngest.loggedRejectionsPerDevice || n % 100 == 0 {
            log("mqtt: rejected message on \(topic) (device unknown): \(reason)")
        }
    }

    private func quarantine(_ key: String, topic: String) {
        let first = state.withLock { s -> Bool in
            if let n = s.counters.quarantined[key] {
                s.counters.quarantined[key] = n + 1
                return false
            }
            if s.counters.quarantined.count >= MQTTIngest.quarantineKeys {
                s.counters.quarantineOverflow += 1
                return false
            }
            s.counters.quarantined[key] = 1
            return true
        }
        if first {
            log("mqtt: quarantined \(key) (message on \(topic)): no registered device; register it or fix the detector's "
                + "topic. Further messages are counted in status, not logged")
        }
    }
}

/// Why a registered device cannot be decoded at all (bad registration).
struct MQTTBindingError: Error, Sendable {
    var text: String
}
