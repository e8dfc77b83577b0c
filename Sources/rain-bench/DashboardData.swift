import ArgumentParser
import CaseDomain
import CentralPostgres
import Foundation
import GRDB
import Logging
import NIOCore
import PolicyDomain
import PostgresNIO
import ReplicaStore
import SuggestionDomain
import SyncCore
import SyncServer
import TestSupport

/// The dashboard benchmark's data: a district's year of cases as the server's read model
/// holds them (`case_view`, escalations in `case_event_view`, suggestions' stages in
/// `suggestion_view`), seeded.
struct DashboardData {
    var offices: [Office] = []
    /// Columns of `case_view`, one array per column (the writers bind them in bulk).
    var ids: [String] = []
    var numbers: [String] = []
    var kinds: [String] = []
    var categories: [String] = []
    var statuses: [String] = []
    var rounds: [Int64] = []
    var levels: [String] = []
    var communities: [String] = []
    var ratings: [Int64?] = []
    var created: [Int64] = []
    var closed: [Int64?] = []
    /// When the server last wrote each row: its last change (closing, else receipt), at
    /// most an hour ago — a catch-up then has the last five minutes' few rows to look at,
    /// as in use, not every case closed "now".
    var updated: [Int64] = []
    var sources: [String] = []
    /// Escalations (`case_event_view`): the case's index.
    var escalated: [Int] = []
    /// Suggestions (`suggestion_view`): the case's index and its stage.
    var suggestions: [(Int, String)] = []

    static let categories = ["社会救助", "环境卫生", "物业管理", "城市管理", "市场监管", "劳动保障", "教育", "医疗卫生", "交通出行", "其他"]
    static let kinds: [(CaseKind, Int)] = [(.complaint, 45), (.consultation, 25), (.help, 25), (.suggestion, 5)]
    static var logger: Logger {
        var logger = Logger(label: "rain-bench")
        logger.logLevel = .error
        return logger
    }

    static func generate(cases: Int, offices count: Int, seed: UInt64, now: Int64) -> DashboardData {
        var random = SeededRandom(seed: seed)
        var data = DashboardData()
        data.offices.append(Office(code: "YH", name: "雨花区", level: .district, parent: nil, createdAt: now))
        for street in 0..<10 {
            data.offices.append(Office(code: "S\(street)", name: "街道\(street)", level: .street, parent: "YH", createdAt: now))
        }
        for community in 0..<count {
            data.offices.append(
                Office(code: "C\(community)", name: "社区\(community)", level: .community, parent: "S\(community % 10)", createdAt: now))
        }
        let stages = SuggestionStage.allCases.map(\.rawValue)
        for index in 0..<cases {
            let ageDays = Int64.random(in: 0..<365, using: &random)
            let createdAt = now - ageDays * 86_400_000 - Int64.random(in: 0..<86_400_000, using: &random)
            var roll = Int.random(in: 0..<100, using: &random)
            var kind = CaseKind.complaint
            for (candidate, share) in kinds {
                if roll < share {
                    kind = candidate
                    break
                }
                roll -= share
            }
            // The older a case, the likelier it is closed; a few stay open long past their day.
            let open = ageDays < 20 ? Int.random(in: 0..<100, using: &random) < 60 : Int.random(in: 0..<1000, using: &random) < 5
            let status = open ? ["received", "verifying", "handling", "replied"][Int.random(in: 0..<4, using: &random)] : "closed"
            data.ids.append("case-\(index)")
            data.numbers.append("C\(index % count)-\(index)")
            data.kinds.append(kind.rawValue)
            data.categories.append(categories[Int.random(in: 0..<categories.count, using: &random)])
            data.statuses.append(status)
            data.rounds.append(Int.random(in: 0..<100, using: &random) < 2 ? 2 : 1)
            data.levels.append(Int.random(in: 0..<100, using: &random) < 8 ? "street" : "community")
            data.communities.append("C\(Int.random(in: 0..<count, using: &random))")
            data.ratings.append(
                status == "closed" && Int.random(in: 0..<100, using: &random) < 60 ? Int64.random(in: 1...5, using: &random) : nil)
            data.created.append(createdAt)
            data.closed.append(status == "closed" ? min(now, createdAt + Int64.random(in: 1...25, using: &random) * 86_400_000) : nil)
            data.updated.append(min(data.closed[index] ?? createdAt, now - 3_600_000))
            let channel = Int.random(in: 0..<100, using: &random)
            data.sources.append(channel < 70 ? "counter" : channel < 95 ? "online" : "enterprise")
            if data.levels[index] == "street" { data.escalated.append(index) }
            if kind == .suggestion { data.suggestions.append((index, stages[Int.random(in: 0..<stages.count, using: &random)])) }
        }
        return data
    }

    static let kindsServed = [CaseRecords.kind, PolicyRecords.kind, SuggestionRecords.kind]

