import Testing
@testable import FireWatchCore

@Suite("canonical channel vocabulary")
struct ChannelTests {
    @Test("accepts the names of the vocabulary", arguments: [
        "residual_current.1", "temperature.4", "current.a", "voltage.c", "current.12", "arc.32",
        "power", "energy", "power_factor", "state.temperature.2", "state.residual_current.1",
        "device.online", "device.signal", "device.selftest",
    ])
    func accepts(name: String) throws {
        #expect(try Channel(name).name == name)
    }

    @Test("rejects names outside it", arguments: [
        "temperature", "temperature.0", "temperature.65", "voltage.d", "leak.1", "state.device.online",
        "residual_current.a", "", "device.foo",
    ])
    func rejects(name: String) {
        #expect(throws: ChannelError.self) { try Channel(name) }
    }

    @Test("a state channel names its subject")
    func stateSubject() throws {
        let c = try Channel("state.temperature.2")
        #expect(c.isState)
        #expect(c.stateSubject == Channel(unchecked: "temperature.2"))
        #expect(Channel(unchecked: "temperature.2").stateChannel == c)
        #expect(Channel(unchecked: "residual_current.1").unit == .milliampere)
    }
}
