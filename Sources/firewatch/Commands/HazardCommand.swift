import FireWatchCore
import FireWatchStore
import Foundation

extension Commands {
    static let hazardCommands: [CommandSpec] = [hazardList, hazardShow] + hazardSteps

    static let hazardList = CommandSpec(
        name: "list", abstract: "list hazard records",
        options: [CommonOptions.db, CommonOptions.json,
                  .flag("--open", help: "only hazards not yet closed"),
                  .value("--premises", "ID", help: "only this premises (platform id or QR code)"),
                  .value("--status", "STATUS", help: "only this status: open, acknowledged, dispatched, rectified, verified, false_alarm"),
                  .value("--limit", "N", help: "at most N records", default: "1000")],
        run: { args in
            let store = try openStore(args)
            var filter = HazardFilter(openOnly: args.has("--open"), limit: try args.int("--limit", range: 1...1_000_000) ?? 1000)
            if let p = args.string("--premises") {
                guard let premises = try store.premises(qrOrID: p) else {
                    throw CommandFailure("no premises with platform id or QR code '\(p)'")
                }
                filter.premisesID = premises.platformID
            }
            if let s = args.string("--status") {
                guard let status = Hazard.Status(rawValue: s) else {
                    throw UsageError("--status '\(s)' is not one of \(Hazard.Status.allCases.map(\.rawValue).joined(separator: ", "))",
                                     command: args.commandPath)
                }
                filter.statuses = [status]
            }
            let hazards = try store.hazards(filter)
            if args.has("--json") {
                for h in hazards { print(Output.jsonLine(HazardJSON(h))) }
            } else if hazards.isEmpty {
                print("没有隐患记录 (no hazard records in \(args.databasePath))")
            } else {
                print(Output.table(["编号", "场所", "设备", "类别", "等级", "状态", "发现时间", "事件数", "标题"], hazards.map { h in
                    [String(h.id), "\(h.premisesID) \(h.premisesName)", h.device, h.signal.label, h.severity.label,
                     h.status.label + (h.conditionActive ? "" : "·已恢复"), Output.local(h.openedAt), String(h.eventCount), h.title]
                }))
            }
            return ExitStatus.ok
        })

    static let hazardShow = CommandSpec(
        name: "show", abstract: "show one hazard with its timeline and events",
        options: [CommonOptions.db, CommonOptions.json],
        positionals: [PositionalSpec(name: "ID", help: "hazard id from `hazard list`", isOptional: false)],
        run: { args in
            let store = try openStore(args)
            let id = try hazardID(args)
            guard let d = try store.hazardDetail(id: id) else { throw CommandFailure("no hazard with id \(id); see `firewatch hazard list`") }
            if args.has("--json") {
                print(Output.jsonLine(HazardDetailJSON(d)))
                return ExitStatus.ok
            }
            let h = d.hazard
            print("隐患 #\(h.id)  \(h.title)")
            print("场所: \(h.premisesID) \(h.premisesName)   设备: \(h.device)")
            print("类别: \(h.signal.label) / \(h.category) / \(h.kind)   等级: \(h.severity.label)   状态: \(h.status.label)")
            print("发现: \(Output.local(h.openedAt))   更新: \(Output.local(h.updatedAt))"
                  + (h.deadline.map { "   整改期限: \(Output.local($0))" } ?? "")
                  + (h.closedAt.map { "   关闭: \(Output.local($0))" } ?? ""))
            print("现场状态: \(h.conditionActive ? "仍在报警" : "已恢复正常")   事件数: \(h.eventCount)")
            print("\n处理记录:")
            print(Output.table(["时间", "动作", "操作人", "说明"], d.steps.map { [Output.local($0.time), $0.action, $0.actor, $0.note] }))
            print("\n事件:")
            print(Output.table(["时间", "边缘/序号", "通道", "规则", "类别", "变化", "数值"], d.events.map { e in
                [Output.local(e.time), "\(e.edgeID)/\(e.sequence)", e.channel, e.rule, e.signal.label,
                 e.transition == .raise ? "触发" : "恢复", Output.number(e.value)]
            }))
            return ExitStatus.ok
        })

