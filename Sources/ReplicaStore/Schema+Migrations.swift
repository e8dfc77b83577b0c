import Foundation
public import GRDB
import SyncCore

/// The replica file's schema, as versioned migrations. A migration that has shipped is
/// never edited: changes come as new migrations (README, "Replica file"). The steps up
/// to v11 shipped before record kinds had migrations of their own, so they also create
/// the first kind's tables (cases); a kind's new tables come from its projection's
/// migrations, registered after these.
package enum ReplicaMigrations {
    /// A migrator for a replica file: every step of the store, in order, then each
    /// projection's own.
    package static func migrator(_ projections: [any RecordProjection] = []) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for step in steps + projections.flatMap(\.migrations) { step.register(in: &migrator) }
        return migrator
    }

    /// The replica's migrations, in order. The central server's file began as a replica
    /// file and runs the steps it needs by name in its own list (`CentralMigrations`).
    package static let steps: [MigrationStep] = {
        var migrator = StepList()
        migrator.registerMigration("v1-replica") { db in
            // This replica's identity and clocks: exactly one row.
            try db.execute(
                sql: """
                    CREATE TABLE replica (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        replica_id TEXT NOT NULL,
                        office TEXT NOT NULL,
                        staff TEXT NOT NULL,
                        tag TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        hlc_wall INTEGER NOT NULL DEFAULT 0,
                        hlc_logical INTEGER NOT NULL DEFAULT 0,
                        last_number TEXT
                    ) STRICT;

                    -- Every change held, in its canonical wire form (Protocol/PROTOCOL.md §7.1).
                    CREATE TABLE changes (
                        replica TEXT NOT NULL,
                        counter INTEGER NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        hlc_wall INTEGER NOT NULL,
                        hlc_logical INTEGER NOT NULL,
                        author TEXT NOT NULL,
                        body TEXT NOT NULL,
                        arrived INTEGER NOT NULL UNIQUE,
                        PRIMARY KEY (replica, counter)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX changes_by_record ON changes (tbl, record_id);

                    -- The merge state of every record (Protocol/PROTOCOL.md §3.2, §3.4), as JSON:
                    -- `fields` maps each field to its siblings (dot, value, HLC, author, round)
                    -- and context; `chains` maps each writer to its chain; `conflicts` counts
                    -- the fields in conflict. One row per record: one read and one write per
                    -- record a transaction touches.
                    CREATE TABLE field_versions (
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        fields TEXT NOT NULL,
                        chains TEXT NOT NULL,
                        conflicts INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (tbl, record_id)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX field_versions_in_conflict ON field_versions (tbl, record_id) WHERE conflicts > 0;

                    -- Current state, materialised from the winners of the merge.
                    CREATE TABLE cases (
                        id TEXT PRIMARY KEY,
                        number TEXT,
                        kind TEXT,
                        category TEXT,
                        title TEXT,
                        description TEXT,
                        citizen_name TEXT,
                        phone TEXT,
                        address TEXT,
                        status TEXT,
                        round INTEGER,
                        level TEXT,
                        office TEXT,
                        answer TEXT,
                        rating INTEGER,
                        created_at INTEGER,
                        due_date TEXT,
                        updated_at INTEGER,
                        closed_at INTEGER,
                        conflicts INTEGER NOT NULL DEFAULT 0
                    ) STRICT;
                    CREATE INDEX cases_by_number ON cases (number);
                    CREATE INDEX cases_by_status ON cases (status, created_at);
                    CREATE INDEX cases_by_created ON cases (created_at);

                    CREATE TABLE case_events (
                        id TEXT PRIMARY KEY,
                        case_id TEXT,
                        type TEXT,
                        text TEXT,
                        score INTEGER,
                        author TEXT,
                        replica TEXT,
                        at INTEGER
                    ) STRICT;
                    CREATE INDEX case_events_by_case ON case_events (case_id, at);

                    -- Full text over title, description and address; trigram so that Chinese
                    -- substrings match.
                    CREATE VIRTUAL TABLE cases_fts USING fts5(
                        title, description, address, content = 'cases', tokenize = 'trigram'
                    );
                    CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
                        INSERT INTO cases_fts (rowid, title, description, address)
                        VALUES (new.rowid, new.title, new.description, new.address);
                    END;
                    CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN
                        INSERT INTO cases_fts (cases_fts, rowid, title, description, address)
                        VALUES ('delete', old.rowid, old.title, old.description, old.address);
                    END;
                    -- Only when a searched column changes: a status move must not rewrite the
                    -- trigram index of a 64 KiB description.
                    CREATE TRIGGER cases_fts_update AFTER UPDATE OF title, description, address ON cases
                    WHEN old.title IS NOT new.title OR old.description IS NOT new.description OR old.address IS NOT new.address
                    BEGIN
                        INSERT INTO cases_fts (cases_fts, rowid, title, description, address)
                        VALUES ('delete', old.rowid, old.title, old.description, old.address);
                        INSERT INTO cases_fts (rowid, title, description, address)
                        VALUES (new.rowid, new.title, new.description, new.address);
                    END;
                    """)
        }
        migrator.registerMigration("v2-phone-tail") { db in
            // "find 5678" looks up phones by their last four digits through an index
            // instead of scanning every case.
            try db.execute(
                sql: """
                    ALTER TABLE cases ADD COLUMN phone_tail TEXT GENERATED ALWAYS AS (substr(phone, -4)) VIRTUAL;
                    CREATE INDEX cases_by_phone_tail ON cases (phone_tail) WHERE phone_tail IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v3-sync") { db in
            try db.execute(
                sql: """
                    -- The replica's enrolment and sync position (Protocol/PROTOCOL.md §9): one row.
                    -- `credential` is the secret the server issued (the file is 0600); `acked`
                    -- the highest own counter the server acknowledged; `cursor` the opaque
                    -- position after the last page pulled and applied.
                    CREATE TABLE sync_state (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        server TEXT,
                        credential TEXT,
                        office_name TEXT,
                        office_level TEXT,
                        enrolled_at INTEGER,
                        acked INTEGER NOT NULL DEFAULT 0,
                        cursor TEXT NOT NULL DEFAULT '',
                        last_sync_at INTEGER
                    ) STRICT;
                    INSERT INTO sync_state (singleton) VALUES (1);

                    -- The office of every replica whose changes arrived, as the server said.
                    CREATE TABLE replica_offices (
                        replica TEXT PRIMARY KEY,
                        office TEXT NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v4-tls") { db in
            // How this replica reaches its server: the CA certificates (PEM) it trusts for
            // https, and whether plain http to another machine was allowed (--insecure).
            try db.execute(
                sql: """
                    ALTER TABLE sync_state ADD COLUMN ca_certificates TEXT;
                    ALTER TABLE sync_state ADD COLUMN insecure INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v5-withheld") { db in
            // Own changes the server refused as outside this office's jurisdiction: kept
            // here (and in the change log), shown by `rain status`, never pushed again.
            try db.execute(
                sql: """
                    CREATE TABLE withheld (
                        counter INTEGER PRIMARY KEY,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        refused_at INTEGER NOT NULL
                    ) STRICT;
                    """)
        }
        migrator.registerMigration("v6-moved") { db in
            // A case that left this office's jurisdiction keeps its number and status, its
            // residents' data purged, marked with when it moved away.
            try db.execute(sql: "ALTER TABLE cases ADD COLUMN moved_at INTEGER")
        }
        migrator.registerMigration("v7-restore") { db in
            // Recovery of a file restored from an older copy (Protocol/PROTOCOL.md §9.8):
            // `restored_at` when this machine noticed it, `successor` the fresh replica id
            // minted for the re-issue (kept so that a retry asks for the same one), and one
            // row per identity this file has left behind.
            try db.execute(
                sql: """
                    ALTER TABLE sync_state ADD COLUMN restored_at INTEGER;
                    ALTER TABLE sync_state ADD COLUMN successor TEXT;
                    CREATE TABLE reissues (
                        predecessor TEXT PRIMARY KEY,
                        successor TEXT NOT NULL,
                        same INTEGER NOT NULL,
                        reissued INTEGER NOT NULL,
                        at INTEGER NOT NULL
                    ) STRICT;
                    """)
        }
        migrator.registerMigration("v8-compact-storage") { db in
            // The change log becomes a rowid table in arrival order: its rows are appended
            // and packed, where the WITHOUT ROWID table keyed by dot spilled every body
            // over 1 KB into an overflow page of its own. Its clock and author columns go:
            // nothing queried them, and the body holds them. The merge state moves from JSON
            // (`field_versions`) to `merge_state`, one compact binary row per record
            // (`MergeStateCodec`), about a third of the bytes.
            try db.execute(
                sql: """
                    CREATE TABLE changes_v8 (
                        arrived INTEGER PRIMARY KEY,
                        replica TEXT NOT NULL,
                        counter INTEGER NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        body TEXT NOT NULL
                    ) STRICT;
                    INSERT INTO changes_v8 (arrived, replica, counter, tbl, record_id, body)
                        SELECT arrived, replica, counter, tbl, record_id, body FROM changes ORDER BY arrived;
                    DROP TABLE changes;
                    ALTER TABLE changes_v8 RENAME TO changes;
                    CREATE UNIQUE INDEX changes_by_dot ON changes (replica, counter);

                    CREATE TABLE merge_state (
                        id INTEGER PRIMARY KEY,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        state BLOB NOT NULL,
                        conflicts INTEGER NOT NULL DEFAULT 0,
                        UNIQUE (tbl, record_id)
                    ) STRICT;
                    CREATE INDEX merge_state_in_conflict ON merge_state (tbl, record_id) WHERE conflicts > 0;
                    """)
            // Each record's changes by arrival go into its merge state (the log keeps no
            // index by record); a record with changes but no merge state (a purged case's
            // own changes not yet acknowledged) gets an empty one listing them.
            var arrivals: [RecordKey: [Int64]] = [:]
            let changes = try Row.fetchCursor(db, sql: "SELECT tbl, record_id, arrived FROM changes ORDER BY arrived")
            while let row = try changes.next() {
                arrivals[RecordKey(table: row["tbl"], id: row["record_id"]), default: []].append(row["arrived"])
            }
            let insert = try db.makeStatement(sql: "INSERT INTO merge_state (tbl, record_id, state, conflicts) VALUES (?, ?, ?, ?)")
            let rows = try Row.fetchCursor(
                db, sql: "SELECT tbl, record_id, fields, chains, conflicts FROM field_versions ORDER BY tbl, record_id")
            while let row = try rows.next() {
                let key = RecordKey(table: row["tbl"], id: row["record_id"])
                let place = "field_versions of \(key)"
                let record = SyncCore.Record(
                    registers: try StoredForms.decodeFields(row["fields"], at: place),
                    chains: try StoredForms.decodeChains(row["chains"], at: place))
                let conflicts: Int64 = row["conflicts"]
                let listed = arrivals.removeValue(forKey: key) ?? []
                try insert.execute(arguments: [key.table, key.id, Data(MergeStateCodec.encode(record, arrivals: listed)), conflicts])
            }
            for (key, listed) in arrivals.sorted(by: { $0.key < $1.key }) {
                try insert.execute(arguments: [key.table, key.id, Data(MergeStateCodec.encode(SyncCore.Record(), arrivals: listed)), 0])
            }
            try db.execute(sql: "DROP TABLE field_versions")
        }
        migrator.registerMigration("v9-search-later") { db in
            // The trigram index is brought up to date when it is next searched (and at the
            // end of a sync), not inside the write: indexing costs about 0.3 ms a case,
            // which made a large pull spend most of its time indexing. A written row is
            // noted in `search_pending` with what the index holds for it (`indexed` = 1 and
            // the old values, or 0 when it holds nothing), so the index can be brought up to
            // date exactly later; `ReplicaStore.updateSearchIndex` does it. The central
            // server's file has no index (central-v3-scope dropped it): only the table.
            try db.execute(
                sql:
                    "CREATE TABLE search_pending (case_rowid INTEGER PRIMARY KEY, indexed INTEGER NOT NULL, old_title TEXT, old_description TEXT, old_address TEXT) STRICT"
            )
            guard try db.tableExists("cases_fts") else { return }
            try db.execute(
                sql: """
                    DROP TRIGGER cases_fts_insert;
                    DROP TRIGGER cases_fts_update;
                    DROP TRIGGER cases_fts_delete;
                    -- A new row's rowid has no note: a deleted row's note goes with it (below).
                    -- (A plain insert: the check cost a third of writing a case row.)
                    CREATE TRIGGER cases_search_insert AFTER INSERT ON cases BEGIN
                        INSERT INTO search_pending (case_rowid, indexed) VALUES (new.rowid, 0);
                    END;
                    -- Only the first old values since the index was last updated: those are
                    -- what it holds. (Not OR IGNORE: an outer upsert overrides a trigger's.)
                    CREATE TRIGGER cases_search_update AFTER UPDATE OF title, description, address ON cases
                    WHEN old.title IS NOT new.title OR old.description IS NOT new.description OR old.address IS NOT new.address
                    BEGIN
                        INSERT INTO search_pending (case_rowid, indexed, old_title, old_description, old_address)
                            SELECT old.rowid, 1, old.title, old.description, old.address
                            WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE case_rowid = old.rowid);
                    END;
                    CREATE TRIGGER cases_search_delete AFTER DELETE ON cases BEGIN
                        INSERT INTO cases_fts (cases_fts, rowid, title, description, address)
                            SELECT 'delete', old.rowid, old_title, old_description, old_address
                            FROM search_pending WHERE case_rowid = old.rowid AND indexed = 1;
                        INSERT INTO cases_fts (cases_fts, rowid, title, description, address)
                            SELECT 'delete', old.rowid, old.title, old.description, old.address
                            WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE case_rowid = old.rowid);
                        DELETE FROM search_pending WHERE case_rowid = old.rowid;
                    END;
                    """)
        }
        migrator.registerMigration("v10-search-notes-by-the-writer") { db in
            // The case row's writer notes it for the search index itself
            // (`ReplicaStore.materializeCase`, `purge`), not a trigger: a trigger made every
            // write of a case row a statement over two tables, which SQLite guards with a
            // statement journal holding a copy of every page the statement touches — for a
            // row with five indexes, about 100 KB copied per case, half the cost of writing
            // it (measured: 9,500 pulled cases 0.29 s with the triggers, 0.16 s without). The
            // delete trigger stays: nothing deletes a case row on the hot path.
            try db.execute(
                sql: """
                    DROP TRIGGER IF EXISTS cases_search_insert;
                    DROP TRIGGER IF EXISTS cases_search_update;
                    """)
        }
        migrator.registerMigration("v11-scrub-after-purge") { db in
            // A purge (§9.6) removes a case's residents' data in the pull's transaction, but
            // copies can survive it: the full-text index's older segments (until they are
            // merged) and the write-ahead log's older frames. `scrub_due` says a purge has
            // happened since they were last scrubbed (`ReplicaStore.scrubPurged`), so an
            // interrupted sync's scrub is done by the next process that closes the file.
            try db.execute(sql: "ALTER TABLE sync_state ADD COLUMN scrub_due INTEGER NOT NULL DEFAULT 0")
        }
        return migrator.steps
    }()

    /// The step named `name`.
    package static func step(_ name: String) -> MigrationStep {
        guard let step = steps.first(where: { $0.name == name }) else { preconditionFailure("no replica migration \(name)") }
        return step
    }

    /// Collects the steps in the order they are registered.
    struct StepList {
        var steps: [MigrationStep] = []

        mutating func registerMigration(_ name: String, migrate: @escaping @Sendable (Database) throws -> Void) {
            steps.append(MigrationStep(name: name, migrate: migrate))
        }
    }
}

/// One versioned migration: its identifier (never changed once shipped) and its work.
public struct MigrationStep: Sendable {
    public let name: String
    public let migrate: @Sendable (Database) throws -> Void

    public init(name: String, migrate: @escaping @Sendable (Database) throws -> Void) {
        self.name = name
        self.migrate = migrate
    }

    /// Registers the step with `migrator`.
    public func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration(name, migrate: migrate)
    }
}
