import Foundation
import FireWatchCore

/// Where a technician's probe or scan talks to: a TCP endpoint or a serial line.
public enum ModbusTarget: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case rtu(SerialBusConfig)

    public var description: String {
        switch self {
        case .tcp(let h, let p): "tcp \(h):\(p)"
        case .rtu(let c): "rtu \(c.path) \(c.baud) \(c.dataBits)\(c.parity)\(c.stopBits)"
        }
    }

    func makeContext() throws(ModbusError) -> ModbusContext {
        switch self {
        case .tcp(let h, let p): try ModbusContext.tcp(host: h, port: p)
        case .rtu(let c): try c.makeContext()
        }
    }
}

/// A failed probe: what failed, at which unit and register block.
public struct ModbusProbeError: Error, Sendable, CustomStringConvertible {
    public var target: ModbusTarget
    public var unit: Int
    public var block: ReadBlock?
    public var error: ModbusError

    public var description: String {
        var s = "\(target) unit \(unit): \(error)"
        if let block { s += " reading \(block)" }
        switch error {
        case .timeout: s += " (check wiring, unit id, baud rate and parity)"
        case .exception(2): s += " (the device has no such register: is this the right profile?)"
        case .connection: s += " (check the address, port or serial device path)"
        default: break
        }
        return s
    }
}

/// A unit that answered a scan.
public struct ModbusScanHit: Sendable, Equatable {
    public var unit: Int
    /// Profile ids whose identity registers match (empty when none could be verified).
    public var profiles: [String]
    /// How it answered: "identity", "exception N", "answered".
    public var note: String
}

/// The technician commands' logic: `device probe` and `device scan`, as library calls.
public enum ModbusProbe {
    /// One read of every channel and set value of a device → the `ProbeResult` that `device probe` prints.
    public static func probe(profile: ModbusProfile, target: ModbusTarget, unit: Int,
                             responseTimeout: Double? = nil, time: Date = Date()) throws(ModbusProbeError) -> ProbeResult {
        func fail(_ e: ModbusError, _ block: ReadBlock? = nil) -> ModbusProbeError {
            ModbusProbeError(target: target, unit: unit, block: block, error: e)
        }
        let ctx: ModbusContext
        do {
            ctx = try target.makeContext()
            try ctx.connect()
            try ctx.setUnit(unit)
        } catch { throw fail(error) }
        ctx.setTimeouts(response: responseTimeout ?? profile.timing.responseTimeout, byte: profile.timing.byteTimeout)
        var image = RegisterImage()
        for block in profile.readPlan(scope: [.readings, .setpoints]) {
            if ctx.isRTU { ctx.flush() }
            do { image.store(block, values: try ctx.read(block)) } catch { throw fail(error, block) }
            if profile.timing.turnaround > 0 { Thread.sleep(forTimeInterval: profile.timing.turnaround) }
        }
        let readings = profile.decode(image, device: "probe", time: time.timeIntervalSince1970)
        let setpoints = profile.decodeSetpoints(image)
        let formatter = ISO8601DateFormatter()
        return ProbeResult(profile: profile.id, unit: unit, channels: ProbeResult.channels(from: readings),
                           setpoints: setpoints.isEmpty ? nil : Dictionary(uniqueKeysWithValues: setpoints.map { ($0.key.name, $0.value) }),
                           time: formatter.string(from: time))
    }

    /// Asks every unit in `units` whether it is there and which profile it matches by identity
    /// registers. Any answer, exceptions included, means a device is present. `progress` is called
    /// after each unit with (unit, hits so far).
    public static func scan(target: ModbusTarget, units: ClosedRange<Int>, profiles: [ModbusProfile],
                            responseTimeout: Double = 0.3,
                            progress: (Int, [ModbusScanHit]) -> Void = { _, _ in }) throws(ModbusProbeError) -> [ModbusScanHit] {
        let ctx: ModbusContext
        do {
            ctx = try target.makeContext()
            try ctx.connect()
        } catch { throw ModbusProbeError(target: target, unit: units.lowerBound, block: nil, error: error) }
        ctx.setTimeouts(response: responseTimeout, byte: min(responseTimeout, 0.5))
        let candidates = profiles.filter { !$0.identity.isEmpty }
        var hits: [ModbusScanHit] = []
        for unit in units {
            do throws(ModbusError) {
                try ctx.setUnit(unit)
                var answered: String?
                var matched: [String] = []
                for p in candidates {
                    var image = RegisterImage()
                    var complete = true
                    for block in p.readPlan(scope: .identity) {
                        if ctx.isRTU { ctx.flush() }
                        do {
                            image.store(block, values: try ctx.read(block))
                            answered = answered ?? "answered"
                        } catch .exception(let code) {
                            answered = answered ?? "exception \(code)"
                            complete = false
                        } catch .badResponse(let why) {
                            answered = answered ?? "garbled answer (\(why))"
                            complete = false
                        }
                    }
                    if complete, p.matchesIdentity(image) { matched.append(p.id) }
                }
                if candidates.isEmpty {
                    if ctx.isRTU { ctx.flush() }
                    do {
                        _ = try ctx.read(ReadBlock(table: .holding, start: 0, count: 1))
                        answered = "answered"
                    } catch .exception(let code) { answered = "exception \(code)" }
                }
                if let answered, !(answered == "exception 11" && !ctx.isRTU && matched.isEmpty) {
                    hits.append(ModbusScanHit(unit: unit, profiles: matched, note: matched.isEmpty ? answered : "identity"))
                }
            } catch .timeout {
                // nobody there
            } catch {
                if error.needsReconnect {
                    ctx.close()
                    do { try ctx.connect() } catch { throw ModbusProbeError(target: target, unit: unit, block: nil, error: error) }
                }
            }
            progress(unit, hits)
        }
        return hits
    }
}
