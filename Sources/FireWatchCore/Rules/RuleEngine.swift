/// Runs a `RuleSet` over readings: one state machine per (device, channel, rule), or per (device, rule)
/// for device-level rules; normal → pending → active → clearing → normal (docs/rules.md, "Semantics").
///
/// Delays run on the `monotonic` parameter only; wall time only labels events. The same readings in the
/// same order give the same events. Device and channel names are interned into integer slots on first
/// sight; after that `process` allocates nothing unless it emits an event.
///
/// Single consumer: the edge calls it from the one thread that owns it.
public final class RuleEngine {
    enum Phase: UInt8 { case normal, pending, active, clearing }

    struct RuleInfo {
        var raiseStart: Int32, raiseCount: Int32
        var clearStart: Int32, clearCount: Int32   // clearCount -1: clear when raise no longer holds
        var onDelay: Double, offDelay: Double
        var latch: Bool, usesSilence: Bool, isDevice: Bool
        var windowCapacity: Int32
        var constantCount: Int32
    }

    struct Machine {
        var rule: Int32
        var slot: Int32          // -1 for device-level machines
        var device: Int32
        var phase: Phase
        var since: Double
        var lastRaise: Double    // monotonic times of the previous two raises, for chattering
        var lastRaise2: Double
        var constBase: Int32
        var refBase: Int32
        var winBase: Int32, winHead: Int32, winCount: Int32
        /// The value at the last raise: clear events keep the hazard title the raise gave.
        var raisedValue: Double
    }

    struct Slot {
        var device: Int32
        var number: Double
        var state: Double
        var firstMachine: Int32
        var machineCount: Int32
        var created: Bool
        var isOnline: Bool
    }

    struct DeviceRecord {
        var lastData: Double    // NaN: no data yet
        var announced: Bool
        var firstMachine: Int32
        var machineCount: Int32
    }

    /// Hot tables, behind a pointer so the hot path pays no class exclusivity checks.
    struct Tables {
        var rules = EngineTable<RuleInfo>()
        var code = EngineTable<RuleInstruction>()
        var machines = EngineTable<Machine>(capacity: 1024)
        var slots = EngineTable<Slot>(capacity: 1024)
        var devices = EngineTable<DeviceRecord>(capacity: 256)
        var constants = EngineTable<Double>(capacity: 1024)
        var refSlots = EngineTable<Int32>(capacity: 1024)
        var winTime = EngineTable<Double>()
        var winValue = EngineTable<Double>()
        var deviceMachines = EngineTable<Int32>(capacity: 256)
        var stack = EngineTable<Double>()

        func free() {
            rules.free(); code.free(); machines.free(); slots.free(); devices.free(); constants.free()
            refSlots.free(); winTime.free(); winValue.free(); deviceMachines.free(); stack.free()
        }
    }

    private struct SlotKey: Hashable {
        var device: String
        var channel: String
    }

    /// Name lookup for the `Reading` path without hashing in the steady state: the last device seen,
    /// and per slot the slot that followed it last time on its device, since a poll or a message
    /// brings one device's channels in the same order every time (whatever order the slots were
    /// created in: a rule on one channel creates the slots it reads too).
    private struct Lookup {
        var lastDevice = ""
        var lastDeviceIndex: Int32 = -1
        var lastSlot: [Int32] = []     // per device: the slot of its latest reading, or -1
        var successor: [Int32] = []    // per slot: the slot that came next on its device last time, or -1
    }

    public let rules: RuleSet
    private let t: UnsafeMutablePointer<Tables>
    private let lookup: UnsafeMutablePointer<Lookup>
    private var slotIndex: [SlotKey: Int32] = [:]
    private var deviceIndex: [String: Int32] = [:]
    private var deviceContexts: [DeviceContext] = []
    private var slotChannel: [String] = []
    private var machineBinding: [String] = []
    private var scratch: [Double] = []
    /// Per rule, its channel patterns, nil for a device-level rule. Kept apart from `rules` because
    /// reading a Rule out of it copied the whole struct (program, texts) for every new slot: perf showed
    /// it in a backlog's first seconds, when every device's slots are created.
    private let channelPatterns: [[ChannelPattern]?]

