import FireWatchCore
import FireWatchStore
import Foundation

extension Commands {
    static let premisesCommands: [CommandSpec] = [premisesImport, premisesFind, premisesShow, premisesExport]

    static let premisesImport = CommandSpec(
        name: "import", abstract: "import the governance platform's premises list (CSV, UTF-8 or GBK)",
        discussion: """
        Columns and accepted header names: docs/registry.md. Upserts by platform id, so importing the
        same file again changes nothing. Prints progress on stderr, then a summary and every rejected
        row with its line number and reason. Exit 0 when every row was taken, 1 when some were rejected.
        """,
        options: [CommonOptions.db, CommonOptions.json,
                  .value("--batch", "N", help: "rows per transaction", default: "5000")],
        positionals: [PositionalSpec(name: "FILE", help: "CSV file exported by the governance platform", isOptional: false)],
        run: { args in
            let file = args.positional(0)!
            guard FileManager.default.isReadableFile(atPath: file) else { throw CommandFailure("cannot read \(file)") }
            let store = try openStore(args, mustExist: false)
            let batch = try args.int("--batch", range: 1...1_000_000) ?? 5000
            let isTTY = isatty(2) != 0
            var lastPrinted = 0.0
            let summary: PremisesImportSummary
            do {
                summary = try store.importPremises(file: file, batchSize: batch, now: Date().timeIntervalSince1970) { done, total in
                    let t = Date().timeIntervalSince1970
                    guard done == total || t - lastPrinted >= 0.5 else { return }
                    lastPrinted = t
                    let line = "importing \(file): \(done)/\(total) rows (\(total == 0 ? 100 : done * 100 / total)%)"
                    FileHandle.standardError.write(Data((isTTY ? "\r" + line + (done == total ? "\n" : "") : line + "\n").utf8))
                }
            } catch let r as StoreRefusal {
                throw CommandFailure(r.message, status: ExitStatus.dataError)
            }
            if args.has("--json") {
                print(Output.jsonLine(summary))
            } else {
                print("\(file) (\(summary.encoding)): \(summary.rows) rows — 新增 accepted \(summary.inserted), 更新 updated \(summary.updated), "
                      + "未变 unchanged \(summary.unchanged), 拒绝 rejected \(summary.rejected) in \(String(format: "%.2f", summary.seconds)) s")
                if !summary.marketsCreated.isEmpty { print("markets created: \(summary.marketsCreated.joined(separator: ", "))") }
                if !summary.ignoredColumns.isEmpty { print("columns ignored: \(summary.ignoredColumns.joined(separator: ", "))") }
                for r in summary.rejections { print("rejected \(r)") }
            }
            return summary.rejected == 0 ? ExitStatus.ok : ExitStatus.failure
        })

    static let premisesFind = CommandSpec(
        name: "find", abstract: "find premises by QR code, platform id, name or address fragment",
        options: [CommonOptions.db, CommonOptions.json,
                  .value("--limit", "N", help: "at most N premises", default: "20")],
        positionals: [PositionalSpec(name: "QUERY", help: "QR code, platform id, or part of a name or address", isOptional: false)],
        run: { args in
            let store = try openStore(args)
            let found = try store.searchPremises(args.positional(0)!, limit: try args.int("--limit", range: 1...10_000) ?? 20)
            printPremises(found, json: args.has("--json"), empty: "没有找到场所 (no premises match '\(args.positional(0)!)')")
            return found.isEmpty ? ExitStatus.failure : ExitStatus.ok
        })

    static let premisesShow = CommandSpec(
        name: "show", abstract: "show one premises with its detectors",
        options: [CommonOptions.db, CommonOptions.json],
        positionals: [PositionalSpec(name: "ID", help: "platform id or QR code", isOptional: false)],
        run: { args in
            let store = try openStore(args)
            let key = args.positional(0)!
            guard let p = try store.premises(qrOrID: key) else {
                throw CommandFailure("no premises with platform id or QR code '\(key)'; try `firewatch premises find \(key)`")
            }
            let devices = try store.devices(premisesID: p.platformID)
            if args.has("--json") {
                print(Output.jsonLine(PremisesDetailJSON(premises: PremisesJSON(p), devices: devices.map(DeviceJSON.init))))
                return ExitStatus.ok
            }
            print("场所 \(p.platformID)  \(p.name)")
            print("二维码: \(p.qrCode)   类型: \(p.kind.label)   状态: \(PremisesCSV.statusLabel(p.status))"
                  + (p.riskGrade.map { "   风险等级: \($0.rawValue)" } ?? ""))
            print("地址: \(p.address)   社区: \(p.community)   网格: \(p.grid)   市场: \(p.marketID ?? "-")")
            print("负责人: \(p.ownerName)   电话: \(p.ownerPhone)")
            print("\n探测器:")
            print(devices.isEmpty ? "  (none registered)" : deviceTable(devices))
            return ExitStatus.ok
        })

    static let premisesExport = CommandSpec(
        name: "export", abstract: "write the registry as CSV (UTF-8 with BOM, the platform's Chinese headers) to stdout",
        options: [CommonOptions.db,
                  .value("--market", "ID", help: "only the premises of this market"),
                  .flag("--no-bom", help: "leave out the UTF-8 byte-order mark Excel needs")],
        run: { args in
            let store = try openStore(args)
            let csv = PremisesCSV.export(try store.allPremises(marketID: args.string("--market")), bom: !args.has("--no-bom"))
            FileHandle.standardOutput.write(Data(csv.utf8))
            return ExitStatus.ok
        })

    static func printPremises(_ list: [Premises], json: Bool, empty: String) {
        if json {
            for p in list { print(Output.jsonLine(PremisesJSON(p))) }
        } else if list.isEmpty {
            print(empty)
        } else {
            print(Output.table(["平台编号", "二维码", "名称", "类型", "地址", "社区", "市场", "状态"], list.map { p in
                [p.platformID, p.qrCode, p.name, p.kind.label, p.address, p.community, p.marketID ?? "-", PremisesCSV.statusLabel(p.status)]
            }))
        }
    }
}

/// `premises find --json`: one object per line.
struct PremisesJSON: Encodable {
    var platform_id: String
    var qr_code: String
    var name: String
    var kind: String
    var address: String
    var community: String
    var grid: String
    var market_id: String?
    var owner_name: String
    var owner_phone: String
    var risk_grade: String?
    var status: String

    init(_ p: Premises) {
        platform_id = p.platformID; qr_code = p.qrCode; name = p.name; kind = p.kind.rawValue; address = p.address
        community = p.community; grid = p.grid; market_id = p.marketID; owner_name = p.ownerName; owner_phone = p.ownerPhone
        risk_grade = p.riskGrade?.rawValue; status = p.status.rawValue
    }
}

struct PremisesDetailJSON: Encodable {
    var premises: PremisesJSON
    var devices: [DeviceJSON]
}
