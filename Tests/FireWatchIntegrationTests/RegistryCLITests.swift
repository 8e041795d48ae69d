import FireWatchCore
import FireWatchStore
import Foundation
import Testing

/// `premises import | find | show | export` and `device register | list | show | move | decommission`
/// through the built binary, with files encoded by Python (an independent GBK encoder).
@Suite("Registry commands", .serialized)
struct RegistryCLITests {
    static let header = "平台编号,二维码,名称,类型,地址,社区,网格,市场,负责人,电话,状态\n"
    static let rows = [
        "FS-001,QR-0001,陈记五金,市场档口,大沥镇海北路1号A区01,白沙社区,第1网格,凤池五金市场,陈明,13800000001,正常",
        "FS-002,QR-0002,\"李氏灯饰, 批发\",市场档口,大沥镇海北路1号A区02,白沙社区,第1网格,凤池五金市场,李华,13800000002,正常",
        "FS-003,QR-0003,黄岐出租屋,出租屋,黄岐镇3号,黄岐社区,第2网格,,黄强,0757-8888888,正常",
        "FS-004,QR-0004,已关闭档口,市场档口,大沥镇海北路1号A区04,白沙社区,第1网格,凤池五金市场,,,注销",
    ]

    /// Writes `text` in `encoding` (a Python codec name) with Python, optionally with a UTF-8 BOM.
    static func write(_ text: String, encoding: String, bom: Bool = false, to path: String) throws {
        let script = "import sys; t = sys.stdin.read(); open(sys.argv[1], 'wb').write((b'\\xef\\xbb\\xbf' if sys.argv[3] == '1' else b'') + t.encode(sys.argv[2]))"
        let r = try runCommand(TestSupport.python, ["-c", script, path, encoding, bom ? "1" : "0"], stdin: text)
        #expect(r.status == 0, "python: \(r.err)")
    }

    struct Fixture {
        let dir = TestSupport.temporaryDirectory("registry-cli")
        var db: String { dir.appendingPathComponent("gov.db").path }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func cleanup() { try? FileManager.default.removeItem(at: dir) }
    }

    func imported(_ f: Fixture) throws {
        try Self.write(Self.header + Self.rows.joined(separator: "\r\n") + "\r\n", encoding: "gbk", to: f.path("gbk.csv"))
        let r = try firewatch(["premises", "import", "--db", f.db, f.path("gbk.csv")])
        #expect(r.status == 0, "\(r.out)\(r.err)")
    }

    @Test("a GBK export imports, re-imports unchanged, and is found by QR code, id, name and address fragment")
    func gbkImport() throws {
        let f = Fixture()
        defer { f.cleanup() }
        try Self.write(Self.header + Self.rows.joined(separator: "\r\n") + "\r\n", encoding: "gbk", to: f.path("gbk.csv"))
        let first = try firewatch(["premises", "import", "--db", f.db, "--json", f.path("gbk.csv")])
        #expect(first.status == 0, "\(first.out)\(first.err)")
        let s = try JSONDecoder().decode(PremisesImportSummary.self, from: Data(first.out.utf8))
        #expect(s.encoding == "GB18030" && s.inserted == 4 && s.rejected == 0 && s.marketsCreated == ["凤池五金市场"])
        #expect(first.err.contains("4/4"))
        let again = try JSONDecoder().decode(PremisesImportSummary.self,
                                             from: Data(try firewatch(["premises", "import", "--db", f.db, "--json", f.path("gbk.csv")]).out.utf8))
        #expect(again.unchanged == 4 && again.inserted == 0 && again.updated == 0)
        for (query, expected) in [("QR-0003", "FS-003"), ("FS-002", "FS-002"), ("灯饰", "FS-002"), ("海北路1号A区04", "FS-004"), ("黄岐镇", "FS-003")] {
            let r = try firewatch(["premises", "find", "--db", f.db, "--json", query])
            #expect(r.status == 0)
            #expect(r.out.split(separator: "\n").first?.contains("\"platform_id\":\"\(expected)\"") == true, "\(query): \(r.out)")
        }
        #expect(try firewatch(["premises", "find", "--db", f.db, "不存在"]).status == 1)
        let show = try firewatch(["premises", "show", "--db", f.db, "QR-0002"])
        #expect(show.out.contains("李氏灯饰, 批发"))
    }