    public init(rules: RuleSet) {
        self.rules = rules
        channelPatterns = rules.rules.map { $0.isDeviceLevel ? nil : $0.patterns }
        t = .allocate(capacity: 1)
        t.initialize(to: Tables())
        lookup = .allocate(capacity: 1)
        lookup.initialize(to: Lookup())
        var depth = 1
        for r in rules.rules {
            let p = r.program
            let raiseStart = Int32(t.pointee.code.count)
            t.pointee.code += p.raise
            var clearStart: Int32 = 0, clearCount: Int32 = -1
            if let c = p.clear {
                clearStart = Int32(t.pointee.code.count)
                clearCount = Int32(c.count)
                t.pointee.code += c
            }
            depth = max(depth, p.stackDepth)
            let capacity = p.window > 0 ? Int32(min(Int((p.window).rounded(.up)) + 2, 1024)) : 0
            t.pointee.rules.append(RuleInfo(
                raiseStart: raiseStart, raiseCount: Int32(p.raise.count), clearStart: clearStart, clearCount: clearCount,
                onDelay: r.onDelay, offDelay: r.offDelay, latch: r.latch, usesSilence: p.usesSilence,
                isDevice: r.isDeviceLevel, windowCapacity: max(capacity, p.window > 0 ? 4 : 0),
                constantCount: Int32(p.deviceConstants.count)))
        }
        t.pointee.stack.append(repeating: 0, count: depth + 4)
    }

    deinit {
        t.pointee.free()
        t.deinitialize(count: 1)
        t.deallocate()
        lookup.deinitialize(count: 1)
        lookup.deallocate()
    }

    // MARK: - devices and slots

    /// Adds or updates a device's set values, cable class and announcement; machines already running
    /// pick up the new set values at once. Devices never registered run on the rules' defaults.
    public func register(_ device: DeviceContext) {
        let d = deviceSlot(device.id)
        deviceContexts[Int(d)] = device
        t.pointee.devices[Int(d)].announced = device.announced
        for m in 0..<t.pointee.machines.count where t.pointee.machines[m].device == d {
            computeConstants(m)
        }
    }

    private func deviceSlot(_ id: String) -> Int32 {
        if let d = deviceIndex[id] { return d }
        let d = Int32(t.pointee.devices.count)
        deviceIndex[id] = d
        deviceContexts.append(DeviceContext(id: id))
        lookup.pointee.lastSlot.append(-1)
        t.pointee.devices.append(DeviceRecord(lastData: .nan, announced: true, firstMachine: Int32(t.pointee.deviceMachines.count),
                                              machineCount: 0))
        var count: Int32 = 0
        for ri in channelPatterns.indices where channelPatterns[ri] == nil {  // the device-level rules
            let m = makeMachine(rule: ri, slot: -1, device: d, binding: "", channel: "")
            t.pointee.deviceMachines.append(m)
            count += 1
        }
        t.pointee.devices[Int(d)].machineCount = count
        return d
    }

    /// The channel named on events of device-level rules (comm loss): the device's liveness channel.
    public static let deviceChannel = "device.online"

    /// The interned slot of a device's channel (created on first sight); use it with the fast-path `process`.
    public func slot(device: String, channel: Channel) -> EngineSlot {
        EngineSlot(index: slotFor(device: device, channel: channel.name))
    }

    private func slotFor(device: String, channel: String) -> Int32 {
        let key = SlotKey(device: device, channel: channel)
        if let s = slotIndex[key] { return s }
        let d = deviceSlot(device)
        let s = Int32(t.pointee.slots.count)
        slotIndex[key] = s
        slotChannel.append(channel)
        lookup.pointee.successor.append(-1)
        t.pointee.slots.append(Slot(device: d, number: .nan, state: -1, firstMachine: 0, machineCount: 0, created: false,
                                    isOnline: channel == "device.online"))
        return s
    }

    @inline(__always)
    private func cachedSlot(device: String, channel: String) -> Int32 {
        let l = lookup
        let d: Int
        if l.pointee.lastDeviceIndex >= 0, l.pointee.lastDevice == device {
            d = Int(l.pointee.lastDeviceIndex)
        } else {
            d = Int(deviceSlot(device))
            l.pointee.lastDevice = device
            l.pointee.lastDeviceIndex = Int32(d)
        }
        let previous = Int(l.pointee.lastSlot[d])
        if previous >= 0 {
            let next = l.pointee.successor[previous]
            if next >= 0, slotChannel[Int(next)] == channel {
                l.pointee.lastSlot[d] = next
                return next
            }
        }
        let s = slotFor(device: device, channel: channel)
        if previous >= 0 { l.pointee.successor[previous] = s }
        l.pointee.lastSlot[d] = s
        return s
    }

