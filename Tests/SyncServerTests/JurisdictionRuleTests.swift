import CaseDomain
import SyncCore
import SyncServer
import Testing

/// The jurisdiction rules, pure: decided from the kinds' scope rules, never a case's field.
@Suite struct JurisdictionRuleTests {
    let street = OfficeScope(office: "JD1", level: .street, children: ["HSM", "XQ"])
    let community = OfficeScope(office: "HSM", level: .community)
    let district = OfficeScope(office: "HSD", level: .district)
    let rules = ScopeRules(kinds: [CaseRecords.kind])

    func scope(_ community: String, _ handling: String) -> RecordScope { RecordScope([community, handling]) }

    func change(_ fields: [String: Value], table: String = "cases") -> Change {
        Change(
            dot: Dot(ReplicaID("r"), 1), record: RecordKey(table: table, id: "c1"), fields: fields, context: VersionVector(),
            hlc: HLC(wall: 1, logical: 0), author: "x")
    }

    func after(_ change: Change, before: RecordScope?, parent: (String) -> RecordScope? = { _ in nil }) -> RecordScope? {
        RecordScope.after(change, rule: rules.rule(for: change.record.table), before: before, parent: parent)
    }

    @Test func officesCoverTheirJurisdiction() {
        let own = scope("HSM", "HSM")
        let escalated = scope("HSM", "JD1")
        let other = scope("YY", "YY")
        let sentHere = scope("YY", "JD1")
        #expect(community.covers(own) && community.covers(escalated) && !community.covers(other))
        #expect(street.covers(own) && street.covers(escalated) && !street.covers(other) && street.covers(sentHere))
        #expect(district.covers(other) && district.covers(nil))
        #expect(!community.covers(nil) && !street.covers(nil), "records without a scope are the district's only")
    }

    @Test func aNewCaseBelongsToItsCommunityAndAnEventToItsCase() {
        let created = after(change(["office": .text("HSM"), "community": .text("HSM")]), before: nil)
        #expect(created == scope("HSM", "HSM"))
        let legacy = after(change(["office": .text("XQ")]), before: nil)
        #expect(legacy == scope("XQ", "XQ"))
        let escalated = after(change(["office": .text("JD1")]), before: created)
        #expect(escalated == scope("HSM", "JD1"))
        let event = after(change(["case_id": .text("c9"), "type": .text("note")], table: "case_events"), before: nil) {
            $0 == "c9" ? escalated : nil
        }
        #expect(event == escalated)
        #expect(after(change(["title": .text("x")]), before: nil) == nil, "a case naming no office has no scope")
        #expect(after(change(["x": .text("HSM")], table: "unknown"), before: nil) == nil, "a table no kind declares: the district's")
    }

    @Test func onlyAStreetOrTheDistrictMovesACaseToAnotherCommunity() {
        let before = scope("HSM", "HSM")
        let moved = scope("XQ", "XQ")
        let away = scope("YY", "YY")
        #expect(!community.mayWrite(before: before, after: moved))
        #expect(street.mayWrite(before: before, after: moved))
        #expect(!street.mayWrite(before: before, after: away), "not to a community of another street")
        #expect(district.mayWrite(before: before, after: away))
        #expect(community.mayWrite(before: before, after: before))
        #expect(!community.mayWrite(before: away, after: away))
        #expect(community.mayWrite(before: before, after: scope("HSM", "JD1")), "escalating keeps the home")
    }

    @Test(arguments: [
        ("HSM,JD1", [Optional("HSM"), "JD1"]), ("HSM,", ["HSM", nil]), (",JD1", [nil, "JD1"]), ("A", ["A"]),
        ("A,,B", ["A", nil, "B"]), (",,", [nil, nil, nil]), ("", [nil]), ("社区一,JD1", ["社区一", "JD1"]),
    ])
    func aScopeIsStoredByPosition(encoded: String, offices: [String?]) {
        #expect(RecordScope(encoded: encoded) == RecordScope(offices))
        #expect(RecordScope(offices).encoded == encoded)
        #expect(RecordScope(encoded: nil) == nil)
    }

    /// A move is judged by the office tree of its time: a street covers a record whose
    /// community was its child then.
    @Test func aPlacedScopeKeepsTheTreeOfItsTime() {
        let parents = ["HSM": "JD1", "JD1": "HSD", "YY": "JD2"]
        let placed = PlacedScope(scope("HSM", "HSM")) { parents[$0] }
        #expect(placed.encoded == "HSM/JD1,HSM/JD1")
        #expect(PlacedScope(encoded: placed.encoded) == placed)
        #expect(street.covers(placed) && community.covers(placed) && district.covers(placed))
        let elsewhere = OfficeScope(office: "JD2", level: .street, children: ["YY", "HSM"])
        #expect(!elsewhere.covers(placed), "JD2 holds HSM now, but did not when the move was recorded")
        // Every office also reads the listing of records shared with all (`*`).
        #expect(street.listings == ["JD1", "HSM", "XQ", "*"] && community.listings == ["HSM", "*"])
    }

