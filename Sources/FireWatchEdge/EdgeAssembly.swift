import FireWatchCore
import FireWatchModbus
import FireWatchMQTT
import FireWatchStore
import Foundation

extension ModbusPoller: IngestSource {}

/// An MQTT broker connection with the ingest bound to it through a decode thread, started and
/// stopped together: the network thread only reads, the decode thread maps (MQTTDecodeStage).
final class MQTTSource: IngestSource {
    let client: MQTTClient
    let ingest: MQTTIngest
    let stage: MQTTDecodeStage

    init(client: MQTTClient, ingest: MQTTIngest) {
        self.client = client
        self.ingest = ingest
        stage = MQTTDecodeStage { [ingest] messages in ingest.handle(messages) }
        ingest.attach(to: client, through: stage)
    }

    func start() {
        stage.start()
        client.start()
    }

    /// The client first (no more messages), then the stage decodes what it holds.
    func stop() {
        client.stop()
        stage.stop()
    }
}

/// Builds a runnable edge from its configuration: devices and their profiles, rules, sources, delivery.
public struct EdgeAssembly {
    public let config: EdgeConfig
    public let profiles: ProfileLibrary
    public let rules: RuleSet
    public let devices: [Device]
    public let runtime: EdgeRuntime
    public let sources: [any IngestSource]
    let statusWriter: EdgeStatusWriter
    let registryWatcher: RegistryWatcher?

    /// Client options for a config's broker entry; a problem becomes a config error on that entry.
    static func options(_ broker: BrokerSettings, defaultClientID: String, role: String) throws(ConfigErrors) -> MQTTOptions {
        do { return try broker.options(defaultClientID: defaultClientID, role: role) } catch {
            throw ConfigErrors([ConfigError(file: "config", field: role, message: error.message,
                                            hint: "url: mqtt://HOST:PORT, or mqtts://HOST:PORT with caFile")])
        }
    }

    /// The config's devices plus the detectors registered for this market in the edge's registry
    /// (`governance`, else `DATA/registry.db`, kept by `device register` and the registry sync), so a
    /// detector a technician registers is polled from the next start without editing the config. The
    /// config wins for an id it lists; a registered device on an address the config uses is skipped.
    /// `store`: the registry already open (the registry watcher keeps one), else it is opened here.
    /// `countAdded`: log how many registered devices were added (at start; the watcher names them itself).
    static func withRegisteredDevices(_ config: EdgeConfig, store: SQLiteGovernanceStore? = nil, countAdded: Bool = true,
                                      log: @Sendable (String) -> Void) throws -> [EdgeConfig.DeviceEntry] {
        var entries = config.devices
        guard let market = config.market else { return entries }
        guard let store = try store ?? registryPath(config).map({ try SQLiteGovernanceStore(path: $0) }) else { return entries }
        let ids = Set(entries.map(\.id))
        var addresses = Set(entries.compactMap { Transport(text: $0.transport)?.description })
        for d in try store.devices(marketID: market.id) where d.status != .decommissioned && !ids.contains(d.id) {
            guard addresses.insert(d.transport.description).inserted else {
                log("registered device \(d.id) is not polled: its address \(d.transport) is used by a device in the config")
                continue
            }
            entries.append(EdgeConfig.DeviceEntry(id: d.id, profile: d.profileID, premises: d.premisesID,
                                                  transport: d.transport.description, location: d.location,
                                                  setpoints: d.setpoints, cable: d.cable, status: d.status))
        }
        if countAdded, entries.count > config.devices.count {
            log("\(entries.count - config.devices.count) registered device(s) of market \(market.id) added from \(store.db.path)")
        }
        return entries
    }

    /// The edge's local registry (`governance`, else `DATA/registry.db`), when the file exists.
    static func registryPath(_ config: EdgeConfig) -> String? {
        guard let path = config.governance ?? config.data.map({ ($0 as NSString).appendingPathComponent("registry.db") }),
              FileManager.default.fileExists(atPath: path) else { return nil }
        return path
    }

