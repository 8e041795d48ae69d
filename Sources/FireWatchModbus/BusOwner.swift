import Foundation
import FireWatchCore

/// The one thread that owns a serial bus or TCP endpoint and its `ModbusContext`.
///
/// Devices join and leave while it runs (`add`, `remove`, from the registry watcher's thread): the
/// change waits in `changes` and the owner thread applies it to its schedule between transactions, so
/// no lock is held across a Modbus request.
///
/// @unchecked Sendable: `schedule`, `context` and `reconnect*` are touched only by the owner thread
/// (created in `start`, read and written inside `run`; before `start`, by init only); `inbox`,
/// `changes`, `stopping`, `started` and `stopped` are guarded by `lock`. Everything else is immutable after init.
final class BusOwner: @unchecked Sendable {
    struct Scheduled {
        let device: PolledDevice
        let plan: [ReadBlock]
        var nextDue: Double
        var consecutiveTimeouts = 0
        var failing = false
    }

    let endpoint: Endpoint
    let sink: any ReadingSink
    let monitor: (any IngestMonitor)?
    let options: ModbusPoller.Options
    let board: CounterBoard
    let log: @Sendable (String) -> Void

    private var schedule: [Scheduled]
    private var context: ModbusContext?
    private var reconnectAt = 0.0
    /// Set after a failed transaction: a late or partial answer may still be on the link.
    private var needsFlush = false
    private var reconnectDelay: Double

    enum Change {
        case add(PolledDevice)
        case remove(String)
    }

    private let lock = NSCondition()
    private var inbox: [WriteJob] = []
    private var changes: [Change] = []
    private var stopping = false
    private var started = false
    private var stopped = false

    init(endpoint: Endpoint, devices: [PolledDevice], sink: any ReadingSink, monitor: (any IngestMonitor)?,
         options: ModbusPoller.Options, board: CounterBoard, log: @escaping @Sendable (String) -> Void) {
        self.endpoint = endpoint
        self.sink = sink
        self.monitor = monitor
        self.options = options
        self.board = board
        self.log = log
        self.reconnectDelay = options.reconnectInitial
        schedule = devices.map { d in
            Scheduled(device: d, plan: d.profile.readPlan(maxGap: d.maxGap), nextDue: 0)
        }
    }

    func start() {
        lock.lock()
        defer { lock.unlock() }
        guard !started else { return }
        started = true
        let t = Thread { [self] in
            nameThisThread("fw bus \(endpoint.key)")
            run()
        }
        t.stackSize = 256 * 1024
        t.start()
    }

    func requestStop() {
        lock.lock()
        stopping = true
        if !started { stopped = true }
        lock.broadcast()
        lock.unlock()
    }

    func waitStopped() {
        lock.lock()
        while !stopped { lock.wait() }
        lock.unlock()
    }

    /// Polls `device` from the owner thread's next turn, replacing the device with its id if there is one.
    func add(_ device: PolledDevice) { submit(.add(device)) }

    /// Stops polling the device with this id from the owner thread's next turn.
    func remove(device id: String) { submit(.remove(id)) }

    private func submit(_ change: Change) {
        lock.lock()
        changes.append(change)
        lock.signal()
        lock.unlock()
    }

    func enqueue(_ job: WriteJob) {
        lock.lock()
        if stopping {
            lock.unlock()
            job.done(.failure(.setup("poller stopped")))
            return
        }
        inbox.append(job)
        lock.signal()
        lock.unlock()
    }

    // MARK: owner thread

    private func run() {
        let start = monotonicSeconds()
        let n = schedule.count
        for i in schedule.indices {
            let offset = options.staggerFirstPolls ? schedule[i].device.period * Double(i) / Double(max(n, 1)) : 0
            schedule[i].nextDue = start + offset
        }
        while true {
            lock.lock()
            if stopping { lock.unlock(); break }
            if !changes.isEmpty {
                let taken = changes
                changes = []
                lock.unlock()
                apply(taken)
                continue
            }
            if !inbox.isEmpty {
                let job = inbox.removeFirst()
                lock.unlock()
                perform(job)
                continue
            }
            guard let i = schedule.indices.min(by: { schedule[$0].nextDue < schedule[$1].nextDue }) else {
                lock.wait()
                lock.unlock()
                continue
            }
            let wait = schedule[i].nextDue - monotonicSeconds()
            if wait > 0 {
                _ = lock.wait(until: Date(timeIntervalSinceNow: wait))
                lock.unlock()
                continue
            }
            lock.unlock()
            poll(i)
        }
        context = nil  // modbus_close + modbus_free
        lock.lock()
        stopped = true
        let orphans = inbox
        inbox = []
        lock.broadcast()
        lock.unlock()
        for job in orphans { job.done(.failure(.setup("poller stopped"))) }
    }

