import FireWatchCore
import Foundation

/// Risk grades A–D per premises from the last 90 days of hazard records (docs/risk-grades.md).
///
/// The formula is a pure function of the premises' hazards (`RiskGrading.assess`) so it can be read,
/// tested and changed in one place; `SQLiteGovernanceStore.recomputeRiskGrades` applies it to every
/// active premises and keeps the history in `risk_grades`.
public enum RiskGrading {
    public static let windowSeconds: Double = 90 * 86_400

    /// What grading needs to know about one hazard.
    public struct Facts: Sendable, Equatable {
        public var signal: SignalClass
        public var severity: Severity
        public var kind: String
        public var status: Hazard.Status
        public var openedAt: Double
        public var deadline: Double?

        public init(signal: SignalClass, severity: Severity, kind: String, status: Hazard.Status, openedAt: Double, deadline: Double?) {
            self.signal = signal
            self.severity = severity
            self.kind = kind
            self.status = status
            self.openedAt = openedAt
            self.deadline = deadline
        }
    }

    public struct Assessment: Sendable, Equatable, Codable {
        public var grade: RiskGrade
        public var score: Double
        /// Alarm and pre-alarm hazards opened in the window (not closed as false alarms).
        public var alarms: Int
        /// Fault hazards opened in the window, plus alarms closed as false alarms (equipment upkeep).
        public var faults: Int
        public var openHazards: Int
        public var overdueHazards: Int
        /// Alarm hazards of a kind already seen in the window (the problem came back).
        public var repeatOffences: Int
        /// Why the grade is higher than the score alone gives, if it is.
        public var floorReason: String?
    }

    static func weight(_ s: Severity) -> Double {
        switch s {
        case .low: 1
        case .medium: 2
        case .high: 3
        case .critical: 5
        }
    }

    /// Grades one premises. `hazards` may include older ones; only the window and open ones count.
    public static func assess(_ hazards: [Facts], now: Double) -> Assessment {
        let windowStart = now - windowSeconds
        var score = 0.0
        var alarms = 0, faults = 0, open = 0, overdue = 0, repeats = 0
        var kindsSeen: Set<String> = []
        var floor = RiskGrade.a
        var floorReason: String?
        func raise(to g: RiskGrade, _ why: String) {
            if g > floor { floor = g; floorReason = why }
        }
        for h in hazards.sorted(by: { $0.openedAt < $1.openedAt }) {
            let isOpen = !h.status.isClosed
            let inWindow = h.openedAt >= windowStart
            let isAlarm = h.signal != .fault && h.status != .falseAlarm
            if inWindow {
                if isAlarm {
                    alarms += 1
                    score += weight(h.severity) * (h.signal == .prealarm ? 0.5 : 1)
                    if !kindsSeen.insert(h.kind).inserted { repeats += 1; score += 3 }
                } else {
                    faults += 1
                    score += 1
                }
            }
            if isOpen {
                open += 1
                score += 2
                if let d = h.deadline, d < now {
                    overdue += 1
                    score += 4
                    if isAlarm { raise(to: h.severity >= .high ? .d : .c, "overdue \(h.severity.rawValue) alarm hazard") }
                }
                if isAlarm, h.severity == .critical { raise(to: .d, "open critical alarm hazard") }
            }
        }
        let byScore: RiskGrade = score == 0 ? .a : score < 5 ? .b : score < 12 ? .c : .d
        let grade = max(byScore, floor)
        return Assessment(grade: grade, score: score, alarms: alarms, faults: faults, openHazards: open, overdueHazards: overdue,
                          repeatOffences: repeats, floorReason: grade > byScore ? floorReason : nil)
    }
}

/// One premises' grade as `premises grade` and `inspection plan` print it.
public struct PremisesGrade: Sendable {
    public var premises: Premises
    public var assessment: RiskGrading.Assessment
    public var previous: RiskGrade?
}

/// One line of the inspection plan: a premises, its grade and its open hazards.
public struct InspectionItem: Sendable {
    public var premises: Premises
    public var score: Double?
    public var gradedAt: Double?
    public var openHazards: [Hazard]
}

