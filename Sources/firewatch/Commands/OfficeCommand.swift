import FireWatchMQTT
@preconcurrency import Glibc
import FireWatchCore
import FireWatchEdge
import FireWatchOffice
import FireWatchStore
import Foundation
import Synchronization

extension Commands {
    static let office = CommandSpec(
        name: "office", abstract: "run the fire office receiver: store every edge's events once, ack, supervise",
        discussion: """
        Subscribes to firewatch/edge/+/{events,telemetry,heartbeat,status} on the office broker, stores
        events idempotently into the governance database (duplicates ignored and counted), acknowledges
        per edge the highest contiguous sequence stored, opens an edge_offline fault when an edge's
        heartbeat is missing for heartbeatTimeoutSeconds (default 90), and runs the notification hook
        for new alarm hazards. Runs until SIGINT or SIGTERM. See docs/uplink.md and docs/two-box.md.
        """,
        options: [.value("--config", "FILE", help: "office config (JSON5), e.g. deploy/examples/office.json5", required: true),
                  .value("--broker", "URL", help: "office broker, overrides broker.url (mqtt://HOST:PORT)"),
                  .value("--db", "FILE", help: "governance database, overrides the config", default: "<data>/office.db"),
                  .value("--data", "DIR", help: "data directory, overrides the config's data"),
                  .value("--duration", "SECONDS", help: "stop by itself after this long (tests, benchmarks)")],
        subcommands: [officeEdges, officeSeedDemo, officeBenchIngest],
        run: { args in
            var config = try OfficeConfig.load(file: try args.require("--config"))
            if let data = args.string("--data") { config.data = data; if args.string("--db") == nil { config.governance = nil } }
            let duration = try args.double("--duration", range: 0.1...1e9)
            let service: OfficeService
            do {
                service = try OfficeService(config: config, brokerURL: args.string("--broker"), databasePath: args.string("--db"),
                                            log: { printError($0) })
                try service.start()
            } catch let r as StoreRefusal {
                throw CommandFailure(r.message, status: ExitStatus.dataError)
            }
            // The authoritative registry: edges' offline registrations come up, each market's part goes down.
            var broker = config.broker
            if let url = args.string("--broker") { broker.url = url }
            let sync: RegistrySyncOffice
            do {
                sync = try RegistrySyncOffice(
                    governancePath: service.databasePath,
                    broker: broker.options(defaultClientID: "firewatch-office-\(config.officeID)", role: "office broker")
                        .withClientID(suffix: "-registry"),
                    log: { printError($0) })
            } catch {
                service.stop()
                throw CommandFailure("registry sync: \(error)", status: ExitStatus.dataError)
            }
            sync.start()
            defer { sync.stop() }
            printError("office \(config.officeID): receiving into \(service.databasePath); Ctrl-C stops")
            StopSignal.wait(timeout: duration)
            service.stop()
            let c = service.counters
            printError("office \(config.officeID): stopped; \(c.stored) events stored, \(c.duplicates) duplicates ignored, "
                       + "\(c.rejected) refused, \(c.shed) shed, \(c.hazardsOpened) hazards opened, \(c.edgesOffline) edge-offline faults")
            return ExitStatus.ok
        })

    static let officeEdges = CommandSpec(
        name: "edges", abstract: "list the edges the office has heard from, with delivery progress and status",
        options: [CommonOptions.db, CommonOptions.json],
        run: { args in
            let store = try openStore(args)
            let links = try store.edgeLinks()
            if args.has("--json") {
                for l in links { print(Output.jsonLine(EdgeLinkJSON(l))) }
            } else if links.isEmpty {
                print("还没有收到任何边缘网关的数据 (no edges in \(args.databasePath))")
            } else {
                print(Output.table(["网关", "状态", "已存至序号", "已存", "重复", "迟到", "最后联系", "最后心跳"], links.map { l in
                    [l.edgeID, l.isOffline ? "离线" : "在线", String(l.storedThrough), String(l.storedCount), String(l.duplicateCount),
                     String(l.lateCount), Output.local(l.lastSeen), l.lastHeartbeat.map { Output.local($0) } ?? "-"]
                }))
            }
            return ExitStatus.ok
        })

