package import GRDB

/// The replica file's schema, as versioned migrations. A migration that has shipped is
/// never edited: changes come as new migrations (README, "Replica file").
enum ReplicaMigrations {
    /// The replica's migrations, then `extra` ones (the central server's tables, which
    /// live in the central replica file only).
    static func migrator(extra: [ExtraMigration] = []) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
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
        for extra in extra { migrator.registerMigration(extra.name, migrate: extra.migrate) }
        return migrator
    }
}

/// A migration registered after the replica's own (the central server's tables).
package struct ExtraMigration: Sendable {
    package let name: String
    package let migrate: @Sendable (Database) throws -> Void

    package init(name: String, migrate: @escaping @Sendable (Database) throws -> Void) {
        self.name = name
        self.migrate = migrate
    }
}