    private func createMachines(_ s: Int32) {
        let channel = slotChannel[Int(s)]
        let d = t.pointee.slots[Int(s)].device
        let first = Int32(t.pointee.machines.count)
        var count: Int32 = 0
        for (ri, patterns) in channelPatterns.enumerated() {
            guard let patterns else { continue }
            if let b = Rule.match(patterns, channel) {
                _ = makeMachine(rule: ri, slot: s, device: d, binding: b, channel: channel)
                count += 1
            }
        }
        t.pointee.slots[Int(s)].firstMachine = first
        t.pointee.slots[Int(s)].machineCount = count
        t.pointee.slots[Int(s)].created = true
    }

    private func makeMachine(rule ri: Int, slot s: Int32, device d: Int32, binding: String, channel: String) -> Int32 {
        let info = t.pointee.rules[ri]
        let m = Int32(t.pointee.machines.count)
        let constBase = Int32(t.pointee.constants.count)
        t.pointee.constants.append(repeating: .nan, count: Int(info.constantCount))
        var refs: [Int32] = []
        let deviceID = deviceContexts[Int(d)].id
        for template in rules.rules[ri].program.refs {
            let name = ChannelPattern.resolve(template, channel: channel, binding: binding)
            refs.append(slotFor(device: deviceID, channel: name))
        }
        let refBase = Int32(t.pointee.refSlots.count)
        t.pointee.refSlots += refs
        let winBase = Int32(t.pointee.winTime.count)
        if info.windowCapacity > 0 {
            t.pointee.winTime.append(repeating: 0, count: Int(info.windowCapacity))
            t.pointee.winValue.append(repeating: 0, count: Int(info.windowCapacity))
        }
        t.pointee.machines.append(Machine(rule: Int32(ri), slot: s, device: d, phase: .normal, since: 0,
                                          lastRaise: -.infinity, lastRaise2: -.infinity, constBase: constBase,
                                          refBase: refBase, winBase: winBase, winHead: 0, winCount: 0, raisedValue: .nan))
        machineBinding.append(binding)
        computeConstants(Int(m))
        return m
    }

    private func computeConstants(_ m: Int) {
        let machine = t.pointee.machines[m]
        let rule = rules.rules[Int(machine.rule)]
        let context = deviceContexts[Int(machine.device)]
        let binding = machineBinding[m]
        for (k, program) in rule.program.deviceConstants.enumerated() {
            RuleInterpreter.evaluateConstant(program, stack: &scratch, setpoint: { index, fallback in
                Self.setpoint(rule.program.setpointKeys[index], binding: binding, in: context) ?? fallback
            }, cable: { fallback in context.cable?.ratedTemperatureCelsius ?? fallback })
            t.pointee.constants[Int(machine.constBase) + k] = scratch.last ?? .nan
        }
    }

    /// `residual_current` for loop 2 looks up `residual_current.2`, then `residual_current`;
    /// `x.*` looks up `x.2` only.
    static func setpoint(_ key: String, binding: String, in context: DeviceContext) -> Double? {
        if key.contains("*") { return context.setpoints[ChannelPattern.resolve(key, channel: "", binding: binding)] }
        if !binding.isEmpty, let v = context.setpoints[key + "." + binding] { return v }
        return context.setpoints[key]
    }

    // MARK: - readings

    /// Feeds one reading. `monotonic` drives delays; `reading.time` (wall) labels events.
    /// Looks the (device, channel) slot up by name; the slot API below skips that.
    public func process(_ reading: Reading, monotonic: Double, into events: inout [EngineEvent]) {
        let s = cachedSlot(device: reading.device, channel: reading.channel.name)
        switch reading.value {
        case .number(let v): run(s, number: v, state: .nan, monotonic: monotonic, wall: reading.time, into: &events)
        case .state(let st): run(s, number: .nan, state: Double(st.code), monotonic: monotonic, wall: reading.time, into: &events)
        case .invalid: run(s, number: .nan, state: .nan, monotonic: monotonic, wall: reading.time, into: &events)
        }
    }

