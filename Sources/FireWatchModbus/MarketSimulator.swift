@preconcurrency import Glibc
import Foundation
import Synchronization
import CModbus
import FireWatchCore

/// Serves N simulated detectors as real Modbus TCP slaves (libmodbus server API) on loopback.
///
/// Addressing: like a serial-to-Ethernet gateway per RS-485 line, each port carries up to
/// `devicesPerPort` devices as unit ids 1, 2, ...; device i is on port index i / devicesPerPort with
/// unit i % devicesPerPort + 1. `devicesPerPort: 1` gives one port per device. Port 0 picks free ports.
/// A unit that no device uses gets exception 11 (gateway target failed to respond), as gateways do;
/// a device scripted `silent` gets no answer at all.
///
/// One server thread owns every socket, context and register map; values are recomputed from the
/// `MarketModel` every `tick` seconds on that thread. Writes from clients (set values) land in the
/// map and stay. `stop()` closes everything and waits for the thread.
public final class MarketSimulator: Sendable {
    public struct Options: Sendable {
        public var deviceCount: Int
        public var profile: ModbusProfile
        public var script: SimulationScript
        public var seed: UInt64
        public var host: String
        /// First port; 0 lets the system choose each port.
        public var port: Int
        public var devicesPerPort: Int
        public var tick: Double
        public var reportsOwnAlarms: Bool

        public init(deviceCount: Int, profile: ModbusProfile, script: SimulationScript = .calm, seed: UInt64 = 1,
                    host: String = "127.0.0.1", port: Int = 0, devicesPerPort: Int = 247, tick: Double = 0.25,
                    reportsOwnAlarms: Bool = false) {
            self.deviceCount = deviceCount
            self.profile = profile
            self.script = script
            self.seed = seed
            self.host = host
            self.port = port
            self.devicesPerPort = min(max(devicesPerPort, 1), 247)
            self.tick = tick
            self.reportsOwnAlarms = reportsOwnAlarms
        }
    }

    /// Where simulated device `device` answers.
    public struct Endpoint: Sendable, Equatable {
        public var device: Int
        public var host: String
        public var port: Int
        public var unit: Int
        public var transport: Transport { .modbusTCP(host: host, port: port, unit: unit) }
    }

    enum Command: Sendable {
        case setRegister(device: Int, table: ModbusProfile.Table, address: Int, value: UInt16)
        case override(device: Int, channel: Channel, value: Reading.Value?)
        case silence(device: Int, Bool?)
    }

    public let options: Options
    private let state = Mutex<(commands: [Command], running: Bool, endpoints: [Endpoint])>(([], false, []))
    private let served = Atomic<Int>(0)
    private let wakeFDs: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)

    public init(_ options: Options) {
        self.options = options
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        wakeFDs = (fds[0], fds[1])
    }

    deinit {
        close(wakeFDs.read)
        close(wakeFDs.write)
    }

    /// Binds the ports and starts serving; returns where each device answers.
    @discardableResult
    public func start() throws(ModbusError) -> [Endpoint] {
        let ready = DispatchSemaphore(value: 0)
        let result = Mutex<Result<[Endpoint], ModbusError>?>(nil)
        let options = options, wake = wakeFDs.read
        let t = Thread { [self] in
            nameThisThread("fw simulator")
            let server: SimulatorServer
            do {
                server = try SimulatorServer(options: options, wakeFD: wake)
            } catch {
                result.withLock { $0 = .failure(error as! ModbusError) }
                ready.signal()
                finished.signal()
                return
            }
            state.withLock { $0.running = true; $0.endpoints = server.endpoints }
            result.withLock { $0 = .success(server.endpoints) }
            ready.signal()
            server.serve(
                commands: { [self] in state.withLock { s in defer { s.commands = [] }; return (s.commands, s.running) } },
                served: { [self] in served.add(1, ordering: .relaxed) })
            finished.signal()
        }
        t.start()
        ready.wait()
        return try result.withLock { $0! }.get()
    }

    /// Where each device answers (empty before `start`).
    public var endpoints: [Endpoint] { state.withLock { $0.endpoints } }

    /// Requests answered so far.
    public var servedRequests: Int { served.load(ordering: .relaxed) }

    /// Stops serving, closes every socket and waits for the server thread.
    public func stop() {
        let wasRunning = state.withLock { s in
            defer { s.running = false }
            return s.running
        }
        guard wasRunning else { return }
        poke()
        finished.wait()
    }

    /// Pins a register of one device to `value` (the model no longer writes it), for tests and latency benches.
    public func setRegister(device: Int, table: ModbusProfile.Table = .holding, address: Int, value: UInt16) {
        send(.setRegister(device: device, table: table, address: address, value: value))
    }

    /// Pins a canonical channel of one device (a number, a state for `state.*`, `invalid` for its sentinel);
    /// nil gives it back to the model.
    public func override(device: Int, channel: Channel, value: Reading.Value?) {
        send(.override(device: device, channel: channel, value: value))
    }

    /// Makes a device stop (true) or resume (false) answering; nil returns it to the script.
    public func setSilent(device: Int, _ silent: Bool?) { send(.silence(device: device, silent)) }

    private func send(_ c: Command) {
        state.withLock { $0.commands.append(c) }
        poke()
    }

    private func poke() {
        var b: UInt8 = 1
        _ = write(wakeFDs.write, &b, 1)
    }
}