    @Test func childrenAreFoundThroughTheirParentsRule() {
        #expect(rules.children(of: "cases") == ["audit_events", "case_events"])
        #expect(rules.children(of: "case_events").isEmpty)
        #expect(rules.rule(for: "nothing") == .district)
    }
}

/// The listing of changes under offices as runs of consecutive numbers, pure.
@Suite struct ListingRunsTests {
    typealias Run = ListingRuns.Run

    @Test func aBatchOfOneOfficesRecordsIsOneRun() {
        var runs = ListingRuns()
        for arrived in Int64(11)...Int64(20) { runs.list(arrived, under: ["HSM"]) }
        #expect(runs.takeClosed().isEmpty, "nothing ended yet")
        #expect(runs.finish() == [Run(office: "HSM", first: 11, last: 20)])
        #expect(runs.finish().isEmpty, "finish leaves nothing behind")
    }

    @Test func aNumberNotListedUnderAnOfficeEndsItsRun() {
        var runs = ListingRuns()
        runs.list(1, under: ["HSM"])
        runs.list(2, under: ["HSM", "JD1"])  // escalated: listed under its street too
        runs.list(3, under: ["XQ"])
        runs.list(4, under: ["HSM"])
        runs.list(6, under: ["HSM"])  // 5 is not listed at all (a record without a scope)
        runs.list(7, under: ["HSM", "HSM", nil])  // a code named twice is listed once
        #expect(
            Set(runs.takeClosed()) == [
                Run(office: "HSM", first: 1, last: 2), Run(office: "JD1", first: 2, last: 2), Run(office: "XQ", first: 3, last: 3),
                Run(office: "HSM", first: 4, last: 4),
            ])
        #expect(runs.finish() == [Run(office: "HSM", first: 6, last: 7)])
    }

    /// Every number listed under an office is in exactly one of its runs, whatever the
    /// interleaving.
    @Test func runsHoldExactlyTheNumbersListed() {
        var generator = SystemRandomNumberGenerator()
        let offices = ["HSM", "XQ", "JD1"]
        for _ in 0..<50 {
            var runs = ListingRuns()
            var listed: [String: [Int64]] = [:]
            var collected: [Run] = []
            for arrived in Int64(1)...Int64(200) where Int.random(in: 0..<5, using: &generator) > 0 {
                let under = offices.filter { _ in Bool.random(using: &generator) }
                for office in under { listed[office, default: []].append(arrived) }
                runs.list(arrived, under: under)
                collected += runs.takeClosed()
            }
            collected += runs.finish()
            var expanded: [String: [Int64]] = [:]
            for run in collected.sorted(by: { $0.first < $1.first }) {
                #expect(run.first <= run.last)
                expanded[run.office, default: []] += Array(run.first...run.last)
            }
            #expect(expanded == listed)
        }
    }
}

/// The gap rule and the pull position, pure (both backends decide with them).
@Suite struct SequencingRuleTests {
    @Test(
        arguments: [
            (UInt64(0), Set<UInt64>(), UInt64(0)), (5, Set<UInt64>(), 5), (5, Set<UInt64>([6, 7]), 7), (5, Set<UInt64>([7]), 5),
            (0, Set<UInt64>([1, 2, 4]), 2),
        ] as [(UInt64, Set<UInt64>, UInt64)])
    func holdsCountsRefusedCountersAsHeld(highest: UInt64, refused: Set<UInt64>, holds: UInt64) {
        #expect(Sequencing.holds(highestHeld: highest, refused: refused) == holds)
    }

    @Test(
        arguments: [
            ([6, 7, 8], 5, [], .accept(retried: [])),
            ([6, 8], 5, [], .gap(missing: 7)),
            ([8, 6, 7], 5, [], .accept(retried: [])),
            ([7], 5, [], .gap(missing: 6)),
            ([8], 5, [6, 7], .accept(retried: [])),
            ([4, 6], 5, [4], .accept(retried: [4])),
            ([], 5, [], .accept(retried: [])),
            ([6, 6, 7], 5, [], .accept(retried: [])),
        ] as [([UInt64], UInt64, Set<UInt64>, Sequencing.Verdict)])
    func freshCountersContinueWithoutAGap(fresh: [UInt64], holds: UInt64, refused: Set<UInt64>, verdict: Sequencing.Verdict) {
        #expect(Sequencing.check(fresh: fresh, holds: holds, refused: refused) == verdict)
    }

    @Test(arguments: [("", 0, 0), ("v1.12", 12, 0), ("v1.12.3", 12, 3), ("v1.0.0", 0, 0)])
    func positionsThisServerIssuedAreRead(text: String, arrived: Int64, moves: Int64) throws {
        let cursor = try PullCursor(parsing: text)
        #expect(cursor == PullCursor(arrived: arrived, moves: moves))
        #expect(try PullCursor(parsing: cursor.text) == cursor)
    }

    @Test(arguments: ["v2.1", "v1", "v1.-1", "v1.1.-2", "v1.x", "v1.1.2.3", "1.2", "v1..", "v1.1."])
    func otherPositionsAreRefused(text: String) {
        #expect(throws: ServerError.self) { try PullCursor(parsing: text) }
        do {
            _ = try PullCursor(parsing: text)
        } catch {
            #expect(error.code == "invalid_cursor")
        }
    }
}