    @Test("a UTF-8 file with BOM from Excel imports; an update is counted as updated")
    func utf8BOM() throws {
        let f = Fixture()
        defer { f.cleanup() }
        try imported(f)
        var changed = Self.rows
        changed[0] = changed[0].replacingOccurrences(of: "陈记五金", with: "陈记五金（新）")
        try Self.write(Self.header + changed.joined(separator: "\n"), encoding: "utf-8", bom: true, to: f.path("bom.csv"))
        let r = try firewatch(["premises", "import", "--db", f.db, "--json", f.path("bom.csv")])
        let s = try JSONDecoder().decode(PremisesImportSummary.self, from: Data(r.out.utf8))
        #expect(s.encoding == "UTF-8 with BOM" && s.updated == 1 && s.unchanged == 3)
        #expect(try firewatch(["premises", "show", "--db", f.db, "--json", "FS-001"]).out.contains("陈记五金（新）"))
    }

    @Test("malformed rows and duplicate ids are rejected by line number; the good rows still import; exit 1")
    func malformed() throws {
        let f = Fixture()
        defer { f.cleanup() }
        let text = Self.header + Self.rows[0] + "\n"
            + "FS-001,QR-0099,重复编号,,,,,,,,\n"
            + ",QR-0100,缺编号,,,,,,,,\n"
            + "FS-010,QR-0001,抢二维码,,,,,,,,\n"
            + "FS-011,QR-0011,坏类型,火箭,,,,,,,\n"
            + "FS-012,QR-0012,好的,其他,,,,,,,\n"
        try Self.write(text, encoding: "gb18030", to: f.path("bad.csv"))
        let r = try firewatch(["premises", "import", "--db", f.db, f.path("bad.csv")])
        #expect(r.status == 1)
        for line in ["line 3 (FS-001): duplicate platform id", "line 4: platform id", "line 5 (FS-010): QR code QR-0001", "line 6 (FS-011): kind"] {
            #expect(r.out.contains(line), "\(line) in \(r.out)")
        }
        #expect(r.out.contains("新增 accepted 2"))
        // The QR code already in the database belongs to FS-001: a new row claiming it is refused on import too.
        try Self.write(Self.header + "FS-020,QR-0001,又抢,,,,,,,,\n", encoding: "utf-8", to: f.path("steal.csv"))
        let steal = try firewatch(["premises", "import", "--db", f.db, f.path("steal.csv")])
        #expect(steal.status == 1 && steal.out.contains("already belongs to premises FS-001"))
        // A file that is not a registry at all: exit 65 with what is missing.
        try "just,some,columns\n1,2,3\n".write(toFile: f.path("junk.csv"), atomically: true, encoding: .utf8)
        let junk = try firewatch(["premises", "import", "--db", f.db, f.path("junk.csv")])
        #expect(junk.status == 65 && junk.err.contains("platform_id (平台编号)"))
    }

    @Test("export writes CSV that imports back unchanged")
    func exportRoundTrip() throws {
        let f = Fixture()
        defer { f.cleanup() }
        try imported(f)
        let out = try runCommand("/bin/sh", ["-c", "\"$0\" premises export --db \"$1\" > \"$2\"", TestSupport.firewatchBinary,
                                             f.db, f.path("export.csv")])
        #expect(out.status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: f.path("export.csv")))
        #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]))
        let r = try firewatch(["premises", "import", "--db", f.db, "--json", f.path("export.csv")])
        let s = try JSONDecoder().decode(PremisesImportSummary.self, from: Data(r.out.utf8))
        #expect(s.encoding == "UTF-8 with BOM" && s.unchanged == 4 && s.rejected == 0, "\(r.out)")
    }

