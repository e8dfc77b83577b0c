import CaseStore
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

    static let scopeQuery = "SELECT tbl, record_id, scope, parent FROM merge_state ORDER BY tbl, record_id"

    /// Turns a file the current release wrote back into the form central-v6 left: scopes as
    /// a case's `community`/`handling`, `case_id` (a case's own id for a case), moves by
    /// community, no listing.
    static func revertToCentralV6(_ path: String) throws {
        try DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: """
                    ALTER TABLE merge_state ADD COLUMN community TEXT;
                    ALTER TABLE merge_state ADD COLUMN handling TEXT;
                    UPDATE merge_state SET community = substr(scope, 1, instr(scope, ',') - 1),
                        handling = substr(scope, instr(scope, ',') + 1) WHERE scope IS NOT NULL;
                    UPDATE merge_state SET parent = record_id WHERE tbl = 'cases' AND scope IS NOT NULL;
                    DROP INDEX merge_state_by_parent;
                    ALTER TABLE merge_state DROP COLUMN scope;
                    ALTER TABLE merge_state RENAME COLUMN parent TO case_id;
                    CREATE INDEX merge_state_by_case ON merge_state (case_id) WHERE case_id IS NOT NULL AND tbl <> 'cases';
                    DROP TABLE scope_log;
                    DROP TABLE scope_moves;
                    CREATE TABLE scope_moves (
                        seq INTEGER PRIMARY KEY, record_id TEXT NOT NULL, old_community TEXT, old_handling TEXT,
                        new_community TEXT, new_handling TEXT, old_parent TEXT, new_parent TEXT
                    ) STRICT;
                    DELETE FROM grdb_migrations WHERE identifier = 'central-v7-scopes-by-kind';
                    """)
        }
    }

    /// A server with two communities' cases and events, written by the district.
    func populatedServer(_ path: String) throws -> SQLiteCentralStorage {
        let central = try SQLiteCentralStorage.open(at: path)
        for (code, level, parent) in [
            ("HSD", OfficeLevel.district, nil), ("JD1", .street, "HSD"), ("HSM", .community, "JD1"), ("XQ2", .community, "JD1"),
        ] {
            _ = try central.addOffice(code: code, name: code, level: level, parent: parent, now: now)
        }
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
        _ = try central.push(changes, bodies: nil, from: Caller(replica: district.identity.replica, office: "HSD"), now: now)
        return central
    }

    /// A case handled by a community of another street than its own: the street of the
    /// handling community covers it from central-v7 on, so the migration records the move
    /// and that street receives the case's history at its next pull.
    @Test func theSeventhMigrationSendsAWidenedScopeItsHistory() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/central.sqlite"
        var central: SQLiteCentralStorage? = try populatedServer(path)
        _ = try central?.addOffice(code: "JD2", name: "东湖街道", level: .street, parent: "HSD", now: now)
        _ = try central?.addOffice(code: "YY", name: "园艺社区", level: .community, parent: "JD2", now: now)
        let writer = Caller(replica: ReplicaID("abcdabcdabcdabcdabcdabcdabcdabcd"), office: "HSD")
        let cross = Change(
            dot: Dot(writer.replica, 1), record: RecordKey(table: "cases", id: "cross"),
            fields: ["community": .text("YY"), "office": .text("HSM"), "title": .text("跨街道办理")], context: VersionVector(),
            hlc: HLC(wall: UInt64(now) - 1_000), author: "区员工")
        _ = try central?.push([cross], from: writer, now: now)
        let latest = try DatabaseQueue(path: path).read { db in try Int64.fetchOne(db, sql: "SELECT max(arrived) FROM changes") ?? 0 }
        central?.close()
        central = nil
        try Self.revertToCentralV6(path)
        // JD1 had pulled everything the old rule gave it: not the cross case.
        central = try SQLiteCentralStorage.open(at: path)
        let moves = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT record_id, old_scope, new_scope FROM scope_moves").map {
                [$0["record_id"], $0["old_scope"], $0["new_scope"]] as [String?]
            }
        }
        #expect(moves == [["cross", "YY/JD2,HSM/", "YY/JD2,HSM/JD1"]])
        let street = Caller(replica: ReplicaID("beefbeefbeefbeefbeefbeefbeefbeef"), office: "JD1")
        let page = try #require(try central?.pull(for: street, after: "v1.\(latest).0", limit: 100, maximumBytes: 1 << 20, now: now))
        let received = try ChangeBatchV1.decode(ChangeBatchV1.encode(canonicalBodies: page.bodies))
        #expect(received.map(\.record.id) == ["cross"])
    }

    /// central-v7 stores scopes by the kinds' rules: every scope, parent, listing and move
    /// of a file central-v6 left is kept, and each office still pulls exactly its own.
    @Test func theSeventhMigrationKeepsEveryScopeAndListsTheLog() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/central.sqlite"
        var central: SQLiteCentralStorage? = try populatedServer(path)
        let hsm = Caller(replica: ReplicaID("feedfeedfeedfeedfeedfeedfeedfeed"), office: "HSM")
        let street = Caller(replica: ReplicaID("beefbeefbeefbeefbeefbeefbeefbeef"), office: "JD1")
        // Each listed change, the runs spelled out (runs of the live server and of the
        // migration may cut the same numbers differently).
        let listing = """
            WITH RECURSIVE listed(office, arrived, last) AS (
                SELECT office, first, last FROM scope_log
                UNION ALL SELECT office, arrived + 1, last FROM listed WHERE arrived < last
            ) SELECT office, arrived FROM listed ORDER BY office, arrived
            """
        let before = try DatabaseQueue(path: path).read { db in
            (try Row.fetchAll(db, sql: Self.scopeQuery), try Row.fetchAll(db, sql: listing))
        }
        #expect(before.1.count == 24, "each change under its community")
        let pulled = try [hsm, street].map { try central?.pull(for: $0, after: "", limit: 1000, maximumBytes: 1 << 22, now: now).bodies }
        #expect(pulled.map { $0?.count } == [16, 24])
        central?.close()
        central = nil

        try Self.revertToCentralV6(path)
        // A move central-v6 recorded: case-1 handed from HSM to XQ2 by the street.
        try DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: """
                    INSERT INTO scope_moves (seq, record_id, old_community, old_handling, new_community, new_handling, old_parent, new_parent)
                    VALUES (7, 'case-1', 'HSM', 'HSM', 'XQ2', 'JD1', 'JD1', 'JD1')
                    """)
        }
        central = try SQLiteCentralStorage.open(at: path)
        let after = try DatabaseQueue(path: path).read { db in
            (
                try Row.fetchAll(db, sql: Self.scopeQuery), try Row.fetchAll(db, sql: listing),
                try Row.fetchAll(db, sql: "SELECT seq, tbl, record_id, old_scope, new_scope FROM scope_moves")
            )
        }
        #expect(after.0 == before.0)
        #expect(after.1 == before.1)
        #expect(after.2.count == 1)
        #expect(after.2.first?["seq"] == 7)
        #expect(
            after.2.first.map { [$0["tbl"], $0["record_id"], $0["old_scope"], $0["new_scope"]] as [String?] } == [
                "cases", "case-1", "HSM/JD1,HSM/JD1", "XQ2/JD1,JD1/HSD",
            ])
        let again = try [hsm, street].map { try central?.pull(for: $0, after: "", limit: 1000, maximumBytes: 1 << 22, now: now).bodies }
        #expect(again == pulled)
    }

    /// central-v6 moves each record's scope from `record_scope` into its merge-state row:
    /// every scope is kept, and a community still pulls exactly its own cases.
    @Test func theSixthMigrationKeepsEveryScope() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/central.sqlite"
        var central: SQLiteCentralStorage? = try populatedServer(path)
        let scopes = try DatabaseQueue(path: path).read { db in try Row.fetchAll(db, sql: Self.scopeQuery) }
        #expect(scopes.count == 24)
        #expect(scopes.allSatisfy { ($0["scope"] as String?) != nil && (($0["parent"] as String?) != nil) == ($0["tbl"] != "cases") })
        let pulledBefore = try central?.pull(
            for: Caller(replica: ReplicaID("feedfeedfeedfeedfeedfeedfeedfeed"), office: "HSM"), after: "", limit: 1000,
            maximumBytes: 1 << 22,
            now: now
        ).bodies.count
        #expect(pulledBefore == 16, "8 cases of HSM and their events")
        central?.close()
        central = nil
        try Self.revertToCentralV6(path)

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
