import Foundation
import Testing

/// Shared fixtures for tests that start real peers: free ports, temporary directories, child
/// processes (mosquitto, pymodbus, socat, the firewatch binary) that are always stopped.
enum TestSupport {
    /// The package root (the folder holding Package.swift).
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The built `firewatch` executable (`make test` builds it before `swift test`).
    static var firewatchBinary: String {
        if let b = ProcessInfo.processInfo.environment["FIREWATCH_BIN"] { return b }
        return root.appendingPathComponent(".build/debug/firewatch").path
    }

    /// Python of the test-peer venv (pymodbus, paho-mqtt), made by `deploy/install-deps.sh --test`.
    static var python: String {
        if let p = ProcessInfo.processInfo.environment["FIREWATCH_PYTHON"] { return p }
        return root.appendingPathComponent(".venv/bin/python").path
    }

    static var devicesDir: String { root.appendingPathComponent("Devices").path }
    static var rulesDir: String { root.appendingPathComponent("Rules").path }
    static var peersDir: String { root.appendingPathComponent("Tests/peers").path }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// A fresh temporary directory, removed by the caller with `removeTemporaryDirectory`.
    static func temporaryDirectory(_ label: String = "fw") -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Waits until `condition` holds, polling every 50 ms, for at most `timeout` seconds.
    @discardableResult
    static func wait(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:port.
    static func waitForPort(_ port: Int, timeout: Double = 10) -> Bool {
        wait(timeout: timeout) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            return r == 0
        }
    }
}

/// A child process that is killed when the test ends (call `stop()`, or it is killed in deinit).
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from the test's own task; pipes are read by Foundation.
    let process = Process()
    let stdoutFile: URL
    let stderrFile: URL

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
         directory: URL? = nil, label: String = "child") throws {
        let dir = directory ?? TestSupport.temporaryDirectory(label)
        stdoutFile = dir.appendingPathComponent("\(label).stdout")
        stderrFile = dir.appendingPathComponent("\(label).stderr")
        FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        process.standardInput = FileHandle.nullDevice
        try ChildProcess.spawnWithSignalsUnblocked { try process.run() }
    }

    /// Test tasks run on libdispatch threads, which block SIGTERM/SIGINT/SIGHUP; a child inherits the
    /// spawning thread's mask, so without this `stop()` could never ask a child to shut down cleanly.
    static func spawnWithSignalsUnblocked(_ spawn: () throws -> Void) rethrows {
        var unblock = sigset_t()
        var previous = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&unblock, sig) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try spawn()
    }

    /// The signals this child has blocked (from /proc), for tests of the harness itself.
    var blockedSignals: UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }) else { return nil }
        return UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16)
    }

    var stdout: String { (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double = 3) {
        guard process.isRunning else { return }
        process.terminate()
        if !TestSupport.wait(timeout: grace, { !process.isRunning }) {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    @discardableResult
    func waitForExit(timeout: Double) -> Int32? {
        guard TestSupport.wait(timeout: timeout, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// Runs a command to completion and returns (exit status, stdout, stderr).
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], stdin: String? = nil,
                environment: [String: String] = [:], timeout: Double = 60) throws -> (status: Int32, out: String, err: String) {
    let dir = TestSupport.temporaryDirectory("cmd")
    defer { try? FileManager.default.removeItem(at: dir) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    p.environment = env
    let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: outURL)
    p.standardError = try FileHandle(forWritingTo: errURL)
    if let stdin {
        let inURL = dir.appendingPathComponent("in")
        try stdin.write(to: inURL, atomically: true, encoding: .utf8)
        p.standardInput = try FileHandle(forReadingFrom: inURL)
    } else {
        p.standardInput = FileHandle.nullDevice
    }
    try ChildProcess.spawnWithSignalsUnblocked { try p.run() }
    if !TestSupport.wait(timeout: timeout, { !p.isRunning }) {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }
    return (p.terminationStatus,
            (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// Runs the built firewatch binary.
@discardableResult
func firewatch(_ arguments: [String], stdin: String? = nil, timeout: Double = 60) throws -> (status: Int32, out: String, err: String) {
    try runCommand(TestSupport.firewatchBinary, arguments, stdin: stdin, timeout: timeout)
}
