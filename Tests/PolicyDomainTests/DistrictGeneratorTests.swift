import CaseDomain
import PolicyDomain
import Testing

struct DistrictGeneratorTests {
    /// The data set at the district's scale: 18 departments, 203 policies, 5,000
    /// enterprises with distinct valid codes, about 4,258 grants and ¥823 million.
    @Test func theDistrictsScaleIsMatched() throws {
        var generator = DistrictGenerator(seed: 2_026)
        let enterprises = generator.enterprises(5_000)
        #expect(Set(enterprises.map(\.creditCode)).count == 5_000)
        for enterprise in enterprises.prefix(50) { _ = try CreditCode(enterprise.creditCode.text) }
        let policies = generator.calibratedPolicies(203, enterprises: enterprises)
        #expect(policies.count == 203)
        #expect(Set(policies.map(\.policy.department)).count == 18)
        let grants = policies.reduce(0) { $0 + $1.eligible.count }
        let fen = policies.reduce(Int64(0)) { $0 + $1.amounts.reduce(0, +) }
        #expect(abs(grants - 4_258) <= 4_258 * 3 / 100, "\(grants) grants")
        #expect(abs(fen - 82_300_000_000) <= 82_300_000_000 * 3 / 100, "\(fen) fen")
        // What the generator reports is what the rules and benefits give.
        for calibrated in policies.prefix(20) {
            let eligible = enterprises.indices.filter { calibrated.policy.rule.holds(enterprises[$0].facts) }
            #expect(eligible == calibrated.eligible)
            #expect(calibrated.amounts == eligible.map { try! calibrated.policy.benefit.amount(for: enterprises[$0].facts).fen })
        }
        // The same seed, the same district.
        var again = DistrictGenerator(seed: 2_026)
        #expect(again.enterprises(5_000) == enterprises)
    }
}