    /// Fast path: a number for an interned slot.
    public func process(slot: EngineSlot, number: Double, monotonic: Double, wall: Double, into events: inout [EngineEvent]) {
        run(slot.index, number: number, state: .nan, monotonic: monotonic, wall: wall, into: &events)
    }

    /// Fast path: a detector state for an interned `state.*` slot.
    public func process(slot: EngineSlot, state: DetectorState, monotonic: Double, wall: Double, into events: inout [EngineEvent]) {
        run(slot.index, number: .nan, state: Double(state.code), monotonic: monotonic, wall: wall, into: &events)
    }

    /// `number` NaN and `state` NaN together mean an invalid value: it counts as data but decides nothing.
    private func run(_ s: Int32, number: Double, state: Double, monotonic now: Double, wall: Double, into events: inout [EngineEvent]) {
        let si = Int(s)
        if !t.pointee.slots[si].created { createMachines(s) }
        let slot = t.pointee.slots[si]
        let d = Int(slot.device)
        // A failed poll reports device.online = 0: that is not data from the device.
        if !(slot.isOnline && number == 0) { t.pointee.devices[d].lastData = now }
        let invalid = number.isNaN && state.isNaN
        if !invalid {
            if state.isNaN { t.pointee.slots[si].number = number } else { t.pointee.slots[si].state = state }
        }
        if !invalid {
            var m = Int(slot.firstMachine)
            let end = m + Int(slot.machineCount)
            while m < end {
                if t.pointee.rules[Int(t.pointee.machines[m].rule)].windowCapacity > 0, state.isNaN { push(m, now, number) }
                step(m, now: now, wall: wall, timerOnly: false, into: &events)
                m += 1
            }
        }
        let device = t.pointee.devices[d]
        var k = Int(device.firstMachine)
        let kEnd = k + Int(device.machineCount)
        while k < kEnd {
            let m = Int(t.pointee.deviceMachines[k])
            if t.pointee.machines[m].phase != .normal { step(m, now: now, wall: wall, timerOnly: false, into: &events) }
            k += 1
        }
    }

    /// Runs timers: on-delays and off-delays that have run out, silence (comm loss) and device rules.
    /// Call it regularly (the edge: every second; replay: every virtual second).
    public func advance(monotonic now: Double, wall: Double, into events: inout [EngineEvent]) {
        for d in 0..<t.pointee.devices.count where t.pointee.devices[d].lastData.isNaN {
            // The silence clock of a device starts when the engine first hears of it.
            t.pointee.devices[d].lastData = now
        }
        for m in 0..<t.pointee.machines.count {
            let info = t.pointee.rules[Int(t.pointee.machines[m].rule)]
            step(m, now: now, wall: wall, timerOnly: !(info.usesSilence || info.isDevice), into: &events)
        }
    }

    /// Counts as data from `device` now without a reading; replay uses it so that the end of a
    /// recording is not taken for every device falling silent at once.
    func markAlive(device: String, monotonic now: Double) {
        guard let d = deviceIndex[device] else { return }
        t.pointee.devices[Int(d)].lastData = now
    }

    /// Resets latched alarms of a device (all of them, or those of one rule): each clears; if its
    /// condition still holds it raises again after its on-delay.
    public func reset(device: String, rule: String?, monotonic now: Double, wall: Double, into events: inout [EngineEvent]) {
        guard let d = deviceIndex[device] else { return }
        for m in 0..<t.pointee.machines.count where t.pointee.machines[m].device == d {
            let machine = t.pointee.machines[m]
            let r = rules.rules[Int(machine.rule)]
            guard r.latch, rule == nil || r.name == rule, machine.phase == .active || machine.phase == .clearing else { continue }
            t.pointee.machines[m].phase = .normal
            events.append(makeEvent(m, .clear, wall: wall, chattering: false))
        }
    }

    // MARK: - the state machine

