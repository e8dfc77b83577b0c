import ArgumentParser
import CaseDomain
import CentralPostgres
import Dashboard
import Foundation
import GRDB
import Logging
import PolicyDomain
import PostgresNIO
import SuggestionDomain
import SyncCore
import SyncServer
import TestSupport

/// `rain-bench dashboard`: the district dashboard's overview over 1,000,000 cases from 100
/// communities (issue 20: ≤ 300 ms on the server), on SQLite and PostgreSQL in the same run,
/// beside the same aggregate written as one raw SQL query on each.
struct DashboardBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract:
            "Render the dashboard's overview over a million cases, beside one raw SQL aggregate (SQLite, and PostgreSQL with --postgres).",
        discussion: """
            Makes a server database with --offices communities under 10 streets and --cases cases
            received over the past year (kinds, categories, channels, ratings, escalations,
            reopenings, suggestions at every stage; the older ones closed), written straight into
            the read model's views as the server's merge leaves them. Then, on each backend: the
            first overview (which counts the kept tallies, once), --runs overviews (the whole page:
            every figure, chart and list, as GET /dashboard renders it for the district), an
            overview after 100 cases changed (the tallies catch up), the figures computed from
            every case (no tallies), and the raw baseline: one SQL query grouping the same period's
            cases by community (counts, closed, rated, satisfied, closed at community level,
            reopened). Medians and p95.
            """)

    @Option(help: "The SQLite server database to create (must not exist).") var db: String
    @Option(help: "A PostgreSQL server (a superuser's postgres:// URL): the same data on a fresh database there.")
    var postgres: String?
    @Option(help: "Cases in all.") var cases = 1_000_000
    @Option(help: "Community offices.") var offices = 100
    @Option(help: "Overviews timed on each backend.") var runs = 10
    @Option(help: "The generator's seed.") var seed: UInt64 = 2_026

    static let day: Int64 = 86_400_000
    static let session = StaffSession(staff: "bench", office: "YH", csrf: nil)

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: db) else { throw ValidationError("--db \(db) exists: give a new file") }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let (data, generated) = timed { DashboardData.generate(cases: cases, offices: offices, seed: seed, now: now) }
        print("generated \(cases) cases from \(offices) communities in \(format(generated, 1)) s")
        var results: [(String, Figures)] = []

        let (sqlite, written) = try await timedAsync { try await DashboardData.sqlite(db, data) }
        print("SQLite: written in \(format(written, 1)) s")
        let queue = try DatabaseQueue(path: db)
        results.append(
            ("SQLite", try await measure(sqlite, raw: { sql, arguments in try Self.rawSQLite(queue, sql, arguments) }, data: data)))
        await sqlite.close()

        if let postgres {
            let url = try TestPostgres.createDatabase(on: postgres)
            defer { TestPostgres.dropDatabase(url) }
            let (storage, written) = try await timedAsync { try await DashboardData.postgres(url, data) }
            print("PostgreSQL: written in \(format(written, 1)) s")
            let connection = try await DashboardData.connect(url)
            results.append(
                (
                    "PostgreSQL",
                    try await measure(
                        storage, raw: { sql, arguments in try await Self.rawPostgres(connection, sql, arguments) }, data: data)
                ))
            try? await connection.close()
            await storage.close()
        }
        print("")
        print("overview of \(cases) cases, \(offices) communities (the district, the whole year), ms")
        printTable(
            [
                "backend", "first (counts tallies)", "overview median", "p95", "after 100 changed", "from every case", "raw SQL median",
                "raw p95",
            ],
            results.map { name, figures in
                [
                    name, format(figures.first * 1000, 0), format(median(figures.overviews) * 1000, 1),
                    format(p95(figures.overviews) * 1000, 1),
                    format(figures.afterChange * 1000, 1), format(figures.fromCases * 1000, 0), format(median(figures.raw) * 1000, 1),
                    format(p95(figures.raw) * 1000, 1),
                ]
            })
        print("peak resident memory: \(format(peakResidentMiB(), 0)) MiB")
    }

    struct Figures {
        var first = 0.0
        var overviews: [Double] = []
        var afterChange = 0.0
        var fromCases = 0.0
        var raw: [Double] = []
    }

    func measure(
        _ storage: any CentralStorage, raw: (String, [Int64]) async throws -> Int, data: DashboardData
    ) async throws -> Figures {
        var figures = Figures()
        let settings = DashboardSettings()
        let period = DistrictQuery.Period(from: nil, to: nil)
        func overview() async throws -> (String, Double) {
            try await timedAsync {
                try await DashboardRoutes.overview(storage: storage, settings: settings, session: Self.session, office: nil, period: period)
            }
        }
        let (page, first) = try await overview()
        figures.first = first
        // What a PostgreSQL server that has run a while has: the planner's statistics of
        // the new tallies (autovacuum gathers them). The SQLite storage never gathers any.
        if !(storage is SQLiteCentralStorage) { _ = try await storage.execute([ServerSQL("ANALYZE")]) }
        // The page shows every case: the tallies hold them all.
        guard page.contains("id=\"received\">\(cases)<") else { throw ValidationError("the overview does not count \(cases) cases") }
        let sql = """
            SELECT community, count(*), sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), count(rating),
                   sum(CASE WHEN rating >= 4 THEN 1 ELSE 0 END), sum(CASE WHEN status = 'closed' AND level = 'community' THEN 1 ELSE 0 END),
                   sum(CASE WHEN round > 1 THEN 1 ELSE 0 END)
            FROM case_view WHERE created_at >= ? AND created_at < ? GROUP BY community
            """
        // Alternating, so that both see the same machine.
        for _ in 0..<runs {
            figures.overviews.append(try await overview().1)
            let (groups, seconds) = try await timedAsync { try await raw(sql, [Int64.min, Int64.max]) }
            guard groups == offices else { throw ValidationError("the raw query found \(groups) communities") }
            figures.raw.append(seconds)
        }
        // Where an overview's time goes, once.
        do {
            let query = DistrictQuery(storage: storage, deadlines: settings.deadlines)
            let tree = OfficeTree(try await storage.offices())
            let all = tree.communities(under: "YH")
            let today = CivilDate(epochMillis: Int64(Date().timeIntervalSince1970 * 1000))
            let refresh = try await timedAsync { try await query.refreshTallies() }.1
            let figures = try await timedAsync { try await query.report(in: all, period: period, today: today) }.1
            let action = try await timedAsync { try await query.actionSummary(in: all, today: today, horizon: 3, first: 50) }.1
            let conflicts = try await timedAsync { try await query.conflicts(in: all, everything: true) }.1
            let policy = try await timedAsync { try await query.policyStats(streets: nil) }.1
            print(
                "  breakdown (ms): catch-up \(format(refresh * 1000, 1)), figures \(format(figures * 1000, 1)), action list \(format(action * 1000, 1)), conflicts \(format(conflicts * 1000, 1)), policy \(format(policy * 1000, 1))"
            )
        }
        // 100 cases closed now: the next overview counts their days again.
        let changed = Array(data.ids.prefix(100))
        let stamp = Int64(Date().timeIntervalSince1970 * 1000)
        _ = try await storage.execute(
            changed.map {
                ServerSQL(
                    "UPDATE case_view SET status = 'closed', closed_at = ?, updated_at = ? WHERE id = ?",
                    [.timestamp(stamp), .integer(stamp), .text($0)])
            })
        figures.afterChange = try await overview().1
        let query = DistrictQuery(storage: storage, deadlines: settings.deadlines)
        let today = CivilDate(epochMillis: stamp)
        let tree = OfficeTree(try await storage.offices())
        let (fromCases, seconds) = try await timedAsync {
            try await query.reportFromCases(in: tree.communities(under: "YH"), period: period, today: today)
        }
        figures.fromCases = seconds
        let kept = try await query.report(in: tree.communities(under: "YH"), period: period, today: today)
        guard kept == fromCases else { throw ValidationError("the kept tallies' figures differ from those computed from every case") }
        return figures
    }

    static func rawSQLite(_ queue: DatabaseQueue, _ sql: String, _ arguments: [Int64]) throws -> Int {
        try queue.read { db in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).count }
    }

    static func rawPostgres(_ connection: PostgresConnection, _ sql: String, _ arguments: [Int64]) async throws -> Int {
        var query = PostgresQuery(unsafeSQL: ServerSQL(sql).numbered)
        for argument in arguments { query.binds.append(argument) }
        var count = 0
        for try await _ in try await connection.query(query, logger: DashboardData.logger) { count += 1 }
        return count
    }

    func p95(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)]
    }
}

func timedAsync<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let value = try await body()
    return (value, seconds(ContinuousClock.now - start))
}
