import FireWatchCore
import FireWatchStore
import Foundation

extension Commands {
    static let inspectionGroup = CommandSpec(
        name: "inspection", abstract: "inspection plans for grid inspectors",
        subcommands: [inspectionPlan])

    static let inspectionPlan = CommandSpec(
        name: "plan", abstract: "premises to inspect, C and D first, with their open hazards",
        discussion: "Uses the grades of the last `firewatch premises grade`; run that first (e.g. nightly).",
        options: [CommonOptions.db, CommonOptions.json,
                  .value("--community", "NAME", help: "only premises of this community (社区)"),
                  .flag("--all", help: "also list A and B premises (they self-inspect monthly)")],
        run: { args in
            let store = try openStore(args)
            var items = try store.inspectionPlan(community: args.string("--community"))
            if !args.has("--all") && !args.has("--json") {
                items = items.filter { $0.premises.riskGrade == .c || $0.premises.riskGrade == .d || $0.premises.riskGrade == nil }
            }
            if args.has("--json") {
                for i in items { print(Output.jsonLine(InspectionJSON(i))) }
                return ExitStatus.ok
            }
            if items.isEmpty {
                print("没有需要网格员检查的场所 (no C or D premises" + (args.string("--community").map { " in \($0)" } ?? "") + ")")
                return ExitStatus.ok
            }
            print("检查计划" + (args.string("--community").map { " · \($0)" } ?? "") + "  (\(items.count) 个场所, C/D 优先)\n")
            for i in items {
                let p = i.premises
                print("[\(p.riskGrade?.rawValue ?? "未评")] \(p.platformID) \(p.name)  \(p.address)  网格: \(p.grid)  负责人: \(p.ownerName) \(p.ownerPhone)"
                      + (i.score.map { "  分值 \(Output.number($0))" } ?? ""))
                if i.openHazards.isEmpty { print("    无未关闭隐患") }
                for h in i.openHazards {
                    let overdue = (h.deadline ?? .infinity) < Date().timeIntervalSince1970 ? " · 已超期" : ""
                    print("    #\(h.id) \(h.title) [\(h.severity.label)] \(h.status.label)\(overdue)  发现 \(Output.local(h.openedAt))"
                          + (h.deadline.map { "  期限 \(Output.local($0))" } ?? ""))
                }
            }
            return ExitStatus.ok
        })
}

struct InspectionJSON: Encodable {
    var premises_id: String
    var name: String
    var address: String
    var community: String
    var grid: String
    var owner_name: String
    var owner_phone: String
    var grade: String?
    var score: Double?
    var graded_at: String?
    var open_hazards: [HazardJSON]

    init(_ i: InspectionItem) {
        let p = i.premises
        premises_id = p.platformID; name = p.name; address = p.address; community = p.community; grid = p.grid
        owner_name = p.ownerName; owner_phone = p.ownerPhone; grade = p.riskGrade?.rawValue; score = i.score
        graded_at = i.gradedAt.map(Output.iso); open_hazards = i.openHazards.map(HazardJSON.init)
    }
}
