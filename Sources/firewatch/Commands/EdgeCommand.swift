import FireWatchCore
import FireWatchMQTT
import FireWatchStore
import FireWatchEdge
import Foundation

extension Commands {
    static let edge = CommandSpec(
        name: "edge", abstract: "run the market edge daemon: poll and subscribe detectors, check rules, forward events",
        discussion: "The config file is JSON5, documented in docs/edge-config.md. Stops cleanly on SIGINT/SIGTERM.",
        options: [.value("--config", "FILE", help: "edge configuration (JSON5)", required: true),
                  .value("--data", "DIR", help: "data directory (overrides the config's data)"),
                  .value("--broker", "URL", help: "the fire office's broker (overrides the config's office.url)"),
                  .value("--duration", "SECONDS", help: "stop by itself after this long"),
                  CommonOptions.json],
        subcommands: [edgeReset],
        run: { args in
            var config = try EdgeConfig.load(file: try args.require("--config"))
            if let data = args.string("--data") { config.data = data }
            if let url = args.string("--broker") {
                if config.office == nil { config.office = EdgeConfig.Broker(url: url) } else { config.office!.url = url }
            }
            let duration = try args.double("--duration", range: 0.1...1e9)
            let observer = ConsoleObserver(json: args.has("--json"))
            let edge = try EdgeAssembly(config: config, observer: observer, makeUplink: EdgeUplinks.factory)
            try edge.start()
            // The market's part of the office registry, cached here; registrations made offline go up later.
            let sync = try RegistrySyncEdge.make(config: config, log: { [observer] in observer.log($0) })
            sync?.start()
            defer { sync?.stop() }
            observer.log("edge \(config.edge) running: \(edge.devices.count) devices, \(edge.rules.rules.count) rules")
            StopSignal.wait(timeout: duration)
            observer.log("stopping")
            edge.stop()
            return ExitStatus.ok
        })
}

extension Commands {
    static let edgeReset = CommandSpec(
        name: "reset", abstract: "reset a detector's latched alarms at a running edge (复位), as its monitoring unit would",
        discussion: """
        Latching rules (fault arc) hold their alarm until reset (GB 14287.5-2025 §5.3, GB 31252-2014). The request is
        queued in the edge's journal (DATA/edge.db) and applied by the running edge within a second: each latched
        alarm gets its clear event, journaled and sent like any other. If the condition is still present the rule
        raises again after its on-delay. Without a running edge the request waits for the next start.
        """,
        options: [.value("--data", "DIR", help: "the edge's data directory", required: true),
                  .value("--device", "ID", help: "detector id", required: true),
                  .value("--rule", "NAME", help: "only this rule (default: every latched rule of the device)"),
                  .value("--by", "NAME", help: "who resets (recorded)", required: true),
                  .value("--wait", "SECONDS", help: "how long to wait for the edge to apply it", default: "10")],
        run: { args in
            let path = ((try args.require("--data")) as NSString).appendingPathComponent("edge.db")
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("no edge journal at \(path); give the running edge's --data DIR")
            }
            let wait = try args.double("--wait", range: 0...3600) ?? 10
            let journal: EventJournal
            do { journal = try EventJournal(path: path, edgeID: try EventJournal.edgeID(ofJournalAt: path)) } catch let r as StoreRefusal {
                throw CommandFailure(r.message)
            }
            let device = try args.require("--device")
            let id = try journal.requestReset(device: device, rule: args.string("--rule"), by: try args.require("--by"),
                                              now: Date().timeIntervalSince1970)
            let deadline = Date().addingTimeInterval(wait)
            while Date() < deadline {
                if let done = try journal.controlRequest(id: id), done.doneAt != nil {
                    print("复位完成 (reset \(device)): \(done.result ?? "")")
                    return ExitStatus.ok
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
            print("复位请求已排队 (reset of \(device) queued as request \(id)): the edge has not applied it within \(Int(wait)) s; "
                  + "it will when it runs")
            return ExitStatus.unavailable
        })
}

/// The office uplink factory, set when the uplink is part of this build (docs/uplink.md).
enum EdgeUplinks {
    static let factory: (@Sendable (EdgeConfig, FireWatchStore.EventJournal) throws -> any EventDelivery)? = { config, journal in
        try makeOfficeUplink(config: config, journal: journal, log: { printError($0) })
    }
}
