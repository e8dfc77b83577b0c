import CaseDomain
import PolicyDomain
import Testing

/// The figures' definitions (`rain policy stats`), on a small hand-made district.
@Suite struct PolicyStatsTests {
    static let day: Int64 = 86_400_000
    // 2026-03-10 10:00 Beijing time.
    static let march: Int64 = 1_773_108_000_000

    func grant(
        _ policy: String, _ code: String, street: String = "JD1", fen: Int64, paid: Bool = true, rejected: Bool = false, days: Int64 = 10
    )
        -> PolicyStats.Grant
    {
        PolicyStats.Grant(
            policy: policy, department: policy == "p3" ? "KJJ" : "JRB", street: street, creditCode: code, amountFen: fen,
            rejected: rejected,
            paid: paid, createdAt: Self.march, paidAt: paid ? Self.march + days * Self.day : nil)
    }

    @Test func figuresCountPaidGrantsOnceAndBreakThemDown() throws {
        let policies = [
            PolicyStats.Policy(id: "p1", department: "JRB", status: "published"),
            PolicyStats.Policy(id: "p2", department: "JRB", status: "closed"),
            PolicyStats.Policy(id: "p3", department: "KJJ", status: "published"),
            PolicyStats.Policy(id: "p4", department: "FGW", status: "draft"),
        ]
        let grants = [
            grant("p1", "A", fen: 100, days: 5), grant("p2", "A", fen: 250, days: 30),
            grant("p3", "B", street: "JD2", fen: 1_000, days: 10),
            grant("p1", "C", fen: 7, paid: false), grant("p3", "D", fen: 9, paid: false, rejected: true),
        ]
        let stats = PolicyStats(policies: policies, grants: grants)
        #expect(stats.policies == 3, "a draft is not counted")
        #expect(stats.departments == 2)
        #expect(stats.grants == 4, "rejected grants are not counted")
        #expect(stats.enterpriseTimes == 3 && stats.enterprises == 2)
        #expect(stats.paidFen == 1_350)
        #expect(stats.byDepartment.map(\.key) == ["JRB", "KJJ"])
        #expect(
            stats.byDepartment[0].enterpriseTimes == 2 && stats.byDepartment[0].enterprises == 1 && stats.byDepartment[0].paidFen == 350)
        #expect(stats.byStreet.map { "\($0.key):\($0.paidFen)" } == ["JD1:350", "JD2:1000"])
        #expect(stats.byMonth.map { "\($0.key):\($0.enterpriseTimes)" } == ["2026-03:2", "2026-04:1"])
        #expect(stats.medianDaysToPayment == 10 && stats.p90DaysToPayment == 26)
        let empty = PolicyStats(policies: [], grants: [])
        #expect(empty.medianDaysToPayment == nil && empty.paidFen == 0)
    }
}