    /// The device a config entry (or a registration) describes; nil for a transport that does not parse.
    static func device(_ entry: EdgeConfig.DeviceEntry, marketID: String?) -> Device? {
        guard let transport = Transport(text: entry.transport) else { return nil }
        var setpoints = entry.setpoints ?? [:]
        if case .mqtt = transport, setpoints["comm_loss_timeout"] == nil {
            // 4G/NB-IoT detectors report every 1–15 min with 5–30 min heartbeats (domain.md §5): the
            // 60 s default would fault between messages. One missed 30-minute heartbeat is the budget.
            setpoints["comm_loss_timeout"] = mqttCommLossSeconds
        }
        return Device(id: entry.id, profileID: entry.profile, premisesID: entry.premises, marketID: marketID,
                      location: entry.location ?? "", transport: transport, setpoints: setpoints,
                      cable: entry.cable, status: entry.status ?? .registered)
    }

    /// What the poller reads for a Modbus device's config entry (or registration).
    static func polledDevice(_ entry: EdgeConfig.DeviceEntry, transport: Transport, config: EdgeConfig,
                             profiles: ProfileLibrary) throws(ConfigErrors) -> PolledDevice {
        let profile = try ModbusProfile.resolve(entry.profile, parameters: entry.params, in: profiles.modbus)
        return PolledDevice(id: entry.id, profile: profile, transport: transport, period: entry.pollPeriod ?? config.pollPeriod)
    }

    /// Default comm-loss timeout of MQTT detectors without a registered `comm_loss_timeout` (seconds).
    public static let mqttCommLossSeconds: Double = 1860

    /// Where a folder of shipped files is: the config's value, else `./NAME`, else the installed copy.
    public static func defaultFolder(_ name: String, configured: String?) -> String {
        if let configured { return configured }
        if FileManager.default.fileExists(atPath: name) { return name }
        return "/usr/share/firewatch/\(name)"
    }