extension SQLiteGovernanceStore {
    /// Recomputes the grade of every active premises from its hazards, stores it on the premises and
    /// appends it to `risk_grades`, in one transaction. Sorted worst first.
    public func recomputeRiskGrades(now: Double) throws -> [PremisesGrade] {
        try db.transaction {
            var facts: [String: [RiskGrading.Facts]] = [:]
            _ = try db.query("""
                SELECT premises_id, signal, severity, kind, status, opened_at, deadline FROM hazards
                WHERE premises_id IS NOT NULL AND (opened_at >= ? OR status NOT IN ('verified','false_alarm'))
                """, [.real(now - RiskGrading.windowSeconds)]) { r in
                facts[r.text(0), default: []].append(RiskGrading.Facts(
                    signal: SignalClass(rawValue: r.text(1)) ?? .fault, severity: Severity(rawValue: r.text(2)) ?? .medium,
                    kind: r.text(3), status: Hazard.Status(rawValue: r.text(4)) ?? .open, openedAt: r.double(5),
                    deadline: r.optionalDouble(6)))
            }
            let all = try db.query("SELECT \(Self.premisesColumns) FROM premises WHERE status = 'active' ORDER BY platform_id",
                                   [], Self.premises)
            var out: [PremisesGrade] = []
            for p in all {
                let a = RiskGrading.assess(facts[p.platformID] ?? [], now: now)
                if p.riskGrade != a.grade {
                    try db.run("UPDATE premises SET risk_grade = ?, updated_at = ? WHERE platform_id = ?",
                               [.text(a.grade.rawValue), .real(now), .text(p.platformID)])
                }
                try db.run("""
                    INSERT INTO risk_grades (premises_id, computed_at, window_start, grade, score, alarms, faults, open_hazards,
                      overdue_hazards, repeat_offences) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.text(p.platformID), .real(now), .real(now - RiskGrading.windowSeconds), .text(a.grade.rawValue),
                          .real(a.score), .integer(Int64(a.alarms)), .integer(Int64(a.faults)), .integer(Int64(a.openHazards)),
                          .integer(Int64(a.overdueHazards)), .integer(Int64(a.repeatOffences))])
                var graded = p
                graded.riskGrade = a.grade
                out.append(PremisesGrade(premises: graded, assessment: a, previous: p.riskGrade))
            }
            return out.sorted { ($0.assessment.grade, $0.assessment.score) > ($1.assessment.grade, $1.assessment.score) }
        }
    }

    /// Active premises for grid inspectors: D, then C, B, A, then ungraded; worst score first within a
    /// grade; each with its open hazards. `community` filters by the premises' community.
    public func inspectionPlan(community: String?) throws -> [InspectionItem] {
        var sql = "SELECT \(Self.premisesColumns) FROM premises WHERE status = 'active'"
        var args: [SQLValue] = []
        if let community { sql += " AND community = ?"; args.append(.text(community)) }
        let premises = try db.query(sql, args, Self.premises)
        var items: [InspectionItem] = []
        for p in premises {
            let latest = try db.query("SELECT score, computed_at FROM risk_grades WHERE premises_id = ? ORDER BY computed_at DESC, id DESC LIMIT 1",
                                      [.text(p.platformID)]) { ($0.double(0), $0.double(1)) }.first
            let open = try hazards(HazardFilter(premisesID: p.platformID, openOnly: true))
            items.append(InspectionItem(premises: p, score: latest?.0, gradedAt: latest?.1, openHazards: open))
        }
        func rank(_ g: RiskGrade?) -> Int {
            switch g {
            case .d: 0
            case .c: 1
            case .b: 2
            case .a: 3
            case nil: 4
            }
        }
        return items.sorted {
            (rank($0.premises.riskGrade), -($0.score ?? 0), $0.premises.platformID)
                < (rank($1.premises.riskGrade), -($1.score ?? 0), $1.premises.platformID)
        }
    }
}
