import FireWatchCore
import FireWatchStore
import Foundation

extension Commands {
    /// `firewatch premises grade`: recomputes every active premises' risk grade (docs/risk-grades.md).
    static let premisesGrade = CommandSpec(
        name: "grade", abstract: "recompute risk grades A–D from the last 90 days of hazards",
        discussion: """
        Score = alarm hazards by severity (1/2/3/5, pre-alarms half) + 1 per fault + 2 per open hazard
        + 4 per overdue hazard + 3 per repeat of an alarm kind; A = 0, B < 5, C < 12, D ≥ 12, and an
        overdue alarm makes it at least C (D when high or critical), an open critical alarm D.
        A and B self-inspect monthly; inspectors go to C and D (`firewatch inspection plan`).
        """,
        options: [CommonOptions.db, CommonOptions.json],
        run: { args in
            let store = try openStore(args)
            let grades = try store.recomputeRiskGrades(now: Date().timeIntervalSince1970)
            if args.has("--json") {
                for g in grades { print(Output.jsonLine(GradeJSON(g))) }
                return ExitStatus.ok
            }
            if grades.isEmpty { print("没有在用的场所 (no active premises in \(args.databasePath))"); return ExitStatus.ok }
            print(Output.table(["场所", "名称", "等级", "原等级", "分值", "报警", "故障", "未关闭", "超期", "重复", "说明"], grades.map { g in
                let a = g.assessment
                return [g.premises.platformID, g.premises.name, a.grade.rawValue, g.previous?.rawValue ?? "-", Output.number(a.score),
                        String(a.alarms), String(a.faults), String(a.openHazards), String(a.overdueHazards), String(a.repeatOffences),
                        a.floorReason.map(GradeJSON.reasonLabel) ?? ""]
            }))
            let counts = Dictionary(grouping: grades, by: \.assessment.grade).mapValues(\.count)
            print("\n共 \(grades.count) 个场所: " + RiskGrade.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: "  ")
                  + "   (A/B 每月自查, C/D 列入网格员检查计划)")
            return ExitStatus.ok
        })
}

struct GradeJSON: Encodable {
    var premises_id: String
    var name: String
    var community: String
    var grade: String
    var previous: String?
    var score: Double
    var alarms: Int
    var faults: Int
    var open_hazards: Int
    var overdue_hazards: Int
    var repeat_offences: Int
    var floor_reason: String?

    init(_ g: PremisesGrade) {
        let a = g.assessment
        premises_id = g.premises.platformID; name = g.premises.name; community = g.premises.community; grade = a.grade.rawValue
        previous = g.previous?.rawValue; score = a.score; alarms = a.alarms; faults = a.faults; open_hazards = a.openHazards
        overdue_hazards = a.overdueHazards; repeat_offences = a.repeatOffences; floor_reason = a.floorReason
    }

    static func reasonLabel(_ reason: String) -> String {
        if reason.hasPrefix("overdue") { return "有超期未整改的报警隐患" }
        if reason.hasPrefix("open critical") { return "有未关闭的重大报警隐患" }
        return reason
    }
}
