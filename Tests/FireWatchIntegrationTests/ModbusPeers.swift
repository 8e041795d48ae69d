import Foundation
import FireWatchCore
import FireWatchModbus

/// Real third-party peers for Modbus tests: socat pty pairs, pymodbus slaves, the pacing/damaging relay.
enum ModbusPeers {
    /// A socat pty pair: what is written to `a` comes out of `b` and back.
    struct PtyPair {
        let process: ChildProcess
        let a: String
        let b: String
        func stop() { process.stop() }
    }

    static func ptyPair(in dir: URL, _ name: String) throws -> PtyPair {
        let a = dir.appendingPathComponent("\(name)-a").path, b = dir.appendingPathComponent("\(name)-b").path
        let p = try ChildProcess("/usr/bin/socat", ["-d", "-d", "pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"],
                                 directory: dir, label: "socat-\(name)")
        guard TestSupport.wait(timeout: 10, { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) }) else {
            p.stop()
            throw PeerError("socat did not make the pty pair: \(p.stderr)")
        }
        return PtyPair(process: p, a: a, b: b)
    }

    /// Starts pymodbus serving `spec` (see Tests/peers/modbus_peer.py) over TCP on `tcpPort` or RTU on `rtu`.
    static func pymodbus(spec: [String: Any], tcpPort: Int? = nil, rtu: String? = nil, baud: Int = 9600,
                         in dir: URL, label: String = "pymodbus") throws -> ChildProcess {
        let specURL = dir.appendingPathComponent("\(label).json")
        try JSONSerialization.data(withJSONObject: spec).write(to: specURL)
        var args = [TestSupport.peersDir + "/modbus_peer.py", "--spec", specURL.path]
        if let tcpPort { args += ["--tcp", String(tcpPort)] }
        if let rtu { args += ["--rtu", rtu, "--baud", String(baud)] }
        let p = try ChildProcess(TestSupport.python, args, directory: dir, label: label)
        if let tcpPort {
            guard TestSupport.waitForPort(tcpPort, timeout: 20) else {
                p.stop()
                throw PeerError("pymodbus did not listen on \(tcpPort): \(p.stderr)")
            }
        } else {
            guard TestSupport.wait(timeout: 20, { p.stdout.contains("ready") }) else {
                p.stop()
                throw PeerError("pymodbus did not start: \(p.stderr)")
            }
            Thread.sleep(forTimeInterval: 0.5)  // serial port opened after "ready"
        }
        return p
    }

    static func relay(masterSide: String, slaveSide: String, extra: [String] = [], in dir: URL) throws -> ChildProcess {
        let p = try ChildProcess(TestSupport.python, [TestSupport.peersDir + "/serial_relay.py", "--master-side", masterSide,
                                                      "--slave-side", slaveSide] + extra, directory: dir, label: "relay")
        guard TestSupport.wait(timeout: 10, { p.stdout.contains("ready") }) else {
            p.stop()
            throw PeerError("relay did not start: \(p.stderr)")
        }
        return p
    }

    struct PeerError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}
