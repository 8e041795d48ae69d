import Foundation
import Synchronization
import FireWatchCore

/// Polls Modbus devices: one owner thread per serial bus and per TCP endpoint, each holding its own
/// `ModbusContext`. Requests on one bus are strictly sequential; writes are queued on the same owner.
/// A silent slave is backed off (capped exponential) so it costs at most one timeout per backoff
/// period; an endpoint whose link breaks is reconnected with capped exponential backoff.
///
/// Readings go to the sink after every successful poll, with `device.online` = 1; a failed poll sends
/// `device.online` = 0 only. Comm-loss faults are decided by the rules from that, not here.
public final class ModbusPoller: Sendable {
    public struct Options: Sendable {
        /// Longest pause between attempts at a silent slave.
        public var maxBackoff: Double
        /// Pause after a silent slave's second miss in a row (the first retry waits one period),
        /// doubling per miss up to `maxBackoff`; never shorter than the device's period.
        public var initialBackoff: Double
        /// First and longest pause before reconnecting a broken link.
        public var reconnectInitial: Double
        public var reconnectMax: Double
        /// Spread first polls over one period so devices on a bus do not all start at once.
        public var staggerFirstPolls: Bool

        public init(maxBackoff: Double = 30, initialBackoff: Double = 1, reconnectInitial: Double = 0.5,
                    reconnectMax: Double = 30, staggerFirstPolls: Bool = true) {
            self.maxBackoff = maxBackoff
            self.initialBackoff = initialBackoff
            self.reconnectInitial = reconnectInitial
            self.reconnectMax = reconnectMax
            self.staggerFirstPolls = staggerFirstPolls
        }
    }

    /// What a write changes on the device.
    public enum WriteTarget: Sendable, Equatable {
        /// A set value in canonical units (e.g. residual_current.1 = 500 mA) through the profile's set-value register.
        case setpoint(Channel, Double)
        /// Raw words (a reset command, a register the profile does not name).
        case registers(table: ModbusProfile.Table, address: Int, values: [UInt16])
    }

    /// Owners by endpoint key, which owner polls which device, and whether the owners run. Changed by
    /// `add`/`remove` (the registry watcher's thread) and read by `write`; never held across a transaction.
    private struct State {
        var owners: [String: BusOwner] = [:]
        var deviceOwner: [String: String] = [:]
        var isStarted = false
        var isStopped = false
    }

    private let state = Mutex(State())
    private let board: CounterBoard
    private let buses: [String: SerialBusConfig]
    private let sink: any ReadingSink
    private let monitor: (any IngestMonitor)?
    private let options: Options
    private let log: @Sendable (String) -> Void

