import Foundation
import Testing

/// A real mosquitto on a free loopback port with its own config and persistent data directory,
/// restartable (SIGTERM or kill -9) on the same port and directory.
final class MQTTTestBroker: @unchecked Sendable {
    // @unchecked: used from one test task only.
    struct TLSFiles {
        var ca: String
        var cert: String
        var key: String
    }

    let port: Int
    let dir: URL
    let tls: TLSFiles?
    private(set) var child: ChildProcess?
    private var generation = 0

    init(tls: TLSFiles? = nil, directory: URL? = nil) {
        port = TestSupport.freePort()
        dir = directory ?? TestSupport.temporaryDirectory("mqtt-broker")
        self.tls = tls
        try? FileManager.default.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        var conf = """
        listener \(port) 127.0.0.1
        allow_anonymous true
        persistence true
        persistence_location \(dir.appendingPathComponent("data").path)/
        autosave_on_changes true
        autosave_interval 1
        max_queued_messages 100000
        log_dest stderr
        log_type error
        log_type warning
        log_type notice
        user \(NSUserName())

        """
        if let tls {
            conf += "cafile \(tls.ca)\ncertfile \(tls.cert)\nkeyfile \(tls.key)\nrequire_certificate false\n"
        }
        try? conf.write(to: dir.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
    }

    func start() throws {
        generation += 1
        child = try ChildProcess("/usr/sbin/mosquitto", ["-c", dir.appendingPathComponent("mosquitto.conf").path],
                                 directory: dir, label: "mosquitto-\(generation)")
        #expect(TestSupport.waitForPort(port, timeout: 15), "mosquitto did not listen on \(port): \(child?.stderr ?? "")")
    }

    func stop() { child?.stop() }
    func kill9() { child?.kill9() }

    /// Publishes `TOPIC\tPAYLOAD` lines with paho-mqtt and waits for every PUBACK.
    @discardableResult
    func publish(_ messages: [(topic: String, payload: String)], qos: Int = 1, raw: Bool = false) throws -> Bool {
        let lines = messages.map { "\($0.topic)\t\($0.payload)" }.joined(separator: "\n") + "\n"
        var args = [TestSupport.peersDir + "/mqtt_publish.py", "--port", "\(port)", "--qos", "\(qos)"]
        if raw { args.append("--raw") }
        if let tls { args += ["--tls-ca", tls.ca] }
        let r = try runCommand(TestSupport.python, args, stdin: lines, timeout: 60)
        #expect(r.status == 0, "publisher failed: \(r.out) \(r.err)")
        return r.status == 0
    }

    func remove() {
        child?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { child?.kill9() }
}

/// Collects what a handler hands over, for assertions from the test task.
final class Collector<T: Sendable>: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    func append(contentsOf more: [T]) { lock.lock(); items.append(contentsOf: more); lock.unlock() }
    var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
    var count: Int { lock.lock(); defer { lock.unlock() }; return items.count }
}
