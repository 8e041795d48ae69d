import FireWatchCore
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

/// Picks up MQTT detectors registered, changed, moved away or decommissioned in the edge's local
/// registry while the edge runs (`firewatch device register`, or the registry sync from the office),
/// so a 4G/NB-IoT detector reports from the next message instead of the next restart. Every
/// `interval` seconds it re-reads the market's devices on its own thread, rebinds the MQTT ingest
/// when the set changed and hands new set values to the rule engine. A Modbus detector needs its bus
/// owner, made at start: it is logged once and polled after a restart.
final class RegistryWatcher: @unchecked Sendable {
    // @unchecked: `last`, `announced` and `store` are touched only by the watcher thread (and by tests
    // calling `refresh` while it is stopped); the rest is immutable or thread-safe.
    let config: EdgeConfig
    let interval: Double
    let ingest: MQTTIngest
    let registrations: EngineRegistrations
    let mqttProfiles: Set<String>
    let log: @Sendable (String) -> Void
    private var last: [String: Device]
    private var announced: Set<String> = []
    /// The registry, opened on the watcher thread once the file exists, then kept open.
    private var store: SQLiteGovernanceStore?
    private let stopped = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init(config: EdgeConfig, interval: Double, ingest: MQTTIngest, registrations: EngineRegistrations, mqttProfiles: Set<String>,
         initial: [Device], log: @escaping @Sendable (String) -> Void) {
        self.config = config
        self.interval = interval
        self.ingest = ingest
        self.registrations = registrations
        self.mqttProfiles = mqttProfiles
        self.log = log
        last = Dictionary(initial.compactMap { d in d.mqttID.map { ($0, d) } }, uniquingKeysWith: { a, _ in a })
        announced = Set(initial.map(\.id))
    }

    func start() {
        let t = Thread { [self] in
            nameThisThread("fw registry")
            while !stopped.load(ordering: .acquiring) {
                _ = wake.wait(timeout: .now() + interval)
                if stopped.load(ordering: .acquiring) { break }
                refresh()
            }
            done.signal()
        }
        t.name = "firewatch.registry-watch"
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
        do {
            if store == nil, let path = EdgeAssembly.registryPath(config) { store = try SQLiteGovernanceStore(path: path) }
            entries = try EdgeAssembly.withRegisteredDevices(config, store: store, log: { _ in })
        } catch {
            log("registry: cannot read registered devices (\(error)); trying again in \(Int(interval)) s")
            return
        }
        var mqtt: [String: Device] = [:]
        var params: [String: [String: String]] = [:]
        for entry in entries {
            guard let device = EdgeAssembly.device(entry, marketID: config.market?.id) else { continue }
            guard let id = device.mqttID else {
                if announced.insert(device.id).inserted {
                    log("registry: Modbus detector \(device.id) (\(device.transport)) was registered while running; "
                        + "it is polled after the next restart of the edge")
                }
                continue
            }
            guard mqttProfiles.contains(device.profileID) else {
                if announced.insert(device.id).inserted {
                    log("registry: device \(device.id) names profile '\(device.profileID)', which is not an MQTT profile here; not bound")
                }
                continue
            }
            mqtt[id] = device
            if let p = entry.params { params[device.id] = p }
        }
        guard mqtt != last else { return }
        let changed = mqtt.filter { last[$0.key] != $0.value }.map(\.value).sorted { $0.id < $1.id }
        let gone = last.filter { mqtt[$0.key] == nil }.map(\.value.id).sorted()
        ingest.updateDevices(mqtt, profileParameters: params)
        registrations.submit(changed.map {
            DeviceContext(id: $0.id, setpoints: $0.setpoints, cable: $0.cable, announced: $0.isAnnounced)
        })
        for d in changed { announced.insert(d.id) }
        if !changed.isEmpty { log("registry: MQTT detector(s) bound while running: \(changed.map(\.id).joined(separator: ", "))") }
        if !gone.isEmpty { log("registry: MQTT detector(s) no longer bound (decommissioned or moved): \(gone.joined(separator: ", "))") }
        last = mqtt
    }
}

extension Device {
    /// The id the detector reports under, for an MQTT device.
    var mqttID: String? {
        if case .mqtt(let id) = transport { return id }
        return nil
    }
}
