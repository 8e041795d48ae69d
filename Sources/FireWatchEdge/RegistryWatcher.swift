import FireWatchCore
import FireWatchModbus
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization

/// Device set values the pipeline thread gives to its rule engine on its next turn (registrations
/// picked up while the edge runs).
final class EngineRegistrations: Sendable {
    private let pending = Mutex<[DeviceContext]>([])

    func submit(_ contexts: [DeviceContext]) {
        guard !contexts.isEmpty else { return }
        pending.withLock { $0 += contexts }
    }

    func take() -> [DeviceContext] {
        pending.withLock { p in
            defer { p.removeAll() }
            return p
        }
    }
}

/// Picks up detectors registered, changed, moved away or decommissioned in the edge's local registry
/// while the edge runs (`firewatch device register`, or the registry sync from the office), so a
/// detector is watched from now instead of the next restart. At start and then every `interval`
/// seconds it re-reads the market's devices on its own thread: MQTT detectors are rebound in the MQTT
/// ingest, Modbus detectors join or leave their bus owner's schedule in the poller, and new set values
/// go to the rule engine. A detector that is gone stays known to the engine, unannounced, so its
/// silence raises no comm-loss hazard.
final class RegistryWatcher: @unchecked Sendable {
    // @unchecked: `lastMQTT`, `lastModbus`, `noticed`, `skipNotices` and `store` are touched only by the
    // watcher thread (and by tests calling `refresh` while it is stopped); the rest is immutable or thread-safe.
    let config: EdgeConfig
    let interval: Double
    /// nil without an `mqtt` broker: MQTT registrations are then logged, not bound.
    let ingest: MQTTIngest?
    let poller: ModbusPoller
    let profiles: ProfileLibrary
    let registrations: EngineRegistrations
    let log: @Sendable (String) -> Void
    /// Bound MQTT detectors by the id they report under; polled (or refused) Modbus detectors by id.
    private var lastMQTT: [String: Device]
    private var lastModbus: [String: Device]
    /// Devices whose refusal is logged already (once per device).
    private var noticed: Set<String> = []
    /// What reading the registry logged (an address already in use), each line once; nil before the
    /// first look, whose lines the edge logged at start.
    private var skipNotices: Set<String>?
    /// The registry, opened on the watcher thread once the file exists, then kept open.
    private var store: SQLiteGovernanceStore?
    private let stopped = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    /// - Parameter initial: the devices the edge starts with: MQTT ones bound, Modbus ones polled by `poller`.
    init(config: EdgeConfig, interval: Double, ingest: MQTTIngest?, poller: ModbusPoller, profiles: ProfileLibrary,
         registrations: EngineRegistrations, initial: [Device], log: @escaping @Sendable (String) -> Void) {
        self.config = config
        self.interval = interval
        self.ingest = ingest
        self.poller = poller
        self.profiles = profiles
        self.registrations = registrations
        self.log = log
        lastMQTT = Dictionary(initial.compactMap { d in d.mqttID.map { ($0, d) } }, uniquingKeysWith: { a, _ in a })
        let polled = poller.deviceIDs
        lastModbus = Dictionary(initial.filter { polled.contains($0.id) }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        noticed = Set(initial.map(\.id))
    }

    /// Looks at the registry at once, then every `interval` seconds.
    func start() {
        let t = Thread { [self] in
            nameThisThread("fw registry")
            while !stopped.load(ordering: .acquiring) {
                refresh()
                _ = wake.wait(timeout: .now() + interval)
            }
            done.signal()
        }
        t.start()
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        done.wait()
    }

    /// One look at the registry (also called by tests).
    func refresh() {
        let entries: [EdgeConfig.DeviceEntry]
        let lines = Mutex<[String]>([])
        do {
            if store == nil, let path = EdgeAssembly.registryPath(config) { store = try SQLiteGovernanceStore(path: path) }
            entries = try EdgeAssembly.withRegisteredDevices(config, store: store, countAdded: false,
                                                             log: { line in lines.withLock { $0.append(line) } })
        } catch {
            log("registry: cannot read registered devices (\(error)); trying again in \(Int(interval)) s")
            return
        }
        let said = lines.withLock { $0 }
        if let seen = skipNotices { for line in said where !seen.contains(line) { log("registry: \(line)") } }
        skipNotices = (skipNotices ?? []).union(said)
        var mqtt: [String: Device] = [:]
        var params: [String: [String: String]] = [:]
        var modbus: [String: (device: Device, entry: EdgeConfig.DeviceEntry)] = [:]
        for entry in entries {
            guard let device = EdgeAssembly.device(entry, marketID: config.market?.id) else { continue }
            guard let id = device.mqttID else {
                modbus[device.id] = (device, entry)
                continue
            }
            guard ingest != nil else {
                notice(device.id, "registry: MQTT detector \(device.id) is registered, but this edge has no mqtt broker; "
                       + "not bound (add mqtt: { url: \"mqtt://HOST:1883\" } to the edge config and restart it)")
                continue
            }
            guard profiles.mqtt[device.profileID] != nil else {
                notice(device.id, "registry: device \(device.id) names profile '\(device.profileID)', which is not an MQTT profile here; not bound")
                continue
            }
            mqtt[id] = device
            if let p = entry.params { params[device.id] = p }
        }
        var gone = updateModbus(modbus)
        if mqtt != lastMQTT, let ingest {
            let changed = mqtt.filter { lastMQTT[$0.key] != $0.value }.map(\.value).sorted { $0.id < $1.id }
            let unbound = lastMQTT.filter { mqtt[$0.key] == nil }.map(\.value).sorted { $0.id < $1.id }
            ingest.updateDevices(mqtt, profileParameters: params)
            registrations.submit(changed.map(DeviceContext.init))
            noticed.formUnion(changed.map(\.id))
            if !changed.isEmpty { log("registry: MQTT detector(s) bound while running: \(changed.map(\.id).joined(separator: ", "))") }
            if !unbound.isEmpty {
                log("registry: MQTT detector(s) no longer bound (decommissioned or moved): \(unbound.map(\.id).joined(separator: ", "))")
            }
            gone += unbound
            lastMQTT = mqtt
        }
        // Still known to the engine (it cannot forget a device): unannounced, so its silence is no hazard.
        let current = Set(mqtt.values.map(\.id)).union(modbus.keys)
        registrations.submit(gone.filter { !current.contains($0.id) }.map {
            var context = DeviceContext($0)
            context.announced = false
            return context
        })
    }

    /// Hands new and changed Modbus registrations to the poller and stops polling gone ones; returns the gone ones.
    private func updateModbus(_ modbus: [String: (device: Device, entry: EdgeConfig.DeviceEntry)]) -> [Device] {
        let gone = lastModbus.filter { modbus[$0.key] == nil }.map(\.value).sorted { $0.id < $1.id }
        let wasPolled = poller.deviceIDs
        for d in gone { poller.remove(device: d.id) }
        let stopped = gone.map(\.id).filter(wasPolled.contains)
        if !stopped.isEmpty { log("registry: Modbus detector(s) no longer polled (decommissioned or moved): \(stopped.joined(separator: ", "))") }
        var polled: [Device] = []
        for (device, entry) in modbus.values.filter({ lastModbus[$0.device.id] != $0.device }).sorted(by: { $0.device.id < $1.device.id }) {
            do {
                try poller.add(try EdgeAssembly.polledDevice(entry, transport: device.transport, config: config, profiles: profiles))
                polled.append(device)
            } catch {
                poller.remove(device: device.id)  // it may have been polled at its former address
                log("registry: Modbus detector \(device.id) (\(device.transport)) is not polled: \(refusal(error, of: device))")
            }
            // Refused ones too: a registered detector nobody polls shows as comm loss, as it would after a restart.
            registrations.submit([DeviceContext(device)])
        }
        if !polled.isEmpty {
            log("registry: Modbus detector(s) now polled: "
                + polled.map { "\($0.id) (\($0.transport))" }.joined(separator: ", "))
        }
        lastModbus = modbus.mapValues(\.device)
        return gone
    }

    /// Why a registered Modbus detector cannot be polled, and what to do about it.
    private func refusal(_ error: any Error, of device: Device) -> String {
        guard let error = error as? ModbusPollerError else {
            return "\(error); check its profile (firewatch profiles check) and register it again"
        }
        if case .modbusRTU(let bus, _) = device.transport, !(config.buses ?? []).contains(where: { $0.name == bus }) {
            return "\(error.message); define the bus under `buses` in the edge config and restart the edge, "
                + "or move the detector to a configured bus: firewatch device move \(device.id) --bus NAME --unit N"
        }
        return error.message
    }

    /// Logs `line` the first time it is said of `device`.
    private func notice(_ device: String, _ line: String) {
        if noticed.insert(device).inserted { log(line) }
    }
}

extension Device {
    /// The id the detector reports under, for an MQTT device.
    var mqttID: String? {
        if case .mqtt(let id) = transport { return id }
        return nil
    }
}
