import CaseDomain

/// A district's policies calibrated to the figures it reported: their rules select about
/// `grants` enterprise-times over `enterprises`, and their benefits pay about `fen` in all
/// (issue 18: 203 policies, 4,258 enterprise-times, ¥823 million).
extension DistrictGenerator {
    /// One calibrated policy with the enterprises it selects and what each is paid.
    public struct Calibrated: Sendable {
        public let policy: PolicyFile
        /// Indexes into the enterprises given, in order.
        public let eligible: [Int]
        /// What each eligible enterprise is paid, in fen (same order).
        public let amounts: [Int64]
    }

    /// Draws `count` policies whose rules select close to `grants` pairs of `enterprises`
    /// in all, with benefits that pay close to `fen` in all.
    public mutating func calibratedPolicies(
        _ count: Int, enterprises: [Enterprise], grants: Int = 4_258, fen: Int64 = 82_300_000_000
    ) -> [Calibrated] {
        let facts = enterprises.map(\.facts)
        // Every rule starts with a tag: a candidate is checked only against the
        // enterprises that have it.
        var byTag: [String: [Int]] = [:]
        for (index, enterprise) in enterprises.enumerated() {
            for tag in enterprise.tags { byTag[tag, default: []].append(index) }
        }
        var result: [Calibrated] = []
        var grantsLeft = grants
        var fenLeft = fen
        for index in 0..<count {
            let policiesLeft = count - index
            // Each policy aims at its share of what is left, give or take half.
            let share = Double(grantsLeft) / Double(policiesLeft)
            let target = max(1, Int((share * Double.random(in: 0.5...1.5, using: &generator)).rounded()))
            var best: (rule: EligibilityRule, eligible: [Int])?
            for _ in 0..<120 {
                let tag = Self.tags[Int.random(in: 0..<Self.tags.count, using: &generator)]
                guard let rule = try? EligibilityRule(self.rule(tag: tag)) else { continue }
                let eligible = (byTag[tag] ?? []).filter { rule.holds(facts[$0]) }
                guard !eligible.isEmpty else { continue }
                if best == nil || abs(eligible.count - target) < abs(best!.eligible.count - target) { best = (rule, eligible) }
                if abs(eligible.count - target) * 4 <= target { break }
            }
            guard let (rule, eligible) = best else { continue }
            // The amount per grant still to pay, spread over the grants still to make.
            let perGrant = max(100_000, fenLeft / Int64(max(1, grantsLeft)))
            let benefit = benefit(averaging: perGrant, over: eligible.map { enterprises[$0] })
            let amounts = eligible.map { (try? benefit.amount(for: facts[$0]).fen) ?? 0 }
            let department = Self.departments[index % Self.departments.count]
            let year = 2025 + index % 2
            let first = CivilDate(year: year, month: 1, day: 1) ?? CivilDate(daysSinceEpoch: 0)
            let last = CivilDate(year: year, month: 12, day: 31) ?? first
            let policy = PolicyFile(
                title: "\(department.name)扶持政策 \(index + 1)", department: department.code,
                document: "和盛\(department.code)〔\(year)〕\(index + 1)号",
                mode: Int.random(in: 0..<4, using: &generator) == 0 ? .automatic : .application, validFrom: first, validTo: last,
                benefit: benefit, rule: rule, period: String(year))
            result.append(Calibrated(policy: policy, eligible: eligible, amounts: amounts))
            grantsLeft -= eligible.count
            fenLeft -= amounts.reduce(0, +)
        }
        return result
    }

    /// A benefit paying about `average` fen to each of `enterprises`: a fixed amount (in
    /// whole hundreds of 元), a percentage of tax paid, or an amount per employee, capped.
    mutating func benefit(averaging average: Int64, over enterprises: [Enterprise]) -> Benefit {
        let count = Int64(max(1, enterprises.count))
        let tax = enterprises.reduce(0) { $0 + ($1.taxPaid ?? 0) } / count
        let staff = enterprises.reduce(0) { $0 + ($1.employees ?? 0) } / count
        switch Int.random(in: 0..<3, using: &generator) {
        case 1 where tax > 0:
            // fen = tax × bp / 100, so bp = average × 100 / tax; at most 100 %.
            let points = min(10_000, max(1, average * 100 / tax))
            return .percent(of: .taxPaid, basisPoints: points, capFen: average * 3)
        case 2 where staff > 0:
            return .perUnit(of: .employees, amountFen: max(100, average / staff), capFen: average * 3)
        default:
            return .fixed(amountFen: max(10_000, average / 10_000 * 10_000))
        }
    }
}
