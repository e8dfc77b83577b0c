import ArgumentParser
import CaseDomain
import Foundation
import GRDB
import PolicyDomain

/// `rain-bench policy`: policy finds enterprise — every policy's rule checked against
/// every enterprise (issue 18: 203 policies × 5,000 enterprises in ≤ 1 s), beside raw
/// SQLite answering the same rules as WHERE clauses over the same enterprises.
struct PolicyBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Match every policy against every enterprise (the district's scale), beside raw SQLite.",
        discussion: """
            The district is generated from a seed (DistrictGenerator: 18 departments, valid credit codes, rules of two to
            five clauses calibrated so that about 4,258 enterprise-times are eligible, as the district reported). Three figures, medians of the runs: the rules checked with no reasons (what finding the eligible
            enterprises of every policy costs), checked with reasons and near misses (rain policy match for every policy),
            and raw SQLite running each rule as a WHERE clause over a table of the enterprises (in memory, no index: a
            rule is a scan). Every run checks that the three agree on who is eligible.
            """)

    @Option(help: "Policies.") var policies = 203
    @Option(help: "Enterprises.") var enterprises = 5_000
    @Option(help: "Runs (medians reported).") var runs = 5
    @Option(help: "The generator's seed.") var seed: UInt64 = 2_026

    func run() throws {
        var generator = DistrictGenerator(seed: seed)
        let registry = generator.enterprises(enterprises)
        // Rules calibrated to the district's figures (about 4,258 grants in all, as it reported).
        let rules = generator.calibratedPolicies(policies, enterprises: registry).map(\.policy.rule)
        let facts = registry.map(\.facts)
        let database = try DatabaseQueue()
        try database.write { db in
            try db.execute(sql: RuleSQL.createTable)
            for (id, fact) in facts.enumerated() {
                try db.execute(sql: RuleSQL.insertRow, arguments: StatementArguments(RuleSQL.row(id: id, fact).map(Self.bound)))
            }
        }
        let queries = rules.map { rule -> (String, StatementArguments) in
            let sql = RuleSQL(rule)
            return (
                "SELECT id FROM e WHERE " + sql.condition,
                StatementArguments(sql.arguments.map(Self.bound))
            )
        }
        var fast: [Double] = []
        var explained: [Double] = []
        var raw: [Double] = []
        var eligible = 0
        var nearMisses = 0
        for _ in 0..<runs {
            var start = ContinuousClock.now
            var found: [[Int]] = []
            for rule in rules { found.append(facts.indices.filter { rule.holds(facts[$0]) }) }
            fast.append(seconds(ContinuousClock.now - start))
            start = ContinuousClock.now
            var withReasons: [[Int]] = []
            var misses = 0
            for rule in rules {
                var ids: [Int] = []
                for index in facts.indices {
                    let match = rule.match(facts[index])
                    if match.eligible { ids.append(index) } else if !match.nearMisses.isEmpty { misses += 1 }
                }
                withReasons.append(ids)
            }
            explained.append(seconds(ContinuousClock.now - start))
            start = ContinuousClock.now
            let selected = try database.read { db in try queries.map { try Int.fetchAll(db, sql: $0.0, arguments: $0.1) } }
            raw.append(seconds(ContinuousClock.now - start))
            guard found == withReasons, found.map(Set.init) == selected.map(Set.init) else {
                throw ValidationError("the evaluator and SQLite disagree on who is eligible")
            }
            eligible = found.reduce(0) { $0 + $1.count }
            nearMisses = misses
        }
        let pairs = rules.count * facts.count
        print(
            "\(rules.count) policies × \(facts.count) enterprises = \(pairs) checks; median of \(runs) runs; \(eligible) eligible pairs, \(nearMisses) near misses"
        )
        printTable(
            ["", "seconds", "checks/s"],
            [
                ["rules checked (eligible or not)", format(median(fast), 4), rate(pairs, median(fast))],
                ["rules checked with reasons and near misses", format(median(explained), 4), rate(pairs, median(explained))],
                ["raw SQLite: each rule a WHERE clause over the table (in memory)", format(median(raw), 4), rate(pairs, median(raw))],
            ])
        print("target: every policy matched against every enterprise in ≤ 1 s")
    }

    /// A `RuleSQL` value as GRDB binds it.
    static func bound(_ argument: RuleSQL.Argument?) -> (any DatabaseValueConvertible)? {
        switch argument {
        case .text(let text)?: text
        case .integer(let number)?: number
        case nil: nil
        }
    }
}