    @inline(__always)
    private func step(_ m: Int, now: Double, wall: Double, timerOnly: Bool, into events: inout [EngineEvent]) {
        let machine = t.pointee.machines[m]
        let info = t.pointee.rules[Int(machine.rule)]
        switch machine.phase {
        case .normal:
            if timerOnly { return }
            if evaluate(info.raiseStart, info.raiseCount, m, now) {
                if info.onDelay <= 0 {
                    raise(m, now: now, wall: wall, into: &events)
                } else {
                    t.pointee.machines[m].phase = .pending
                    t.pointee.machines[m].since = now
                }
            }
        case .pending:
            if !timerOnly && !evaluate(info.raiseStart, info.raiseCount, m, now) {
                t.pointee.machines[m].phase = .normal
            } else if now - machine.since >= info.onDelay {
                raise(m, now: now, wall: wall, into: &events)
            }
        case .active:
            if timerOnly || info.latch { return }
            if clearHolds(info, m, now) {
                if info.offDelay <= 0 {
                    clear(m, wall: wall, into: &events)
                } else {
                    t.pointee.machines[m].phase = .clearing
                    t.pointee.machines[m].since = now
                }
            }
        case .clearing:
            if !timerOnly && !clearHolds(info, m, now) {
                t.pointee.machines[m].phase = .active
            } else if now - machine.since >= info.offDelay {
                clear(m, wall: wall, into: &events)
            }
        }
    }

    @inline(__always)
    private func clearHolds(_ info: RuleInfo, _ m: Int, _ now: Double) -> Bool {
        info.clearCount < 0 ? !evaluate(info.raiseStart, info.raiseCount, m, now) : evaluate(info.clearStart, info.clearCount, m, now)
    }

    private func raise(_ m: Int, now: Double, wall: Double, into events: inout [EngineEvent]) {
        let machine = t.pointee.machines[m]
        let chattering = now - machine.lastRaise2 <= 60
        t.pointee.machines[m].lastRaise2 = machine.lastRaise
        t.pointee.machines[m].lastRaise = now
        t.pointee.machines[m].phase = .active
        if machine.slot >= 0 { t.pointee.machines[m].raisedValue = t.pointee.slots[Int(machine.slot)].number }
        events.append(makeEvent(m, .raise, wall: wall, chattering: chattering))
    }

    private func clear(_ m: Int, wall: Double, into events: inout [EngineEvent]) {
        t.pointee.machines[m].phase = .normal
        events.append(makeEvent(m, .clear, wall: wall, chattering: false))
    }

    private func makeEvent(_ m: Int, _ transition: AlarmEvent.Transition, wall: Double, chattering: Bool) -> EngineEvent {
        let machine = t.pointee.machines[m]
        let rule = rules.rules[Int(machine.rule)]
        let device = deviceContexts[Int(machine.device)].id
        var channel = ""
        var value: Double?
        var state: DetectorState?
        if machine.slot >= 0 {
            let slot = t.pointee.slots[Int(machine.slot)]
            channel = slotChannel[Int(machine.slot)]
            if !slot.number.isNaN, !rule.patterns.contains(where: \.isState) { value = slot.number }
            state = slot.state >= 0 ? DetectorState(code: Int(slot.state)) : nil
        }
        var setpoint: Double?
        if let k = rule.program.setpointConstant { setpoint = t.pointee.constants[Int(machine.constBase) + k] }
        let titleValue = transition == .clear && !machine.raisedValue.isNaN ? machine.raisedValue : value
        let title = rule.title.render(.init(
            device: device, channel: channel, value: titleValue, setpoint: setpoint,
            unit: channel.isEmpty ? "" : Channel(unchecked: channel).unit.rawValue, state: state, rule: rule.name))
        return EngineEvent(device: device, channel: channel.isEmpty ? Self.deviceChannel : channel, rule: rule.name,
                           signal: rule.signal, transition: transition,
                           value: value, time: wall,
                           hazard: HazardSpec(category: rule.category, kind: rule.kind, severity: rule.severity, title: title),
                           announced: t.pointee.devices[Int(machine.device)].announced, chattering: chattering)
    }

    // MARK: - windows

    @inline(__always)
    private func push(_ m: Int, _ now: Double, _ value: Double) {
        let machine = t.pointee.machines[m]
        let cap = t.pointee.rules[Int(machine.rule)].windowCapacity
        let i = Int(machine.winBase + machine.winHead)
        t.pointee.winTime[i] = now
        t.pointee.winValue[i] = value
        t.pointee.machines[m].winHead = (machine.winHead + 1) % cap
        if machine.winCount < cap { t.pointee.machines[m].winCount = machine.winCount + 1 }
    }

