public import CaseDomain
import Foundation
public import GRDB
public import ReplicaStore
public import SyncCore

extension ReplicaStore {
    /// The figures over cases received from `from` through `to` (local dates, inclusive).
    public func report(from: CivilDate?, to: CivilDate?, today: CivilDate) throws -> CaseReport {
        let rows = try reading("cannot read the cases") { db in
            try Row.fetchAll(db, sql: "SELECT status, kind, category, level, created_at, closed_at, due_date, rating FROM cases")
        }
        var cases: [ReportCase] = []
        for row in rows {
            guard let created: Int64 = row["created_at"] else { continue }
            let received = CivilDate(epochMillis: created)
            if let from, received < from { continue }
            if let to, received > to { continue }
            let closedAt: Int64? = row["closed_at"]
            let status: String? = row["status"]
            let kind: String? = row["kind"]
            let level: String? = row["level"]
            let due: String? = row["due_date"]
            cases.append(
                ReportCase(
                    status: status.flatMap(CaseStatus.init(rawValue:)) ?? .received, kind: kind.flatMap(CaseKind.init(rawValue:)),
                    category: row["category"] ?? "", level: level.flatMap(HandlingLevel.init(rawValue:)) ?? .community, received: received,
                    closed: closedAt.map { CivilDate(epochMillis: $0) }, due: due.flatMap(CivilDate.init(parsing:)), rating: row["rating"]))
        }
        return CaseReport.compute(cases, today: today, calendar: deadlines.calendar)
    }
}
