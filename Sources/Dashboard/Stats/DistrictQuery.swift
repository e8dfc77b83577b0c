public import CaseDomain
public import PolicyDomain
public import SyncCore
public import SyncServer

/// The district's figures and lists, read from the server's read model (both backends:
/// portable SQL through ``CentralStorage/query(_:columns:)``) and computed by the same pure
/// ``CaseReport`` as `rain report`.
public struct DistrictQuery: Sendable {
    public let storage: any CentralStorage
    public let deadlines: DeadlinePolicy

    public init(storage: any CentralStorage, deadlines: DeadlinePolicy) {
        self.storage = storage
        self.deadlines = deadlines
    }

    /// A period of days received (local dates, inclusive; nil: open-ended).
    public struct Period: Sendable, Equatable {
        public var from: CivilDate?
        public var to: CivilDate?

        public init(from: CivilDate?, to: CivilDate?) {
            self.from = from
            self.to = to
        }

        /// The first millisecond of `from` and the first after `to`, Beijing time.
        var bounds: (Int64, Int64) {
            (from.map(Self.start) ?? Int64.min, to.map { Self.start($0.adding(days: 1)) } ?? Int64.max)
        }

        static func start(_ day: CivilDate) -> Int64 { Int64(day.daysSinceEpoch) * 86_400_000 - 8 * 3_600_000 }
    }

    /// One case as the dashboard lists it: no personal data (the read model holds none but
    /// the phone's last four digits, which the lists never show).
    public struct CaseLine: Sendable {
        public var id: String
        public var number: String
        public var kind: CaseKind?
        public var category: String
        public var status: CaseStatus
        public var community: String
        public var channel: CaseChannel
        public var received: CivilDate
        public var due: CivilDate?
        public var closed: CivilDate?
        public var report: ReportCase
    }

    /// Every case received in `period` in `communities`.
    public func cases(in communities: Set<String>, period: Period) async throws(ServerError) -> [CaseLine] {
        let (from, to) = period.bounds
        return try await caseRows("c.created_at >= ? AND c.created_at < ?", [.integer(from), .integer(to)])
            .compactMap { communities.contains($0.line.community) ? $0.line : nil }
    }

    /// The cases `condition` (over `case_view c`) selects, each with its row's `updated_at`.
    /// How ``caseRows(_:_:reading:)`` finds a case's escalation and stage.
    enum Reading {
        /// Many cases: the escalations read once (a probe per case would cost more).
        case many
        /// A few cases: each probed by its id.
        case few
        /// Neither (a list that shows no figure).
        case listOnly
    }

    func caseRows(_ condition: String, _ arguments: [Value], reading: Reading = .many) async throws(ServerError) -> [(
        line: CaseLine, updatedAt: Int64
    )] {
        let escalated =
            switch reading {
            case .many: "CASE WHEN c.id IN (SELECT e.case_id FROM case_event_view e WHERE e.type = 'escalate') THEN 1 ELSE 0 END"
            case .few: "CASE WHEN EXISTS (SELECT 1 FROM case_event_view e WHERE e.case_id = c.id AND e.type = 'escalate') THEN 1 ELSE 0 END"
            case .listOnly: "0"
            }
        let stage = reading == .listOnly ? "NULL" : "(SELECT s.stage FROM suggestion_view s WHERE s.id = c.id)"
        let rows = try await storage.query(
            ServerSQL(
                """
                SELECT c.id, c.number, c.kind, c.category, c.status, c.level, c.community, c.created_at, c.closed_at, c.rating,
                       c.source, c.round, \(escalated), \(stage), c.updated_at
                FROM case_view c
                WHERE \(condition)
                """, arguments),
            columns: [
                .text, .text, .text, .text, .text, .text, .text, .timestamp, .timestamp, .integer, .text, .integer, .integer, .text,
                .integer,
            ])
        var lines: [(line: CaseLine, updatedAt: Int64)] = []
        lines.reserveCapacity(rows.count)
        for row in rows {
            guard case .text(let community) = row[6], let created = row[7].millis else { continue }
            let received = CivilDate(epochMillis: created)
            let kind = row[2].text.flatMap(CaseKind.init(rawValue:))
            let status = row[4].text.flatMap(CaseStatus.init(rawValue:)) ?? .received
            let closed = row[8].millis.map { CivilDate(epochMillis: $0) }
            let due = kind.map { deadlines.due(kind: $0, received: received) }
            var item = ReportCase(
                status: status, kind: kind, category: row[3].text ?? "",
                level: row[5].text.flatMap(HandlingLevel.init(rawValue:)) ?? .community, received: received, closed: closed, due: due,
                rating: row[9].integer.map(Int.init))
            item.community = community
            item.channel = CaseChannel(source: row[10].text)
            item.round = row[11].integer.map(Int.init) ?? 1
            item.escalated = row[12].integer == 1
            if kind == .suggestion { item.suggestionStage = row[13].text ?? "submitted" }
            lines.append(
                (
                    CaseLine(
                        id: row[0].text ?? "", number: row[1].text ?? "", kind: kind, category: item.category, status: status,
                        community: community, channel: item.channel, received: received, due: due, closed: closed, report: item),
                    row[14].integer ?? 0
                ))
        }
        return lines
    }

