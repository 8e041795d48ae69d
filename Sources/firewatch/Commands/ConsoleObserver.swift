import FireWatchCore
import FireWatchEdge
import FireWatchStore
import Foundation

/// Prints edge events as a fire officer reads them (Chinese), one line each, and logs to stderr.
struct ConsoleObserver: EdgeObserver {
    var json: Bool = false

    func eventStored(_ e: AlarmEvent, outcome: IngestOutcome?, premises: Premises?) {
        if json {
            print(Output.jsonLine(EventJSON(e)))
            return
        }
        let change = e.transition == .raise ? "触发" : "恢复"
        var line = "\(Output.local(e.time, withDate: false)) \(e.signal.label)\(change)"
        if let p = premises { line += " | \(p.name) (\(p.platformID))" }
        line += " | \(e.device) \(e.channel)"
        if let v = e.value { line += " = \(Output.number(v)) \(Channel(unchecked: e.channel).unit.rawValue)" }
        line += " | \(e.hazard.title)"
        switch outcome {
        case .stored(let id?, let opened)?: line += opened ? " → 新建隐患 #\(id)" : " → 隐患 #\(id)"
        case .stored(nil, _)?: if !e.announced { line += " (设备停用，仅记录)" }
        case .duplicate?: line += " (重复，已忽略)"
        case nil: line += " (已存入待发送队列 #\(e.sequence))"
        }
        if e.chattering { line += " [频繁抖动]" }
        print(line)
    }

    func log(_ line: String) {
        printError("\(Output.iso(Date().timeIntervalSince1970)) firewatch: \(line)")
    }
}

struct EventJSON: Encodable {
    var edge: String
    var sequence: Int64
    var time: String
    var device: String
    var channel: String
    var rule: String
    var kind: String
    var transition: String
    var value: Double?
    var hazard_kind: String
    var title: String

    init(_ e: AlarmEvent) {
        edge = e.edgeID; sequence = e.sequence; time = Output.iso(e.time); device = e.device; channel = e.channel
        rule = e.rule; kind = e.signal.rawValue; transition = e.transition.rawValue; value = e.value
        hazard_kind = e.hazard.kind; title = e.hazard.title
    }
}

/// Blocks until SIGINT or SIGTERM arrives, or `timeout` seconds pass (nil: no timeout).
enum StopSignal {
    static func wait(timeout: Double?) {
        let stop = DispatchSemaphore(value: 0)
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "firewatch.signals")
        let sources = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { stop.signal() }
            s.resume()
            return s
        }
        if let timeout { _ = stop.wait(timeout: .now() + timeout) } else { stop.wait() }
        sources.forEach { $0.cancel() }
    }
}
