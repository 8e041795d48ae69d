import Foundation
import Testing
import Synchronization
import FireWatchCore
import FireWatchModbus

/// Every type and word order, one channel each, as pymodbus packs them (Python struct, big-endian ABCD).
private func makeTypeCases() -> [(channel: String, entry: [String: Any], expected: Double)] {
    var out: [(String, [String: Any], Double)] = []
    var address = 0, n = 1
    for order in ["ABCD", "CDAB", "BADC", "DCBA"] {
        for (type, value) in [("f32", -1234.5), ("u32", 3_000_000_123.0), ("i32", -123_456.0)] {
            out.append(("current.\(n)", ["address": address, "type": type, "order": order, "value": value], value))
            address += 2
            n += 1
        }
    }
    out.append(("current.\(n)", ["address": address, "type": "u16", "value": 65000.0], 65000))
    out.append(("current.\(n + 1)", ["address": address + 1, "type": "i16", "value": -321.0], -321))
    return out
}

/// The same channels as a generic profile string (a technician's profile, no file).
private func makeTypeProfile() -> String {
    var parts: [String] = []
    for c in makeTypeCases() {
        let e = c.entry
        parts.append("\(c.channel)=\(e["address"]!)/\(e["type"]!)/\(e["order"] as? String ?? "ABCD")")
    }
    return "generic:" + parts.joined(separator: ";")
}

/// The AIM-R100 map of domain.md §4 with known values, and what it decodes to.
private func aimHolding() -> [[String: Any]] { [
    ["address": 0x0000, "words": [1]],
    ["address": 0x000B, "words": [0x1000 | 0b10_11_00_01, 0b11 << 14 | 0b10]],
    ["address": 0x004A, "words": (0..<12).map { $0 == 5 ? 0xFAFA : 100 + $0 * 10 }],
    ["address": 0x0056, "words": Array(repeating: 300, count: 12)],
] }

private func check(_ sink: CollectingSink, _ device: String, _ channel: String, _ expected: Reading.Value) {
    #expect(sink.latest(device, channel) == expected, "\(device) \(channel)")
}

@Suite("Modbus against pymodbus over TCP and RTU", .serialized)
struct ModbusPeerTests {
    enum Link: String, CaseIterable { case tcp, rtu }

    /// Starts pymodbus with `spec` on the given link; returns the transport to reach unit `unit`, the bus and a stopper.
    func serve(_ spec: [String: Any], link: Link, dir: URL, relayArgs: [String]? = nil)
        throws -> (transport: (Int) -> Transport, buses: [SerialBusConfig], stop: () -> Void) {
        switch link {
        case .tcp:
            let port = TestSupport.freePort()
            let peer = try ModbusPeers.pymodbus(spec: spec, tcpPort: port, in: dir)
            return ({ .modbusTCP(host: "127.0.0.1", port: port, unit: $0) }, [], { peer.stop() })
        case .rtu:
            if let relayArgs {
                let master = try ModbusPeers.ptyPair(in: dir, "m"), slave = try ModbusPeers.ptyPair(in: dir, "s")
                let relay = try ModbusPeers.relay(masterSide: master.b, slaveSide: slave.a, extra: relayArgs, in: dir)
                let peer = try ModbusPeers.pymodbus(spec: spec, rtu: slave.b, in: dir)
                return ({ .modbusRTU(bus: "line1", unit: $0) }, [SerialBusConfig(name: "line1", path: master.a)],
                        { peer.stop(); relay.stop(); master.stop(); slave.stop() })
            }
            let pair = try ModbusPeers.ptyPair(in: dir, "p")
            let peer = try ModbusPeers.pymodbus(spec: spec, rtu: pair.b, in: dir)
            return ({ .modbusRTU(bus: "line1", unit: $0) }, [SerialBusConfig(name: "line1", path: pair.a)],
                    { peer.stop(); pair.stop() })
        }
    }