    /// - Throws: when a device is not a Modbus device, is listed twice or names a bus that is not configured.
    public init(devices: [PolledDevice], buses: [SerialBusConfig] = [], sink: any ReadingSink,
                monitor: (any IngestMonitor)? = nil, options: Options = Options(),
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(ModbusPollerError) {
        self.buses = Dictionary(buses.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.sink = sink
        self.monitor = monitor
        self.options = options
        self.log = log
        var groups: [String: (Endpoint, [PolledDevice])] = [:]
        var deviceOwner: [String: String] = [:]
        for d in devices {
            let endpoint = try Self.endpoint(of: d, buses: self.buses)
            guard deviceOwner.updateValue(endpoint.key, forKey: d.id) == nil else {
                throw ModbusPollerError(device: d.id, message: "listed twice")
            }
            groups[endpoint.key, default: (endpoint, [])].1.append(d)
        }
        let board = CounterBoard(ids: devices.map(\.id))
        let owners = groups.mapValues { endpoint, list in
            BusOwner(endpoint: endpoint, devices: list, sink: sink, monitor: monitor, options: options, board: board, log: log)
        }
        state.withLock { $0.owners = owners; $0.deviceOwner = deviceOwner }
        self.board = board
    }

    /// Where a device is polled, or why it cannot be.
    private static func endpoint(of d: PolledDevice, buses: [String: SerialBusConfig]) throws(ModbusPollerError) -> Endpoint {
        let endpoint: Endpoint
        switch d.transport {
        case .modbusTCP(let host, let port, _): endpoint = .tcp(host: host, port: port)
        case .modbusRTU(let bus, _):
            guard let config = buses[bus] else {
                let known = buses.isEmpty ? "none" : buses.keys.sorted().joined(separator: ", ")
                throw ModbusPollerError(device: d.id, message: "serial bus '\(bus)' is not configured (known: \(known))")
            }
            endpoint = .rtu(config)
        case .mqtt:
            throw ModbusPollerError(device: d.id, message: "is an MQTT device, not Modbus")
        }
        guard let unit = d.unit, (0...247).contains(unit) else {
            throw ModbusPollerError(device: d.id, message: "unit id must be 0–247")
        }
        return endpoint
    }

    /// A poller dropped without `stop()` still stops its threads and closes its links.
    deinit { stop() }

    /// Starts one thread per bus / endpoint. Calling it twice does nothing.
    public func start() {
        let owners = state.withLock { s -> [BusOwner] in
            guard !s.isStarted, !s.isStopped else { return [] }
            s.isStarted = true
            return Array(s.owners.values)
        }
        for o in owners { o.start() }
    }

    /// Stops every owner and waits for its thread to finish its current request (at most one timeout).
    /// Devices added afterwards are refused.
    public func stop() {
        let owners = state.withLock { s in
            s.isStopped = true
            return Array(s.owners.values)
        }
        for o in owners { o.requestStop() }
        for o in owners { o.waitStopped() }
    }

    /// Polls `device` from now on, or replaces the device with its id (new address, profile or period).
    /// It joins the schedule of its bus / endpoint owner, staggered between the devices already there,
    /// with fresh backoff state; a TCP endpoint or configured bus without an owner gets one, started at
    /// once when the poller runs. Safe from any thread.
    /// - Throws: when the device is not Modbus, names a serial bus that is not configured, or the poller is stopped.
    public func add(_ device: PolledDevice) throws(ModbusPollerError) {
        let endpoint = try Self.endpoint(of: device, buses: buses)
        // The owners' inbox locks are taken inside this one (never the other way round), so two callers
        // changing the same device cannot leave it on two owners.
        let newOwner = try state.withLock { s throws(ModbusPollerError) -> BusOwner? in
            guard !s.isStopped else { throw ModbusPollerError(device: device.id, message: "the poller is stopped") }
            if let previous = s.deviceOwner.updateValue(endpoint.key, forKey: device.id), previous != endpoint.key {
                s.owners[previous]?.remove(device: device.id)
            }
            board.add(device.id)
            if let owner = s.owners[endpoint.key] {
                owner.add(device)
                return nil
            }
            let owner = BusOwner(endpoint: endpoint, devices: [device], sink: sink, monitor: monitor, options: options,
                                 board: board, log: log)
            s.owners[endpoint.key] = owner
            return s.isStarted ? owner : nil
        }
        newOwner?.start()
    }

    /// Stops polling a device (decommissioned, moved away). Its owner keeps polling the others; an owner
    /// left without devices closes its link until one is added. Its counters leave `counters()`.
    public func remove(device id: String) {
        state.withLock { s in
            guard let key = s.deviceOwner.removeValue(forKey: id) else { return }
            s.owners[key]?.remove(device: id)
            board.remove(id)
        }
    }

    /// Number of owners (buses plus TCP endpoints), idle ones included.
    public var ownerCount: Int { state.withLock { $0.owners.count } }

    /// Ids of the devices polled now.
    public var deviceIDs: Set<String> { state.withLock { Set($0.deviceOwner.keys) } }

    /// Counters of every device, by id.
    public func counters() -> [String: DeviceCounters] { board.snapshot() }

    /// Queues a write on the device's bus owner and waits for it to be done. With `password`, the
    /// profile's password register is written first (GB 14287.5-2025 §5.3).
    public func write(device: String, _ target: WriteTarget, password: Int? = nil) async throws(ModbusError) {
        guard let owner = state.withLock({ s in s.deviceOwner[device].flatMap { s.owners[$0] } }) else {
            throw .setup("no Modbus device '\(device)'")
        }
        let result: Result<Void, ModbusError> = await withCheckedContinuation { c in
            owner.enqueue(WriteJob(device: device, target: target, password: password) { c.resume(returning: $0) })
        }
        try result.get()
    }
}

enum Endpoint: Sendable {
    case tcp(host: String, port: Int)
    case rtu(SerialBusConfig)

    var key: String {
        switch self {
        case .tcp(let h, let p): "tcp://\(h):\(p)"
        case .rtu(let c): "rtu://\(c.name)"
        }
    }
}

struct WriteJob: Sendable {
    var device: String
    var target: ModbusPoller.WriteTarget
    var password: Int?
    var done: @Sendable (Result<Void, ModbusError>) -> Void
}

/// Counters shared between owner threads and readers (`firewatch status`).
final class CounterBoard: Sendable {
    private let counters: Mutex<[String: DeviceCounters]>
    init(ids: [String]) { counters = Mutex(Dictionary(ids.map { ($0, DeviceCounters()) }, uniquingKeysWith: { a, _ in a })) }
    /// Counts for a device polled from now on (kept when it is already there: a replaced device).
    func add(_ id: String) { counters.withLock { c in if c[id] == nil { c[id] = DeviceCounters() } } }
    func remove(_ id: String) { counters.withLock { _ = $0.removeValue(forKey: id) } }
    /// Updates a device's counters; a device removed meanwhile (its last poll ending) stays removed.
    func update(_ id: String, _ body: (inout DeviceCounters) -> Void) {
        counters.withLock { c in
            guard var value = c[id] else { return }
            body(&value)
            c[id] = value
        }
    }
    func snapshot() -> [String: DeviceCounters] { counters.withLock { $0 } }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
