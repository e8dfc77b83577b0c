import CaseDomain
import GRDB
import PolicyDomain
import Testing

/// The evaluator against a second implementation: each random rule translated to SQL and
/// run by SQLite over the same enterprises (SQL's NULL is the evaluator's `unknown`).
struct RuleAgainstSQLiteTests {
    static let industries = ["C", "C39", "C3911", "C3912", "F", "I65", "I6510", "M7320"]
    static let streets = ["JD1", "JD2", "JD3", "JD4"]
    static let tagPool = ["新四板挂牌", "高新技术企业", "专精特新", "科技型中小企业"]

    @Test func randomRulesSelectTheSameEnterprisesAsSQLite() throws {
        var generator = SplitMix64(seed: 4_754)
        let enterprises = (0..<300).map { _ in Self.randomFacts(&generator) }
        let database = try DatabaseQueue()
        try database.write { db in
            try db.execute(sql: RuleSQL.createTable)
            for (id, facts) in enterprises.enumerated() {
                try db.execute(sql: RuleSQL.insertRow, arguments: StatementArguments(RuleSQL.row(id: id, facts).map(Self.bound)))
            }
        }
        var rules = 0
        var eligibleSeen = 0
        for _ in 0..<400 {
            let source = Self.randomRule(&generator, depth: 3)
            let rule = try EligibilityRule(source)
            let sql = RuleSQL(rule)
            let arguments = StatementArguments(sql.arguments.map(Self.bound))
            let selected = try database.read { db in
                Set(try Int.fetchAll(db, sql: "SELECT id FROM e WHERE \(sql.condition)", arguments: arguments))
            }
            let evaluated = Set(enterprises.indices.filter { rule.holds(enterprises[$0]) })
            #expect(evaluated == selected, "\(source)\n\(sql.condition)")
            let explained = Set(enterprises.indices.filter { rule.match(enterprises[$0]).eligible })
            #expect(explained == evaluated, "\(source)")
            rules += 1
            eligibleSeen += evaluated.count
        }
        // The generator is not degenerate: rules select some enterprises, not all.
        #expect(rules == 400 && eligibleSeen > 400 * 10 && eligibleSeen < 400 * 290)
    }

    /// A `RuleSQL` value as GRDB binds it.
    static func bound(_ argument: RuleSQL.Argument?) -> (any DatabaseValueConvertible)? {
        switch argument {
        case .text(let text)?: text
        case .integer(let number)?: number
        case nil: nil
        }
    }

    static func randomFacts(_ generator: inout SplitMix64) -> EnterpriseFacts {
        func maybe<T>(_ value: T) -> T? { Int.random(in: 0..<10, using: &generator) == 0 ? nil : value }
        return EnterpriseFacts(
            industry: maybe(industries.randomElement(using: &generator)!),
            size: maybe(EnterpriseSize.allCases.randomElement(using: &generator)!),
            street: maybe(streets.randomElement(using: &generator)!),
            founded: maybe(CivilDate(daysSinceEpoch: Int.random(in: 14_600...20_400, using: &generator))),
            employees: maybe(Int64.random(in: 0...500, using: &generator)),
            revenue: maybe(Int64.random(in: 0...50_000_000, using: &generator)),
            taxPaid: maybe(Int64.random(in: 0...2_000_000, using: &generator)),
            tags: maybe(Set(tagPool.filter { _ in Bool.random(using: &generator) })))
    }

    static func randomRule(_ generator: inout SplitMix64, depth: Int) -> String {
        let pick = Int.random(in: 0..<(depth == 0 ? 1 : 4), using: &generator)
        switch pick {
        case 1: return "(" + randomRule(&generator, depth: depth - 1) + " and " + randomRule(&generator, depth: depth - 1) + ")"
        case 2: return "(" + randomRule(&generator, depth: depth - 1) + " or " + randomRule(&generator, depth: depth - 1) + ")"
        case 3 where Bool.random(using: &generator): return "not " + randomRule(&generator, depth: depth - 1)
        default: return randomClause(&generator)
        }
    }

    static func randomClause(_ generator: inout SplitMix64) -> String {
        let ops = ["=", "!=", "<", "<=", ">", ">="]
        let op = ops.randomElement(using: &generator)!
        func list(_ values: [String]) -> String {
            "[" + values.shuffled(using: &generator).prefix(Int.random(in: 1...3, using: &generator)).joined(separator: ", ") + "]"
        }
        switch Int.random(in: 0..<8, using: &generator) {
        case 0:
            return Bool.random(using: &generator)
                ? "industry in " + list(industries.map { "\"\($0)\"" })
                : "industry \(op) \"\(industries.randomElement(using: &generator)!)\""
        case 1:
            return Bool.random(using: &generator)
                ? "street in " + list(streets) : "street \(op) \(streets.randomElement(using: &generator)!)"
        case 2:
            let sizes = EnterpriseSize.allCases.map(\.rawValue)
            return Bool.random(using: &generator) ? "size in " + list(sizes) : "size \(op) \(sizes.randomElement(using: &generator)!)"
        case 3: return "founded \(op) \(CivilDate(daysSinceEpoch: Int.random(in: 14_600...20_400, using: &generator)))"
        case 4: return "employees \(op) \(Int.random(in: 0...500, using: &generator))"
        case 5: return "revenue \(op) \(Int.random(in: 0...50_000_000, using: &generator))"
        case 6: return "tax_paid \(op) \(Int.random(in: 0...2_000_000, using: &generator))"
        default: return "tags contains \(tagPool.randomElement(using: &generator)!)"
        }
    }
}
