import Foundation
import Testing
import FireWatchCore
import FireWatchModbus

@Suite("Modbus technician commands", .serialized)
struct ModbusCommandTests {
    @Test("profiles check passes the shipped profiles and names file:line of each error, exit 1")
    func profilesCheck() throws {
        let ok = try firewatch(["profiles", "check", TestSupport.devicesDir])
        #expect(ok.status == 0, "\(ok.err)")
        #expect(ok.out.contains("3 Modbus"))
        let dir = TestSupport.temporaryDirectory("prof")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        {
          transport: "modbus",
          id: "bad",
          channels: [
            { channel: "temperature.1", address: 0 },
            { channel: "temperature.2", address: 0 },
            { channel: "leak.1", address: 2, type: "u24" },
            { channel: "temperature.3", address: 0x10000 },
          ],
        }
        """.write(to: dir.appendingPathComponent("bad.json5"), atomically: true, encoding: .utf8)
        let bad = try firewatch(["profiles", "check", dir.path])
        #expect(bad.status == 1)
        let file = dir.appendingPathComponent("bad.json5").path
        #expect(bad.err.contains("\(file):6: error:") && bad.err.contains("overlaps"), "\(bad.err)")
        #expect(bad.err.contains("\(file):7: error:") && bad.err.contains("unknown type 'u24'"))
        #expect(bad.err.contains("'leak.1' is not a canonical channel"))
        #expect(bad.err.contains("\(file):8: error:") && bad.err.contains("outside 0–65535"))
    }

    @Test("simulate serves, device probe --json prints the one object, device scan names the profile")
    func simulateProbeScan() throws {
        let sim = try ChildProcess(TestSupport.firewatchBinary, ["simulate", "--devices", "3", "--port", "0", "--script", "calm",
                                                                 "--json", "--duration", "60", "--devices-dir", TestSupport.devicesDir],
                                   label: "simulate")
        defer { sim.stop() }
        #expect(TestSupport.wait(timeout: 20) { sim.stdout.split(separator: "\n").count >= 3 }, "\(sim.stderr)")
        let first = try #require(sim.stdout.split(separator: "\n").first)
        let transport = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])["transport"] as? String
        guard case .modbusTCP(_, let port, _)? = transport.flatMap(Transport.init(text:)) else {
            Issue.record("bad transport line \(first)")
            return
        }
        let probe = try firewatch(["device", "probe", "--profile", "generic-1r4t", "--tcp", "127.0.0.1:\(port)", "--unit", "2",
                                   "--json", "--devices-dir", TestSupport.devicesDir])
        #expect(probe.status == 0, "\(probe.err)")
        let lines = probe.out.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["profile"] as? String == "generic-1r4t")
        #expect(object["unit"] as? Int == 2)
        let channels = try #require(object["channels"] as? [String: [String: Any]])
        let rc = try #require(channels["residual_current.1"])
        #expect(rc["unit"] as? String == "mA" && rc["state"] as? String == "normal")
        #expect((rc["value"] as? Double).map { (20...150).contains($0) } == true)
        #expect((object["setpoints"] as? [String: Double])?["residual_current.1"] == 300)

        let missing = try firewatch(["device", "probe", "--profile", "generic-1r4t", "--tcp", "127.0.0.1:\(port)", "--unit", "9",
                                     "--devices-dir", TestSupport.devicesDir])
        #expect(missing.status != 0)
        #expect(missing.err.contains("unit 9"))
        let usage = try firewatch(["device", "probe", "--profile", "generic-1r4t", "--unit", "1"])
        #expect(usage.status == 64)

        let scan = try firewatch(["device", "scan", "--tcp", "127.0.0.1:\(port)", "--units", "1-5", "--json",
                                  "--devices-dir", TestSupport.devicesDir])
        #expect(scan.status == 0, "\(scan.err)")
        let hits = scan.out.split(separator: "\n")
        #expect(hits.count == 3)
        #expect(hits.allSatisfy { $0.contains("generic-1r4t") })
        #expect(scan.err.contains("unit 5 (5/5)"))
    }
}
