import Logging
import PostgresNIO
import ReplicaStore
import SyncCore
import SyncServer

/// The PostgreSQL schema: its own linear list of versioned migrations, never edited once
/// shipped (README, "Server database"), recorded in `schema_migrations`. Each step is a
/// list of single statements (the extended protocol takes one per query), run with the
/// record of its version in one transaction. A database that records a version this
/// release does not know was migrated by a newer `rain-server`, and is refused.
enum PostgresMigrations {
    struct Step {
        let version: String
        let statements: [String]
    }

    /// Every step, in order.
    static let steps: [Step] = [
        Step(
            version: "pg-v1-central",
            statements: [
                // The server's own replica id: never enrolled by a replica (its changes,
                // once the server writes, carry it).
                """
                CREATE TABLE server_identity (
                    singleton integer PRIMARY KEY CHECK (singleton = 1),
                    replica text NOT NULL,
                    created_at bigint NOT NULL
                )
                """,
                // The office tree: district → street → community.
                """
                CREATE TABLE offices (
                    code text PRIMARY KEY,
                    name text NOT NULL,
                    level text NOT NULL CHECK (level IN ('district', 'street', 'community')),
                    parent text REFERENCES offices (code),
                    created_at bigint NOT NULL,
                    retired_at bigint
                )
                """,
                // One-time enrolment tokens: `id.secret`, only the secret's SHA-256 kept.
                """
                CREATE TABLE enrolment_tokens (
                    id text PRIMARY KEY,
                    office text NOT NULL REFERENCES offices (code),
                    secret_sha256 text NOT NULL,
                    created_at bigint NOT NULL,
                    expires_at bigint NOT NULL,
                    used_at bigint,
                    used_by text
                )
                """,
                // Enrolled replicas: the credential is `replica.secret`, only SHA-256 of the
                // secret kept; a rotated one's predecessor stays valid until the new one is
                // used; a restored replica names its successor and the successor it.
                """
                CREATE TABLE replicas (
                    id text PRIMARY KEY,
                    office text NOT NULL REFERENCES offices (code),
                    staff text NOT NULL,
                    secret_sha256 text NOT NULL,
                    previous_secret_sha256 text,
                    enrolled_at bigint NOT NULL,
                    revoked_at bigint,
                    last_seen_at bigint,
                    superseded_by text,
                    predecessor text,
                    used_at bigint
                )
                """,
                // The change log in arrival order (numbers taken under the write lock, so
                // consecutive and committed in order); each body its canonical encoding.
                """
                CREATE TABLE changes (
                    arrived bigint PRIMARY KEY,
                    replica text NOT NULL,
                    counter bigint NOT NULL,
                    tbl text NOT NULL,
                    record_id text NOT NULL,
                    body bytea NOT NULL,
                    UNIQUE (replica, counter)
                )
                """,
                // Each record's merge state (MergeStateCodec, without values: they are in
                // the log), where it belongs (`RecordScope.encoded`) and a child's parent.
                """
                CREATE TABLE merge_state (
                    tbl text NOT NULL,
                    record_id text NOT NULL,
                    state bytea NOT NULL,
                    conflicts integer NOT NULL DEFAULT 0,
                    scope text,
                    parent text,
                    PRIMARY KEY (tbl, record_id)
                )
                """,
                "CREATE INDEX merge_state_by_parent ON merge_state (parent) WHERE parent IS NOT NULL",
                // Changes refused as outside their writer's scope: their counters count as held.
                """
                CREATE TABLE refused_dots (
                    replica text NOT NULL,
                    counter bigint NOT NULL,
                    tbl text NOT NULL,
                    record_id text NOT NULL,
                    refused_at bigint NOT NULL,
                    body_sha256 text,
                    PRIMARY KEY (replica, counter)
                )
                """,
                // Every change of a record's scope, in order (`PlacedScope.encoded`).
                """
                CREATE TABLE scope_moves (
                    seq bigint PRIMARY KEY,
                    tbl text NOT NULL,
                    record_id text NOT NULL,
                    old_scope text NOT NULL,
                    new_scope text NOT NULL
                )
                """,
                // Runs of consecutive changes listed under one office (`ListingRuns`).
                """
                CREATE TABLE scope_log (
                    office text NOT NULL,
                    last bigint NOT NULL,
                    first bigint NOT NULL,
                    PRIMARY KEY (office, last)
                )
                """,
            ]),
        // After a restore from a backup (`rain-server restored`), log and move numbers start
        // above every number handed out before it: no replica's pull position has passed them.
        Step(
            version: "pg-v2-numbering-floor",
            statements: ["ALTER TABLE server_identity ADD COLUMN numbering_floor bigint NOT NULL DEFAULT 0"]),
        // The server as a writer (residents' requests) and its read model (DESIGN §8): the
        // writer's id and last number, daily allowances, guarded lookups' wrong tries, and the
        // versions of the views built (the views themselves are built at start: derived).
        Step(
            version: "pg-v3-server-writer",
            statements: [
                "CREATE TABLE server_writer (singleton bigint PRIMARY KEY CHECK (singleton = 1), replica text NOT NULL, last_number text)",
                "CREATE TABLE server_allowances (key text NOT NULL, day text NOT NULL, used int NOT NULL, PRIMARY KEY (key, day))",
                "CREATE TABLE guard_attempts (subject text PRIMARY KEY, failures int NOT NULL, locked_until bigint)",
                "CREATE TABLE record_views (name text PRIMARY KEY, version int NOT NULL)",
            ]),
        // Departments (policy-direct): a fourth office level.
        Step(
            version: "pg-v4-departments",
            statements: [
                "ALTER TABLE offices DROP CONSTRAINT offices_level_check",
                "ALTER TABLE offices ADD CONSTRAINT offices_level_check CHECK (level IN ('district', 'street', 'community', 'department'))",
            ]),
        // The district's dashboard: staff accounts, signed-in sessions, the audit of sign-ins
        // and reveals (the SQLite storage's central-v10-staff).
        Step(
            version: "pg-v5-staff",
            statements: [
                """
                CREATE TABLE staff (name text PRIMARY KEY, office text NOT NULL REFERENCES offices (code), password text NOT NULL,
                    token_sha256 text, created_at bigint NOT NULL)
                """,
                "CREATE UNIQUE INDEX staff_by_token ON staff (token_sha256) WHERE token_sha256 IS NOT NULL",
                """
                CREATE TABLE staff_sessions (id_sha256 text PRIMARY KEY, staff text NOT NULL, csrf text NOT NULL, created_at bigint NOT NULL,
                    expires_at bigint NOT NULL)
                """,
                """
                CREATE TABLE staff_audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at bigint NOT NULL, staff text NOT NULL,
                    action text NOT NULL, subject text, address text)
                """,
            ]),
        // The dashboard's tallies (the SQLite storage's central-v11-tallies).
        Step(
            version: "pg-v6-tallies",
            statements: [
                """
                CREATE TABLE case_tallies (community text NOT NULL, day bigint NOT NULL, received bigint NOT NULL, closed bigint NOT NULL,
                    tally text NOT NULL, PRIMARY KEY (community, day))
                """,
                "CREATE INDEX case_tallies_by_day ON case_tallies (day)",
                "CREATE TABLE case_tallies_month (community text NOT NULL, month bigint NOT NULL, tally text NOT NULL, PRIMARY KEY (community, month))",
                "CREATE INDEX case_tallies_month_by_month ON case_tallies_month (month)",
                """
                CREATE TABLE case_tally_state (singleton bigint PRIMARY KEY CHECK (singleton = 1), seen bigint NOT NULL, basis text NOT NULL,
                    generation bigint NOT NULL)
                """,
            ]),
    ]

