import PolicyDomain
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