    /// - Parameter makeUplink: builds the delivery to the fire office when `office` is configured.
    public init(config: EdgeConfig, observer: any EdgeObserver,
                makeUplink: (@Sendable (EdgeConfig, EventJournal) throws -> any EventDelivery)? = nil) throws {
        self.config = config
        try config.validate(source: JSON5Source(file: "config", text: ""))
        let devicesDir = Self.defaultFolder("Devices", configured: config.devicesDir)
        let rulesDir = Self.defaultFolder("Rules", configured: config.rulesDir)
        profiles = try ProfileLibrary.load(directory: devicesDir)
        rules = try RuleSet.load(directory: rulesDir)

        var devices: [Device] = []
        var polled: [PolledDevice] = []
        var mqttDevices: [String: Device] = [:]
        var mqttParams: [String: [String: String]] = [:]
        var errors: [ConfigError] = []
        let entries = try Self.withRegisteredDevices(config, log: { [observer] in observer.log($0) })
        let configured = Set(config.devices.map(\.id))
        for (i, entry) in entries.enumerated() {
            guard let device = Self.device(entry, marketID: config.market?.id) else { continue }  // validated at load
            devices.append(device)
            switch device.transport {
            case .modbusTCP, .modbusRTU:
                // Registered ones join through the registry watcher, which refuses a bad one with a log line.
                guard configured.contains(entry.id) else { continue }
                do {
                    polled.append(try Self.polledDevice(entry, transport: device.transport, config: config, profiles: profiles))
                } catch {
                    errors += error.errors.map { var e = $0; e.field = "devices[\(i)].profile"; return e }
                }
            case .mqtt(let id):
                if profiles.mqtt[entry.profile] == nil {
                    errors.append(ConfigError(file: "config", field: "devices[\(i)].profile",
                                              message: "no MQTT profile '\(entry.profile)'",
                                              hint: "known: \(profiles.mqtt.keys.sorted().joined(separator: ", "))"))
                }
                mqttDevices[id] = device
                if let p = entry.params { mqttParams[entry.id] = p }
            }
        }
        // A registered one without a broker is only logged (by the registry watcher), not a reason to stop.
        if mqttDevices.values.contains(where: { configured.contains($0.id) }) && config.mqtt == nil {
            errors.append(ConfigError(file: "config", field: "mqtt", message: "MQTT devices are configured but no mqtt broker",
                                      hint: "add mqtt: { url: \"mqtt://127.0.0.1:1883\" }"))
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        self.devices = devices

        let setup = EdgePipeline.Setup(
            edgeID: config.edge, dataDirectory: config.data ?? "firewatch-data", governancePath: config.governance,
            rules: rules, devices: devices, premises: config.premises ?? [], market: config.market)
        let office = config.office
        runtime = EdgeRuntime(setup: setup, observer: observer) { journal, store in
            if office != nil, let makeUplink { return try makeUplink(config, journal) }
            guard let store else {
                throw ConfigErrors([ConfigError(file: "config", field: "office",
                                                message: "no delivery: set governance (local database) or office (uplink)")])
            }
            return LocalLedgerDelivery(store: store, journal: journal)
        }

        var sources: [any IngestSource] = []
        let log: @Sendable (String) -> Void = { [observer] in observer.log($0) }
        // With a market the poller runs even before its first Modbus detector: the registry watcher
        // hands it the registered ones, at start and while running.
        let poller: ModbusPoller?
        if !polled.isEmpty || config.market != nil {
            let buses = (config.buses ?? []).map {
                SerialBusConfig(name: $0.name, path: $0.path, baud: $0.baud, parity: $0.parity ?? "N",
                                dataBits: $0.dataBits ?? 8, stopBits: $0.stopBits ?? 1)
            }
            let p = try ModbusPoller(devices: polled, buses: buses, sink: runtime.queue, monitor: runtime.monitor, log: log)
            sources.append(p)
            poller = p
        } else {
            poller = nil
        }
        // With a detector broker configured the ingest runs even before any MQTT detector is registered:
        // the registry watcher binds them as they are registered, and until then their messages are quarantined.
        var mqttIngest: MQTTIngest?
        if let broker = config.mqtt {
            let options = try Self.options(broker, defaultClientID: "firewatch-edge-\(config.edge)-detectors", role: "detector broker")
            let client = try MQTTClient(options: options, log: log)
            let limit = config.mqttRateLimit.map { MQTTRateLimit(messagesPerSecond: $0.perSecond, burst: $0.burst) } ?? MQTTRateLimit()
            let ingest = MQTTIngest(profiles: Array(profiles.mqtt.values), devices: mqttDevices, profileParameters: mqttParams,
                                    sink: runtime.queue, monitor: runtime.monitor, rateLimit: limit, log: log)
            sources.append(MQTTSource(client: client, ingest: ingest))
            mqttIngest = ingest
        }
        self.sources = sources
        self.mqttIngest = mqttIngest
        if let poller, config.market != nil {
            registryWatcher = RegistryWatcher(config: config, interval: config.registryRefreshSeconds ?? 10, ingest: mqttIngest,
                                              poller: poller, profiles: profiles, registrations: runtime.registrations,
                                              initial: devices, log: log)
        } else {
            registryWatcher = nil
        }
        let ingest = mqttIngest
        let queue = runtime.queue, progress = runtime.progress
        let edgeID = config.edge
        statusWriter = EdgeStatusWriter(path: setup.dataDirectory + "/status.json") {
            let q = queue.counters
            // Counted now, not at start: detectors registered or decommissioned while running count.
            let count = (poller?.deviceIDs.count ?? 0) + (ingest?.boundDeviceCount ?? 0)
            return EdgeStatus(edge: edgeID, updatedAt: Date().timeIntervalSince1970, devices: count,
                              queueAccepted: q.accepted, queueOverflowed: q.overflowed, queueDepth: q.depth,
                              readingsArchived: progress.readingsArchived, readingsNotArchived: progress.readingsNotArchived,
                              modbus: poller?.counters().mapValues(EdgeStatus.ModbusDevice.init) ?? [:],
                              mqtt: ingest.map { EdgeStatus.MQTT($0.snapshot()) })
        }
    }

    /// The MQTT detectors' ingest, when the edge has any (its counters are in `firewatch status`).
    public let mqttIngest: MQTTIngest?

    public func start() throws {
        try runtime.start(sources: sources)
        statusWriter.start()
        registryWatcher?.start()
    }

    public func stop() {
        registryWatcher?.stop()
        runtime.stop()
        statusWriter.stop()
    }
}
