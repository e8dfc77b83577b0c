import CaseDomain
import ReplicaStore
import SuggestionDomain
import SyncCore
import SyncProtocol
public import SyncServer

/// The tallies the server keeps for the figures (table `case_tallies`): one ``CaseTally``
/// per community and day received, so that the overview over a million cases adds up some
/// tens of thousands of tallies instead of reading every case. They catch up lazily, when
/// figures are asked for: the rows of the views written since they last looked (their
/// `updated_at`, less a margin for pushes still committing) mark their community's days,
/// which are counted again from the cases and written only where they changed; a
/// reassignment marks its day in every community. Any change of calendar, deadlines or
/// views' versions counts them all again. Each catch-up that writes bumps the state's
/// generation, compared first, so that of two server processes catching up at once one
/// writes and the other counts again from what it wrote.
extension DistrictQuery {
    /// How far back each catch-up looks again before the last row it saw: a push takes its
    /// time before it commits, and one committing later with an earlier time is still seen
    /// (the servers sharing a database keep their clocks within it).
    static let margin: Int64 = 5 * 60_000

    /// What the tallies are counted with: when it changes, they are all counted again.
    var basis: String {
        let calendar = deadlines.calendar
        let days = CaseKind.allCases.map { "\($0.rawValue)=\(deadlines.workingDays[$0] ?? $0.defaultWorkingDays)" }
        let holidays = calendar.holidays.map(\.description).sorted().joined(separator: ",")
        let workdays = calendar.workdays.map(\.description).sorted().joined(separator: ",")
        let digest = SHA256Hex.digest(Array("\(days)|\(holidays)|\(workdays)".utf8))
        let views = [CaseRecords.caseView.version, CaseRecords.eventView.version, SuggestionRecords.suggestionView.version]
        return "v1;\(views.map(String.init).joined(separator: ","));\(digest)"
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

    private struct State {
        var seen: Int64
        var basis: String
        var generation: Int64
    }

    private func refreshOnce() async throws(ServerError) {
        let row = try await storage.query(
            ServerSQL("SELECT seen, basis, generation FROM case_tally_state"), columns: [.integer, .text, .integer]
        ).first
        let state = row.map { State(seen: $0[0].integer ?? 0, basis: $0[1].text ?? "", generation: $0[2].integer ?? 0) }
        let basis = basis
        let now = ReplicaStore.nowMillis()
        guard let state, state.basis == basis else {
            // Everything, counted again.
            var groups: [CaseTally.Group: CaseTally] = [:]
            var latest: Int64 = 0
            for (line, updatedAt) in try await caseRows("1 = 1", []) {
                groups[CaseTally.Group(community: line.community, day: line.received), default: CaseTally()].add(
                    line.report, calendar: deadlines.calendar)
                latest = max(latest, updatedAt)
            }
            let first = ServerSQL(
                "INSERT INTO case_tally_state (singleton, seen, basis, generation) VALUES (1, ?, ?, 0) ON CONFLICT (singleton) DO NOTHING",
                [.integer(min(latest, now)), .text(basis)], expecting: 1)
            _ = try await storage.execute(
                [
                    state.map { advance($0, to: min(latest, now), basis: basis) } ?? first, ServerSQL("DELETE FROM case_tallies"),
                    ServerSQL("DELETE FROM case_tallies_month"),
                ] + Self.upserts(groups) + Self.monthUpserts(Self.months(of: groups)))
            return
        }
        let since = state.seen - Self.margin
        var dirty: [String: Set<Int>] = [:]
        var everywhere: Set<Int> = []
        var latest = state.seen
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
        // An event marks its case's day (an escalation the case's fields did not bring); a
        // reassignment, which takes the case out of its old community's tally, marks its day
        // in every community.
        let events = try await storage.query(
            ServerSQL(
                """
                SELECT e.type, c.community, c.created_at, e.updated_at FROM case_event_view e JOIN case_view c ON c.id = e.case_id
                WHERE e.updated_at > ?
                """, [.integer(since)]), columns: [.text, .text, .timestamp, .integer])
        for row in events {
            guard let community = row[1].text, let created = row[2].millis else { continue }
            let day = CivilDate(epochMillis: created).daysSinceEpoch
            if row[0].text == "reassign" { everywhere.insert(day) } else { dirty[community, default: []].insert(day) }
            latest = max(latest, row[3].integer ?? 0)
        }
        latest = min(latest, now)
        guard !dirty.isEmpty || !everywhere.isEmpty || latest > state.seen else { return }
        var groups: [CaseTally.Group: CaseTally] = [:]
        var stored: [CaseTally.Group: String] = [:]
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
                ], reading: .few)
            count(lines) { days.contains($0.day.daysSinceEpoch) && $0.community == community }
            let held = try await storage.query(
                ServerSQL(
                    "SELECT day, tally FROM case_tallies WHERE community = ? AND day >= ? AND day <= ?",
                    [.text(community), .integer(Int64(first)), .integer(Int64(last))]), columns: [.integer, .text])
            for row in held {
                guard let day = row[0].integer, days.contains(Int(day)) else { continue }
                stored[CaseTally.Group(community: community, day: CivilDate(daysSinceEpoch: Int(day)))] = row[1].text
            }
            for day in days { counted.insert(CaseTally.Group(community: community, day: CivilDate(daysSinceEpoch: day))) }
        }
        for day in everywhere {
            let date = CivilDate(daysSinceEpoch: day)
            let lines = try await caseRows(
                "c.created_at >= ? AND c.created_at < ?", [.integer(Period.start(date)), .integer(Period.start(date.adding(days: 1)))],
                reading: .few)
            let before = Set(groups.keys)
            count(lines) { !before.contains($0) }
            let held = try await storage.query(
                ServerSQL("SELECT community, tally FROM case_tallies WHERE day = ?", [.integer(Int64(day))]), columns: [.text, .text])
            for row in held {
                guard let community = row[0].text else { continue }
                let group = CaseTally.Group(community: community, day: date)
                stored[group] = row[1].text
                counted.insert(group)
            }
            for group in groups.keys where group.day == date { counted.insert(group) }
        }
        // Only what changed is written: a catch-up over rows already counted writes nothing.
        var statements: [ServerSQL] = []
        var changed: [CaseTally.Group: CaseTally] = [:]
        var removed: Set<CaseTally.Group> = []
        for group in counted {
            let now = groups[group]
            if now?.encoded == stored[group] { continue }
            if let now {
                changed[group] = now
            } else {
                removed.insert(group)
                statements.append(
                    ServerSQL(
                        "DELETE FROM case_tallies WHERE community = ? AND day = ?",
                        [.text(group.community), .integer(Int64(group.day.daysSinceEpoch))]))
            }
        }
        statements += Self.upserts(changed)
        // Each month a changed day is in: the sum of its days again (those held, with the
        // changed ones in place of theirs).
        var months: [CaseTally.Group: CaseTally] = [:]
        var emptied: [CaseTally.Group] = []
        for month in Set(changed.keys.map(Self.month) + removed.map(Self.month)) {
            let first = month.day.daysSinceEpoch
            let next = Self.nextMonth(month.day).daysSinceEpoch
            let held = try await storage.query(
                ServerSQL(
                    "SELECT day, tally FROM case_tallies WHERE community = ? AND day >= ? AND day < ?",
                    [.text(month.community), .integer(Int64(first)), .integer(Int64(next))]), columns: [.integer, .text])
            var total = CaseTally()
            var days = 0
            for row in held {
                guard let day = row[0].integer else { continue }
                let group = CaseTally.Group(community: month.community, day: CivilDate(daysSinceEpoch: Int(day)))
                if changed[group] != nil || removed.contains(group) { continue }
                guard let text = row[1].text, total.merge(encoded: text) != nil else { continue }
                days += 1
            }
            for (group, tally) in changed where Self.month(group) == month {
                total.merge(tally)
                days += 1
            }
            if days == 0 { emptied.append(month) } else { months[month] = total }
        }
        statements += emptied.map {
            ServerSQL(
                "DELETE FROM case_tallies_month WHERE community = ? AND month = ?",
                [.text($0.community), .integer(Int64($0.day.daysSinceEpoch))])
        }
        statements += Self.monthUpserts(months)
        guard !statements.isEmpty || latest > state.seen else { return }
        _ = try await storage.execute([advance(state, to: max(latest, state.seen), basis: basis)] + statements)
    }

    /// The month (its first day) of a day's group.
    static func month(_ group: CaseTally.Group) -> CaseTally.Group {
        CaseTally.Group(community: group.community, day: CivilDate(year: group.day.year, month: group.day.month, day: 1) ?? group.day)
    }

    static func nextMonth(_ first: CivilDate) -> CivilDate {
        (first.month == 12
            ? CivilDate(year: first.year + 1, month: 1, day: 1) : CivilDate(year: first.year, month: first.month + 1, day: 1))
            ?? first.adding(days: 31)
    }

    /// Each community's months, from its days' tallies.
    static func months(of groups: [CaseTally.Group: CaseTally]) -> [CaseTally.Group: CaseTally] {
        var months: [CaseTally.Group: CaseTally] = [:]
        for (group, tally) in groups { months[month(group), default: CaseTally()].merge(tally) }
        return months
    }

    /// The compare-and-set every catch-up writes first: its generation must still be the
    /// one it read.
    private func advance(_ state: State, to seen: Int64, basis: String) -> ServerSQL {
        ServerSQL(
            "UPDATE case_tally_state SET seen = ?, basis = ?, generation = generation + 1 WHERE generation = ?",
            [.integer(seen), .text(basis), .integer(state.generation)], expecting: 1)
    }

    /// Upserts of `groups`' tallies, a few hundred rows a statement.
    static func upserts(_ groups: [CaseTally.Group: CaseTally]) -> [ServerSQL] {
        batches(Array(groups), columns: 5) { slice in
            ServerSQL(
                "INSERT INTO case_tallies (community, day, received, closed, tally) VALUES \(placeholders(slice.count, 5)) "
                    + "ON CONFLICT (community, day) DO UPDATE SET received = excluded.received, closed = excluded.closed, tally = excluded.tally",
                slice.flatMap {
                    [
                        .text($0.key.community), .integer(Int64($0.key.day.daysSinceEpoch)), .integer(Int64($0.value.received)),
                        .integer(Int64($0.value.closed)), .text($0.value.encoded),
                    ]
                })
        }
    }

    static func monthUpserts(_ months: [CaseTally.Group: CaseTally]) -> [ServerSQL] {
        batches(Array(months), columns: 3) { slice in
            ServerSQL(
                "INSERT INTO case_tallies_month (community, month, tally) VALUES \(placeholders(slice.count, 3)) "
                    + "ON CONFLICT (community, month) DO UPDATE SET tally = excluded.tally",
                slice.flatMap { [.text($0.key.community), .integer(Int64($0.key.day.daysSinceEpoch)), .text($0.value.encoded)] })
        }
    }

    private static func batches(
        _ all: [(key: CaseTally.Group, value: CaseTally)], columns: Int,
        _ statement: (ArraySlice<(key: CaseTally.Group, value: CaseTally)>) -> ServerSQL
    ) -> [ServerSQL] {
        var statements: [ServerSQL] = []
        var start = 0
        while start < all.count {
            statements.append(statement(all[start..<min(start + 300, all.count)]))
            start += 300
        }
        return statements
    }

    private static func placeholders(_ rows: Int, _ columns: Int) -> String {
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        return Array(repeating: row, count: rows).joined(separator: ", ")
    }
}
