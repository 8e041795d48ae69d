import Foundation
import Testing
import FireWatchCore
import FireWatchModbus

@Suite("Modbus market simulator", .serialized)
struct ModbusSimulatorTests {
    @Test("the poller reads simulated detectors: baselines in range, online, one owner per port")
    func pollSimulator() throws {
        let profile = try ModbusFixtures.profile("generic-1r4t")
        let sim = MarketSimulator(.init(deviceCount: 6, profile: profile, seed: 7, devicesPerPort: 4))
        let endpoints = try sim.start()
        defer { sim.stop() }
        #expect(Set(endpoints.map(\.port)).count == 2)
        #expect(endpoints[4].unit == 1 && endpoints[3].unit == 4)
        let sink = CollectingSink()
        let devices = endpoints.map { PolledDevice(id: "d\($0.device)", profile: profile, transport: $0.transport, period: 0.3) }
        let poller = try ModbusPoller(devices: devices, sink: sink, monitor: sink)
        #expect(poller.ownerCount == 2)
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 15) { devices.allSatisfy { sink.onlineTimes($0.id).count >= 2 } })
        for d in devices {
            guard case .number(let rc)? = sink.latest(d.id, "residual_current.1") else {
                Issue.record("no residual current for \(d.id)")
                continue
            }
            #expect((20...150).contains(rc))
            guard case .number(let t)? = sink.latest(d.id, "temperature.3") else {
                Issue.record("no temperature for \(d.id)")
                continue
            }
            #expect((25...45).contains(t))
            #expect(sink.latest(d.id, "state.temperature.3") == .state(.normal))
        }
        #expect(sim.servedRequests > 0)
        let c = poller.counters()
        #expect(c.values.allSatisfy { $0.successes >= 2 && $0.failures == 0 })
    }

    @Test("a unit the gateway cannot reach (exception 11) is a silent slave: offline and backed off")
    func gatewayTargetMissing() throws {
        let profile = try ModbusFixtures.profile("generic-1r4t")
        let sim = MarketSimulator(.init(deviceCount: 1, profile: profile, seed: 1))
        let endpoints = try sim.start()
        defer { sim.stop() }
        let sink = CollectingSink()
        let ghost = PolledDevice(id: "ghost", profile: profile, transport: .modbusTCP(host: "127.0.0.1", port: endpoints[0].port, unit: 9),
                                 period: 0.2)
        let real = PolledDevice(id: "real", profile: profile, transport: endpoints[0].transport, period: 0.2)
        let poller = try ModbusPoller(devices: [ghost, real], sink: sink, monitor: sink, options: .init(maxBackoff: 2))
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 10) { sink.onlineTimes("real").count >= 10 })
        #expect(sink.onlineTimes("ghost").isEmpty)
        #expect(sink.latest("ghost", "device.online") == .number(0))
        let c = try #require(poller.counters()["ghost"])
        #expect(c.timeouts >= 2 && c.timeouts <= 6, "\(c)")
    }

    @Test("scripted incidents: residual rise past 300 mA, temperature past 60 °C, open probe, silence")
    func incidents() throws {
        let profile = try ModbusFixtures.profile("generic-1r4t")
        let script = SimulationScript(incidents: [
            .init(device: 0, kind: .residualCurrentRise, start: 0.5, ramp: 2),
            .init(device: 1, kind: .temperatureRise, start: 0.5, channel: 2, ramp: 2),
            .init(device: 2, kind: .probeOpen, start: 0.5, channel: 3),
            .init(device: 3, kind: .silent, start: 1.0),
        ])
        let sim = MarketSimulator(.init(deviceCount: 4, profile: profile, script: script, seed: 3, tick: 0.1))
        let endpoints = try sim.start()
        defer { sim.stop() }
        let sink = CollectingSink()
        let devices = endpoints.map {
            PolledDevice(id: "d\($0.device)", profile: profile, transport: $0.transport, period: 0.25, responseTimeout: 0.3)
        }
        let poller = try ModbusPoller(devices: devices, sink: sink, monitor: sink)
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 20) {
            if case .number(let v)? = sink.latest("d0", "residual_current.1"), v > 300 { return true }
            return false
        })
        #expect(TestSupport.wait(timeout: 20) {
            if case .number(let v)? = sink.latest("d1", "temperature.2"), v > 60 { return true }
            return false
        })
        #expect(TestSupport.wait(timeout: 20) { sink.latest("d2", "state.temperature.3") == .state(.faultOpen) })
        #expect(sink.latest("d2", "temperature.3") == .invalid)
        #expect(TestSupport.wait(timeout: 20) { sink.latest("d3", "device.online") == .number(0) })
        #expect(sink.allProblems.contains { $0.0 == "d3" && $0.1 == .timeout })
        // The other devices on the same port keep answering.
        let before = sink.onlineTimes("d0").count
        #expect(TestSupport.wait(timeout: 20) { sink.onlineTimes("d0").count >= before + 3 })
    }

    @Test("a test can pin a register, and a client write of a set value sticks")
    func setRegisterAndWrite() async throws {
        let profile = try ModbusFixtures.profile("generic-1r4t")
        let sim = MarketSimulator(.init(deviceCount: 2, profile: profile, seed: 1, tick: 0.1))
        let endpoints = try sim.start()
        defer { sim.stop() }
        let sink = CollectingSink()
        let devices = endpoints.map { PolledDevice(id: "d\($0.device)", profile: profile, transport: $0.transport, period: 0.2) }
        let poller = try ModbusPoller(devices: devices, sink: sink)
        poller.start()
        defer { poller.stop() }
        sim.setRegister(device: 1, address: 0x0000, value: 0x1388)  // 500 mA (domain.md §4 example)
        #expect(TestSupport.wait(timeout: 10) { sink.latest("d1", "residual_current.1") == .number(500) })
        sim.override(device: 0, channel: Channel(unchecked: "state.residual_current.1"), value: .state(.ctBreak))
        #expect(TestSupport.wait(timeout: 10) { sink.latest("d0", "state.residual_current.1") == .state(.ctBreak) })
        #expect(sink.latest("d0", "residual_current.1") == .invalid)

        // Without the password the detector refuses the set value (GB 14287.5-2025 §5.3).
        await #expect(throws: ModbusError.exception(code: 3)) {
            try await poller.write(device: "d1", .setpoint(Channel(unchecked: "residual_current.1"), 450))
        }
        try await poller.write(device: "d0", .setpoint(Channel(unchecked: "residual_current.1"), 500), password: 1)
        await #expect(throws: ModbusError.self) {
            try await poller.write(device: "d0", .setpoint(Channel(unchecked: "residual_current.1"), 5000))
        }
        let probe = try ModbusProbe.probe(profile: profile, target: .tcp(host: endpoints[0].host, port: endpoints[0].port), unit: endpoints[0].unit)
        #expect(probe.setpoints?["residual_current.1"] == 500)
        #expect(probe.setpoints?["temperature.1"] == 60)
    }

    @Test("mbpoll, a second peer, reads the simulator's registers")
    func mbpoll() throws {
        let profile = try ModbusFixtures.profile("generic-1r4t")
        let sim = MarketSimulator(.init(deviceCount: 3, profile: profile, seed: 5))
        let endpoints = try sim.start()
        defer { sim.stop() }
        sim.setRegister(device: 2, address: 0x0000, value: 1234)
        Thread.sleep(forTimeInterval: 0.3)
        let e = endpoints[2]
        // -0: PDU addresses from 0; -r 1: first register; -c 2; -1: poll once; -t 4: holding registers.
        let r = try runCommand("/usr/bin/mbpoll", ["-m", "tcp", "-a", String(e.unit), "-p", String(e.port), "-t", "4",
                                                   "-0", "-r", "0", "-c", "2", "-1", "127.0.0.1"], timeout: 20)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        #expect(r.out.contains("[0]: \t1234") || r.out.contains("[0]:\t1234") || r.out.range(of: #"\[0\]:\s+1234"#, options: .regularExpression) != nil, "\(r.out)")
        // The identity register tells mbpoll's caller what model this is.
        let id = try runCommand("/usr/bin/mbpoll", ["-m", "tcp", "-a", String(e.unit), "-p", String(e.port), "-t", "4:hex",
                                                    "-0", "-r", "64", "-c", "1", "-1", "127.0.0.1"], timeout: 20)
        #expect(id.out.contains("0x1304"), "\(id.out)")
    }
}

