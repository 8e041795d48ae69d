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
        /// Client certificate and key signed by the same CA; the broker then requires one.
        var clientCert: String?
        var clientKey: String?

        /// A fresh CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl.
        static func make(in dir: URL, label: String = "test") throws -> TLSFiles {
            let d = dir.path
            func ssl(_ args: [String]) throws {
                let r = try runCommand("/usr/bin/openssl", args, timeout: 60)
                #expect(r.status == 0, "openssl \(args.joined(separator: " ")): \(r.err)")
            }
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: "\(d)/server.ext", atomically: true, encoding: .utf8)
            try ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.crt",
                     "-days", "2", "-subj", "/CN=firewatch \(label) CA"])
            for who in ["server", "client"] {
                try ssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(d)/\(who).key", "-out", "\(d)/\(who).csr",
                         "-subj", who == "server" ? "/CN=localhost" : "/CN=firewatch-edge"])
                var args = ["x509", "-req", "-in", "\(d)/\(who).csr", "-CA", "\(d)/ca.crt", "-CAkey", "\(d)/ca.key",
                            "-CAcreateserial", "-out", "\(d)/\(who).crt", "-days", "2"]
                if who == "server" { args += ["-extfile", "\(d)/server.ext"] }
                try ssl(args)
            }
            return TLSFiles(ca: "\(d)/ca.crt", cert: "\(d)/server.crt", key: "\(d)/server.key",
                            clientCert: "\(d)/client.crt", clientKey: "\(d)/client.key")
        }
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
            conf += "cafile \(tls.ca)\ncertfile \(tls.cert)\nkeyfile \(tls.key)\nrequire_certificate \(tls.clientCert != nil)\n"
        }
        try? conf.write(to: dir.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
    }

    func start() throws {
        generation += 1
        // The test process blocks SIGTERM/SIGINT/SIGHUP and children inherit the mask, so a plain
        // spawn would make `stop()` a SIGKILL after its grace period. Unblock them before exec.
        let exec = "import os, signal; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]); "
            + "os.execv('/usr/sbin/mosquitto', ['mosquitto', '-c', os.environ['FW_MOSQUITTO_CONF']])"
        // Only the standard library is needed: the system python, so the broker does not depend on the venv.
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : TestSupport.python
        child = try ChildProcess(python, ["-c", exec],
                                 environment: ["FW_MOSQUITTO_CONF": dir.appendingPathComponent("mosquitto.conf").path],
                                 directory: dir, label: "mosquitto-\(generation)")
        #expect(TestSupport.waitForPort(port, timeout: 15), "mosquitto did not listen on \(port): \(child?.stderr ?? "")")
    }

    /// SIGTERM (mosquitto saves its persistence file and exits); SIGKILL only if it hangs.
    func stop() { child?.stop(grace: 10) }
    func kill9() { child?.kill9() }

    /// Publishes `TOPIC\tPAYLOAD` lines with paho-mqtt and waits for every PUBACK.
    @discardableResult
    func publish(_ messages: [(topic: String, payload: String)], qos: Int = 1, raw: Bool = false) throws -> Bool {
        let lines = messages.map { "\($0.topic)\t\($0.payload)" }.joined(separator: "\n") + "\n"
        var args = [TestSupport.peersDir + "/mqtt_publish.py", "--port", "\(port)", "--qos", "\(qos)"]
        if raw { args.append("--raw") }
        if let tls {
            args += ["--tls-ca", tls.ca]
            if let c = tls.clientCert, let k = tls.clientKey { args += ["--tls-cert", c, "--tls-key", k] }
        }
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
