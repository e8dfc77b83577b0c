import CaseDomain
import CentralPostgres
import Foundation
import Logging
import SyncServer
import TestSupport
import Testing

/// The PostgreSQL schema's own migrations, and what opening a database refuses.
@Suite(.serialized) struct PostgresSchemaTests {
    static func location(_ url: String) throws -> PostgresLocation {
        guard case .postgres(let location) = try DatabaseLocation(parsing: url) else { throw TestPostgres.Unavailable(description: url) }
        return location
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test func aDatabaseIsMigratedOnceAndOneMigratedByANewerReleaseIsRefused() async throws {
        let url = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(url) }
        // Two servers starting together migrate once.
        async let first = PostgresCentralStorage.open(try Self.location(url), kinds: [CaseRecords.kind], logger: Self.logger)
        async let second = PostgresCentralStorage.open(try Self.location(url), kinds: [CaseRecords.kind], logger: Self.logger)
        let (one, two) = try await (first, second)
        await one.close()
        await two.close()
        #expect(
            try TestPostgres.query(url, "SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations")
                == "pg-v1-central,pg-v2-numbering-floor,pg-v3-server-writer,pg-v4-departments,pg-v5-staff,pg-v6-tallies")
        #expect(try TestPostgres.query(url, "SELECT count(*) FROM server_identity") == "1")

        _ = try TestPostgres.query(url, "INSERT INTO schema_migrations (version, applied_at) VALUES ('pg-v99-from-the-future', 0)")
        let location = try Self.location(url)
        do {
            let storage = try await PostgresCentralStorage.open(location, kinds: [CaseRecords.kind], logger: Self.logger)
            await storage.close()
            Issue.record("a database migrated by a newer release was opened")
        } catch {
            #expect(error.status == 503)
            #expect(error.message.contains("migrated by a newer rain-server (version pg-v99-from-the-future)"), "\(error.message)")
        }
        // Nothing was changed by the refusal.
        #expect(try TestPostgres.query(url, "SELECT count(*) FROM schema_migrations") == "7")
    }

    @Test func sslmodeRequireRefusesAServerWithoutTLSNamingWhy() async throws {
        let url = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(url) }
        var location = try Self.location(url)
        location.tls = .require
        do {
            let storage = try await PostgresCentralStorage.open(location, kinds: [CaseRecords.kind], logger: Self.logger)
            await storage.close()
            Issue.record("sslmode=require connected without TLS")
        } catch {
            #expect(error.status == 503 && error.message.contains("requires it (sslmode=require)"), "\(error.message)")
            #expect(!error.message.contains("password"), "the message names no secret")
        }
    }
}
