import CaseDomain
import SyncCore
import SyncProtocol
public import SyncServer

/// The tallies the server keeps for the figures (table `case_tallies`): one ``CaseTally``
/// per community and day received, so that the overview over a million cases adds up some
/// tens of thousands of tallies instead of reading every case. They catch up lazily, when
/// figures are asked for: the rows of the views written since they last looked (their
/// `updated_at`, less a margin for pushes still committing) mark their community's days,
/// which are counted again from the cases; a reassignment marks its day in every
/// community. Any change of calendar, deadlines or views' versions counts them all again.
extension DistrictQuery {
    /// How far back each catch-up looks again before the last row it saw: a push takes its
    /// time before it commits, and one committing later with an earlier time is still seen.
    static let margin: Int64 = 5 * 60_000

    /// What the tallies are counted with: when it changes, they are all counted again.
    var basis: String {
        let calendar = deadlines.calendar
        let days = CaseKind.allCases.map { "\($0.rawValue)=\(deadlines.workingDays[$0] ?? $0.defaultWorkingDays)" }
        let holidays = calendar.holidays.map(\.description).sorted().joined(separator: ",")
        let workdays = calendar.workdays.map(\.description).sorted().joined(separator: ",")
        let digest = SHA256Hex.digest(Array("\(days)|\(holidays)|\(workdays)".utf8))
        return "v1;\(CaseRecords.caseView.version);\(CaseRecords.eventView.version);\(digest)"
    }

    /// Brings the tallies up to date; a concurrent catch-up (another server process) that
    /// wrote first makes this one count again from what that one saw.
    public func refreshTallies() async throws(ServerError) {
        for attempt in 1...3 {
            do {
                try await refreshOnce()
                return
            } catch  where error.status == 409 && attempt < 3 {
                continue
            }
        }
    }

