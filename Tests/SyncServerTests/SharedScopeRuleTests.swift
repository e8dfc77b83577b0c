import CaseDomain
import PolicyDomain
import SuggestionDomain
import SyncCore
import SyncServer
import Testing

/// Shared scopes (PROTOCOL §9.6): records every office reads — the enterprise registry at
/// once, a policy once published — but only their own offices write.
@Suite struct SharedScopeRuleTests {
    let rules = ScopeRules(kinds: [PolicyRecords.kind])
    let department = OfficeScope(office: "JRB", level: .department)
    let otherDepartment = OfficeScope(office: "KJJ", level: .department)
    let street = OfficeScope(office: "JD1", level: .street, children: ["HSM"])
    let community = OfficeScope(office: "HSM", level: .community)
    let district = OfficeScope(office: "HSD", level: .district)

    func change(_ table: String, _ fields: [String: Value]) -> Change {
        Change(
            dot: Dot(ReplicaID("r"), 1), record: RecordKey(table: table, id: "p1"), fields: fields, context: VersionVector(),
            hlc: HLC(wall: 1, logical: 0), author: "x")
    }

    func after(_ change: Change, before: RecordScope?) -> RecordScope? {
        RecordScope.after(change, rule: rules.rule(for: change.record.table), before: before) { _ in nil }
    }

    @Test func aDraftIsItsDepartmentsAndAPublishedPolicyEveryonesToRead() throws {
        let draft = try #require(after(change("policies", ["department": .text("JRB"), "status": .text("draft")]), before: nil))
        #expect(draft == RecordScope(["JRB", "JRB"]))
        #expect(!draft.isShared)
        #expect(department.reads(draft) && !otherDepartment.reads(draft) && !street.reads(draft) && !community.reads(draft))
        #expect(district.reads(draft))

        let edited = after(change("policies", ["title": .text("新标题")]), before: draft)
        #expect(edited == draft, "a change naming neither the department nor the status keeps the scope")

        let published = try #require(after(change("policies", ["status": .text("published")]), before: draft))
        #expect(published == RecordScope(["JRB", ScopeRule.everyone]))
        for office in [department, otherDepartment, street, community, district] { #expect(office.reads(published)) }
        // Reading is not writing: only the department (and the district) writes it.
        #expect(department.mayWrite(before: published, after: published))
        #expect(district.mayWrite(before: published, after: published))
        for office in [otherDepartment, street, community] {
            #expect(!office.mayWrite(before: published, after: published), "\(office.office)")
        }
    }

    @Test func aSharedRecordNeverBecomesPrivateAgainWhateverTheOrder() throws {
        let published = try #require(
            after(change("policies", ["department": .text("JRB"), "status": .text("published")]), before: nil))
        #expect(published.isShared)
        // A concurrent draft write arriving later does not hide it again.
        #expect(after(change("policies", ["status": .text("draft")]), before: published) == published)
        // Moving it to another department keeps it shared, under the new home.
        #expect(after(change("policies", ["department": .text("KJJ")]), before: published) == RecordScope(["KJJ", ScopeRule.everyone]))
        #expect(after(change("policies", ["status": .text("closed")]), before: RecordScope(["JRB", "JRB"]))?.isShared == true)
    }

    @Test func theRegistryIsReadByAllAndWrittenByItsStreet() throws {
        let enterprise = try #require(after(change("enterprises", ["street": .text("JD1"), "name": .text("星河")]), before: nil))
        #expect(enterprise == RecordScope(["JD1", ScopeRule.everyone]))
        #expect(street.mayWrite(before: enterprise, after: enterprise))
        #expect(!department.mayWrite(before: enterprise, after: enterprise) && department.reads(enterprise))
        #expect(!OfficeScope(office: "JD2", level: .street).mayWrite(before: enterprise, after: enterprise))
        // Its account stays with its street: not shared.
        let account = try #require(after(change("enterprise_accounts", ["street": .text("JD1")]), before: nil))
        #expect(!account.isShared && street.reads(account) && !department.reads(account) && !community.reads(account))
        #expect(district.reads(account))
    }