    /// ack, dispatch, rectify, verify, false-alarm: one step each, with who and a note.
    static let hazardSteps: [CommandSpec] = [
        ("ack", Hazard.Status.acknowledged, "acknowledge a hazard (接警确认)"),
        ("dispatch", .dispatched, "dispatch someone to rectify it (派单)"),
        ("rectify", .rectified, "record that it was rectified (整改完成)"),
        ("verify", .verified, "verify the rectification on re-inspection and close it (复查销号)"),
        ("false-alarm", .falseAlarm, "close it as a false alarm (误报关闭)"),
    ].map { name, status, abstract in
        CommandSpec(
            name: name, abstract: abstract,
            options: [CommonOptions.db, CommonOptions.json,
                      .value("--by", "NAME", help: "who takes this step", required: true),
                      .value("--note", "TEXT", help: "what was done or found")],
            positionals: [PositionalSpec(name: "ID", help: "hazard id", isOptional: false)],
            run: { args in
                let store = try openStore(args)
                let id = try hazardID(args)
                let by = try args.require("--by")
                do {
                    let h = try store.advanceHazard(id: id, to: status, actor: by, note: args.string("--note") ?? "",
                                                    now: Date().timeIntervalSince1970)
                    if args.has("--json") { print(Output.jsonLine(HazardJSON(h))) }
                    else { print("隐患 #\(h.id) → \(h.status.label) (\(h.status.rawValue)) by \(by)") }
                } catch let refusal as StoreRefusal {
                    throw CommandFailure(refusal.message)
                }
                return ExitStatus.ok
            })
    }

    static func hazardID(_ args: ParsedArguments) throws(UsageError) -> Int64 {
        let text = args.positional(0) ?? ""
        guard let id = Int64(text), id > 0 else { throw UsageError("hazard ID must be a positive number, got '\(text)'", command: args.commandPath) }
        return id
    }

    /// Opens the governance database named by --db (creating and migrating it if new).
    static func openStore(_ args: ParsedArguments, mustExist: Bool = true) throws -> SQLiteGovernanceStore {
        let path = args.databasePath
        if mustExist, !FileManager.default.fileExists(atPath: path) {
            throw CommandFailure("database \(path) does not exist; run `firewatch demo` or pass --db FILE", status: ExitStatus.failure)
        }
        do { return try SQLiteGovernanceStore(path: path) } catch { throw CommandFailure("cannot open \(path): \(error)") }
    }
}

/// `hazard list --json`: one object per line.
struct HazardJSON: Encodable {
    var id: Int64
    var premises_id: String
    var premises_name: String
    var device: String
    var category: String
    var kind: String
    var signal: String
    var severity: String
    var title: String
    var status: String
    var condition_active: Bool
    var opened_at: String
    var updated_at: String
    var closed_at: String?
    var deadline: String?
    var event_count: Int

    init(_ h: Hazard) {
        id = h.id; premises_id = h.premisesID; premises_name = h.premisesName; device = h.device; category = h.category
        kind = h.kind; signal = h.signal.rawValue; severity = h.severity.rawValue; title = h.title; status = h.status.rawValue
        condition_active = h.conditionActive; opened_at = Output.iso(h.openedAt); updated_at = Output.iso(h.updatedAt)
        closed_at = h.closedAt.map(Output.iso); deadline = h.deadline.map(Output.iso); event_count = h.eventCount
    }
}

struct HazardDetailJSON: Encodable {
    struct Step: Encodable { var time: String; var action: String; var actor: String; var note: String }
    struct Event: Encodable {
        var edge: String; var sequence: Int64; var time: String; var channel: String; var rule: String
        var kind: String; var transition: String; var value: Double?
    }
    var hazard: HazardJSON
    var timeline: [Step]
    var events: [Event]

    init(_ d: HazardDetail) {
        hazard = HazardJSON(d.hazard)
        timeline = d.steps.map { Step(time: Output.iso($0.time), action: $0.action, actor: $0.actor, note: $0.note) }
        events = d.events.map { Event(edge: $0.edgeID, sequence: $0.sequence, time: Output.iso($0.time), channel: $0.channel,
                                      rule: $0.rule, kind: $0.signal.rawValue, transition: $0.transition.rawValue, value: $0.value) }
    }
}
