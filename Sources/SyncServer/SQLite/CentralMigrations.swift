import GRDB
import ReplicaStore
import SyncCore

/// The server database's schema: its own linear list of versioned migrations, never
/// edited once shipped (README, "Server database"). The file began as a replica file — the
/// change log and merge state the merge writes, beside the replica's own tables, left
/// empty — so the list starts with the replica's steps it shipped with, then the server's,
/// in the order every existing file ran them.
enum CentralMigrations {
    /// Every step, in order.
    static let order: [String] = [
        "v1-replica", "v2-phone-tail", "v3-sync", "v4-tls", "v5-withheld", "v6-moved", "v7-restore",
        "central-v1", "central-v2-rekey", "central-v3-scope", "central-v4-reissue",
        "v8-compact-storage", "v9-search-later", "central-v5-no-rows", "central-v6-scope-in-state",
        "v10-search-notes-by-the-writer", "v11-scrub-after-purge",
        "central-v7-scopes-by-kind", "central-v8-server-writer", "central-v9-departments", "central-v10-staff",
        "central-v11-tallies",
    ]

    /// A migrator for the server's database.
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for name in order {
            (central.first { $0.name == name } ?? ReplicaMigrations.step(name)).register(in: &migrator)
        }
        return migrator
    }

    /// The server's own steps, by name.
    static let central: [MigrationStep] = [
        MigrationStep(name: "central-v1") { db in
            try db.execute(
                sql: """
                    -- The office tree: district → street → community.
                    CREATE TABLE offices (
                        code TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        level TEXT NOT NULL CHECK (level IN ('district', 'street', 'community')),
                        parent TEXT REFERENCES offices (code),
                        created_at INTEGER NOT NULL
                    ) STRICT;

                    -- One-time enrolment tokens: `id.secret`, only the secret's SHA-256 kept.
                    CREATE TABLE enrolment_tokens (
                        id TEXT PRIMARY KEY,
                        office TEXT NOT NULL REFERENCES offices (code),
                        secret_sha256 TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        used_at INTEGER,
                        used_by TEXT
                    ) STRICT;

                    -- Enrolled replicas: the credential is `replica.secret`, only the secret's
                    -- SHA-256 kept.
                    CREATE TABLE replicas (
                        id TEXT PRIMARY KEY,
                        office TEXT NOT NULL REFERENCES offices (code),
                        staff TEXT NOT NULL,
                        secret_sha256 TEXT NOT NULL,
                        enrolled_at INTEGER NOT NULL,
                        revoked_at INTEGER,
                        last_seen_at INTEGER
                    ) STRICT;

                    -- The server never searches case text: no full-text index to keep up
                    -- while it merges every office's changes.
                    DROP TRIGGER cases_fts_insert;
                    DROP TRIGGER cases_fts_update;
                    DROP TRIGGER cases_fts_delete;
                    DROP TABLE cases_fts;
                    """)
        },
        MigrationStep(name: "central-v2-rekey") { db in
            // A rotated credential's predecessor stays valid until the new one is first
            // used, so that a client that dies before saving the new one is not locked out.
            try db.execute(sql: "ALTER TABLE replicas ADD COLUMN previous_secret_sha256 TEXT")
        },
        MigrationStep(name: "central-v3-scope") { db in
            try db.execute(sql: "ALTER TABLE offices ADD COLUMN retired_at INTEGER")
            try db.execute(
                sql: """
                    -- Where each record belongs (Protocol/PROTOCOL.md §9.6): its community and its
                    -- handling office; a case event carries its case's scope and id.
                    CREATE TABLE record_scope (
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        community TEXT,
                        handling TEXT,
                        case_id TEXT,
                        PRIMARY KEY (tbl, record_id)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX record_scope_by_case ON record_scope (case_id) WHERE case_id IS NOT NULL;
                    INSERT INTO record_scope (tbl, record_id, community, handling, case_id)
                        SELECT 'cases', id, office, office, id FROM cases;
                    INSERT INTO record_scope (tbl, record_id, community, handling, case_id)
                        SELECT 'case_events', e.id, s.community, s.handling, e.case_id
                        FROM case_events e JOIN record_scope s ON s.tbl = 'cases' AND s.record_id = e.case_id;

                    -- Changes refused as outside their writer's scope: their counters count as
                    -- held, so the writer's later changes are not stuck behind them.
                    -- Every change of a case's scope, in order: a pull uses them to send a case
                    -- entering the caller's jurisdiction with its whole history, and to tell the
                    -- caller to purge one that left it.
                    -- `old_parent`/`new_parent`: the street of the case's community before and
                    -- after (they differ when the community itself moved to another street).
                    CREATE TABLE scope_moves (
                        seq INTEGER PRIMARY KEY,
                        record_id TEXT NOT NULL,
                        old_community TEXT,
                        old_handling TEXT,
                        new_community TEXT,
                        new_handling TEXT,
                        old_parent TEXT,
                        new_parent TEXT
                    ) STRICT;

                    CREATE TABLE refused_dots (
                        replica TEXT NOT NULL,
                        counter INTEGER NOT NULL,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        refused_at INTEGER NOT NULL,
                        PRIMARY KEY (replica, counter)
                    ) STRICT, WITHOUT ROWID;
                    """)
        },
        MigrationStep(name: "central-v4-reissue") { db in
            // Restored replicas (Protocol/PROTOCOL.md §9.8): a replica re-issued under a fresh
            // id names its successor, the successor its predecessor; `used_at` is when a
            // credential was first used (a predecessor works until its successor is used).
            // A refused change's digest lets a re-issue tell it from a different change
            // that reuses its dot.
            try db.execute(
                sql: """
                    ALTER TABLE replicas ADD COLUMN superseded_by TEXT;
                    ALTER TABLE replicas ADD COLUMN predecessor TEXT;
                    ALTER TABLE replicas ADD COLUMN used_at INTEGER;
                    ALTER TABLE refused_dots ADD COLUMN body_sha256 TEXT;
                    """)
        },
        MigrationStep(name: "central-v5-no-rows") { db in
            // The server keeps the change log and the merge state, not current rows:
            // nothing here reads `cases` or `case_events`, and keeping them cost a third of
            // every merge. The tables stay (empty) so that the replica schema is whole.
            try db.execute(
                sql: """
                    DELETE FROM case_events;
                    DELETE FROM cases;
                    """)
        },
        MigrationStep(name: "central-v6-scope-in-state") { db in
            // A record's scope lives in its merge-state row, which every merge rewrites
            // anyway: `record_scope`, keyed by random record ids, had most of its pages
            // rewritten by every large batch (a third of the merge's WAL writes in W1).
            // `case_id`: a case event's case (its scope follows the case); a case's own id.
            try db.execute(
                sql: """
                    ALTER TABLE merge_state ADD COLUMN community TEXT;
                    ALTER TABLE merge_state ADD COLUMN handling TEXT;
                    ALTER TABLE merge_state ADD COLUMN case_id TEXT;
                    UPDATE merge_state SET community = s.community, handling = s.handling, case_id = s.case_id
                        FROM record_scope s WHERE s.tbl = merge_state.tbl AND s.record_id = merge_state.record_id;
                    CREATE INDEX merge_state_by_case ON merge_state (case_id) WHERE case_id IS NOT NULL AND tbl <> 'cases';
                    DROP TABLE record_scope;
                    """)
        },
        MigrationStep(name: "central-v7-scopes-by-kind") { db in
            // Scopes stop naming a case's fields (DESIGN §8): a record's scope is the office
            // codes its kind's scope rule gives, stored in order (`RecordScope.encoded`), and a
            // child record names its parent (`parent`, was `case_id`; NULL for a record
            // that is not a child). Moves keep each code with its parent office of the
            // time (`PlacedScope`). `scope_log` lists every change under the offices that
            // may read it, so that a pull reads only what its caller may receive (§9.5).
            try db.execute(
                sql: """
                    DROP INDEX merge_state_by_case;
                    ALTER TABLE merge_state ADD COLUMN scope TEXT;
                    ALTER TABLE merge_state RENAME COLUMN case_id TO parent;
                    UPDATE merge_state SET scope = coalesce(community, handling) || ',' || coalesce(handling, community)
                        WHERE community IS NOT NULL OR handling IS NOT NULL;
                    UPDATE merge_state SET parent = NULL WHERE parent = record_id;
                    ALTER TABLE merge_state DROP COLUMN community;
                    ALTER TABLE merge_state DROP COLUMN handling;
                    CREATE INDEX merge_state_by_parent ON merge_state (parent) WHERE parent IS NOT NULL;

                    CREATE TABLE scope_moves_v7 (
                        seq INTEGER PRIMARY KEY,
                        tbl TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        old_scope TEXT NOT NULL,
                        new_scope TEXT NOT NULL
                    ) STRICT;

                    -- Runs of consecutive changes listed under one office (`ListingRuns`):
                    -- one row per run (a push of one office's records is one), not per change. Runs of one office never
                    -- overlap, so ordered by `last` they are ordered by `first`. The key's
                    -- columns come first: SQLite 3.40's integrity check misreads a NOT NULL
                    -- column declared between a WITHOUT ROWID table's key columns.
                    CREATE TABLE scope_log (
                        office TEXT NOT NULL,
                        last INTEGER NOT NULL,
                        first INTEGER NOT NULL,
                        PRIMARY KEY (office, last)
                    ) STRICT, WITHOUT ROWID;
                    """)
            var parents: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT code, parent FROM offices WHERE parent IS NOT NULL") {
                parents[row["code"]] = row["parent"]
            }
            let insertMove = try db.makeStatement(
                sql: "INSERT INTO scope_moves_v7 (seq, tbl, record_id, old_scope, new_scope) VALUES (?, 'cases', ?, ?, ?)")
            for move in try Row.fetchAll(db, sql: "SELECT * FROM scope_moves ORDER BY seq") {
                func placed(_ community: String?, _ handling: String?, _ communityParent: String?) -> String {
                    var entries: [String] = []
                    if let community { entries.append(community + "/" + (communityParent ?? "")) }
                    if let handling {
                        entries.append(handling + "/" + ((handling == community ? communityParent : parents[handling]) ?? ""))
                    }
                    return entries.joined(separator: ",")
                }
                try insertMove.execute(arguments: [
                    move["seq"] as Int64, move["record_id"] as String,
                    placed(move["old_community"], move["old_handling"], move["old_parent"]),
                    placed(move["new_community"], move["new_handling"], move["new_parent"]),
                ])
            }
            try db.execute(sql: "DROP TABLE scope_moves; ALTER TABLE scope_moves_v7 RENAME TO scope_moves")
            // A street now covers a case handled by one of its communities even when the
            // case's own community is another street's (the rule asks every code of the
            // scope, where it asked the community's street only): recorded as a move, so
            // that the street receives the case's history at its next pull.
            let levels = Dictionary(
                try Row.fetchAll(db, sql: "SELECT code, level FROM offices").map { ($0["code"] as String, $0["level"] as String) },
                uniquingKeysWith: { first, _ in first })
            let widened = try db.makeStatement(sql: "INSERT INTO scope_moves (tbl, record_id, old_scope, new_scope) VALUES (?, ?, ?, ?)")
            for row in try Row.fetchAll(
                db, sql: "SELECT tbl, record_id, scope FROM merge_state WHERE parent IS NULL AND scope IS NOT NULL ORDER BY tbl, record_id")
            {
                guard let scope = RecordScope(encoded: row["scope"]), scope.offices.count == 2,
                    let home = scope.offices[0], let handling = scope.offices[1], handling != home,
                    levels[handling] == "community", parents[handling] != parents[home]
                else { continue }
                let homePlaced = home + "/" + (parents[home] ?? "")
                try widened.execute(arguments: [
                    row["tbl"] as String, row["record_id"] as String, homePlaced + "," + handling + "/",
                    homePlaced + "," + handling + "/" + (parents[handling] ?? ""),
                ])
            }
            // Every change of a scoped record, listed under each office its record's scope
            // names now.
            let insertRun = try db.makeStatement(sql: "INSERT INTO scope_log (office, first, last) VALUES (?, ?, ?)")
            var runs = ListingRuns()
            func write(_ done: [ListingRuns.Run]) throws {
                for run in done { try insertRun.execute(arguments: [run.office, run.first, run.last]) }
            }
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT c.arrived, s.scope FROM changes c JOIN merge_state s ON s.tbl = c.tbl AND s.record_id = c.record_id
                    WHERE s.scope IS NOT NULL ORDER BY c.arrived
                    """)
            while let row = try rows.next() {
                guard let scope = RecordScope(encoded: row["scope"]) else { continue }
                runs.list(row["arrived"], under: scope.offices)
                try write(runs.takeClosed())
            }
            try write(runs.finish())
        },
        MigrationStep(name: "central-v8-server-writer") { db in
            try db.execute(
                sql: """
                    -- The server's own writer (residents' submissions and ratings, DESIGN §8):
                    -- its replica id (made when first needed) and the last case number it minted.
                    CREATE TABLE server_writer (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        replica TEXT NOT NULL,
                        last_number TEXT
                    ) STRICT;
                    -- Daily allowances (a phone's online submissions), by a digest of the key.
                    CREATE TABLE server_allowances (
                        key TEXT NOT NULL,
                        day TEXT NOT NULL,
                        used INTEGER NOT NULL,
                        PRIMARY KEY (key, day)
                    ) STRICT, WITHOUT ROWID;
                    -- Wrong answers in a row to what guards a subject (a case's phone tail).
                    CREATE TABLE guard_attempts (
                        subject TEXT PRIMARY KEY,
                        failures INTEGER NOT NULL,
                        locked_until INTEGER
                    ) STRICT, WITHOUT ROWID;
                    -- The views (read model) built, and the version of each one's declaration.
                    CREATE TABLE record_views (
                        name TEXT PRIMARY KEY,
                        version INTEGER NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    """)
        },
        // Departments (policy-direct): a fourth office level. SQLite cannot change a CHECK
        // constraint in place, so the table is rebuilt from its own definition (the
        // documented steps: foreign keys are off during a migration, and the tables that
        // reference `offices` by name follow the rebuilt one).
        MigrationStep(name: "central-v9-departments") { db in
            guard let definition = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'offices'"),
                definition.contains("('district', 'street', 'community')")
            else { throw DatabaseError(message: "central-v9-departments: the offices table is not the one this step expects") }
            let rebuilt = definition.replacing(
                "('district', 'street', 'community')", with: "('district', 'street', 'community', 'department')"
            ).replacing("CREATE TABLE offices", with: "CREATE TABLE offices_v9")
            try db.execute(sql: rebuilt)
            try db.execute(sql: "INSERT INTO offices_v9 SELECT * FROM offices")
            try db.execute(sql: "DROP TABLE offices")
            try db.execute(sql: "ALTER TABLE offices_v9 RENAME TO offices")
        },
        // The district's dashboard (README, "The district's dashboard"): staff accounts the
        // administrator makes (a scrypt hash of the password, a SHA-256 of the API token),
        // signed-in sessions (a SHA-256 of the cookie) and the audit of sign-ins and reveals.
        MigrationStep(name: "central-v10-staff") { db in
            try db.execute(
                sql: """
                    CREATE TABLE staff (
                        name TEXT PRIMARY KEY,
                        office TEXT NOT NULL REFERENCES offices (code),
                        password TEXT NOT NULL,
                        token_sha256 TEXT,
                        created_at INTEGER NOT NULL
                    ) STRICT;
                    CREATE UNIQUE INDEX staff_by_token ON staff (token_sha256) WHERE token_sha256 IS NOT NULL;
                    CREATE TABLE staff_sessions (
                        id_sha256 TEXT PRIMARY KEY,
                        staff TEXT NOT NULL,
                        csrf TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) STRICT;
                    CREATE TABLE staff_audit (
                        id INTEGER PRIMARY KEY,
                        at INTEGER NOT NULL,
                        staff TEXT NOT NULL,
                        action TEXT NOT NULL,
                        subject TEXT,
                        address TEXT
                    ) STRICT;
                    """)
        },
        // The dashboard's tallies: per community and day received, what the report counts
        // (`CaseTally`, text), caught up with the views' rows written since `seen`, and
        // recounted in full when the calendar or the views change (`basis`).
        MigrationStep(name: "central-v11-tallies") { db in
            try db.execute(
                sql: """
                    CREATE TABLE case_tallies (
                        community TEXT NOT NULL,
                        day INTEGER NOT NULL,
                        received INTEGER NOT NULL,
                        closed INTEGER NOT NULL,
                        tally TEXT NOT NULL,
                        PRIMARY KEY (community, day)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX case_tallies_by_day ON case_tallies (day);
                    -- Each community's month (its first day), the sum of its days' tallies.
                    CREATE TABLE case_tallies_month (
                        community TEXT NOT NULL,
                        month INTEGER NOT NULL,
                        tally TEXT NOT NULL,
                        PRIMARY KEY (community, month)
                    ) STRICT, WITHOUT ROWID;
                    CREATE INDEX case_tallies_month_by_month ON case_tallies_month (month);
                    CREATE TABLE case_tally_state (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        seen INTEGER NOT NULL,
                        basis TEXT NOT NULL,
                        generation INTEGER NOT NULL
                    ) STRICT;
                    """)
        },
    ]
}
