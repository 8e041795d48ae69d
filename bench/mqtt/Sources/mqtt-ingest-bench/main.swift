// Drains a backlog of json-4g-detector messages queued for this client's persistent session through
// the firewatch ingest path: MQTTClient → MQTTIngest (bind, rate-limit off, decode, map) →
// ReadingQueue (the edge's bounded queue) → one consumer → ReadingArchive (SQLite, batches).
// Prints one JSON line: messages, wall seconds, CPU seconds (user+sys of this process), readings.
@preconcurrency import Glibc
import FireWatchCore
import FireWatchEdge
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization

func option(_ name: String, _ def: String? = nil) -> String {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    guard let def else { fputs("missing \(name)\n", stderr); exit(64) }
    return def
}

let port = Int(option("--port"))!
let expected = Int(option("--messages"))!
let deviceCount = Int(option("--devices", "1000"))!
let qos = Int32(option("--qos", "0"))!
let clientID = option("--client-id")
let devicesDir = option("--devices-dir")
let archivePath = option("--archive", "")   // empty: sink only (queue drained and discarded)
let timeout = Double(option("--timeout", "600"))!
let rulesDir = option("--rules", "")        // empty: no rule engine
let batchSleep = UInt32(option("--batch-sleep-us", "1000"))!

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

let profiles = try MQTTProfile.load(directory: devicesDir).filter { $0.id == "json-4g-detector" }