    @Test("decodes every type and word order and the three real profiles", arguments: Link.allCases)
    func decodes(link: Link) throws {
        let dir = TestSupport.temporaryDirectory("mb-decode")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r4tHolding: [[String: Any]] = [
            ["address": 0x0000, "words": [0x1388, 850, 1100, 0, 600, 2213, 2200, 2190, 32, 41, 0]],
            ["address": 0x0010, "words": [1, 0, 4, 5, 0, 0, 0, 0, 10, 0, 0]],
            ["address": 0x0020, "words": [3000, 1100, 1100, 1100, 1100]],
            ["address": 0x0040, "words": [0x1304]],
        ]
        let asjHolding: [[String: Any]] = [["address": 0x0000, "words": [275]], ["address": 0x0008, "words": [300, 200]],
                                           ["address": 0x001B, "words": [0b010]]]
        let typeCases = makeTypeCases()
        let spec: [String: Any] = ["units": [
            "1": ["holding": typeCases.map(\.entry)],
            "2": ["holding": aimHolding()],
            "3": ["holding": asjHolding],
            "4": ["holding": r4tHolding],
        ]]
        let (transport, buses, stop) = try serve(spec, link: link, dir: dir)
        defer { stop() }
        let sink = CollectingSink()
        let devices = [
            PolledDevice(id: "types", profile: try ModbusProfile.generic(parameters: makeTypeProfile()), transport: transport(1), period: 0.5),
            PolledDevice(id: "aim", profile: try ModbusFixtures.profile("acrel-aim-r100"), transport: transport(2), period: 0.5),
            PolledDevice(id: "asj", profile: try ModbusFixtures.profile("acrel-asj"), transport: transport(3), period: 0.5),
            PolledDevice(id: "r4t", profile: try ModbusFixtures.profile("generic-1r4t"), transport: transport(4), period: 0.5),
        ]
        let poller = try ModbusPoller(devices: devices, buses: buses, sink: sink, monitor: sink)
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 30) { devices.allSatisfy { !sink.onlineTimes($0.id).isEmpty } }, "\(poller.counters())")

        for c in typeCases {
            guard case .number(let v)? = sink.latest("types", c.channel) else {
                Issue.record("no value for \(c.channel) \(c.entry)")
                continue
            }
            #expect(abs(v - c.expected) < 1e-6 * max(1, abs(c.expected)), "\(c.channel) \(c.entry)")
        }
        // Loop 1 reports a CT short: its value is not a measurement.
        check(sink, "aim", "residual_current.1", .invalid)
        check(sink, "aim", "residual_current.2", .number(110))
        check(sink, "aim", "residual_current.12", .number(210))
        check(sink, "aim", "residual_current.6", .invalid)
        check(sink, "aim", "state.residual_current.1", .state(.faultShort))
        check(sink, "aim", "state.residual_current.3", .state(.overload))
        check(sink, "aim", "state.residual_current.4", .state(.ctBreak))
        check(sink, "aim", "state.residual_current.5", .state(.ctBreak))
        check(sink, "aim", "state.residual_current.6", .state(.ctBreak))
        check(sink, "aim", "state.residual_current.12", .state(.overload))
        check(sink, "asj", "residual_current.1", .number(275))
        check(sink, "asj", "state.residual_current.1", .state(.alarm))
        check(sink, "r4t", "residual_current.1", .number(500))
        check(sink, "r4t", "temperature.1", .number(35))
        check(sink, "r4t", "temperature.2", .number(60))
        check(sink, "r4t", "temperature.3", .invalid)
        check(sink, "r4t", "temperature.4", .number(10))
        check(sink, "r4t", "voltage.a", .number(221.3))
        check(sink, "r4t", "current.b", .number(4.1))
        check(sink, "r4t", "state.residual_current.1", .state(.alarm))
        check(sink, "r4t", "state.temperature.2", .state(.alarm))
        check(sink, "r4t", "state.temperature.3", .state(.faultOpen))
        check(sink, "r4t", "state.current.a", .state(.overload))
        #expect(poller.counters().values.allSatisfy { $0.failures == 0 && $0.exceptions == 0 })
    }

    @Test("exception responses are counted and logged with device and register, not comm loss", arguments: Link.allCases)
    func exceptions(link: Link) throws {
        let dir = TestSupport.temporaryDirectory("mb-exc")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Unit 1 answers "busy" at 0x0010 and has only 64 registers (0x0040 is an illegal address).
        let spec: [String: Any] = ["units": ["1": ["holding": [["address": 0, "words": [0x0FA0]]], "size": 64]],
                                   "busy": ["1": [0x10]]]
        let (transport, buses, stop) = try serve(spec, link: link, dir: dir)
        defer { stop() }
        let profile = try ModbusProfile.generic(parameters:
            "generic:residual_current.1=0x0000*0.1;temperature.1=0x0010;temperature.2=0x0050;gap=0")
        let sink = CollectingSink()
        let logs = LogLines()
        let poller = try ModbusPoller(devices: [PolledDevice(id: "x", profile: profile, transport: transport(1), period: 0.3)],
                                      buses: buses, sink: sink, monitor: sink, log: logs.append)
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 20) { sink.onlineTimes("x").count >= 3 })
        let c = try #require(poller.counters()["x"])
        #expect(c.exceptions >= 6)
        #expect(c.failures == 0)
        check(sink, "x", "residual_current.1", .number(400))
        #expect(sink.latest("x", "temperature.1") == nil)
        #expect(sink.allProblems.contains { $0.0 == "x" && $0.1 == .exception(code: 6, register: 0x10) })
        #expect(sink.allProblems.contains { $0.0 == "x" && $0.1 == .exception(code: 2, register: 0x50) })
        #expect(logs.lines.contains { $0.contains("x") && $0.contains("exception 6") && $0.contains("0x0010") })
    }

    @Test("a dead slave is backed off and the two live slaves on its bus keep their period")
    func deadSlave() throws {
        let dir = TestSupport.temporaryDirectory("mb-dead")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec: [String: Any] = ["units": ["1": ["holding": [["address": 0, "words": [1000]]]],
                                             "3": ["holding": [["address": 0, "words": [3000]]]]]]
        let (transport, buses, stop) = try serve(spec, link: .rtu, dir: dir)
        defer { stop() }
        let profile = try ModbusProfile.generic(parameters: "generic:residual_current.1=0x0000*0.1")
        let sink = CollectingSink()
        let devices = [1, 2, 3].map {
            PolledDevice(id: "u\($0)", profile: profile, transport: transport($0), period: 0.5, responseTimeout: 0.4, byteTimeout: 0.1)
        }
        let poller = try ModbusPoller(devices: devices, buses: buses, sink: sink, monitor: sink,
                                      options: .init(maxBackoff: 4))
        poller.start()
        defer { poller.stop() }
        let window = 12.0
        Thread.sleep(forTimeInterval: window)
        let c = poller.counters()
        let dead = try #require(c["u2"]), live1 = try #require(c["u1"]), live3 = try #require(c["u3"])
        // Backoff 0.5, 1, 2, 4, 4, ... s: at most 7 attempts in 12 s, where no backoff would be 24.
        #expect(dead.timeouts >= 3 && dead.timeouts <= 7, "\(dead)")
        #expect(dead.successes == 0)
        // Live slaves: ideally 24 polls each; allow for a loaded machine but far above a stalled bus.
        #expect(live1.successes >= 15, "\(live1)")
        #expect(live3.successes >= 15, "\(live3)")
        #expect(live1.failures == 0 && live3.failures == 0)
        #expect(sink.latest("u2", "device.online") == .number(0))
        check(sink, "u1", "residual_current.1", .number(100))
        check(sink, "u3", "residual_current.1", .number(300))
    }

    @Test("a slave answering late never puts its answer against another request")
    func lateSlave() throws {
        let dir = TestSupport.temporaryDirectory("mb-late")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The relay holds back unit 2's answers by 0.6 s, past the 0.3 s timeout: they reach the master
        // while it waits for unit 1, with unit 2's own address, as on a real RS-485 line.
        let spec: [String: Any] = ["units": ["1": ["holding": [["address": 0, "words": [1111]]]],
                                             "2": ["holding": [["address": 0, "words": [2222]]]]]]
        let (transport, buses, stop) = try serve(spec, link: .rtu, dir: dir, relayArgs: ["--delay-unit", "2:0.6", "--no-pacing"])
        defer { stop() }
        let profile = try ModbusProfile.generic(parameters: "generic:residual_current.1=0x0000")
        let sink = CollectingSink()
        let devices = [1, 2].map {
            PolledDevice(id: "u\($0)", profile: profile, transport: transport($0), period: 0.4, responseTimeout: 0.3, byteTimeout: 0.1)
        }
        let poller = try ModbusPoller(devices: devices, buses: buses, sink: sink, monitor: sink, options: .init(maxBackoff: 1))
        poller.start()
        defer { poller.stop() }
        Thread.sleep(forTimeInterval: 8)
        let u1 = sink.values("u1", "residual_current.1"), u2 = sink.values("u2", "residual_current.1")
        // The late answer lands while u1 is being asked: those u1 polls fail (wrong slave), the rest succeed.
        #expect(u1.count >= 3)
        #expect(u1.allSatisfy { $0 == .number(1111) }, "\(u1)")
        #expect(u2.allSatisfy { $0 == .number(2222) }, "\(u2)")
        #expect((poller.counters()["u2"]?.timeouts ?? 0) >= 2)
    }

    @Test("garbage bytes and bad CRC on the line: counted, never decoded, the bus recovers")
    func garbage() throws {
        let dir = TestSupport.temporaryDirectory("mb-garbage")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec: [String: Any] = ["units": ["1": ["holding": [["address": 0, "words": [1234, 4321]]]],
                                             "2": ["holding": [["address": 0, "words": [5678, 8765]]]]]]
        let (transport, buses, stop) = try serve(spec, link: .rtu, dir: dir,
                                                 relayArgs: ["--corrupt-every", "3", "--garbage-every", "5", "--no-pacing"])
        defer { stop() }
        let profile = try ModbusProfile.generic(parameters: "generic:residual_current.1=0x0000;residual_current.2=0x0001")
        let sink = CollectingSink()
        let devices = [1, 2].map {
            PolledDevice(id: "u\($0)", profile: profile, transport: transport($0), period: 0.2, responseTimeout: 0.3, byteTimeout: 0.05)
        }
        let poller = try ModbusPoller(devices: devices, buses: buses, sink: sink, monitor: sink)
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 30) { sink.onlineTimes("u1").count >= 10 && sink.onlineTimes("u2").count >= 10 })
        poller.stop()
        let c = poller.counters()
        #expect((c["u1"]!.badResponses + c["u2"]!.badResponses + c["u1"]!.timeouts + c["u2"]!.timeouts) >= 3, "\(c)")
        #expect(sink.values("u1", "residual_current.1").allSatisfy { $0 == .number(1234) })
        #expect(sink.values("u1", "residual_current.2").allSatisfy { $0 == .number(4321) })
        #expect(sink.values("u2", "residual_current.1").allSatisfy { $0 == .number(5678) })
        #expect(sink.values("u2", "residual_current.2").allSatisfy { $0 == .number(8765) })
    }

    @Test("probe reads every channel and set value; scan finds units and names profiles by identity")
    func probeAndScan() throws {
        let dir = TestSupport.temporaryDirectory("mb-probe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec: [String: Any] = ["units": ["2": ["holding": aimHolding()], "5": ["holding": [["address": 0, "words": [7]]]]]]
        let pair = try ModbusPeers.ptyPair(in: dir, "p")
        let peer = try ModbusPeers.pymodbus(spec: spec, rtu: pair.b, in: dir)
        defer { peer.stop(); pair.stop() }
        let aim = try ModbusFixtures.profile("acrel-aim-r100")
        let target = ModbusTarget.rtu(SerialBusConfig(name: "probe", path: pair.a))
        let result = try ModbusProbe.probe(profile: aim, target: target, unit: 2)
        #expect(result.unit == 2 && result.profile == "acrel-aim-r100")
        #expect(result.channels["residual_current.1"] == .init(value: nil, unit: "mA", state: "fault_short"))
        #expect(result.channels["residual_current.6"] == .init(value: nil, unit: "mA", state: "ct_break"))
        #expect(result.channels["residual_current.2"] == .init(value: 110, unit: "mA", state: "normal"))
        #expect(result.setpoints?["residual_current.12"] == 300)
        #expect(throws: ModbusProbeError.self) { try ModbusProbe.probe(profile: aim, target: target, unit: 9, responseTimeout: 0.2) }

        var progress: [Int] = []
        let hits = try ModbusProbe.scan(target: target, units: 1...6, profiles: [aim, try ModbusFixtures.profile("generic-1r4t")],
                                        responseTimeout: 0.2) { unit, _ in progress.append(unit) }
        #expect(progress == Array(1...6))
        #expect(hits.map(\.unit) == [2, 5])
        #expect(hits.first?.profiles == ["acrel-aim-r100"])
        #expect(hits.last?.profiles == [])
    }

    @Test("a set value written over RTU goes through the bus owner, password first, and reads back")
    func writeSetpointRTU() async throws {
        let dir = TestSupport.temporaryDirectory("mb-write")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pair = try ModbusPeers.ptyPair(in: dir, "w")
        let peer = try ModbusPeers.pymodbus(spec: ["units": ["2": ["holding": aimHolding()]]], rtu: pair.b, in: dir)
        defer { peer.stop(); pair.stop() }
        let aim = try ModbusFixtures.profile("acrel-aim-r100")
        let bus = SerialBusConfig(name: "line1", path: pair.a)
        let sink = CollectingSink()
        let poller = try ModbusPoller(devices: [PolledDevice(id: "aim", profile: aim, transport: .modbusRTU(bus: "line1", unit: 2), period: 0.3)],
                                      buses: [bus], sink: sink, monitor: sink)
        poller.start()
        #expect(TestSupport.wait(timeout: 20) { sink.onlineTimes("aim").count >= 2 })
        try await poller.write(device: "aim", .setpoint(Channel(unchecked: "residual_current.3"), 500), password: 4321)
        await #expect(throws: ModbusError.self) {  // 2000 mA is outside the manual's 6–1000 mA
            try await poller.write(device: "aim", .setpoint(Channel(unchecked: "residual_current.3"), 2000), password: 4321)
        }
        #expect(TestSupport.wait(timeout: 10) { sink.onlineTimes("aim").count >= 4 })  // polling goes on around the write
        poller.stop()
        let result = try ModbusProbe.probe(profile: aim, target: .rtu(bus), unit: 2)
        #expect(result.setpoints?["residual_current.3"] == 500)
        #expect(result.setpoints?["residual_current.4"] == 300)
        #expect(poller.counters()["aim"]?.writes == 1)
        // The password went to 0x0000 before the set value.
        let ctxCheck = try ModbusProbe.probe(profile: try ModbusProfile.generic(parameters: "generic:energy=0x0000"),
                                             target: .rtu(bus), unit: 2)
        #expect(ctxCheck.channels["energy"]?.value == 4321)
    }
}

/// Log lines a poller wrote, for assertions.
final class LogLines: Sendable {
    private let store = Mutex<[String]>([])
    var append: @Sendable (String) -> Void { { [self] line in self.store.withLock { $0.append(line) } } }
    var lines: [String] { store.withLock { $0 } }
}
