import Foundation
import Logging
import NIOCore
import PostgresNIO
import TestSupport

/// The raw PostgreSQL baseline: W1's change log (each replica's dots and canonical
/// bodies as rows, no index but the key) and its merged state (the final rows, every
/// field a text column), one transaction per replica, through multi-row `unnest`
/// inserts — what any design that keeps every change must write at least, with no merge.
struct RawPostgres {
    let url: String

    /// A new database on the server at `server` (a superuser's URL).
    static func fresh(on server: String) throws -> RawPostgres {
        RawPostgres(url: try TestPostgres.createDatabase(on: server))
    }

    func drop() { TestPostgres.dropDatabase(url) }

    /// Writes the log and the merged state; returns the changes written.
    func writeLogAndMergedState(log: [[(replica: String, counter: Int64, body: [UInt8])]], rows: [[[String]]], fields: Int) async throws
        -> Int
    {
        guard case .some(let configuration) = Self.configuration(url) else { throw RawFailure("bad URL") }
        var logger = Logger(label: "raw-postgres")
        logger.logLevel = .error
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.query(
            "CREATE TABLE changes (arrived bigserial PRIMARY KEY, replica text NOT NULL, counter bigint NOT NULL, body bytea NOT NULL)",
            logger: logger)
        let columns = (0..<fields).map { "f\($0) text" }.joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE TABLE cases (\(columns), PRIMARY KEY (f0))"), logger: logger)
        var count = 0
        for (changes, replicaRows) in zip(log, rows) {
            try await connection.query("BEGIN", logger: logger)
            try await connection.query(
                """
                INSERT INTO changes (replica, counter, body)
                SELECT * FROM unnest(\(changes.map(\.replica))::text[], \(changes.map(\.counter))::int8[],
                    \(changes.map { ByteBuffer(bytes: $0.body) })::bytea[])
                """, logger: logger)
            var bindings = PostgresBindings()
            for column in 0..<fields { bindings.append(replicaRows.map { $0[column] }) }
            let arrays = (0..<fields).map { "$\($0 + 1)::text[]" }.joined(separator: ", ")
            try await connection.query(
                PostgresQuery(unsafeSQL: "INSERT INTO cases SELECT * FROM unnest(\(arrays))", binds: bindings), logger: logger)
            try await connection.query("COMMIT", logger: logger)
            count += changes.count
        }
        return count
    }

    static func configuration(_ url: String) -> PostgresConnection.Configuration? {
        // postgres://USER@HOST:PORT/DB?sslmode=disable, as the test cluster's.
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@"), let slash = rest.firstIndex(of: "/") else { return nil }
        let user = String(rest[..<at])
        let hostPort = rest[rest.index(after: at)..<slash]
        let database = String(rest[rest.index(after: slash)...].prefix { $0 != "?" })
        let parts = hostPort.split(separator: ":")
        return PostgresConnection.Configuration(
            host: String(parts[0]), port: parts.count > 1 ? Int(parts[1]) ?? 5432 : 5432, username: user, password: nil,
            database: database, tls: .disable)
    }

    struct RawFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