/// Everything the server thread owns. Created, used and destroyed on that thread only.
final class SimulatorServer {
    struct Port {
        let context: ModbusContext
        let listenFD: Int32
        let port: Int
        var units: [Int: Int]  // unit → device index
    }

    struct Device {
        let mapping: UnsafeMutablePointer<modbus_mapping_t>
        var image = RegisterImage()
        var pinnedRegisters: [ModbusProfile.Table: [Int: UInt16]] = [:]
        var overrides: [Channel: Reading.Value] = [:]
        var silent: Bool?
        /// Set values may be written until this time (monotonic), after the password was written.
        var unlockedUntil = 0.0
    }

    /// The simulated detectors' password (the Acrel default, domain.md §4).
    static let password: UInt16 = 1
    /// How long a correct password unlocks set-value writes.
    static let unlockSeconds = 30.0

    let options: MarketSimulator.Options
    let model: MarketModel
    let wakeFD: Int32
    var ports: [Port] = []
    var clients: [Int32: Int] = [:]  // client socket → port index
    var devices: [Device] = []
    let liveRegisters: [(ModbusProfile.Table, Int)]
    let start = monotonicSeconds()

    init(options: MarketSimulator.Options, wakeFD: Int32) throws(ModbusError) {
        self.options = options
        self.wakeFD = wakeFD
        model = MarketModel(profile: options.profile, script: options.script, seed: options.seed,
                            reportsOwnAlarms: options.reportsOwnAlarms)
        var live = Set<[Int]>()
        let tables = ModbusProfile.Table.allCases
        for m in options.profile.measurements {
            for a in m.register.address...m.register.lastAddress { live.insert([tables.firstIndex(of: m.register.table)!, a]) }
        }
        for s in options.profile.states {
            for a in s.register.address...s.register.lastAddress { live.insert([tables.firstIndex(of: s.register.table)!, a]) }
        }
        liveRegisters = live.map { (tables[$0[0]], $0[1]) }

        var highest: [ModbusProfile.Table: Int] = [:]
        for r in options.profile.allRegisters { highest[r.register.table] = max(highest[r.register.table] ?? 0, r.register.lastAddress) }
        for id in options.profile.identity { highest[id.register.table] = max(highest[id.register.table] ?? 0, id.register.lastAddress) }
        func size(_ t: ModbusProfile.Table) -> Int32 { highest[t].map { Int32($0 + 1) } ?? 0 }

        do throws(ModbusError) {
            let portCount = (options.deviceCount + options.devicesPerPort - 1) / options.devicesPerPort
            for p in 0..<portCount {
                let ctx = try ModbusContext.tcp(host: options.host, port: options.port == 0 ? 0 : options.port + p)
                ctx.setTimeouts(response: 0.2, byte: 0.2)
                let fd = try ctx.listen(backlog: 64)
                var addr = sockaddr_in()
                var len = socklen_t(MemoryLayout<sockaddr_in>.size)
                _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
                ports.append(Port(context: ctx, listenFD: fd, port: Int(UInt16(bigEndian: addr.sin_port)), units: [:]))
            }
            for i in 0..<options.deviceCount {
                guard let mapping = modbus_mapping_new(size(.coils), size(.discreteInputs), size(.holding), size(.input)) else {
                    throw ModbusError.setup("cannot allocate the register map of device \(i)")
                }
                var d = Device(mapping: mapping)
                options.profile.encodeIdentity(into: &d.image)
                for sp in options.profile.setpoints {
                    let value: Double = switch sp.channel.quantity {
                    case .residualCurrent: 300      // GB 51348-2019 §13.5.6
                    case .temperature: 60
                    default: sp.range?.upperBound ?? 0
                    }
                    options.profile.encodeSetpoint(sp.channel, value, into: &d.image)
                }
                if let pw = options.profile.passwordRegister { d.image.set(pw.table, pw.address, 0) }
                devices.append(d)
                copyAll(i)
                ports[i / options.devicesPerPort].units[i % options.devicesPerPort + 1] = i
            }
        } catch {
            close()
            throw error
        }
        update()
    }