    /// Brings the database to the latest version; returns the server's replica id.
    static func migrate(_ storage: PostgresCentralStorage) async throws(ServerError) -> ReplicaID {
        let logger = storage.logger
        do {
            // A connection of its own, not the pool's: a wrong password, a missing database
            // or a server that is down fails here at once with PostgreSQL's reason, where a
            // pool would keep retrying.
            let connection = try await PostgresConnection.connect(
                configuration: try storage.connectionConfiguration(), id: 0, logger: logger)
            do {
                let id = try await migrate(on: connection, storage.location, logger)
                try? await connection.close()
                return id
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            var failure = PostgresCentralStorage.map(error, what: "cannot open the server database")
            if failure.status == 503, !failure.message.contains(storage.location.description) {
                failure.message += " (\(storage.location))"
            }
            throw failure
        }
    }

    private static func migrate(on connection: PostgresConnection, _ location: PostgresLocation, _ logger: Logger) async throws
        -> ReplicaID
    {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresCentralStorage.migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at bigint NOT NULL)", logger: logger)
            var applied: Set<String> = []
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(
                String.self)
            {
                applied.insert(version)
            }
            let known = Set(steps.map(\.version))
            if let newer = applied.subtracting(known).sorted().first {
                throw ServerError.unavailable(
                    "cannot open the server database: it was migrated by a newer rain-server (version \(newer)); run that release or newer (\(location))",
                    cause: "newer schema \(newer)")
            }
            let now = ReplicaStore.nowMillis()
            for step in steps where !applied.contains(step.version) {
                for statement in step.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (\(step.version), \(now))", logger: logger)
                if step.version == "pg-v1-central" {
                    let id = ReplicaStore.newReplicaID().rawValue
                    try await connection.query(
                        "INSERT INTO server_identity (singleton, replica, created_at) VALUES (1, \(id), \(now))", logger: logger)
                }
            }
            let id = try await connection.query("SELECT replica FROM server_identity", logger: logger).collectOne(String.self)
            try await connection.query("COMMIT", logger: logger)
            return ReplicaID(id ?? "")
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