    /// The figures over `communities` in `period`, as of `today`: from the kept tallies,
    /// brought up to date first (``refreshTallies()``).
    public func report(in communities: Set<String>, period: Period, today: CivilDate) async throws(ServerError) -> CaseReport {
        try await refreshTallies()
        guard !communities.isEmpty else { return CaseReport(offices: [:], days: [:], today: today) }
        // Days as numbers; the months wholly inside the period, [fullFrom, fullUntil), come
        // from the months' tallies, the days before and after from the days'.
        let unbounded = 1 << 40
        let from = period.from?.daysSinceEpoch ?? -unbounded
        let to = period.to?.daysSinceEpoch ?? unbounded
        let fullFrom = period.from.map { $0.day == 1 ? $0 : Self.nextMonth(Self.firstOfMonth($0)) }?.daysSinceEpoch ?? -unbounded
        let fullUntil =
            period.to.map { day in day.adding(days: 1).day == 1 ? day.adding(days: 1) : Self.firstOfMonth(day) }?.daysSinceEpoch
            ?? unbounded
        var offices: [String: CaseTally] = [:]
        func add(_ rows: [[Value]], _ what: String) throws(ServerError) {
            for row in rows {
                guard let community = row[0].text, communities.contains(community) else { continue }
                guard let text = row[1].text, offices[community, default: CaseTally()].merge(encoded: text) != nil else {
                    throw ServerError(
                        status: 500, code: "internal", message: "cannot read the figures: a kept \(what) tally is damaged (\(community))")
                }
            }
        }
        if fullFrom < fullUntil {
            try add(
                try await storage.query(
                    ServerSQL(
                        "SELECT community, tally FROM case_tallies_month WHERE month >= ? AND month < ?",
                        [.integer(Int64(fullFrom)), .integer(Int64(fullUntil))]), columns: [.text, .text]), "month's")
            try add(
                try await storage.query(
                    ServerSQL(
                        "SELECT community, tally FROM case_tallies WHERE (day >= ? AND day < ?) OR (day >= ? AND day <= ?)",
                        [.integer(Int64(from)), .integer(Int64(fullFrom)), .integer(Int64(fullUntil)), .integer(Int64(to))]),
                    columns: [.text, .text]), "day's")
        } else {
            try add(
                try await storage.query(
                    ServerSQL(
                        "SELECT community, tally FROM case_tallies WHERE day >= ? AND day <= ?",
                        [.integer(Int64(from)), .integer(Int64(to))]),
                    columns: [.text, .text]), "day's")
        }
        // The trends: cases received and closed by day, summed by the database.
        let list = communities.sorted()
        let trends = try await storage.query(
            ServerSQL(
                """
                SELECT day, CAST(SUM(received) AS BIGINT), CAST(SUM(closed) AS BIGINT) FROM case_tallies
                WHERE day >= ? AND day <= ? AND community IN (\(Array(repeating: "?", count: list.count).joined(separator: ", ")))
                GROUP BY day
                """, [.integer(Int64(from)), .integer(Int64(to))] + list.map(Value.text)), columns: [.integer, .integer, .integer])
        var days: [CivilDate: CaseReport.Trend] = [:]
        for row in trends {
            guard let day = row[0].integer else { continue }
            days[CivilDate(daysSinceEpoch: Int(day))] = CaseReport.Trend(
                received: Int(row[1].integer ?? 0), closed: Int(row[2].integer ?? 0))
        }
        return CaseReport(offices: offices, days: days, today: today)
    }

