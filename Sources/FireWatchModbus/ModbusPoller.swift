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

    private let owners: [BusOwner]
    private let board: CounterBoard
    private let deviceOwner: [String: Int]

    /// - Throws: when a device is not a Modbus device or names a bus that is not configured.
    public init(devices: [PolledDevice], buses: [SerialBusConfig] = [], sink: any ReadingSink,
                monitor: (any IngestMonitor)? = nil, options: Options = Options(),
                log: @escaping @Sendable (String) -> Void = { _ in }) throws(ModbusPollerError) {
        var groups: [String: (Endpoint, [PolledDevice])] = [:]
        var order: [String] = []
        let busByName = Dictionary(buses.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        for d in devices {
            guard seen.insert(d.id).inserted else { throw ModbusPollerError(device: d.id, message: "listed twice") }
            let endpoint: Endpoint
            switch d.transport {
            case .modbusTCP(let host, let port, _): endpoint = .tcp(host: host, port: port)
            case .modbusRTU(let bus, _):
                guard let config = busByName[bus] else {
                    throw ModbusPollerError(device: d.id, message: "serial bus '\(bus)' is not configured (known: \(busByName.keys.sorted().joined(separator: ", ")))")
                }
                endpoint = .rtu(config)
            case .mqtt:
                throw ModbusPollerError(device: d.id, message: "is an MQTT device, not Modbus")
            }
            guard let unit = d.unit, (0...247).contains(unit) else {
                throw ModbusPollerError(device: d.id, message: "unit id must be 0–247")
            }
            if groups[endpoint.key] == nil { order.append(endpoint.key) }
            groups[endpoint.key, default: (endpoint, [])].1.append(d)
        }
        let board = CounterBoard(ids: devices.map(\.id))
        var map: [String: Int] = [:]
        var owners: [BusOwner] = []
        for (i, key) in order.enumerated() {
            let (endpoint, list) = groups[key]!
            for d in list { map[d.id] = i }
            owners.append(BusOwner(endpoint: endpoint, devices: list, sink: sink, monitor: monitor, options: options,
                                   board: board, log: log))
        }
        self.owners = owners
        self.board = board
        self.deviceOwner = map
    }

    /// A poller dropped without `stop()` still stops its threads and closes its links.
    deinit { stop() }

    /// Starts one thread per bus / endpoint. Calling it twice does nothing.
    public func start() { for o in owners { o.start() } }

    /// Stops every owner and waits for its thread to finish its current request (at most one timeout).
    public func stop() {
        for o in owners { o.requestStop() }
        for o in owners { o.waitStopped() }
    }

    /// Number of owner threads (buses plus TCP endpoints).
    public var ownerCount: Int { owners.count }

    /// Counters of every device, by id.
    public func counters() -> [String: DeviceCounters] { board.snapshot() }

    /// Queues a write on the device's bus owner and waits for it to be done. With `password`, the
    /// profile's password register is written first (GB 14287.5-2025 §5.3).
    public func write(device: String, _ target: WriteTarget, password: Int? = nil) async throws(ModbusError) {
        guard let i = deviceOwner[device] else { throw .setup("no Modbus device '\(device)'") }
        let result: Result<Void, ModbusError> = await withCheckedContinuation { c in
            owners[i].enqueue(WriteJob(device: device, target: target, password: password) { c.resume(returning: $0) })
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
    func update(_ id: String, _ body: (inout DeviceCounters) -> Void) {
        counters.withLock { body(&$0[id, default: DeviceCounters()]) }
    }
    func snapshot() -> [String: DeviceCounters] { counters.withLock { $0 } }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