    private func apply(_ taken: [Change]) {
        for change in taken {
            switch change {
            case .add(let device):
                let joining = Scheduled(device: device, plan: device.profile.readPlan(maxGap: device.maxGap),
                                        nextDue: firstPoll(period: device.period, now: monotonicSeconds()))
                if let i = schedule.firstIndex(where: { $0.device.id == device.id }) { schedule[i] = joining }
                else { schedule.append(joining) }
            case .remove(let id):
                schedule.removeAll { $0.device.id == id }
            }
        }
        if schedule.isEmpty, context != nil {
            context = nil  // modbus_close + modbus_free: no device left to poll here
            log("modbus \(endpoint.key): no device left to poll; link closed until one is added")
        }
    }

    /// When a device joining a running schedule is first polled: in the middle of the widest gap
    /// between the polls already due within its first period, so it does not bunch with the others.
    private func firstPoll(period: Double, now: Double) -> Double {
        guard options.staggerFirstPolls, !schedule.isEmpty else { return now }
        let due = schedule.map { min(max($0.nextDue, now), now + period) }.sorted()
        let edges = [now] + due + [now + period]
        var best = (start: now, width: 0.0)
        for (a, b) in zip(edges, edges.dropFirst()) where b - a > best.width { best = (a, b - a) }
        return best.start + best.width / 2
    }

    /// The connected context, or nil while the link is down and its reconnect backoff has not passed.
    private func connectedContext() -> ModbusContext? {
        if let c = context, c.isConnected { return c }
        let now = monotonicSeconds()
        guard now >= reconnectAt else { return nil }
        do {
            let c: ModbusContext
            if let existing = context {
                c = existing
            } else {
                switch endpoint {
                case .tcp(let host, let port): c = try ModbusContext.tcp(host: host, port: port)
                case .rtu(let config): c = try config.makeContext()
                }
                context = c
            }
            try c.connect()
            if case .rtu(let config) = endpoint, config.rs485,
               !c.setRS485(rts: config.rts, rtsDelayMicroseconds: config.rtsDelayMicroseconds) {
                log("modbus \(endpoint.key): RS-485 mode refused by the serial driver; continuing without it")
            }
            if reconnectDelay > options.reconnectInitial { log("modbus \(endpoint.key): connected") }
            reconnectDelay = options.reconnectInitial
            return c
        } catch {
            log("modbus \(endpoint.key): cannot connect (\(error)); retrying in \(String(format: "%.1f", reconnectDelay)) s")
            reconnectAt = now + reconnectDelay
            reconnectDelay = min(options.reconnectMax, reconnectDelay * 2)
            return nil
        }
    }

    private func dropLink(_ error: ModbusError) {
        log("modbus \(endpoint.key): link lost (\(error)); reconnecting")
        context?.close()
        reconnectAt = monotonicSeconds() + reconnectDelay
        reconnectDelay = min(options.reconnectMax, reconnectDelay * 2)
    }

    private func prepare(_ ctx: ModbusContext, for device: PolledDevice) throws(ModbusError) {
        try ctx.setUnit(device.unit ?? 1)
        ctx.setTimeouts(response: device.responseTimeout, byte: device.byteTimeout)
    }

