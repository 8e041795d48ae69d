import Foundation
import Synchronization
import Testing
import FireWatchCore
import FireWatchModbus

/// Log lines a poller writes, for assertions.
final class CollectingLog: Sendable {
    private let lines = Mutex<[String]>([])
    var log: @Sendable (String) -> Void { { [self] line in lines.withLock { $0.append(line) } } }
    var all: [String] { lines.withLock { $0 } }
    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}

@Suite("a running Modbus poller takes devices added, replaced and removed", .serialized, .timeLimit(.minutes(1)))
struct ModbusLiveDevicesTests {
    /// Three simulated detectors: units 1 and 2 on one port, unit 1 on a second port.
    static func market() throws -> (MarketSimulator, [MarketSimulator.Endpoint], ModbusProfile) {
        let profile = try ModbusFixtures.profile("generic-1r4t")
        let sim = MarketSimulator(.init(deviceCount: 3, profile: profile, seed: 5, devicesPerPort: 2))
        let endpoints = try sim.start()
        return (sim, endpoints, profile)
    }

    @Test("a device on a running owner's endpoint joins its schedule; one on a new endpoint gets an owner of its own; counters include both")
    func addWhileRunning() throws {
        let (sim, endpoints, profile) = try Self.market()
        defer { sim.stop() }
        #expect(endpoints[0].port == endpoints[1].port && endpoints[2].port != endpoints[0].port)
        let sink = CollectingSink()
        func device(_ i: Int) -> PolledDevice {
            PolledDevice(id: "d\(i)", profile: profile, transport: endpoints[i].transport, period: 0.3)
        }
        let poller = try ModbusPoller(devices: [device(0)], sink: sink, monitor: sink)
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 10) { sink.onlineTimes("d0").count >= 2 })

        try poller.add(device(1))
        #expect(poller.ownerCount == 1, "same endpoint, same owner")
        try poller.add(device(2))
        #expect(poller.ownerCount == 2, "a new endpoint gets its own owner")
        #expect(TestSupport.wait(timeout: 10) { ["d1", "d2"].allSatisfy { sink.onlineTimes($0).count >= 3 } },
                "added devices are polled: \(poller.counters())")
        #expect(sink.latest("d1", "state.residual_current.1") == .state(.normal))
        let counters = poller.counters()
        #expect(Set(counters.keys) == ["d0", "d1", "d2"])
        #expect(counters.values.allSatisfy { $0.successes >= 2 && $0.failures == 0 }, "\(counters)")
        #expect(poller.deviceIDs == ["d0", "d1", "d2"])

        // The joining device is staggered into the gap, not bunched with d0 on the shared line.
        let d0 = sink.onlineTimes("d0"), d1 = sink.onlineTimes("d1")
        let gaps = d1.suffix(3).map { t in d0.map { abs($0 - t) }.min() ?? 1 }
        #expect(gaps.allSatisfy { $0 > 0.05 }, "d1 polled \(gaps) s from d0's polls")
    }

    @Test("a removed device is no longer polled while the others go on; a replaced one moves to its new endpoint")
    func removeAndReplace() throws {
        let (sim, endpoints, profile) = try Self.market()
        defer { sim.stop() }
        let sink = CollectingSink()
        let log = CollectingLog()
        let devices = (0..<3).map { PolledDevice(id: "d\($0)", profile: profile, transport: endpoints[$0].transport, period: 0.2) }
        let poller = try ModbusPoller(devices: devices, sink: sink, monitor: sink, log: log.log)
        poller.start()
        defer { poller.stop() }
        #expect(TestSupport.wait(timeout: 10) { devices.allSatisfy { sink.onlineTimes($0.id).count >= 2 } })

        poller.remove(device: "d2")
        #expect(TestSupport.wait(timeout: 5) { log.contains("no device left to poll; link closed") },
                "the emptied owner closes its link: \(log.all)")
        let d2Polls = sink.onlineTimes("d2").count, d0Polls = sink.onlineTimes("d0").count
        Thread.sleep(forTimeInterval: 1.2)
        #expect(sink.onlineTimes("d2").count == d2Polls, "removed, yet polled")
        #expect(sink.onlineTimes("d0").count >= d0Polls + 3, "the others go on")
        #expect(poller.counters()["d2"] == nil && poller.deviceIDs == ["d0", "d1"])

        // d1 moves to the second port's unit 1 (where d2 was): polled there, the emptied owner reopens its link.
        try poller.add(PolledDevice(id: "d1", profile: profile, transport: endpoints[2].transport, period: 0.2))
        sim.override(device: 2, channel: Channel(unchecked: "residual_current.1"), value: .number(777))
        #expect(TestSupport.wait(timeout: 10) { sink.latest("d1", "residual_current.1") == .number(777) },
                "d1 is read at its new address: \(String(describing: sink.latest("d1", "residual_current.1")))")
        #expect(poller.ownerCount == 2 && poller.deviceIDs == ["d0", "d1"])
        // Removing an unknown id is harmless.
        poller.remove(device: "nobody")
    }

    @Test("an RTU device on a bus the poller does not know is refused with what, where and the known buses; nothing else changes")
    func unknownBusRefused() throws {
        let (sim, endpoints, profile) = try Self.market()
        defer { sim.stop() }
        let sink = CollectingSink()
        let poller = try ModbusPoller(devices: [PolledDevice(id: "d0", profile: profile, transport: endpoints[0].transport, period: 0.2)],
                                      buses: [SerialBusConfig(name: "bus1", path: "/dev/null-not-a-port")], sink: sink, monitor: sink)
        poller.start()
        defer { poller.stop() }
        let stray = PolledDevice(id: "stray", profile: profile, transport: .modbusRTU(bus: "busX", unit: 3))
        do {
            try poller.add(stray)
            Issue.record("a device on an unknown bus was taken")
        } catch {
            #expect(error.device == "stray")
            #expect(error.message.contains("serial bus 'busX' is not configured") && error.message.contains("bus1"), "\(error)")
        }
        #expect(poller.ownerCount == 1 && poller.deviceIDs == ["d0"] && poller.counters()["stray"] == nil)
        #expect(TestSupport.wait(timeout: 10) { sink.onlineTimes("d0").count >= 3 })
        poller.stop()
        #expect(throws: ModbusPollerError.self) { try poller.add(PolledDevice(id: "late", profile: profile, transport: endpoints[1].transport)) }
    }
}
