// Drains a backlog of json-4g-detector messages queued for this client's persistent session through
// the real edge: `EdgeAssembly` (what `firewatch edge` runs) with 1000 MQTT detectors registered, the
// shipped Devices/ and Rules/, a local governance ledger and the readings archive in its data folder:
// MQTTClient → MQTTIngest (bind, decode, map) → ReadingQueue → EdgePipeline (rules, journal) →
// ArchiveWriter (SQLite). The clock runs from `start()` until every message is evaluated and, after
// `stop()`, every reading committed.
// Prints one JSON line: messages, wall seconds, CPU seconds (user+sys of this process), readings.
//
//   --register-only   start, connect (registers the persistent session and the devices), stop
//   --decode-only F   time the pure decode of each line of F (no broker), tree and field scan, then exit
@preconcurrency import Glibc
import FireWatchCore
import FireWatchEdge
import FireWatchMQTT
import FireWatchStore
import Foundation

func option(_ name: String, _ def: String? = nil) -> String {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    guard let def else { fputs("missing \(name)\n", stderr); exit(64) }
    return def
}

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

let devicesDir = option("--devices-dir")

// --decode-only: rounds of each path, best and median µs/msg: the parsed tree (MQTTIngest's path
// until it calls `fields`), then the profile's field scan. `--rounds N` (default 5); `--only PREFIX`
// times only the paths whose label starts with PREFIX (for perf record).
if CommandLine.arguments.contains("--decode-only") {
    let all = try MQTTProfile.load(directory: devicesDir)
    let profile = all.first { $0.id == "json-4g-detector" }!
    let noPaths = all.first { $0.id == "generic-json" }!
    let lines = try String(contentsOfFile: option("--decode-only"), encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
    let rounds = Int(option("--rounds", "5"))!
    let only = option("--only", "")
    let now = Date().timeIntervalSince1970
    let topic = "4g/bench/data"
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
    time("fields: validate only (a plan without paths)") { l in if case .success = noPaths.fields(l) { return 1 }; return 0 }
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
    exit(0)
}

let port = Int(option("--port"))!
let expected = Int(option("--messages"))!
let deviceCount = Int(option("--devices", "1000"))!
let clientID = option("--client-id")
let dataDir = option("--data")
let rulesDir = option("--rules")
let timeout = Double(option("--timeout", "600"))!
let registerOnly = CommandLine.arguments.contains("--register-only")

final class QuietObserver: EdgeObserver {
    func eventStored(_ event: AlarmEvent, outcome: IngestOutcome?, premises: Premises?) {}
    func log(_ line: String) { fputs(line + "\n", stderr) }
}

let market = Market(id: "bench-market", name: "基准测试市场")
var config = EdgeConfig(
    edge: "bench", market: market, data: dataDir, governance: dataDir + "/governance.db", devicesDir: devicesDir,
    rulesDir: rulesDir,
    premises: registerOnly ? (0..<deviceCount).map { Premises(platformID: "P\($0)", qrCode: "QR-P\($0)", name: "档口 \($0)", kind: .marketStall, marketID: market.id) } : nil,
    devices: (0..<deviceCount).map { i in
        let serial = String(format: "SN%05d", i)
        return EdgeConfig.DeviceEntry(id: serial, profile: "json-4g-detector", premises: "P\(i)", transport: "mqtt://\(serial)")
    },
    mqtt: BrokerSettings(url: "mqtt://127.0.0.1:\(port)", clientID: clientID))
// The backlog is 200 messages per detector within seconds: far over the production flood limit.
config.mqttRateLimit = EdgeConfig.RateLimit(perSecond: 1e9, burst: 1e9)

let assembly = try EdgeAssembly(config: config, observer: QuietObserver())
guard let ingest = assembly.mqttIngest else { fputs("no MQTT ingest\n", stderr); exit(1) }
if registerOnly {
    try assembly.start()
    Thread.sleep(forTimeInterval: 1)
    assembly.stop()
    exit(0)
}

// The clock starts once the edge is up (databases open, 1000 devices loaded, sources started): the
// drain is measured, not the daemon's start-up. It includes connecting, like mosquitto_sub's.
try assembly.start()
let cpu0 = cpuSeconds()
let t0 = Date()
let runtime = assembly.runtime
while Date().timeIntervalSince(t0) < timeout {
    if ingest.messageCount >= expected, runtime.progress.readingsEvaluated >= runtime.queue.counters.accepted { break }
    usleep(2000)  // the harness's own polling: cheap, and at most 2 ms on a ~1 s drain
}
let tEvaluated = Date().timeIntervalSince(t0)
let threads = threadCPU()  // before stop: the threads end with it
assembly.stop()
let wall = Date().timeIntervalSince(t0)
let cpu = cpuSeconds() - cpu0
let snap = ingest.snapshot()
let p = runtime.progress
print(#"{"messages":\#(snap.messages),"accepted":\#(snap.accepted),"rejected":\#(snap.rejected),"rate_limited":\#(snap.rateLimited),"readings":\#(p.readingsEvaluated),"archived":\#(p.readingsArchived),"samples":\#(p.samplesArchived),"not_archived":\#(p.readingsNotArchived),"overflowed":\#(runtime.queue.counters.overflowed),"seconds":\#(wall),"evaluated_seconds":\#(tEvaluated),"cpu_seconds":\#(cpu),"thread_cpu_seconds":{\#(threads.map { "\"\($0.0)\":\(String(format: "%.3f", $0.1))" }.joined(separator: ","))}}"#)

/// CPU seconds (user + system) of each live thread of this process since it started, by thread name
/// (threads of one name summed), from /proc/self/task.
func threadCPU() -> [(String, Double)] {
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    var byName: [String: Double] = [:]
    for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
        guard let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8),
              let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
        byName[comm.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += (user + system) / ticks
    }
    return byName.sorted { $0.value > $1.value }
}
exit(snap.messages >= expected && snap.rejected == 0 && p.readingsArchived == p.readingsEvaluated ? 0 : 1)