    @Test func aGrantIsItsDepartmentsAndItsStreets() throws {
        let grant = try #require(after(change("grants", ["department": .text("JRB"), "street": .text("JD1")]), before: nil))
        #expect(department.mayWrite(before: nil, after: grant) && street.mayWrite(before: nil, after: grant))
        #expect(!community.reads(grant), "a community is below its street: its subtree does not hold the street")
        #expect(!otherDepartment.reads(grant) && !OfficeScope(office: "JD2", level: .street).reads(grant))
    }

    @Test func everyOfficeReadsTheSharedListing() {
        #expect(department.listings == ["JRB", ScopeRule.everyone])
        #expect(street.listings == ["JD1", "HSM", ScopeRule.everyone])
        var runs = ListingRuns()
        runs.list(1, under: ["JRB", ScopeRule.everyone])
        #expect(runs.finish().map(\.office).sorted() == [ScopeRule.everyone, "JRB"])
        // Entering a shared scope is a move every office sees as an entry.
        let before = PlacedScope(RecordScope(["JRB", "JRB"])) { _ in "HSD" }
        let after = PlacedScope(RecordScope(["JRB", ScopeRule.everyone])) { $0 == "JRB" ? "HSD" : nil }
        #expect(!street.reads(before) && street.reads(after) && community.reads(after))
    }
}

/// What the server refuses in a push whatever a client does (found by a review): scope
/// fields that are not office codes, and fields a kind reserves to the record's home or
/// to the server.
@Suite struct FieldWriterRuleTests {
    let rules = ScopeRules(kinds: [CaseRecords.kind, PolicyRecords.kind, SuggestionRecords.kind])
    let writer = ReplicaID("0123456789abcdef0123456789abcdef")

    func change(_ counter: UInt64, _ table: String, _ id: String, _ fields: [String: Value]) -> Change {
        Change(
            dot: Dot(writer, counter), record: RecordKey(table: table, id: id), fields: fields, context: VersionVector(),
            hlc: HLC(wall: 1_000 + counter, logical: 0), author: "x")
    }

    func stored(_ key: RecordKey) -> PushPlan.Stored {
        switch key.id {
        case "hsm-case": PushPlan.Stored(existed: true, scope: RecordScope(["HSM", "HSM"]))
        case "grant": PushPlan.Stored(existed: true, scope: RecordScope(["JRB", "JD1"]))
        case "idea": PushPlan.Stored(existed: true, scope: RecordScope(["HSM", "JTJ"]))
        default: PushPlan.Stored(existed: false, scope: nil)
        }
    }

    func refused(_ batch: [Change], by office: OfficeScope) throws -> [UInt64] {
        try PushPlan(batch, holds: 0, refusedBefore: [], office: office, scopes: rules) { stored($0) }.refused.map(\.counter)
    }

    @Test func aScopeFieldMustNameAnOfficeCode() throws {
        let hsm = OfficeScope(office: "HSM", level: .community)
        // A `*` would make the case every office's to read; a comma a second code.
        let batch = [
            change(1, "cases", "hsm-case", ["office": .text("*")]), change(2, "cases", "hsm-case", ["office": .text("HSM,*")]),
            change(3, "cases", "hsm-case", ["office": .text("")]), change(4, "cases", "hsm-case", ["title": .text("*")]),
            change(5, "cases", "hsm-case", ["office": .text("JD1")]),
        ]
        #expect(try refused(batch, by: hsm) == [1, 2, 3])
        // Nor may a street make a grant or an enterprise shared.
        let street = OfficeScope(office: "JD1", level: .street)
        #expect(try refused([change(1, "grants", "grant", ["department": .text("*")])], by: street) == [1])
        #expect(try refused([change(1, "enterprises", "e", ["street": .text("JD1,*")])], by: street) == [1])
    }