    static let officeSeedDemo = CommandSpec(
        name: "seed-demo", abstract: "register the demo market's premises and detectors at the office (two-box setup)",
        discussion: """
        Upserts the market, N stalls and their detectors FC-ARCM-001… (the ids deploy/examples/edge.json5
        and `firewatch demo` use) into the office's governance database, so hazards from the example edge
        link to premises. Production registries are imported instead.
        """,
        options: [CommonOptions.db, .value("--stalls", "N", help: "number of stalls, one detector each", default: "4")],
        run: { args in
            let dir = (args.databasePath as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            let store = try openStore(args, mustExist: false)
            let n = try args.int("--stalls", range: 1...247) ?? 4
            let now = Date().timeIntervalSince1970
            try DemoMarket.seed(into: store, stalls: n, now: now)
            print("已登记 \(n) 个档口及探测器到 \(args.databasePath)")
            return ExitStatus.ok
        })

    static let officeBenchIngest = CommandSpec(
        name: "bench-ingest", abstract: "benchmark: store alarm events into hazards with dedup, batched vs one transaction each",
        discussion: "Used by bench/office/ingest.sh. Writes a throwaway database at --db (deleted first).",
        options: [.value("--db", "FILE", help: "scratch database (deleted first)", required: true),
                  .value("--events", "N", help: "events to store", default: "100000"),
                  .value("--batch", "N", help: "events per batch (one MQTT message, one transaction)", default: "200"),
                  .value("--coalesce", "M", help: "messages per transaction, as the office drains what queued up (it takes ≤ 50)", default: "1"),
                  .value("--baseline-events", "N", help: "events for the one-transaction-per-event baseline", default: "5000"),
                  CommonOptions.json],
        run: { args in
            let path = try args.require("--db")
            let n = try args.int("--events", range: 1...10_000_000) ?? 100_000
            let batch = try args.int("--batch", range: 1...10_000) ?? 200
            let baselineN = try args.int("--baseline-events", range: 1...10_000_000) ?? 5000
            let coalesce = try args.int("--coalesce", range: 1...1000) ?? 1
            let result = try OfficeIngestBench.run(path: path, events: n, batch: batch, coalesce: coalesce, baselineEvents: baselineN)
            if args.has("--json") { print(Output.jsonLine(result)) } else {
                print(String(format: "batched (%d per message, %d messages per transaction): %d events (%d duplicates) in %.2f s = %.0f events/s, %d hazards",
                             batch, coalesce, result.events, result.duplicates, result.seconds, result.eventsPerSecond, result.hazards))
                print(String(format: "baseline (one transaction per event, %d events): %.0f events/s; ratio %.1f×",
                             result.baselineEvents, result.baselineEventsPerSecond, result.ratio))
            }
            return ExitStatus.ok
        })

    static let uplinkGroup = CommandSpec(
        name: "uplink", abstract: "edge-side uplink tools (outbox status, synthetic bursts for fault tests)",
        subcommands: [uplinkBurst, uplinkStatus, uplinkBenchSim])

    static let uplinkBurst = CommandSpec(
        name: "burst", abstract: "journal N synthetic alarm events at an edge while its uplink sends them (tests, benchmarks)",
        discussion: """
        A test and benchmark source, not for production: alternating residual-current raise/clear events for
        the config's devices (or BURST-001) are committed to the edge's journal in <data>/edge.db exactly as
        the pipeline commits real ones, while the office uplink runs. Resumable: after a kill -9 it continues
        until the journal holds --count events. With --exit-when-delivered it exits 0 once the office has
        acknowledged them all.
        """,
        options: [.value("--config", "FILE", help: "edge config (JSON5) with an office broker", required: true),
                  .value("--broker", "URL", help: "office broker, overrides office.url"),
                  .value("--data", "DIR", help: "data directory, overrides the config's data"),
                  .value("--count", "N", help: "events the journal should hold when done", required: true),
                  .value("--batch", "N", help: "events per journal commit", default: "50"),
                  .value("--rate", "N", help: "events per second at most", default: "unlimited"),
                  .value("--reserve", "BYTES", help: "disk reserve kept for the priority lane", default: "4194304"),
                  .flag("--exit-when-delivered", help: "exit once every event is acknowledged by the office"),
                  .value("--timeout", "SECONDS", help: "give up (exit 1) after this long", default: "none"),
                  .value("--readings", "N", help: "also fold N synthetic temperature readings, one per 10 s over the past, into the telemetry lane", default: "0")],
        run: { args in
            var config = try EdgeConfig.load(file: try args.require("--config"))
            if let d = args.string("--data") { config.data = d }
            guard let data = config.data else { throw CommandFailure("no data directory: set data in the config or pass --data DIR") }
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            let count = Int64(try args.int("--count", range: 1...100_000_000) ?? 0)
            let burst = UplinkBurst(devices: config.devices.map(\.id), total: count,
                                    batch: try args.int("--batch", range: 1...10_000) ?? 50,
                                    rate: try args.double("--rate", range: 0.001...10_000_000))
            let timeout = try args.double("--timeout", range: 0.1...1e9)
            let journal = try EventJournal(path: (data as NSString).appendingPathComponent("edge.db"), edgeID: config.edge)
            let reserve = OutboxReserve(directory: data, bytes: try args.int("--reserve", range: 0...1 << 30) ?? 4 << 20)
            reserve.ensure()
            let uplink: OfficeUplink
            do { uplink = try makeOfficeUplink(config: config, journal: journal, broker: args.string("--broker"), log: { printError($0) }) }
            catch let r as StoreRefusal { throw CommandFailure(r.message, status: ExitStatus.dataError) }
            let stop = StopFlag()
            stop.install()
            if let n = try args.int("--readings", range: 0...10_000_000), n > 0 {
                uplink.noteReadings([UplinkBurst.pastReadings(devices: burst.devices, count: n, now: Date().timeIntervalSince1970)])
            }
            let started = Date()
            var lastReserveCheck = Date.distantPast
            var faulted = false
            let last = try burst.run(journal: journal, reserve: reserve, onStored: { stored in
                _ = try? uplink.deliver(stored, now: Date().timeIntervalSince1970)
                if faulted, Date().timeIntervalSince(lastReserveCheck) > 1 {
                    lastReserveCheck = Date()
                    if reserve.ensure() {
                        faulted = false
                        uplink.reportStorageWritable(.journal)
                        printError("uplink burst: disk has room again; reserve restored")
                    }
                }
            }, onStorageFault: { error in
                if !faulted { printError("uplink burst: data directory full (\(error)); events wait until there is room") }
                faulted = true
                uplink.reportStorageFault(.journal)
            }, shouldStop: { stop.isSet || timeout.map { Date().timeIntervalSince(started) > $0 } ?? false })
            printError("uplink burst: journal holds \(last) events")
            var status = ExitStatus.ok
            if args.has("--exit-when-delivered") {
                while !stop.isSet {
                    // Against the journal's current end: a journal that started over is renumbered above
                    // what the office already holds (EventJournal.rebase), which moves its end.
                    let c = uplink.counters
                    if c.acked >= max(last, c.lastSequence) { break }
                    if let timeout, Date().timeIntervalSince(started) > timeout { status = ExitStatus.failure; break }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                let c = uplink.counters
                printError("uplink burst: \(c.acked) of \(max(last, c.lastSequence)) acknowledged by the office; \(c.resends) resends")
                if c.acked < max(last, c.lastSequence) { status = ExitStatus.failure }
            } else {
                StopSignal.wait(timeout: timeout.map { max($0 - Date().timeIntervalSince(started), 0.1) })
            }
            uplink.stop()
            return status
        })

    static let uplinkStatus = CommandSpec(
        name: "status", abstract: "show an edge's outbox: last sequence, acknowledged, pending, telemetry lane",
        options: [.value("--data", "DIR", help: "the edge's data directory", required: true), CommonOptions.json],
        run: { args in
            let path = ((try args.require("--data")) as NSString).appendingPathComponent("edge.db")
            guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure("no edge journal at \(path)") }
            let edge: String
            do { edge = try EventJournal.edgeID(ofJournalAt: path) } catch let r as StoreRefusal { throw CommandFailure(r.message) }
            let outbox = try Outbox(path: path, edgeID: edge)
            let db = outbox.journal.db
            let s = OutboxStatusJSON(edge: edge, last_sequence: try outbox.lastSequence, acked_through: try outbox.ackedThrough,
                                     pending_events: try outbox.pendingEvents, pending_telemetry: try outbox.pendingTelemetry,
                                     telemetry_evicted: try outbox.telemetryEvicted, integrity: try db.integrityCheck())
            if args.has("--json") { print(Output.jsonLine(s)) } else {
                print("网关 \(s.edge): 最后序号 \(s.last_sequence), 已确认至 \(s.acked_through), 待发事件 \(s.pending_events), "
                      + "待发遥测 \(s.pending_telemetry), 已淘汰遥测 \(s.telemetry_evicted), 数据库检查 \(s.integrity)")
            }
            return ExitStatus.ok
        })
}

struct OutboxStatusJSON: Encodable {
    var edge: String
    var last_sequence: Int64
    var acked_through: Int64
    var pending_events: Int64
    var pending_telemetry: Int64
    var telemetry_evicted: Int64
    var integrity: String
}

struct EdgeLinkJSON: Encodable {
    var edge: String
    var status: String
    var stored_through: Int64
    var stored: Int64
    var duplicates: Int64
    var late: Int64
    var last_seen: String
    var last_heartbeat: String?
    var offline_since: String?

