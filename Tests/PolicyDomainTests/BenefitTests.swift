import CaseDomain
import PolicyDomain
import Testing

struct BenefitTests {
    let facts = EnterpriseFacts(employees: 37, revenue: 12_345_678, taxPaid: 1_200_001)

    @Test func amountsAreWholeFenRoundedDownAndCapped() throws {
        let fixed = try Benefit.fixed(amountFen: 10_000_000).amount(for: facts)
        #expect(fixed.fen == 10_000_000 && fixed.computation == "固定金额 100,000.00 元")
        // 2.5 % of 1,200,001 元 = 30,000.025 元: 3,000,002 fen, the half fen dropped.
        let percent = try Benefit.percent(of: .taxPaid, basisPoints: 250, capFen: nil).amount(for: facts)
        #expect(percent.fen == 3_000_002)
        #expect(percent.computation == "2.5% × 纳税额 1,200,001 元 = 30,000.02 元")
        let capped = try Benefit.percent(of: .taxPaid, basisPoints: 250, capFen: 2_000_000).amount(for: facts, .en)
        #expect(capped.fen == 2_000_000 && capped.computation.hasSuffix(", capped at 20,000.00 元"))
        let perUnit = try Benefit.perUnit(of: .employees, amountFen: 150_000, capFen: 10_000_000).amount(for: facts)
        #expect(perUnit.fen == 5_550_000 && perUnit.computation == "1,500.00 元 × 从业人数 37 = 55,500.00 元")
        let overCap = try Benefit.perUnit(of: .employees, amountFen: 500_000, capFen: 10_000_000).amount(for: facts)
        #expect(overCap.fen == 10_000_000 && overCap.computation.hasSuffix("，封顶 100,000.00 元"))
    }

    @Test func unknownNegativeAndHugeBasesAreRefused() {
        #expect(throws: Benefit.Failure.unknownBase(.revenue)) {
            try Benefit.percent(of: .revenue, basisPoints: 100, capFen: nil).amount(for: EnterpriseFacts())
        }
        #expect(throws: Benefit.Failure.negativeBase(.taxPaid)) {
            try Benefit.percent(of: .taxPaid, basisPoints: 100, capFen: nil).amount(for: EnterpriseFacts(taxPaid: -1))
        }
        #expect(throws: Benefit.Failure.overflow) {
            try Benefit.perUnit(of: .revenue, amountFen: Int64.max / 2, capFen: 1).amount(for: EnterpriseFacts(revenue: 3))
        }
    }

    @Test func yuanAreGroupedWithTwoDecimals() {
        #expect(Benefit.yuan(0) == "0.00 元")
        #expect(Benefit.yuan(5) == "0.05 元")
        #expect(Benefit.yuan(82_300_000_000) == "823,000,000.00 元")
        #expect(Benefit.yuan(-123_456) == "-1,234.56 元")
    }
}
