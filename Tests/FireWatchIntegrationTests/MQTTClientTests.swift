import Foundation
import Testing
@testable import FireWatchMQTT

@Suite("MQTT client against a real mosquitto", .serialized, .timeLimit(.minutes(2)))
struct MQTTClientTests {
    func makeClient(_ broker: MQTTTestBroker, id: String, tls: MQTTOptions.TLS? = nil,
                    into got: Collector<MQTTMessage>) throws -> MQTTClient {
        let client = try MQTTClient(options: MQTTOptions(port: broker.port, clientID: id, keepaliveSeconds: 5, tls: tls,
                                                         reconnectMinSeconds: 0.2, reconnectMaxSeconds: 1),
                                    log: { _ in })
        client.onMessage = { got.append($0) }
        client.subscribe("t/#", qos: 1)
        return client
    }

    @Test("connects when the broker only comes up after start, and receives")
    func brokerDownAtStart() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        let got = Collector<MQTTMessage>()
        let client = try makeClient(broker, id: "down-at-start", into: got)
        client.start()
        defer { client.stop() }
        Thread.sleep(forTimeInterval: 1.5)  // several failed attempts
        #expect(!client.isConnected)
        try broker.start()
        #expect(TestSupport.wait(timeout: 15) { client.isConnected })
        try broker.publish([("t/1", "hello")])
        #expect(TestSupport.wait(timeout: 10) { got.count == 1 })
        #expect(got.all.first == MQTTMessage(topic: "t/1", payload: Array("hello".utf8), qos: 1))
    }

    @Test("QoS 1 messages published while the client was stopped arrive when it comes back with the same id")
    func clientRestart() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let first = Collector<MQTTMessage>()
        let a = try makeClient(broker, id: "stable-id", into: first)
        a.start()
        #expect(TestSupport.wait(timeout: 10) { a.isConnected })
        Thread.sleep(forTimeInterval: 0.3)  // SUBACK
        a.stop()
        try broker.publish((1...50).map { ("t/x", "m\($0)") })
        let second = Collector<MQTTMessage>()
        let b = try makeClient(broker, id: "stable-id", into: second)
        b.start()
        defer { b.stop() }
        #expect(TestSupport.wait(timeout: 15) { second.count >= 50 })
        #expect(Set(second.all.map { String(decoding: $0.payload, as: UTF8.self) }) == Set((1...50).map { "m\($0)" }))
    }

    @Test("resumes by itself after the broker is killed (SIGTERM and kill -9) and restarted; queued QoS 1 messages arrive",
          arguments: ["sigterm", "kill9"])
    func brokerRestart(how: String) throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let got = Collector<MQTTMessage>()
        let client = try makeClient(broker, id: "restart-\(how)", into: got)
        client.start()
        defer { client.stop() }
        #expect(TestSupport.wait(timeout: 10) { client.isConnected })
        Thread.sleep(forTimeInterval: 1.5)  // SUBACK, and the session autosaved
        try broker.publish((1...20).map { ("t/a", "before\($0)") })
        #expect(TestSupport.wait(timeout: 10) { got.count >= 20 })
        if how == "kill9" {
            broker.kill9()
        } else {
            broker.stop()
            #expect(broker.child?.process.terminationReason == .exit, "mosquitto did not exit on SIGTERM")
        }
        #expect(TestSupport.wait(timeout: 10) { !client.isConnected })
        try broker.start()
        // Published as soon as the broker is back, typically before the client has reconnected.
        try broker.publish((1...30).map { ("t/b", "after\($0)") })
        #expect(TestSupport.wait(timeout: 20) { got.count >= 50 })
        let payloads = Set(got.all.map { String(decoding: $0.payload, as: UTF8.self) })
        #expect(payloads.isSuperset(of: (1...30).map { "after\($0)" }))
        #expect(client.connectCount >= 2)
        #expect(client.isConnected)
    }

    @Test("resubscribes on reconnect: a broker that lost every session (no persistence file) still delivers")
    func resubscribes() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let got = Collector<MQTTMessage>()
        let client = try makeClient(broker, id: "resubscriber", into: got)
        client.start()
        defer { client.stop() }
        #expect(TestSupport.wait(timeout: 10) { client.isConnected })
        broker.kill9()
        try FileManager.default.removeItem(at: broker.dir.appendingPathComponent("data"))
        try FileManager.default.createDirectory(at: broker.dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        try broker.start()
        #expect(TestSupport.wait(timeout: 15) { client.isConnected && client.connectCount >= 2 })
        Thread.sleep(forTimeInterval: 0.5)  // SUBACK of the re-sent subscription
        try broker.publish([("t/after", "fresh")])
        #expect(TestSupport.wait(timeout: 10) { got.all.contains { $0.topic == "t/after" } })
    }

    @Test("the broker publishes the last will when the connection dies, not after a clean stop")
    func lastWill() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let got = Collector<MQTTMessage>()
        let watcher = try MQTTClient(options: MQTTOptions(port: broker.port, clientID: "watcher", reconnectMinSeconds: 0.2), log: { _ in })
        watcher.onMessage = { got.append($0) }
        watcher.subscribe("edge/+/status", qos: 1)
        watcher.start()
        defer { watcher.stop() }
        #expect(TestSupport.wait(timeout: 10) { watcher.isConnected })
        Thread.sleep(forTimeInterval: 0.3)

        // A clean stop sends DISCONNECT: no will.
        let clean = try MQTTClient(options: MQTTOptions(port: broker.port, clientID: "edge-clean",
                                                        will: .init(topic: "edge/clean/status", payload: Array("offline".utf8))),
                                   log: { _ in })
        clean.start()
        #expect(TestSupport.wait(timeout: 10) { clean.isConnected })
        clean.stop()

        // A connection that dies (the proxy in between is killed): the will arrives.
        let proxyPort = TestSupport.freePort()
        let proxy = try ChildProcess("/usr/bin/socat", ["TCP-LISTEN:\(proxyPort),bind=127.0.0.1,reuseaddr", "TCP:127.0.0.1:\(broker.port)"],
                                     label: "socat")
        defer { proxy.stop() }
        // socat without fork serves exactly one connection: the client's (it retries until socat listens).
        let dying = try MQTTClient(options: MQTTOptions(port: proxyPort, clientID: "edge-dying", keepaliveSeconds: 5,
                                                        will: .init(topic: "edge/dying/status", payload: Array("offline".utf8)),
                                                        reconnectMinSeconds: 0.2, reconnectMaxSeconds: 1), log: { _ in })
        dying.start()
        defer { dying.stop() }
        #expect(TestSupport.wait(timeout: 10) { dying.isConnected })
        proxy.kill9()
        #expect(TestSupport.wait(timeout: 15) { got.all.contains { $0.topic == "edge/dying/status" } })
        let will = got.all.first { $0.topic == "edge/dying/status" }
        #expect(will?.payload == Array("offline".utf8))
        #expect(!got.all.contains { $0.topic == "edge/clean/status" })
    }

    @Test("publishes at QoS 1 and reports the PUBACK by message id")
    func publishAck() throws {
        let broker = MQTTTestBroker()
        defer { broker.remove() }
        try broker.start()
        let acked = Collector<Int32>()
        let got = Collector<MQTTMessage>()
        let client = try makeClient(broker, id: "publisher", into: got)
        client.onPublished = { acked.append($0) }
        client.start()
        defer { client.stop() }
        #expect(TestSupport.wait(timeout: 10) { client.isConnected })
        Thread.sleep(forTimeInterval: 0.3)
        let mid = try client.publish(topic: "t/self", payload: Array("ping".utf8), qos: 1)
        #expect(TestSupport.wait(timeout: 10) { acked.all.contains(mid) })
        #expect(TestSupport.wait(timeout: 10) { got.all.contains { $0.topic == "t/self" } })
    }
}
