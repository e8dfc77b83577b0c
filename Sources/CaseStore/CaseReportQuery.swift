public import CaseDomain
import Foundation
public import GRDB
public import ReplicaStore
public import SyncCore

extension ReplicaStore {
    /// The figures over cases received from `from` through `to` (local dates, inclusive),
    /// of every community, or of `communities` when given.
    public func report(from: CivilDate?, to: CivilDate?, communities: Set<String>? = nil, today: CivilDate) throws -> CaseReport {
        let rows = try reading("cannot read the cases") { db in
            // A suggestion's pipeline stage lives in the suggestions kind's table, which a file
            // opened without that kind does not have: its suggestions are all `submitted`.
            let stages = try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'suggestions'")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT c.status, c.kind, c.category, c.level, c.created_at, c.closed_at, c.due_date, c.rating, c.community,
                           c.source, c.round,
                           EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.type = 'escalate') AS escalated,
                           \(stages == true ? "(SELECT s.stage FROM suggestions s WHERE s.id = c.id)" : "NULL") AS stage
                    FROM cases c
                    """)
        }
        var cases: [ReportCase] = []
        for row in rows {
            guard let created: Int64 = row["created_at"] else { continue }
            let received = CivilDate(epochMillis: created)
            if let from, received < from { continue }
            if let to, received > to { continue }
            let community: String = row["community"] ?? ""
            if let communities, !communities.contains(community) { continue }
            let closedAt: Int64? = row["closed_at"]
            let status: String? = row["status"]
            let kind = (row["kind"] as String?).flatMap(CaseKind.init(rawValue:))
            let level: String? = row["level"]
            let due: String? = row["due_date"]
            var item = ReportCase(
                status: status.flatMap(CaseStatus.init(rawValue:)) ?? .received, kind: kind, category: row["category"] ?? "",
                level: level.flatMap(HandlingLevel.init(rawValue:)) ?? .community, received: received,
                closed: closedAt.map { CivilDate(epochMillis: $0) }, due: due.flatMap(CivilDate.init(parsing:)), rating: row["rating"])
            item.community = community
            item.channel = CaseChannel(source: row["source"])
            item.round = row["round"] ?? 1
            item.escalated = row["escalated"] ?? false
            if kind == .suggestion { item.suggestionStage = row["stage"] ?? "submitted" }
            cases.append(item)
        }
        return CaseReport.compute(cases, today: today, calendar: deadlines.calendar)
    }
}