    init(_ l: EdgeLink) {
        edge = l.edgeID; status = l.isOffline ? "offline" : "online"; stored_through = l.storedThrough; stored = l.storedCount
        duplicates = l.duplicateCount; late = l.lateCount; last_seen = Output.iso(l.lastSeen)
        last_heartbeat = l.lastHeartbeat.map(Output.iso); offline_since = l.offlineSince.map(Output.iso)
    }
}

/// Set by SIGINT or SIGTERM, for commands that poll it instead of blocking in `StopSignal.wait`.
final class StopFlag: @unchecked Sendable {
    // @unchecked: `flag` is a Mutex; `sources` is written once in `install()` (from the command's own
    // thread, before it polls) and only keeps the signal sources alive.
    private let flag = Mutex(false)
    private var sources: [any DispatchSourceSignal] = []

    var isSet: Bool { flag.withLock { $0 } }

    func install() {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "firewatch.stopflag")
        sources = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { [self] in self.flag.withLock { $0 = true } }
            s.resume()
            return s
        }
    }
}

/// The office ingest benchmark: `events` alarm raise/clear events for 200 registered detectors, with
/// every tenth batch sent twice (dedup), stored through `ingestFromEdge` in batches; the baseline stores
/// events one `ingest` (one FULL transaction) each.
enum OfficeIngestBench {
    struct Result: Encodable {
        var events: Int
        var duplicates: Int
        var batch: Int
        var coalesce: Int
        var seconds: Double
        var eventsPerSecond: Double
        var hazards: Int
        var baselineEvents: Int
        var baselineEventsPerSecond: Double
        var ratio: Double
    }

