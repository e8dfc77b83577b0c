import CaseDomain
import SyncCore
import SyncServer
import Testing

/// The push's decisions, pure (every backend runs them): new changes, jurisdiction,
/// scopes afterwards, moves and listing.
@Suite struct PushPlanTests {
    let rules = ScopeRules(kinds: [CaseRecords.kind])
    let writer = ReplicaID("0123456789abcdef0123456789abcdef")

    func change(_ counter: UInt64, _ table: String, _ id: String, _ fields: [String: Value]) -> Change {
        Change(
            dot: Dot(writer, counter), record: RecordKey(table: table, id: id), fields: fields, context: VersionVector(),
            hlc: HLC(wall: 1_000 + counter, logical: 0), author: "李娜")
    }

    /// The server's records before the batch: a case of XQ and one of HSM.
    func stored(_ key: RecordKey) -> PushPlan.Stored {
        switch key.id {
        case "xq-case": PushPlan.Stored(existed: true, scope: RecordScope(["XQ", "XQ"]))
        case "hsm-case": PushPlan.Stored(existed: true, scope: RecordScope(["HSM", "HSM"]))
        default: PushPlan.Stored(existed: false, scope: nil)
        }
    }

    @Test func aCommunityWritesItsOwnAndIsRefusedAnotherOfficesRecords() throws {
        let hsm = OfficeScope(office: "HSM", level: .community)
        var looked: [RecordKey] = []
        let batch = [
            change(3, "cases", "old", ["title": .text("重放")]),  // held already: not judged
            change(4, "cases", "new", ["community": .text("HSM"), "office": .text("HSM"), "title": .text("新案件")]),
            change(5, "case_events", "e1", ["case_id": .text("new"), "type": .text("visit")]),
            change(6, "case_events", "e2", ["case_id": .text("xq-case"), "type": .text("visit")]),
            change(7, "cases", "xq-case", ["title": .text("改别人的")]),
            change(8, "cases", "hsm-case", ["title": .text("改自己的")]),
        ]
        let plan = try PushPlan(batch, holds: 3, refusedBefore: [], office: hsm, scopes: rules) { key in
            looked.append(key)
            return stored(key)
        }
        #expect(plan.fresh == [4, 5, 8])
        #expect(plan.refused.map(\.counter) == [6, 7])
        #expect(Set(looked).count == looked.count, "each record looked up once")
        #expect(!looked.contains(RecordKey(table: "cases", id: "old")), "a replay is not looked up")
        let rescoped = plan.rescoped(scopes: rules)
        let byID = Dictionary(uniqueKeysWithValues: rescoped.map { ($0.key.id, $0) })
        #expect(byID["new"]?.scope == RecordScope(["HSM", "HSM"]) && byID["new"]?.moved == false)
        #expect(byID["e1"]?.scope == RecordScope(["HSM", "HSM"]) && byID["e1"]?.parent == "new", "an event takes its case's scope")
        #expect(byID["hsm-case"] == nil, "a change naming no scope field leaves the scope as it was")
        #expect(plan.listsAny)
    }

    /// A new case, an event of it, then its escalation to another street, in one batch: the
    /// event ends with the case's final scope and is listed there, as it would be had each
    /// change come in a push of its own (found by MultiServerPropertyTests, seed
    /// 3523298854733274001).
    @Test func aChildFollowsItsParentsScopeChangedLaterInTheBatch() throws {
        let hsm = OfficeScope(office: "HSM", level: .community)
        let batch = [
            change(1, "cases", "c", ["community": .text("HSM"), "office": .text("HSM"), "title": .text("新案件")]),
            change(2, "case_events", "e", ["case_id": .text("c"), "type": .text("visit")]),
            change(3, "cases", "c", ["office": .text("JD2")]),
        ]
        let plan = try PushPlan(batch, holds: 0, refusedBefore: [], office: hsm, scopes: rules) { stored($0) }
        #expect(plan.refused.isEmpty)
        let byID = Dictionary(uniqueKeysWithValues: plan.rescoped(scopes: rules).map { ($0.key.id, $0) })
        #expect(byID["c"]?.scope == RecordScope(["HSM", "JD2"]))
        #expect(byID["e"]?.scope == RecordScope(["HSM", "JD2"]), "the event kept its case's first scope")
        let runs = plan.listing([
            (1, RecordKey(table: "cases", id: "c")), (2, RecordKey(table: "case_events", id: "e")), (3, RecordKey(table: "cases", id: "c")),
        ])
        #expect(
            runs.contains { $0.office == "JD2" && $0.first <= 2 && $0.last >= 2 },
            "the event is not listed under its case's new street: \(runs)")
    }

    @Test func aStreetMovingACaseRecordsAMoveAndListsItUnderTheNewHome() throws {
        let street = OfficeScope(office: "JD1", level: .street, children: ["HSM", "XQ"])
        let batch = [
            change(1, "cases", "hsm-case", ["community": .text("XQ"), "office": .text("XQ")]),
            change(2, "cases", "brand-new", ["community": .text("HSM"), "office": .text("JD1")]),
        ]
        let plan = try PushPlan(batch, holds: 0, refusedBefore: [], office: street, scopes: rules) { stored($0) }
        #expect(plan.refused.isEmpty && plan.fresh == [1, 2])
        let moved = plan.rescoped(scopes: rules).filter(\.moved)
        #expect(moved.count == 1)
        #expect(moved.first?.key.id == "hsm-case" && moved.first?.was == RecordScope(["HSM", "HSM"]))
        #expect(moved.first?.scope == RecordScope(["XQ", "XQ"]))
        let runs = plan.listing([(41, RecordKey(table: "cases", id: "hsm-case")), (42, RecordKey(table: "cases", id: "brand-new"))])
        #expect(
            Set(runs) == [
                ListingRuns.Run(office: "XQ", first: 41, last: 41), ListingRuns.Run(office: "HSM", first: 42, last: 42),
                ListingRuns.Run(office: "JD1", first: 42, last: 42),
            ])
    }

    /// A change sent twice in one batch is logged once: the listing still finds each
    /// logged change's record.
    @Test func aRepeatInTheBatchIsListedOnce() throws {
        let hsm = OfficeScope(office: "HSM", level: .community)
        let first = change(1, "cases", "a", ["community": .text("HSM"), "office": .text("HSM")])
        let batch = [first, first, change(2, "cases", "hsm-case", ["title": .text("再改")])]
        let plan = try PushPlan(batch, holds: 0, refusedBefore: [], office: hsm, scopes: rules) { stored($0) }
        #expect(plan.fresh == [1, 1, 2])
        let runs = plan.listing([(10, RecordKey(table: "cases", id: "a")), (11, RecordKey(table: "cases", id: "hsm-case"))])
        #expect(runs == [ListingRuns.Run(office: "HSM", first: 10, last: 11)])
    }

    /// A lookup that fails stops the plan with its error.
    @Test func aFailedLookupStopsThePlan() {
        struct Broken: Error {}
        let hsm = OfficeScope(office: "HSM", level: .community)
        #expect(throws: Broken.self) {
            try PushPlan([change(1, "case_events", "e", ["case_id": .text("x")])], holds: 0, refusedBefore: [], office: hsm, scopes: rules)
            {
                key in
                if key.table == "cases" { throw Broken() }
                return stored(key)
            }
        }
    }
}