    @Test("register refuses each kind of bad input with a reason (exit 1) or a usage error (exit 64)")
    func registerRefusals() throws {
        let f = Fixture()
        defer { f.cleanup() }
        try imported(f)
        func register(_ extra: [String]) throws -> (status: Int32, out: String, err: String) {
            try firewatch(["device", "register", "--db", f.db, "--devices-dir", TestSupport.devicesDir, "--rules", TestSupport.rulesDir,
                           "--location", "A区01档口配电箱",
                           "--by", "张工"] + extra)
        }
        let ok = try register(["--premises", "QR-0001", "--profile", "generic-1r4t", "--bus", "A", "--unit", "3", "--id", "D-1",
                               "--setpoint", "residual_current.1=300", "--setpoint", "temperature.1=55", "--cable", "pvc"])
        #expect(ok.status == 0, "\(ok.out)\(ok.err)")
        let refusals: [([String], String)] = [
            (["--premises", "QR-9999", "--profile", "generic-1r4t", "--bus", "A", "--unit", "4"], "premises_unknown"),
            (["--premises", "FS-004", "--profile", "generic-1r4t", "--bus", "A", "--unit", "4"], "premises_closed"),
            (["--premises", "QR-0002", "--profile", "no-such-profile", "--bus", "A", "--unit", "4"], "profile_unknown"),
            (["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "3"], "address_in_use"),
            (["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "4", "--id", "D-1"], "id_in_use"),
            (["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "300"], "bad_address"),
            (["--premises", "QR-0002", "--profile", "generic-1r4t", "--mqtt-id", "x1"], "transport_mismatch"),
            (["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "4", "--setpoint", "residual_current.1=2000"], "setpoint_range"),
            (["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "4", "--setpoint", "temperature.1=65", "--cable", "pvc"], "setpoint_range"),
            (["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "4", "--setpoint", "temperature.9=55"], "setpoint_channel"),
        ]
        for (args, code) in refusals {
            let r = try register(args)
            #expect(r.status == 1 && r.err.contains("refused (\(code))"), "\(args): \(r.status) \(r.err)")
        }
        let usage: [[String]] = [
            ["--premises", "QR-0002", "--profile", "generic-1r4t"],                                   // no address
            ["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A"],                      // no unit
            ["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--tcp", "h:1", "--unit", "2"],
            ["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "x"],
            ["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "4", "--setpoint", "residual_current.1"],
            ["--premises", "QR-0002", "--profile", "generic-1r4t", "--bus", "A", "--unit", "4", "--cable", "copper"],
        ]
        for args in usage {
            #expect(try register(args).status == 64, "\(args)")
        }
        let list = try firewatch(["device", "list", "--db", f.db, "--json"])
        #expect(list.out.split(separator: "\n").count == 1)
    }

    /// A rules folder holding `files` (name → text), inside the fixture's directory.
    static func rulesDir(_ f: Fixture, _ name: String, _ files: [String: String]) throws -> String {
        let dir = f.path(name)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (file, text) in files { try text.write(toFile: dir + "/" + file, atomically: true, encoding: .utf8) }
        return dir
    }

    static let arcOnlyRules = "rule arc_only on arc.* {\n    signal alarm\n    when value >= 14\n}\n"

    @Test("register asks the loaded rules (--rules): rules that never fire are named, a custom pack changes the outcome")
    func registerAgainstRules() throws {
        let f = Fixture()
        defer { f.cleanup() }
        try imported(f)
        func register(_ rules: String, _ extra: [String]) throws -> (status: Int32, out: String, err: String) {
            try firewatch(["device", "register", "--db", f.db, "--devices-dir", TestSupport.devicesDir, "--rules", rules,
                           "--premises", "QR-0001", "--location", "A区01档口配电箱", "--by", "张工"] + extra)
        }
        // A residual-current-only detector against Rules/: accepted, with the temperature rules' warning.
        let rcOnly = try register(TestSupport.rulesDir, ["--profile", "generic:residual_current.1=0x0000*0.1;period=5",
                                                         "--bus", "A", "--unit", "3", "--id", "D-RC"])
        #expect(rcOnly.status == 0, "\(rcOnly.out)\(rcOnly.err)")
        let temperature = rcOnly.err.split(separator: "\n").first { $0.contains(" temperature.* ") }
        #expect(temperature?.hasPrefix("warning: ") == true && temperature?.contains("cable_temperature_alarm、cable_temperature_prealarm") == true
                && temperature?.contains("永不触发") == true, "\(rcOnly.err)")
        #expect(!rcOnly.err.contains("residual_current_alarm"))
        // generic-1r4t has temperature channels: no temperature.* warning, but it has no arc channel.
        let four = try register(TestSupport.rulesDir, ["--profile", "generic-1r4t", "--bus", "A", "--unit", "4", "--id", "D-4"])
        #expect(four.status == 0 && !four.err.contains(" temperature.* ") && four.err.contains("fault_arc_alarm"), "\(four.err)")
        // The same detector against a pack whose only rule is on arc.*: refused, naming the rules file.
        let arc = try Self.rulesDir(f, "arc-rules", ["arc.rules": Self.arcOnlyRules])
        let refused = try register(arc, ["--profile", "generic-1r4t", "--bus", "A", "--unit", "5", "--id", "D-5", "--json"])
        #expect(refused.status == 1 && refused.err.contains("refused (profile_channels)") && refused.err.contains("arc-rules/arc.rules")
                && refused.err.contains("arc.*"), "\(refused.err)")
        #expect(refused.out.contains("\"refused\":true") && refused.out.contains("\"code\":\"profile_channels\""))
        // An arc detector is fine with that pack.
        let arcDetector = try register(arc, ["--profile", "generic:arc.1=0x0000;period=5", "--bus", "A", "--unit", "6", "--id", "D-ARC"])
        #expect(arcDetector.status == 0 && !arcDetector.err.contains("warning"), "\(arcDetector.out)\(arcDetector.err)")
        // Without --rules: ./Rules of the working directory, as the edge.
        let work = f.path("work")
        _ = try Self.rulesDir(f, "work/Rules", ["arc.rules": Self.arcOnlyRules])
        let byDefault = try runCommand("/bin/sh", ["-c", "cd \"$0\" && exec \"$1\" device register --db \"$2\" --devices-dir \"$3\" "
                                                   + "--premises QR-0001 --location 配电箱 --profile generic-1r4t --bus A --unit 7",
                                                   work, TestSupport.firewatchBinary, f.db, TestSupport.devicesDir])
        #expect(byDefault.status == 1 && byDefault.err.contains("refused (profile_channels)") && byDefault.err.contains("Rules/arc.rules"),
                "\(byDefault.err)")
        let list = try firewatch(["device", "list", "--db", f.db, "--json"])
        #expect(list.out.split(separator: "\n").count == 3, "\(list.out)")
    }

    @Test("a bad rules folder is a bad input file for register and commission: exit 65 naming file and line")
    func badRules() throws {
        let f = Fixture()
        defer { f.cleanup() }
        try imported(f)
        let bad = try Self.rulesDir(f, "bad-rules", ["good.rules": Self.arcOnlyRules,
                                                     "broken.rules": "rule broken on temperature.* {\n    signal alarmm\n    when value > 50°C\n}\n"])
        let register = try firewatch(["device", "register", "--db", f.db, "--devices-dir", TestSupport.devicesDir, "--rules", bad,
                                      "--premises", "QR-0001", "--location", "配电箱", "--profile", "generic-1r4t", "--bus", "A", "--unit", "3"])
        #expect(register.status == 65 && register.err.contains("bad-rules/broken.rules:2:") && register.err.contains("alarmm"), "\(register.err)")
        let commission = try firewatch(["device", "commission", "--db", f.db, "--devices-dir", TestSupport.devicesDir, "--rules", bad,
                                        "--report-dir", f.path("reports"), "D-1"])
        #expect(commission.status == 65 && commission.err.contains("bad-rules/broken.rules:2:"), "\(commission.err)")
        let missing = try firewatch(["device", "register", "--db", f.db, "--devices-dir", TestSupport.devicesDir, "--rules", f.path("nowhere"),
                                     "--premises", "QR-0001", "--location", "配电箱", "--profile", "generic-1r4t", "--bus", "A", "--unit", "3"])
        #expect(missing.status == 65 && missing.err.contains("nowhere") && missing.err.contains("cannot read rules directory"), "\(missing.err)")
        #expect(try firewatch(["device", "list", "--db", f.db, "--json"]).out.isEmpty)
    }

    @Test("move and decommission keep the history; a decommissioned unit address is free again")
    func lifecycle() throws {
        let f = Fixture()
        defer { f.cleanup() }
        try imported(f)
        let base = ["--db", f.db, "--devices-dir", TestSupport.devicesDir, "--by", "张工"]
        let rules = ["--rules", TestSupport.rulesDir]   // register only: move and decommission do not look at the rules
        #expect(try firewatch(["device", "register"] + rules + base + ["--premises", "QR-0001", "--profile", "generic-1r4t",
                                                                       "--tcp", "127.0.0.1:1502", "--unit", "1", "--location", "配电箱", "--id", "D-7"]).status == 0)
        let moved = try firewatch(["device", "move"] + base + ["D-7", "--premises", "QR-0002", "--location", "A区02档口配电箱"])
        #expect(moved.status == 0, "\(moved.err)")
        #expect(try firewatch(["device", "move"] + base + ["D-7"]).status == 1)  // nothing to change
        let dec = try firewatch(["device", "decommission", "--db", f.db, "--by", "李工", "--reason", "档口拆除", "D-7"])
        #expect(dec.status == 0)
        let show = try firewatch(["device", "show", "--db", f.db, "--json", "D-7"])
        for action in ["\"registered\"", "\"moved\"", "\"decommissioned\""] { #expect(show.out.contains(action), "\(action)") }
        #expect(show.out.contains("档口拆除") && show.out.contains("\"premises_id\":\"FS-002\""))
        #expect(try firewatch(["device", "list", "--db", f.db, "--json"]).out.isEmpty)
        #expect(try firewatch(["device", "list", "--db", f.db, "--json", "--all"]).out.contains("D-7"))
        #expect(try firewatch(["device", "register"] + rules + base + ["--premises", "QR-0002", "--profile", "generic-1r4t",
                                                                       "--tcp", "127.0.0.1:1502", "--unit", "1", "--location", "新配电箱", "--id", "D-8"]).status == 0)
    }
}