    static func run(path: String, events n: Int, batch: Int, coalesce: Int, baselineEvents: Int) throws -> Result {
        func fresh(_ p: String) throws -> SQLiteGovernanceStore {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: p + suffix) }
            let store = try SQLiteGovernanceStore(path: p)
            try OfficeService.tune(store)
            try DemoMarket.seed(into: store, stalls: 200, now: 1000)
            return store
        }
        let burst = UplinkBurst(devices: (1...200).map(DemoMarket.deviceID), total: Int64(n))
        func items(_ range: ClosedRange<Int64>) -> [OfficeWire.EventItem] {
            range.map { s in
                var e = burst.event(s, edge: "bench-edge", time: 2000 + Double(s) * 0.001)
                e.sequence = s
                return OfficeWire.EventItem(event: e, journaledAt: e.time, late: false)
            }
        }
        let store = try fresh(path)
        var duplicates = 0
        var batches: [[OfficeWire.EventItem]] = []
        var next: Int64 = 1
        while next <= Int64(n) {
            let last = min(next + Int64(batch) - 1, Int64(n))
            batches.append(items(next...last))
            if batches.count % 10 == 0 { batches.append(batches[batches.count - 1]); duplicates += batch }
            next = last + 1
        }
        let started = Date()
        var stored = 0
        var first = 0
        while first < batches.count {
            // As the office does: whatever messages queued up (at most `coalesce`) in one transaction.
            let group = batches[first..<min(first + coalesce, batches.count)].map { (edge: "bench-edge", items: $0) }
            stored += try store.ingestFromEdges(group, receivedAt: 3000).reduce(0) { $0 + $1.stored }
            first += group.count
        }
        let seconds = Date().timeIntervalSince(started)
        precondition(stored == n, "benchmark stored \(stored) of \(n)")
        let hazards = try store.hazards(HazardFilter(limit: 1_000_000)).count

        let basePath = path + ".baseline"
        let base = try fresh(basePath)
        let baseItems = items(1...Int64(baselineEvents))
        let baseStarted = Date()
        for i in baseItems { _ = try base.ingest(i.event, receivedAt: 3000, late: false) }
        let baseSeconds = Date().timeIntervalSince(baseStarted)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: basePath + suffix) }
        let total = Double(n + duplicates)
        let rate = total / seconds
        let baseRate = Double(baselineEvents) / baseSeconds
        return Result(events: n + duplicates, duplicates: duplicates, batch: batch, coalesce: coalesce, seconds: seconds, eventsPerSecond: rate,
                      hazards: hazards, baselineEvents: baselineEvents, baselineEventsPerSecond: baseRate, ratio: rate / baseRate)
    }
}