    /// Aggregates the samples taken in (now − duration, now], newest first.
    @inline(__always)
    private func window(_ op: RuleInstruction.Op, _ m: Int, _ now: Double, _ duration: Double) -> Double {
        let machine = t.pointee.machines[m]
        let cap = t.pointee.rules[Int(machine.rule)].windowCapacity
        var sum = 0.0, lo = Double.infinity, hi = -Double.infinity, n = 0
        var newestTime = 0.0, newestValue = 0.0, oldestTime = 0.0, oldestValue = 0.0
        var k: Int32 = 0
        while k < machine.winCount {
            let i = Int(machine.winBase + (machine.winHead - 1 - k + cap) % cap)
            let time = t.pointee.winTime[i]
            if time <= now - duration { break }
            let v = t.pointee.winValue[i]
            if n == 0 { newestTime = time; newestValue = v }
            oldestTime = time
            oldestValue = v
            sum += v
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
            n += 1
            k += 1
        }
        if n == 0 { return .nan }
        switch op {
        case .avg: return sum / Double(n)
        case .max: return hi
        case .min: return lo
        default: return newestTime > oldestTime ? (newestValue - oldestValue) / (newestTime - oldestTime) * 60 : 0
        }
    }

    // MARK: - the interpreter

    @inline(__always)
    private func evaluate(_ start: Int32, _ count: Int32, _ m: Int, _ now: Double) -> Bool {
        let machine = t.pointee.machines[m]
        var sp = 0
        var pc = Int(start)
        let end = pc + Int(count)
        while pc < end {
            let i = t.pointee.code[pc]
            pc += 1
            var v: Double
            switch i.op {
            case .constant: v = i.imm
            case .deviceConstant: v = t.pointee.constants[Int(machine.constBase + i.a)]
            case .value: v = machine.slot >= 0 ? t.pointee.slots[Int(machine.slot)].number : .nan
            case .ownState: v = machine.slot >= 0 ? t.pointee.slots[Int(machine.slot)].state : -1
            case .ref: v = t.pointee.slots[Int(t.pointee.refSlots[Int(machine.refBase + i.a)])].number
            case .refState: v = t.pointee.slots[Int(t.pointee.refSlots[Int(machine.refBase + i.a)])].state
            case .silence:
                let last = t.pointee.devices[Int(machine.device)].lastData
                v = last.isNaN ? 0 : now - last
            case .avg, .max, .min, .rise: v = window(i.op, m, now, i.imm)
            case .abs, .negate, .not:
                t.pointee.stack[sp - 1] = RuleInterpreter.apply(i.op, t.pointee.stack[sp - 1])
                continue
            case .setpoint, .cableRated:
                continue
            default:
                sp -= 1
                t.pointee.stack[sp - 1] = RuleInterpreter.apply(i.op, t.pointee.stack[sp - 1], t.pointee.stack[sp])
                continue
            }
            t.pointee.stack[sp] = v
            sp += 1
        }
        return sp > 0 && t.pointee.stack[sp - 1] != 0 && !t.pointee.stack[sp - 1].isNaN
    }

    // MARK: - persistence

