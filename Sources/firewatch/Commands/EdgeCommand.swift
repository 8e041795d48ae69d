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

/// The office uplink factory, set when the uplink is part of this build (docs/uplink.md).
enum EdgeUplinks {
    static let factory: (@Sendable (EdgeConfig, FireWatchStore.EventJournal) throws -> any EventDelivery)? = { config, journal in
        try makeOfficeUplink(config: config, journal: journal, log: { printError($0) })
    }
}