    /// The data in a new SQLite server database at `path`; answers the storage, open.
    static func sqlite(_ path: String, _ data: DashboardData) async throws -> SQLiteCentralStorage {
        let storage = try SQLiteCentralStorage.open(at: path, kinds: kindsServed)
        for office in data.offices {
            _ = try storage.addOffice(
                code: office.code, name: office.name, level: office.level, parent: office.parent, now: office.createdAt)
        }
        try storage.store.write("write the bench's cases") { db in
            let cases = try db.makeStatement(
                sql: """
                    INSERT INTO case_view (id, updated_at, number, kind, category, status, round, level, office, community, rating, created_at,
                        closed_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for index in data.ids.indices {
                try cases.execute(arguments: [
                    data.ids[index], data.updated[index], data.numbers[index], data.kinds[index],
                    data.categories[index],
                    data.statuses[index], data.rounds[index], data.levels[index], data.communities[index], data.communities[index],
                    data.ratings[index], data.created[index], data.closed[index], data.sources[index],
                ])
            }
            let events = try db.makeStatement(
                sql: "INSERT INTO case_event_view (id, updated_at, case_id, type, at) VALUES (?, ?, ?, 'escalate', ?)")
            for index in data.escalated {
                try events.execute(arguments: ["event-\(index)", data.created[index], data.ids[index], data.created[index]])
            }
            let ideas = try db.makeStatement(
                sql:
                    "INSERT INTO suggestion_view (id, updated_at, number, community, category, stage, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            )
            for (index, stage) in data.suggestions {
                try ideas.execute(arguments: [
                    data.ids[index], data.created[index], data.numbers[index], data.communities[index], data.categories[index], stage,
                    data.created[index],
                ])
            }
        }
        return storage
    }

    /// The data in the PostgreSQL database at `url`; answers the storage, open.
    static func postgres(_ url: String, _ data: DashboardData) async throws -> PostgresCentralStorage {
        guard case .postgres(let location) = try DatabaseLocation(parsing: url) else {
            throw ValidationError("not a PostgreSQL URL: \(url)")
        }
        let storage = try await PostgresCentralStorage.open(location, kinds: kindsServed, logger: logger)
        for office in data.offices {
            _ = try await storage.addOffice(
                code: office.code, name: office.name, level: office.level, parent: office.parent, now: office.createdAt)
        }
        let connection = try await connect(url)
        let step = 20_000
        var start = 0
        while start < data.ids.count {
            let range = start..<min(start + step, data.ids.count)
            try await connection.query(
                """
                INSERT INTO case_view (id, updated_at, number, kind, category, status, round, level, office, community, rating, created_at,
                    closed_at, source)
                SELECT i, u, n, k, g, s, r, l, o, c, NULLIF(a, -1), t, NULLIF(z, -1), h
                FROM unnest(\(Array(data.ids[range]))::text[], \(Array(data.updated[range]))::int8[],
                    \(Array(data.numbers[range]))::text[], \(Array(data.kinds[range]))::text[], \(Array(data.categories[range]))::text[],
                    \(Array(data.statuses[range]))::text[], \(Array(data.rounds[range]))::int8[], \(Array(data.levels[range]))::text[],
                    \(Array(data.communities[range]))::text[], \(Array(data.communities[range]))::text[],
                    \(range.map { data.ratings[$0] ?? -1 })::int8[], \(Array(data.created[range]))::int8[],
                    \(range.map { data.closed[$0] ?? -1 })::int8[], \(Array(data.sources[range]))::text[])
                    AS x(i, u, n, k, g, s, r, l, o, c, a, t, z, h)
                """, logger: logger)
            start += step
        }
        let escalated = data.escalated
        try await connection.query(
            """
            INSERT INTO case_event_view (id, updated_at, case_id, type, at)
            SELECT 'event-' || c, t, c, 'escalate', t FROM unnest(\(escalated.map { data.ids[$0] })::text[], \(escalated.map { data.created[$0] })::int8[]) AS u(c, t)
            """, logger: logger)
        let ideas = data.suggestions
        try await connection.query(
            """
            INSERT INTO suggestion_view (id, updated_at, number, community, category, stage, created_at)
            SELECT * FROM unnest(\(ideas.map { data.ids[$0.0] })::text[], \(ideas.map { data.created[$0.0] })::int8[],
                \(ideas.map { data.numbers[$0.0] })::text[], \(ideas.map { data.communities[$0.0] })::text[],
                \(ideas.map { data.categories[$0.0] })::text[], \(ideas.map(\.1))::text[], \(ideas.map { data.created[$0.0] })::int8[])
            """, logger: logger)
        try await connection.query("ANALYZE", logger: logger)
        try? await connection.close()
        return storage
    }

    static func connect(_ url: String) async throws -> PostgresConnection {
        guard let configuration = RawPostgres.configuration(url) else { throw ValidationError("cannot read the PostgreSQL URL \(url)") }
        return try await PostgresConnection.connect(configuration: configuration, id: 7, logger: logger)
    }
}