    /// The state to persist for a restart (see `EngineSnapshot`).
    public func snapshot(monotonic now: Double) -> EngineSnapshot {
        var snap = EngineSnapshot()
        for (d, record) in t.pointee.devices.enumerated() {
            snap.devices.append(.init(device: deviceContexts[d].id, silence: record.lastData.isNaN ? nil : now - record.lastData))
        }
        // Latest values only where they matter before the next poll refreshes them: channels with a
        // raised, pending or clearing machine, and detector states that are not normal. This keeps the
        // snapshot small (the edge saves it every few seconds).
        var busy = Set<Int32>()
        for machine in t.pointee.machines where machine.phase != .normal && machine.slot >= 0 { busy.insert(machine.slot) }
        let normalCode = Double(DetectorState.normal.code)
        for (s, slot) in t.pointee.slots.enumerated()
        where busy.contains(Int32(s)) || (slot.state >= 0 && slot.state != normalCode) {
            snap.channels.append(.init(device: deviceContexts[Int(slot.device)].id, channel: slotChannel[s],
                                       number: slot.number.isNaN ? nil : slot.number,
                                       state: slot.state >= 0 ? DetectorState(code: Int(slot.state)) : nil))
        }
        for machine in t.pointee.machines {
            let recentRaise = now - machine.lastRaise <= 60
            guard machine.phase != .normal || recentRaise || machine.winCount > 0 else { continue }
            let cap = t.pointee.rules[Int(machine.rule)].windowCapacity
            var window: [[Double]] = []
            for k in stride(from: machine.winCount - 1, through: 0, by: -1) {
                let i = Int(machine.winBase + (machine.winHead - 1 - k + cap) % cap)
                window.append([now - t.pointee.winTime[i], t.pointee.winValue[i]])
            }
            let phase: String = switch machine.phase {
            case .normal: "normal"
            case .pending: "pending"
            case .active: "active"
            case .clearing: "clearing"
            }
            snap.machines.append(.init(
                device: deviceContexts[Int(machine.device)].id, channel: machine.slot >= 0 ? slotChannel[Int(machine.slot)] : Self.deviceChannel,
                rule: rules.rules[Int(machine.rule)].name, phase: phase,
                elapsed: machine.phase == .pending || machine.phase == .clearing ? now - machine.since : 0,
                raiseAges: [machine.lastRaise, machine.lastRaise2].filter(\.isFinite).map { now - $0 }, window: window,
                raisedValue: machine.raisedValue.isNaN ? nil : machine.raisedValue))
        }
        return snap
    }

    /// Restores a snapshot at a new monotonic time: active alarms stay active without a new raise,
    /// pending timers continue with the time they had already run. Rules no longer in the set are skipped.
    public func restore(_ snapshot: EngineSnapshot, monotonic now: Double) {
        for dev in snapshot.devices {
            let d = Int(deviceSlot(dev.device))
            t.pointee.devices[d].lastData = dev.silence.map { now - $0 } ?? .nan
        }
        for ch in snapshot.channels {
            guard Channel.isValid(ch.channel) else { continue }
            let s = Int(slotFor(device: ch.device, channel: ch.channel))
            if !t.pointee.slots[s].created { createMachines(Int32(s)) }
            t.pointee.slots[s].number = ch.number ?? .nan
            t.pointee.slots[s].state = ch.state.map { Double($0.code) } ?? -1
        }
        for ms in snapshot.machines {
            let candidates: [Int]
            if ms.channel.isEmpty {
                let d = t.pointee.devices[Int(deviceSlot(ms.device))]
                candidates = (0..<Int(d.machineCount)).map { Int(t.pointee.deviceMachines[Int(d.firstMachine) + $0]) }
            } else {
                guard Channel.isValid(ms.channel) else { continue }
                let s = slotFor(device: ms.device, channel: ms.channel)
                if !t.pointee.slots[Int(s)].created { createMachines(s) }
                let slot = t.pointee.slots[Int(s)]
                candidates = (0..<Int(slot.machineCount)).map { Int(slot.firstMachine) + $0 }
            }
            guard let m = candidates.first(where: { rules.rules[Int(t.pointee.machines[$0].rule)].name == ms.rule }) else { continue }
            let phase: Phase = switch ms.phase {
            case "pending": .pending
            case "active": .active
            case "clearing": .clearing
            default: .normal
            }
            t.pointee.machines[m].phase = phase
            t.pointee.machines[m].since = now - ms.elapsed
            t.pointee.machines[m].lastRaise = ms.raiseAges.first.map { now - $0 } ?? -.infinity
            t.pointee.machines[m].lastRaise2 = ms.raiseAges.dropFirst().first.map { now - $0 } ?? -.infinity
            t.pointee.machines[m].raisedValue = ms.raisedValue ?? .nan
            t.pointee.machines[m].winHead = 0
            t.pointee.machines[m].winCount = 0
            for sample in ms.window where sample.count == 2 {
                push(m, now - sample[0], sample[1])
            }
        }
    }
}

/// One consumer owns an engine: its tables are unsynchronised.
@available(*, unavailable)
extension RuleEngine: Sendable {}