// --decode-only FILE: time the pure decode of each line of FILE (no broker), then exit. Rounds of
// each path, best and median µs/msg: the parsed tree (MQTTIngest today), then the field scan.
// `--rounds N` (default 5), `--only PREFIX` to time only the paths whose label starts with PREFIX.
if CommandLine.arguments.contains("--decode-only") {
    let lines = try String(contentsOfFile: option("--decode-only"), encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
    let rounds = Int(option("--rounds", "5"))!
    let now = Date().timeIntervalSince1970
    let profile = profiles[0]
    let topic = "4g/bench/data"
    let only = option("--only", "")
    func time(_ label: String, _ body: ([UInt8]) -> Int) {
        guard label.hasPrefix(only) else { return }
        var perMessage: [Double] = []
        var n = 0
        for _ in 0..<rounds {
            let t = Date()
            n = 0
            for l in lines { n += body(l) }
            perMessage.append(Date().timeIntervalSince(t) / Double(lines.count) * 1e6)
        }
        perMessage.sort()
        print("\(label): best \(String(format: "%.3f", perMessage[0])) µs/msg, median \(String(format: "%.3f", perMessage[rounds / 2])) (\(n) per round)")
    }
    time("tree: parse only") { l in if case .success = MQTTPayloadParser.parse(l) { return 1 }; return 0 }
    time("tree: parse + deviceID + decode (readings)") { l in
        guard case .success(let j) = MQTTPayloadParser.parse(l), case .success(let id) = profile.deviceID(topic: topic, json: j),
              case .success(let d) = profile.decode(device: id, json: j, now: now) else { return 0 }
        return d.readings.count
    }
    let generic = try MQTTProfile.load(directory: devicesDir).first { $0.id == "generic-json" }!
    time("fields: skip only (no paths)") { l in if case .success = generic.fields(l) { return 1 }; return 0 }
    time("fields: scan only") { l in if case .success = profile.fields(l) { return 1 }; return 0 }
    time("fields: scan + deviceID + decode (readings)") { l in
        guard case .success(let f) = profile.fields(l), case .success(let id) = profile.deviceID(topic: topic, fields: f),
              case .success(let d) = profile.decode(device: id, fields: f, now: now) else { return 0 }
        return d.readings.count
    }
    time("decode(topic:payload:now:) (readings)") { l in
        if case .success(let d) = profile.decode(topic: topic, payload: l, now: now) { return d.readings.count }
        return 0
    }
    let zone = TimeZone(identifier: "Asia/Shanghai")!
    time("local time only") { _ in MQTTProfile.parseLocalTime("2026-12-03 10:15:00", in: zone) == nil ? 0 : 1 }
    exit(0)
}
let devices: [String: Device] = Dictionary(uniqueKeysWithValues: (0..<deviceCount).map { i in
    let serial = String(format: "SN%05d", i)
    return (serial, Device(id: serial, profileID: "json-4g-detector", premisesID: "P\(i)", transport: .mqtt(deviceID: serial)))
})

/// Applies back-pressure instead of refusing when the edge queue is full, so the benchmark measures
/// the sustained rate of the whole path, not how fast readings can be dropped.
final class BlockingSink: ReadingSink {
    let queue: ReadingQueue
    init(_ queue: ReadingQueue) { self.queue = queue }
    func accept(_ readings: [Reading]) {
        while queue.counters.depth + readings.count > queue.capacity { usleep(100) }
        queue.accept(readings)
    }
}

let queue = ReadingQueue(capacity: 100_000)
let ingest = MQTTIngest(profiles: profiles, devices: devices, sink: BlockingSink(queue), rateLimit: .unlimited,
                        log: { fputs($0 + "\n", stderr) })
let archived = Atomic<Int>(0)
let consumerDone = DispatchSemaphore(value: 0)
let stopConsumer = Atomic<Bool>(false)

let rules = rulesDir.isEmpty ? nil : try RuleSet.load(directory: rulesDir)
let engineEvents = Atomic<Int>(0)
let started = ContinuousClock.now
func monotonic() -> Double {
    let d = ContinuousClock.now - started
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

// The consumer does what EdgePipeline.run does per turn (archive every reading, rule engine per
// reading, advance once per drain), minus journaling events: the stream stays below every threshold.
let consumer = Thread {
    let archive = archivePath.isEmpty ? nil : try! ReadingArchive(path: archivePath, batchSize: 2000)
    let engine = rules.map { RuleEngine(rules: $0) }
    if let engine { for d in devices.values { engine.register(DeviceContext(id: d.id)) } }
    var events: [EngineEvent] = []
    var batch: [Reading] = []
    while true {
        batch.removeAll(keepingCapacity: true)
        queue.drain(timeout: 0.05, into: &batch)
        let mono = monotonic()
        for r in batch {
            try! archive?.add(r)
            engine?.process(r, monotonic: mono, into: &events)
        }
        engine?.advance(monotonic: mono, wall: Date().timeIntervalSince1970, into: &events)
        if batch.isEmpty { try! archive?.flush() }
        engineEvents.add(events.count, ordering: .relaxed)
        events.removeAll(keepingCapacity: true)
        archived.add(batch.count, ordering: .relaxed)
        // Let a batch accumulate: ReadingQueue signals on every accept, and waking the consumer
        // per message costs more than the message (context switches).
        if !batch.isEmpty && batchSleep > 0 { usleep(batchSleep) }
        if batch.isEmpty && stopConsumer.load(ordering: .acquiring) {
            try! archive?.flush()
            break
        }
    }
    consumerDone.signal()
}
consumer.start()

let client = try MQTTClient(options: MQTTOptions(port: port, clientID: clientID, keepaliveSeconds: 60), log: { fputs($0 + "\n", stderr) })
ingest.attach(to: client)
let cpu0 = cpuSeconds()
let t0 = Date()
client.start()
while ingest.messageCount < expected && Date().timeIntervalSince(t0) < timeout { usleep(2000) }
let tReceived = Date().timeIntervalSince(t0)
stopConsumer.store(true, ordering: .releasing)
consumerDone.wait()
let wall = Date().timeIntervalSince(t0)
let cpu = cpuSeconds() - cpu0
client.stop()
let snap = ingest.snapshot()
print(#"{"messages":\#(snap.messages),"accepted":\#(snap.accepted),"rejected":\#(snap.rejected),"readings":\#(archived.load(ordering: .relaxed)),"overflowed":\#(queue.counters.overflowed),"seconds":\#(wall),"received_seconds":\#(tReceived),"cpu_seconds":\#(cpu),"archive":\#(!archivePath.isEmpty),"rules":\#(rules?.rules.count ?? 0),"events":\#(engineEvents.load(ordering: .relaxed))}"#)
exit(snap.messages >= expected && snap.rejected == 0 ? 0 : 1)