    deinit { close() }

    var endpoints: [MarketSimulator.Endpoint] {
        (0..<devices.count).map { i in
            MarketSimulator.Endpoint(device: i, host: options.host, port: ports[i / options.devicesPerPort].port,
                                     unit: i % options.devicesPerPort + 1)
        }
    }

    private func close() {
        for fd in clients.keys { Glibc.close(fd) }
        clients = [:]
        for p in ports {
            p.context.setSocket(-1)
            Glibc.close(p.listenFD)
        }
        ports = []
        for d in devices { modbus_mapping_free(d.mapping) }
        devices = []
    }

    private func copyAll(_ i: Int) {
        for table in ModbusProfile.Table.allCases {
            for (a, v) in devices[i].image.entries(table) { put(i, table, a, v) }
        }
    }

    private func put(_ i: Int, _ table: ModbusProfile.Table, _ address: Int, _ value: UInt16) {
        let m = devices[i].mapping.pointee
        switch table {
        case .holding where address < m.nb_registers: m.tab_registers[address] = value
        case .input where address < m.nb_input_registers: m.tab_input_registers[address] = value
        case .coils where address < m.nb_bits: m.tab_bits[address] = value != 0 ? 1 : 0
        case .discreteInputs where address < m.nb_input_bits: m.tab_input_bits[address] = value != 0 ? 1 : 0
        default: break
        }
    }

    private func get(_ i: Int, _ table: ModbusProfile.Table, _ address: Int) -> UInt16? {
        let m = devices[i].mapping.pointee
        switch table {
        case .holding where address < m.nb_registers: return m.tab_registers[address]
        case .input where address < m.nb_input_registers: return m.tab_input_registers[address]
        case .coils where address < m.nb_bits: return UInt16(m.tab_bits[address])
        case .discreteInputs where address < m.nb_input_bits: return UInt16(m.tab_input_bits[address])
        default: return nil
        }
    }

    /// Recomputes every device's live registers from the model at the current time.
    func update() {
        let t = monotonicSeconds() - start
        let profile = options.profile
        for i in devices.indices {
            var setImage = RegisterImage()
            for sp in profile.setpoints {
                for a in sp.register.address...sp.register.lastAddress {
                    if let v = get(i, sp.register.table, a) { setImage.set(sp.register.table, a, v) }
                }
            }
            let setpoints = profile.decodeSetpoints(setImage)
            var image = devices[i].image
            for (channel, value) in model.values(device: i, at: t, setpoints: setpoints) {
                profile.encode(channel, devices[i].overrides[channel] ?? value, into: &image)
            }
            for (channel, value) in devices[i].overrides { profile.encode(channel, value, into: &image) }
            devices[i].image = image
            for (table, a) in liveRegisters {
                if let v = devices[i].pinnedRegisters[table]?[a] { put(i, table, a, v) }
                else if let v = image[table, a] { put(i, table, a, v) }
            }
            for (table, pins) in devices[i].pinnedRegisters { for (a, v) in pins { put(i, table, a, v) } }
        }
    }