    private func refreshOnce() async throws(ServerError) {
        let state = try await storage.query(ServerSQL("SELECT seen, basis FROM case_tally_state"), columns: [.integer, .text]).first
        let seen = state?[0].integer
        let basis = basis
        guard let seen, state?[1].text == basis else {
            // Everything, counted again.
            let rows = try await caseRows("1 = 1", [])
            var groups: [CaseTally.Group: CaseTally] = [:]
            var latest: Int64 = 0
            for (line, updatedAt) in rows {
                groups[CaseTally.Group(community: line.community, day: line.received), default: CaseTally()].add(
                    line.report, calendar: deadlines.calendar)
                latest = max(latest, updatedAt)
            }
            var statements = [guardStatement(seen: seen, previousBasis: state?[1].text, latest: latest, basis: basis)]
            statements.append(ServerSQL("DELETE FROM case_tallies"))
            statements += Self.upserts(groups)
            _ = try await storage.execute(statements)
            return
        }
        let since = seen - Self.margin
        var dirty: [String: Set<Int>] = [:]
        var everywhere: Set<Int> = []
        var latest = seen
        for table in ["case_view", "suggestion_view"] {
            let rows = try await storage.query(
                ServerSQL("SELECT community, created_at, updated_at FROM \(table) WHERE updated_at > ?", [.integer(since)]),
                columns: [.text, .timestamp, .integer])
            for row in rows {
                guard let community = row[0].text, let created = row[1].millis else { continue }
                dirty[community, default: []].insert(CivilDate(epochMillis: created).daysSinceEpoch)
                latest = max(latest, row[2].integer ?? 0)
            }
        }
        // A case reassigned to another community leaves its old community's tally: its
        // day is counted again in every community.
        let moved = try await storage.query(
            ServerSQL(
                """
                SELECT c.created_at, e.updated_at FROM case_event_view e JOIN case_view c ON c.id = e.case_id
                WHERE e.type = 'reassign' AND e.updated_at > ?
                """, [.integer(since)]), columns: [.timestamp, .integer])
        for row in moved {
            guard let created = row[0].millis else { continue }
            everywhere.insert(CivilDate(epochMillis: created).daysSinceEpoch)
            latest = max(latest, row[1].integer ?? 0)
        }
        guard !dirty.isEmpty || !everywhere.isEmpty else { return }
        var groups: [CaseTally.Group: CaseTally] = [:]
        var counted: Set<CaseTally.Group> = []
        func count(_ lines: [(line: CaseLine, updatedAt: Int64)], only: (CaseTally.Group) -> Bool) {
            for (line, _) in lines {
                let group = CaseTally.Group(community: line.community, day: line.received)
                guard only(group) else { continue }
                groups[group, default: CaseTally()].add(line.report, calendar: deadlines.calendar)
            }
        }
        for (community, days) in dirty {
            guard let first = days.min(), let last = days.max() else { continue }
            let lines = try await caseRows(
                "c.community = ? AND c.created_at >= ? AND c.created_at < ?",
                [
                    .text(community), .integer(Period.start(CivilDate(daysSinceEpoch: first))),
                    .integer(Period.start(CivilDate(daysSinceEpoch: last + 1))),
                ])
            count(lines) { days.contains($0.day.daysSinceEpoch) && $0.community == community }
            for day in days { counted.insert(CaseTally.Group(community: community, day: CivilDate(daysSinceEpoch: day))) }
        }
        for day in everywhere {
            let date = CivilDate(daysSinceEpoch: day)
            let lines = try await caseRows(
                "c.created_at >= ? AND c.created_at < ?", [.integer(Period.start(date)), .integer(Period.start(date.adding(days: 1)))])
            let before = Set(groups.keys)
            count(lines) { !before.contains($0) }
            // Every community's tally of that day: those with no case left are removed.
            let held = try await storage.query(
                ServerSQL("SELECT community FROM case_tallies WHERE day = ?", [.integer(Int64(day))]), columns: [.text])
            for row in held { if let community = row[0].text { counted.insert(CaseTally.Group(community: community, day: date)) } }
            for group in groups.keys where group.day == date { counted.insert(group) }
        }
        var statements = [guardStatement(seen: seen, previousBasis: basis, latest: latest, basis: basis)]
        for group in counted where groups[group] == nil {
            statements.append(
                ServerSQL(
                    "DELETE FROM case_tallies WHERE community = ? AND day = ?",
                    [.text(group.community), .integer(Int64(group.day.daysSinceEpoch))]))
        }
        statements += Self.upserts(groups)
        _ = try await storage.execute(statements)
    }

    /// The compare-and-set on the state that every catch-up writes first.
    private func guardStatement(seen: Int64?, previousBasis: String?, latest: Int64, basis: String) -> ServerSQL {
        guard let seen, let previousBasis else {
            return ServerSQL(
                "INSERT INTO case_tally_state (singleton, seen, basis) VALUES (1, ?, ?) ON CONFLICT (singleton) DO NOTHING",
                [.integer(latest), .text(basis)], expecting: 1)
        }
        return ServerSQL(
            "UPDATE case_tally_state SET seen = ?, basis = ? WHERE seen = ? AND basis = ?",
            [.integer(max(latest, seen)), .text(basis), .integer(seen), .text(previousBasis)], expecting: 1)
    }

    /// Upserts of `groups`' tallies, a few hundred rows a statement.
    static func upserts(_ groups: [CaseTally.Group: CaseTally]) -> [ServerSQL] {
        var statements: [ServerSQL] = []
        let all = Array(groups)
        var start = 0
        while start < all.count {
            let slice = all[start..<min(start + 300, all.count)]
            let values = Array(repeating: "(?, ?, ?)", count: slice.count).joined(separator: ", ")
            statements.append(
                ServerSQL(
                    "INSERT INTO case_tallies (community, day, tally) VALUES \(values) ON CONFLICT (community, day) DO UPDATE SET tally = excluded.tally",
                    slice.flatMap { [.text($0.key.community), .integer(Int64($0.key.day.daysSinceEpoch)), .text($0.value.encoded)] }))
            start += 300
        }
        return statements
    }
}
