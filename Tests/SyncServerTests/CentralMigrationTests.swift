import Foundation
import GRDB
import ReplicaStore
import SyncCore
import SyncProtocol
import SyncServer
import Testing

/// The server's own migrations, run on a file in the form the previous version left.
@Suite struct CentralMigrationTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-central-migration-\(UUID().uuidString)").path
    let now: Int64 = 1_795_651_200_000

    static let scopeQuery = "SELECT tbl, record_id, community, handling, case_id FROM merge_state ORDER BY tbl, record_id"

    /// central-v6 moves each record's scope from `record_scope` into its merge-state row:
    /// every scope is kept, and a community still pulls exactly its own cases.
    @Test func theSixthMigrationKeepsEveryScope() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/central.sqlite"
        var central: SQLiteCentralStorage? = try SQLiteCentralStorage.open(at: path)
        for (code, level, parent) in [
            ("HSD", OfficeLevel.district, nil), ("JD1", .street, "HSD"), ("HSM", .community, "JD1"), ("XQ2", .community, "JD1"),
        ] {
            _ = try central?.addOffice(code: code, name: code, level: level, parent: parent, now: now)
        }
        // Cases of both communities, and events, written by the district.
        let district = try ReplicaStore.create(at: folder + "/district.sqlite", office: "HSD", staff: "区员工")
        var changes: [Change] = []
        for index in 0..<12 {
            let community = index % 3 == 0 ? "XQ2" : "HSM"
            let id = "case-\(index)"
            changes.append(
                try district.write(
                    ["title": .text("案件\(index)"), "community": .text(community), "office": .text(community), "status": .text("新建")],
                    to: RecordKey(table: "cases", id: id)))
            changes.append(
                try district.write(
                    ["case_id": .text(id), "type": .text("note")], to: RecordKey(table: "case_events", id: "event-\(index)")))
        }
        let caller = Caller(replica: district.identity.replica, office: "HSD")
        _ = try central?.push(changes, bodies: nil, from: caller, now: now)
        let scopes = try DatabaseQueue(path: path).read { db in try Row.fetchAll(db, sql: Self.scopeQuery) }
        #expect(scopes.count == 24)
        #expect(scopes.allSatisfy { ($0["community"] as String?) != nil && ($0["case_id"] as String?) != nil })
        let pulledBefore = try central?.pull(
            for: Caller(replica: ReplicaID("feedfeedfeedfeedfeedfeedfeedfeed"), office: "HSM"), after: "", limit: 1000,
            maximumBytes: 1 << 22,
            now: now
        ).bodies.count
        #expect(pulledBefore == 16, "8 cases of HSM and their events")
        central = nil

        // The file as central-v5 left it: scopes in `record_scope`, none in `merge_state`.
        try DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: """
                    CREATE TABLE record_scope (
                        tbl TEXT NOT NULL, record_id TEXT NOT NULL, community TEXT, handling TEXT, case_id TEXT,
                        PRIMARY KEY (tbl, record_id)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX record_scope_by_case ON record_scope (case_id) WHERE case_id IS NOT NULL;
                    INSERT INTO record_scope SELECT tbl, record_id, community, handling, case_id FROM merge_state;
                    DROP INDEX merge_state_by_case;
                    ALTER TABLE merge_state DROP COLUMN case_id;
                    ALTER TABLE merge_state DROP COLUMN handling;
                    ALTER TABLE merge_state DROP COLUMN community;
                    DELETE FROM grdb_migrations WHERE identifier = 'central-v6-scope-in-state';
                    """)
        }
        central = try SQLiteCentralStorage.open(at: path)
        let migrated = try DatabaseQueue(path: path).read { db in
            (
                try Row.fetchAll(db, sql: Self.scopeQuery),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = 'record_scope'")
            )
        }
        #expect(migrated.0 == scopes)
        #expect(migrated.1 == 0, "record_scope is gone")
        let pulledAfter = try central?.pull(
            for: Caller(replica: ReplicaID("feedfeedfeedfeedfeedfeedfeedfeed"), office: "HSM"), after: "", limit: 1000,
            maximumBytes: 1 << 22,
            now: now
        ).bodies.count
        #expect(pulledAfter == 16)
        // A community may not write to another community's case after the migration either.
        let other = try ReplicaStore.create(at: folder + "/hsm.sqlite", office: "HSM", staff: "社区员工")
        let foreign = try other.write(["status": .text("处理中")], to: RecordKey(table: "cases", id: "case-0"))
        #expect(throws: ServerError.self) {
            try central?.push([foreign], bodies: nil, from: Caller(replica: other.identity.replica, office: "HSM"), now: now)
        }
    }
}