@Suite("Modbus TCP link loss")
struct ModbusReconnectTests {
    @Test("a TCP slave that goes away and comes back is reconnected with backoff, no permanent EPIPE")
    func reconnect() throws {
        let profile = try ModbusFixtures.profile("generic-1r4t")
        let port = TestSupport.freePort()
        let options = MarketSimulator.Options(deviceCount: 2, profile: profile, seed: 2, port: port)
        var sim = MarketSimulator(options)
        let endpoints = try sim.start()
        let sink = CollectingSink()
        let devices = endpoints.map { PolledDevice(id: "d\($0.device)", profile: profile, transport: $0.transport, period: 0.2) }
        let poller = try ModbusPoller(devices: devices, sink: sink, monitor: sink,
                                      options: .init(reconnectInitial: 0.2, reconnectMax: 1))
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 10) { sink.onlineTimes("d1").count >= 2 })
        sim.stop()
        #expect(TestSupport.wait(timeout: 10) { sink.latest("d0", "device.online") == .number(0) && sink.latest("d1", "device.online") == .number(0) })
        Thread.sleep(forTimeInterval: 1.5)
        sim = MarketSimulator(options)
        try sim.start()
        defer { sim.stop() }
        let before = sink.onlineTimes("d0").count
        #expect(TestSupport.wait(timeout: 15) { sink.onlineTimes("d0").count > before + 2 && sink.latest("d1", "device.online") == .number(1) })
        let c = try #require(poller.counters()["d0"])
        #expect(c.transportErrors >= 1)
        #expect(sink.allRecoveries.contains("d0"))
    }
}