    static func firstOfMonth(_ day: CivilDate) -> CivilDate { CivilDate(year: day.year, month: day.month, day: 1) ?? day }

    /// The same figures computed from every case (what the tallies must equal): for tests
    /// and the benchmark.
    public func reportFromCases(in communities: Set<String>, period: Period, today: CivilDate) async throws(ServerError) -> CaseReport {
        CaseReport.compute(try await cases(in: communities, period: period).map(\.report), today: today, calendar: deadlines.calendar)
    }

    /// Open cases of `communities` (any day received) due on or before `horizon` working
    /// days after `today`: the overdue and those at risk, the most overdue first.
    public func actionCases(in communities: Set<String>, today: CivilDate, horizon: Int) async throws(ServerError) -> [CaseLine] {
        let limit = deadlines.calendar.adding(workingDays: horizon, to: today)
        return try await caseRows("c.status IN ('received', 'verifying', 'handling', 'replied')", [], reading: .listOnly).map(\.line)
            .filter { communities.contains($0.community) && $0.due.map { $0 <= limit } == true }
            .sorted { ($0.due!, $0.number) < ($1.due!, $1.number) }
    }

    /// The action list's size and its first `first` cases, the most overdue first, without
    /// reading every open case: a case's due date only grows with the day it was received,
    /// so per kind the cases due by the horizon are those received before a bound, and the
    /// earliest received are the earliest due.
    public func actionSummary(in communities: Set<String>, today: CivilDate, horizon: Int, first: Int) async throws(ServerError) -> (
        count: Int, first: [CaseLine]
    ) {
        guard !communities.isEmpty else { return (0, []) }
        let limit = deadlines.calendar.adding(workingDays: horizon, to: today)
        let list = communities.sorted()
        let places = Array(repeating: "?", count: list.count).joined(separator: ", ")
        // Answered from the index on (status, kind, created_at, community); the community is
        // an expression (`community || ''`) so that no community index is chosen instead.
        var bounds: [(kind: CaseKind, before: Int64)] = []
        for kind in CaseKind.allCases {
            // The first day received whose due date is past the limit (a due date is at most
            // some weeks after the day received).
            var bound = limit.adding(days: -60)
            while deadlines.due(kind: kind, received: bound) <= limit { bound = bound.adding(days: 1) }
            bounds.append((kind, Period.start(bound)))
        }
        let open = "c.status IN ('received', 'verifying', 'handling', 'replied') AND c.community || '' IN (\(places))"
        let due = bounds.map { _ in "(c.kind = ? AND c.created_at < ?)" }.joined(separator: " OR ")
        let counted = try await storage.query(
            ServerSQL(
                "SELECT count(*) FROM case_view c WHERE \(open) AND (\(due))",
                list.map(Value.text) + bounds.flatMap { [Value.text($0.kind.rawValue), .integer($0.before)] }), columns: [.integer])
        let count = Int(counted.first?[0].integer ?? 0)
        var lines: [CaseLine] = []
        for (kind, before) in bounds {
            lines += try await caseRows(
                "\(open) AND c.kind = ? AND c.created_at < ? ORDER BY c.created_at, c.number LIMIT \(first)",
                list.map(Value.text) + [.text(kind.rawValue), .integer(before)], reading: .listOnly
            ).map(\.line)
        }
        let sorted = lines.filter { $0.due.map { $0 <= limit } == true }.sorted { ($0.due!, $0.number) < ($1.due!, $1.number) }
        return (count, Array(sorted.prefix(first)))
    }

    /// A record holding a conflict no person has settled yet.
    public struct Conflict: Sendable, Equatable {
        public var table: String
        public var record: String
        public var fields: Int
        /// The case's or suggestion's number and community, when the record is one.
        public var number: String?
        public var community: String?
    }

