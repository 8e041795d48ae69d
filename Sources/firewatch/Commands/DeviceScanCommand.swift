import FireWatchCore
import FireWatchModbus
import Foundation

extension Commands {
    static let deviceScan = CommandSpec(
        name: "scan", abstract: "find responding Modbus unit ids and the profiles they match",
        discussion: """
        Asks each unit id in --units; any answer (an exception included) means a device is there.
        The profile is named when the model's identity registers match (docs/modbus-profiles.md).
        Progress goes to stderr, the results table (or --json lines) to stdout.
        """,
        options: modbusTargetOptions + [
            .value("--units", "A-B", help: "unit ids to try", default: "1-247"),
            .value("--profile", "ID", help: "only check this profile's identity"),
            CommonOptions.json, CommonOptions.devices,
        ],
        run: { args in
            let target = try modbusTarget(args)
            let (lo, hi) = try unitRange(args, default: "1-247")
            let profiles: [ModbusProfile]
            if let id = args.string("--profile") {
                profiles = [try loadModbusProfile(id, args)]
            } else {
                profiles = Array(try ModbusProfile.loadAll(directory: args.string("--devices-dir") ?? "Devices").values)
                    .sorted { $0.id < $1.id }
            }
            let total = hi - lo + 1
            let interactive = isatty(2) != 0
            let hits: [ModbusScanHit]
            do {
                hits = try ModbusProbe.scan(target: target, units: lo...hi, profiles: profiles,
                                            responseTimeout: try args.double("--timeout", range: 0.01...10) ?? 0.3) { unit, found in
                    let line = "scanning \(target): unit \(unit) (\(unit - lo + 1)/\(total)), found \(found.count)"
                    if interactive { FileHandle.standardError.write(Data(("\r" + line).utf8)) }
                    else if (unit - lo + 1) % 16 == 0 || unit == hi { printError(line) }
                }
            } catch {
                if interactive { printError("") }
                throw CommandFailure("\(error)", status: ExitStatus.unavailable)
            }
            if interactive { printError("") }
            if args.has("--json") {
                for h in hits { print(Output.jsonLine(ScanHitJSON(unit: h.unit, profiles: h.profiles, note: h.note))) }
            } else if hits.isEmpty {
                print("没有设备应答 (no unit in \(lo)-\(hi) answered on \(target))")
            } else {
                print(Output.table(["单元", "型号", "说明"], hits.map {
                    [String($0.unit), $0.profiles.isEmpty ? "未识别" : $0.profiles.joined(separator: ", "), $0.note]
                }))
            }
            return ExitStatus.ok
        })
}

struct ScanHitJSON: Encodable {
    var unit: Int
    var profiles: [String]
    var note: String
}