    func apply(_ c: MarketSimulator.Command) {
        switch c {
        case .setRegister(let d, let table, let address, let value) where devices.indices.contains(d):
            devices[d].pinnedRegisters[table, default: [:]][address] = value
            put(d, table, address, value)
        case .override(let d, let channel, let value) where devices.indices.contains(d):
            devices[d].overrides[channel] = value
            update()
        case .silence(let d, let s) where devices.indices.contains(d):
            devices[d].silent = s
        default: break
        }
    }

    func isSilent(_ i: Int, _ t: Double) -> Bool { devices[i].silent ?? model.isSilent(device: i, at: t) }

    /// Set values are writable only within `unlockSeconds` after the password was written
    /// (GB 14287.5-2025 §5.3); a locked write gets exception 3 (illegal data value), the simulator's
    /// convention. Returns the exception code, or nil to let libmodbus apply the request.
    func refuseWrite(_ device: Int, _ query: UnsafeMutablePointer<UInt8>, _ header: Int) -> Int? {
        let fc = query[header]
        guard fc == 6 || fc == 16, let pw = options.profile.passwordRegister, pw.table == .holding else { return nil }
        let address = Int(query[header + 1]) << 8 | Int(query[header + 2])
        let count = fc == 6 ? 1 : Int(query[header + 3]) << 8 | Int(query[header + 4])
        let now = monotonicSeconds()
        if fc == 6 && address == pw.address {
            let value = UInt16(query[header + 3]) << 8 | UInt16(query[header + 4])
            devices[device].unlockedUntil = value == Self.password ? now + Self.unlockSeconds : 0
            return nil
        }
        let touchesSetpoint = options.profile.setpoints.contains { sp in
            sp.register.table == .holding && sp.register.address <= address + count - 1 && address <= sp.register.lastAddress
        }
        return touchesSetpoint && devices[device].unlockedUntil < now ? 3 : nil
    }

    /// Serves until `commands` says stop. `commands` returns pending commands and whether to keep running.
    func serve(commands: () -> ([MarketSimulator.Command], Bool), served: () -> Void) {
        let query = UnsafeMutablePointer<UInt8>.allocate(capacity: 260)
        defer { query.deallocate() }
        var nextTick = monotonicSeconds() + options.tick
        while true {
            let (pending, running) = commands()
            if !running { break }
            for c in pending { apply(c) }
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            fds += ports.map { pollfd(fd: $0.listenFD, events: Int16(POLLIN), revents: 0) }
            let clientList = Array(clients.keys)
            fds += clientList.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let timeout = max(0, Int32((nextTick - monotonicSeconds()) * 1000))
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if monotonicSeconds() >= nextTick {
                update()
                nextTick = monotonicSeconds() + options.tick
            }
            guard n > 0 else { continue }
            if fds[0].revents != 0 {
                var buf = [UInt8](repeating: 0, count: 64)
                while read(wakeFD, &buf, 64) > 0 {}
            }
            for (k, p) in ports.enumerated() where fds[1 + k].revents & Int16(POLLIN) != 0 {
                let c = accept(p.listenFD, nil, nil)
                if c >= 0 {
                    var one: Int32 = 1
                    setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    clients[c] = k
                }
            }
            for (k, fd) in clientList.enumerated() where fds[1 + ports.count + k].revents != 0 {
                guard let portIndex = clients[fd] else { continue }
                let ctx = ports[portIndex].context
                ctx.setSocket(fd)
                let rc = ctx.receive(into: query)
                if rc == -1 {
                    // Peer left, or sent something that is not Modbus TCP: drop the connection.
                    Glibc.close(fd)
                    clients[fd] = nil
                    continue
                }
                if rc == 0 { continue }
                let unit = Int(query[ctx.headerLength - 1])
                guard let device = ports[portIndex].units[unit] else {
                    _ = ctx.replyException(query, code: 11)
                    continue
                }
                if isSilent(device, monotonicSeconds() - start) { continue }
                if let refusal = refuseWrite(device, query, ctx.headerLength) {
                    _ = ctx.replyException(query, code: refusal)
                    continue
                }
                if ctx.reply(query, length: rc, mapping: devices[device].mapping) != -1 { served() }
            }
        }
        close()
    }
}