    /// The records in conflict in `communities` (records with no community — a policy, a
    /// campaign — only for the district).
    public func conflicts(in communities: Set<String>, everything: Bool) async throws(ServerError) -> [Conflict] {
        let rows = try await storage.query(
            ServerSQL(
                """
                SELECT m.tbl, m.record_id, m.conflicts, COALESCE(c.number, s.number), COALESCE(c.community, s.community)
                FROM merge_state m
                LEFT JOIN case_view c ON m.tbl = 'cases' AND c.id = m.record_id
                LEFT JOIN suggestion_view s ON m.tbl = 'suggestions' AND s.id = m.record_id
                WHERE m.conflicts > 0
                ORDER BY m.tbl, m.record_id
                """), columns: [.text, .text, .integer, .text, .text])
        return rows.compactMap { row in
            let community = row[4].text
            if let community { guard communities.contains(community) else { return nil } } else if !everything { return nil }
            return Conflict(
                table: row[0].text ?? "", record: row[1].text ?? "", fields: Int(row[2].integer ?? 0), number: row[3].text,
                community: community)
        }
    }

    /// Enrolled replicas of `offices`, not revoked, that have not synced since `before` (ms).
    public func quietReplicas(of offices: Set<String>, before: Int64) async throws(ServerError) -> [EnrolledReplica] {
        try await storage.replicas()
            .filter {
                offices.contains($0.office) && $0.revokedAt == nil && $0.supersededBy == nil && ($0.lastSeenAt ?? $0.enrolledAt) < before
            }
            .sorted { ($0.lastSeenAt ?? $0.enrolledAt) < ($1.lastSeenAt ?? $1.enrolledAt) }
    }

    /// A grant approved and not paid.
    public struct UnpaidGrant: Sendable, Equatable {
        public var id: String
        public var policy: String
        public var department: String
        public var street: String
        public var amountFen: Int64
        public var batch: String?
    }

    /// Grants approved, not rejected, with no payment, of `streets` (every street: nil).
    public func unpaidGrants(streets: Set<String>?) async throws(ServerError) -> [UnpaidGrant] {
        let rows = try await storage.query(
            ServerSQL(
                """
                SELECT id, policy, department, street, amount_fen, batch FROM grant_view
                WHERE stage = 'approved' AND payment IS NULL AND rejection IS NULL ORDER BY department, id
                """), columns: [.text, .text, .text, .text, .integer, .text])
        return rows.compactMap { row in
            let street = row[3].text ?? ""
            if let streets, !streets.contains(street) { return nil }
            return UnpaidGrant(
                id: row[0].text ?? "", policy: row[1].text ?? "", department: row[2].text ?? "", street: street,
                amountFen: row[4].integer ?? 0, batch: row[5].text)
        }
    }
}

extension Value {
    var millis: Int64? {
        switch self {
        case .timestamp(let value), .integer(let value): value
        default: nil
        }
    }
}

extension DistrictQuery {
    /// Policy direct's figures (``PolicyStats``' definitions, as `rain policy stats`) over
    /// every policy and the grants of `streets` (every street: nil).
    public func policyStats(streets: Set<String>?) async throws(ServerError) -> PolicyStats {
        let policies = try await storage.query(ServerSQL("SELECT id, department, status FROM policy_view"), columns: [.text, .text, .text])
            .map { PolicyStats.Policy(id: $0[0].text ?? "", department: $0[1].text ?? "", status: $0[2].text ?? "") }
        let grants = try await storage.query(
            ServerSQL(
                "SELECT policy, department, street, credit_code, amount_fen, rejection, payment, created_at, paid_at FROM grant_view"),
            columns: [.text, .text, .text, .text, .integer, .text, .text, .timestamp, .timestamp]
        ).compactMap { row -> PolicyStats.Grant? in
            let street = row[2].text ?? ""
            if let streets, !streets.contains(street) { return nil }
            return PolicyStats.Grant(
                policy: row[0].text ?? "", department: row[1].text ?? "", street: street, creditCode: row[3].text ?? "",
                amountFen: row[4].integer ?? 0, rejected: row[5].text != nil, paid: row[6].text != nil, createdAt: row[7].millis,
                paidAt: row[8].millis)
        }
        return PolicyStats(policies: policies, grants: grants)
    }
}