    @Test func onlyTheDistrictSelectsPublishesAndRewardsASuggestion() throws {
        let community = OfficeScope(office: "HSM", level: .community)
        let department = OfficeScope(office: "JTJ", level: .department)
        let district = OfficeScope(office: "HSD", level: .district, children: ["JD1", "HSM", "JTJ"])
        // The community and the arguing department move it through the open stages…
        let open = [
            change(1, "suggestions", "idea", ["stage": .text("grouped"), "theme": .text("交通")]),
            change(2, "suggestion_steps", "s", ["suggestion_id": .text("idea"), "type": .text("grouped"), "at": .timestamp(1)]),
        ]
        #expect(try refused(open, by: community).isEmpty)
        #expect(try refused([change(1, "suggestions", "idea", ["stage": .text("arguing")])], by: department).isEmpty)
        // …but neither selects, rejects, publishes or rewards, however the change is made.
        for fields: [String: Value] in [
            ["stage": .text("selected")], ["stage": .text("not_selected")], ["stage": .text("published")],
            ["public_title": .text("x")], ["published_at": .timestamp(1)], ["reward_fen": .integer(1)], ["decision_reason": .text("x")],
            ["stage": .text("adopted")], ["stage": .text("implemented")], ["implemented_on": .text("2026-12-01")],
            ["rejected_at": .timestamp(1)],
        ] {
            #expect(try refused([change(1, "suggestions", "idea", fields)], by: community) == [1], "\(fields)")
            #expect(try refused([change(1, "suggestions", "idea", fields)], by: department) == [1], "\(fields)")
            #expect(try refused([change(1, "suggestions", "idea", fields)], by: district).isEmpty, "\(fields)")
        }
        // Nor does it tell the suggester of a decision through a step of its own.
        let step: [String: Value] = ["suggestion_id": .text("idea"), "type": .text("selected"), "at": .timestamp(1)]
        #expect(try refused([change(1, "suggestion_steps", "s", step)], by: community) == [1])
        // The server's own writer stands for the district.
        #expect(try refused([change(1, "suggestions", "idea", ["stage": .text("selected")])], by: .server).isEmpty)
    }

    @Test func onlyStreetsAndTheDistrictKeepTheRegistry() throws {
        let community = OfficeScope(office: "HSM", level: .community)
        let street = OfficeScope(office: "JD1", level: .street, children: ["HSM"])
        let own: [String: Value] = ["street": .text("HSM"), "credit_code": .text("c"), "name": .text("假公司")]
        // A community naming itself as the street is in its scope, and still refused.
        #expect(try refused([change(1, "enterprises", "e", own), change(2, "enterprise_accounts", "a", own)], by: community) == [1, 2])
        #expect(try refused([change(1, "enterprises", "e", ["street": .text("JD1")])], by: street).isEmpty)
        // Nor does a community enter grants, or publish policies.
        #expect(
            try refused(
                [change(1, "grants", "g", ["department": .text("JRB"), "street": .text("HSM"), "stage": .text("applied")])], by: community)
                == [1])
        #expect(try refused([change(1, "policies", "p", ["department": .text("HSM"), "status": .text("draft")])], by: community) == [1])
        #expect(try refused([change(1, "policies", "p", ["department": .text("JD1"), "status": .text("draft")])], by: street) == [1])
        // Cases name no levels: any office within the scope.
        #expect(try refused([change(1, "cases", "hsm-case", ["title": .text("x")])], by: community).isEmpty)
    }

    @Test func theDepartmentMovesAGrantAndOnlyTheServerReservesIt() throws {
        let street = OfficeScope(office: "JD1", level: .street)
        let department = OfficeScope(office: "JRB", level: .department)
        let fresh: [String: Value] = [
            "department": .text("JRB"), "street": .text("JD1"), "stage": .text("applied"), "policy": .text("p"), "credit_code": .text("c"),
        ]
        // The street enters the application, and may write nothing beyond applied.
        let batch = [
            change(1, "grants", "new", fresh), change(2, "grants", "grant", ["stage": .text("approved")]),
            change(3, "grants", "grant", ["rejection": .text("不符合")]), change(4, "grants", "grant", ["payment": .text("ZF-1")]),
            change(5, "grants", "grant", ["batch": .text("PB-1")]), change(6, "grants", "grant", ["stage": .text("matched")]),
            change(7, "grants", "grant", ["amount_fen": .integer(1)]),
        ]
        #expect(try refused(batch, by: street) == [2, 3, 4, 5])
        // The department confirms, approves, rejects and records payments; never a batch.
        #expect(try refused(Array(batch[1...4]), by: department) == [5])
        // The server reserves; the district does everything but reserve.
        #expect(try refused([batch[4]], by: .server).isEmpty)
        #expect(try refused(Array(batch[1...4]), by: OfficeScope(office: "HSD", level: .district)) == [5])
    }
}
