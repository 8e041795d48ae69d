import Foundation
import Testing

@Suite("test harness")
struct TestSupportTests {
    @Test("children can be stopped with SIGTERM: they do not inherit the test thread's blocked signals")
    func childrenTakeSIGTERM() throws {
        let child = try ChildProcess("/bin/sleep", ["30"], label: "sleep")
        defer { child.kill9() }
        let blocked = try #require(child.blockedSignals)
        let term = UInt64(1) << UInt64(SIGTERM - 1)
        #expect(blocked & term == 0, "SigBlk \(String(blocked, radix: 16))")
        let started = Date()
        child.stop(grace: 10)
        #expect(!child.isRunning)
        #expect(Date().timeIntervalSince(started) < 5, "stop() waited for the SIGKILL fallback")
    }
}