    private func poll(_ i: Int) {
        let device = schedule[i].device
        let started = monotonicSeconds()
        let wall = Date().timeIntervalSince1970
        var failure: ModbusError?
        var image = RegisterImage()
        if let ctx = connectedContext() {
            do throws(ModbusError) {
                try prepare(ctx, for: device)
                for (k, block) in schedule[i].plan.enumerated() {
                    if k > 0, device.profile.timing.turnaround > 0 {
                        Thread.sleep(forTimeInterval: device.profile.timing.turnaround)
                    }
                    if ctx.isRTU || needsFlush { ctx.flush(); needsFlush = false }
                    do {
                        image.store(block, values: try ctx.read(block))
                    } catch .exception(let code) where code == 10 || code == 11 {
                        // A gateway saying its target did not answer: the slave behind it is silent.
                        throw .timeout
                    } catch .exception(let code) {
                        board.update(device.id) { $0.exceptions += 1 }
                        log("modbus \(device.id): exception \(code) (\(ModbusError.exceptionName(code))) reading \(block) at unit \(device.unit ?? 0)")
                        monitor?.problem(device: device.id, .exception(code: code, register: block.start))
                    }
                }
            } catch {
                failure = error
                needsFlush = true
                if error.needsReconnect { dropLink(error) }
            }
        } else {
            failure = .connection(errno: 0, "not connected to \(endpoint.key)")
        }
        let finished = monotonicSeconds()
        var s = schedule[i]
        if let failure {
            sink.accept([Reading(device: device.id, channel: Channel(unchecked: "device.online"), value: .number(0), time: wall)])
            var delay = device.period
            switch failure {
            case .timeout:
                s.consecutiveTimeouts += 1
                // First retry after one period, then initialBackoff, 2×, 4×, ... capped at maxBackoff:
                // a dead slave costs one timeout per backoff period, never one per sweep.
                if s.consecutiveTimeouts > 1 {
                    let base = max(device.period, options.initialBackoff)
                    delay = min(max(options.maxBackoff, device.period), base * pow(2, Double(s.consecutiveTimeouts - 2)))
                }
                monitor?.problem(device: device.id, .timeout)
            case .exception(let code):
                monitor?.problem(device: device.id, .exception(code: code, register: 0))
            case .badResponse(let why):
                monitor?.problem(device: device.id, .transport(why))
            case .connection(_, let why), .setup(let why):
                monitor?.problem(device: device.id, .transport(why))
            }
            if !s.failing { log("modbus \(device.id): poll failed (\(failure))") }
            s.failing = true
            s.nextDue = finished + delay
            board.update(device.id) { c in
                c.polls += 1
                c.failures += 1
                c.consecutiveFailures += 1
                switch failure {
                case .timeout: c.timeouts += 1
                case .badResponse: c.badResponses += 1
                case .connection, .setup: c.transportErrors += 1
                case .exception: c.exceptions += 1
                }
                c.backoff = delay > device.period ? delay : 0
            }
        } else {
            var readings = device.profile.decode(image, device: device.id, time: wall)
            readings.append(Reading(device: device.id, channel: Channel(unchecked: "device.online"), value: .number(1), time: wall))
            sink.accept(readings)
            if s.failing {
                log("modbus \(device.id): answering again")
                monitor?.recovered(device: device.id)
            }
            s.failing = false
            s.consecutiveTimeouts = 0
            // Keep the phase: skip slots missed while busy rather than bunching polls.
            s.nextDue += device.period
            if s.nextDue <= finished { s.nextDue = finished + device.period - (finished - s.nextDue).truncatingRemainder(dividingBy: device.period) }
            board.update(device.id) { c in
                c.polls += 1
                c.successes += 1
                c.consecutiveFailures = 0
                c.backoff = 0
                c.lastSuccess = wall
                c.meanPollSeconds += ((finished - started) - c.meanPollSeconds) / Double(c.successes)
            }
        }
        schedule[i] = s
    }

    private func perform(_ job: WriteJob) {
        guard let s = schedule.first(where: { $0.device.id == job.device }) else {
            job.done(.failure(.setup("no device \(job.device) on \(endpoint.key)")))
            return
        }
        let profile = s.device.profile
        var writes: [(ModbusProfile.Table, Int, [UInt16])] = []
        switch job.target {
        case .setpoint(let channel, let value):
            guard let sp = profile.setpoints.first(where: { $0.channel == channel }),
                  let (register, words) = profile.setpointWords(channel, value) else {
                job.done(.failure(.setup("profile \(profile.id) has no set-value register for \(channel)")))
                return
            }
            guard sp.writable else {
                job.done(.failure(.setup("set value of \(channel) is read-only on \(profile.id)")))
                return
            }
            if let range = sp.range, !range.contains(value) {
                job.done(.failure(.setup("\(value) is outside the allowed \(range.lowerBound)–\(range.upperBound) for \(channel)")))
                return
            }
            writes.append((register.table, register.address, words))
        case .registers(let table, let address, let values):
            writes.append((table, address, values))
        }
        if let password = job.password, let pr = profile.passwordRegister {
            writes.insert((pr.table, pr.address, [UInt16(truncatingIfNeeded: password)]), at: 0)
        }
        guard let ctx = connectedContext() else {
            board.update(job.device) { $0.writeFailures += 1 }
            job.done(.failure(.connection(errno: 0, "not connected to \(endpoint.key)")))
            return
        }
        do throws(ModbusError) {
            try prepare(ctx, for: s.device)
            for (table, address, values) in writes {
                if ctx.isRTU || needsFlush { ctx.flush(); needsFlush = false }
                try ctx.write(table: table, address: address, values: values)
            }
            board.update(job.device) { $0.writes += 1 }
            log("modbus \(job.device): wrote \(job.target)")
            job.done(.success(()))
        } catch {
            needsFlush = true
            if error.needsReconnect { dropLink(error) }
            board.update(job.device) { $0.writeFailures += 1 }
            log("modbus \(job.device): write \(job.target) failed (\(error))")
            job.done(.failure(error))
        }
    }
}
