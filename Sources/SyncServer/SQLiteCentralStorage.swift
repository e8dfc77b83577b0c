import CaseDomain
import Foundation
import GRDB
import GRDBSQLite
public import ReplicaStore
public import SyncCore
public import SyncProtocol

/// The embedded storage: one SQLite file that is a replica like an office's — the
/// change log, the merge state of every field and the materialised `cases`, merged by
/// the same `SyncCore` code through ``ReplicaStore`` — plus the server's own tables
/// (offices, enrolment tokens, replicas).
///
/// The administration commands (`rain-server office add`, …) open the same file while
/// the server runs: SQLite's locking and busy timeout serialise them, and the server
/// reads credentials on every request, so a revocation is effective at once.
public final class SQLiteCentralStorage: CentralStorage {
    /// The central replica.
    public let store: ReplicaStore

    /// The server's tables, registered after the replica's own migrations.
    static let migrations: [ExtraMigration] = [
        ExtraMigration(name: "central-v1") { db in
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
        ExtraMigration(name: "central-v2-rekey") { db in
            // A rotated credential's predecessor stays valid until the new one is first
            // used, so that a client that dies before saving the new one is not locked out.
            try db.execute(sql: "ALTER TABLE replicas ADD COLUMN previous_secret_sha256 TEXT")
        },
        ExtraMigration(name: "central-v3-scope") { db in
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
        ExtraMigration(name: "central-v4-reissue") { db in
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
        ExtraMigration(name: "central-v5-no-rows", follows: "v9-search-later") { db in
            // The server keeps the change log and the merge state, not current rows:
            // nothing here reads `cases` or `case_events`, and keeping them cost a third of
            // every merge. The tables stay (empty) so that the replica schema is whole.
            try db.execute(
                sql: """
                    DELETE FROM case_events;
                    DELETE FROM cases;
                    """)
        },
        ExtraMigration(name: "central-v6-scope-in-state", follows: "v9-search-later") { db in
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
    ]

    private init(store: ReplicaStore) {
        self.store = store
    }

    /// Opens the server's database at `path`, creating it (mode 0600) when missing.
    ///
    /// - Throws: ``ServerError`` with status 503 when the file cannot be opened or
    ///   created, or is not a central database.
    public static func open(at path: String, create: Bool = true) throws(ServerError) -> SQLiteCentralStorage {
        do {
            if FileManager.default.fileExists(atPath: path) {
                return SQLiteCentralStorage(
                    store: try ReplicaStore.open(
                        at: path, schema: .timelyRain, deadlines: DeadlinePolicy(), extra: migrations, materializes: false))
            }
            guard create else { throw ServerError.unavailable("cannot open the server database: no file (\(path))") }
            return SQLiteCentralStorage(
                store: try ReplicaStore.create(
                    at: path, office: "central", staff: "rain-server", replica: ReplicaStore.newReplicaID(), now: ReplicaStore.nowMillis(),
                    schema: .timelyRain, deadlines: DeadlinePolicy(), extra: migrations, materializes: false))
        } catch let error as ServerError {
            throw error
        } catch let error as ReplicaStoreError {
            switch error {
            case .newerVersion:
                throw .unavailable("cannot open the server database: written by a newer rain-server (\(path))")
            case .database(_, let reason):
                throw .unavailable("cannot open the server database: \(error.description)", cause: reason)
            default:
                throw .unavailable("cannot open the server database: \(error.description)", cause: error.description)
            }
        } catch {
            throw .unavailable("cannot open the server database: \(error) (\(path))", cause: "\(error)")
        }
    }

    // MARK: Transactions

    private func write<T>(_ what: String, _ body: (Database) throws -> T) throws(ServerError) -> T {
        var refusal: ServerError?
        do {
            return try store.write(what) { db in
                do { return try body(db) } catch let error as ServerError {
                    refusal = error
                    throw error
                }
            }
        } catch {
            throw refusal ?? Self.map(error, what: what)
        }
    }

    private func read<T>(_ what: String, _ body: (Database) throws -> T) throws(ServerError) -> T {
        var refusal: ServerError?
        do {
            return try store.read(what) { db in
                do { return try body(db) } catch let error as ServerError {
                    refusal = error
                    throw error
                }
            }
        } catch {
            throw refusal ?? Self.map(error, what: what)
        }
    }

    /// Storage failures become 503 (retry later: a full disk, a read-only file, a lock
    /// held too long); the core's refusals of a change become 400 or 409.
    static func map(_ error: ReplicaStoreError, what: String) -> ServerError {
        switch error {
        case .sync(let core):
            if case .conflictingDuplicate(let dot) = core {
                return .conflict(
                    "dot_reused",
                    "\(what): change \(dot) differs from the change the server holds under that dot; a replica never reuses a counter (was this replica restored from a backup?)"
                )
            }
            return .badRequest("invalid", "\(what): \(core.description)")
        case .domain(let domain): return .badRequest("invalid", "\(what): \(domain.description)")
        case .database(_, let reason):
            // Say which of the usual storage failures it is; the details go to the log.
            let why =
                switch StorageFailure(cause: reason) {
                case .full: "the server's disk is full"
                case .readOnly: "the server's database is read-only"
                case .busy: "the server's database is busy"
                default: "the server's storage failed"
                }
            return .unavailable("\(what): \(why); try again later", cause: reason)
        default: return .unavailable("\(what): the server's storage failed; try again later", cause: error.description)
        }
    }

    // MARK: Administration

    public func addOffice(code: String, name: String, level: OfficeLevel, parent: String?, now: Int64) throws(ServerError) -> Office {
        // Codes start every case number (`HSM-20261126-…`): letters and digits only.
        guard Self.isCode(code) else {
            throw .badRequest("invalid", "cannot add the office: a code is 1 to 12 letters or digits, e.g. HSM (code)")
        }
        let code = code.uppercased()
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 200 else {
            throw .badRequest("invalid", "cannot add the office: a name is 1 to 200 bytes (name)")
        }
        return try write("cannot add the office") { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM offices WHERE code = ?)", arguments: [code]) == true {
                throw ServerError.conflict("exists", "cannot add the office: \(code) already exists")
            }
            switch (level.parentLevel, parent) {
            case (nil, nil): break
            case (nil, .some):
                throw ServerError.badRequest("invalid", "cannot add the office: a district office has no parent (--parent)")
            case (.some(let wanted), nil):
                throw ServerError.badRequest(
                    "invalid", "cannot add the office: a \(level.rawValue) office needs a parent \(wanted.rawValue) office (--parent)")
            case (.some(let wanted), .some(let parent)):
                guard
                    let parentLevel = try String.fetchOne(
                        db, sql: "SELECT level FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [parent])
                else { throw ServerError.notFound("cannot add the office: no parent office \(parent) (--parent)") }
                guard parentLevel == wanted.rawValue else {
                    throw ServerError.badRequest(
                        "invalid",
                        "cannot add the office: the parent of a \(level.rawValue) office must be a \(wanted.rawValue) office, and \(parent) is a \(parentLevel) office (--parent)"
                    )
                }
            }
            try db.execute(
                sql: "INSERT INTO offices (code, name, level, parent, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [code, trimmed, level.rawValue, parent, now])
            return Office(code: code, name: trimmed, level: level, parent: parent, createdAt: now)
        }
    }

    public func moveOffice(code: String, parent: String, now: Int64) throws(ServerError) -> Office {
        let code = code.uppercased()
        let parent = parent.uppercased()
        return try write("cannot move the office") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [code])
            else {
                throw ServerError.notFound("cannot move the office: no active office \(code)")
            }
            let office = Self.office(row: row)
            guard let wanted = office.level.parentLevel else {
                throw ServerError.badRequest("invalid", "cannot move the office: the district has no parent (\(code))")
            }
            guard
                let parentLevel = try String.fetchOne(
                    db, sql: "SELECT level FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [parent])
            else { throw ServerError.notFound("cannot move the office: no active parent office \(parent) (--parent)") }
            guard parentLevel == wanted.rawValue else {
                throw ServerError.badRequest(
                    "invalid",
                    "cannot move the office: the parent of a \(office.level.rawValue) office must be a \(wanted.rawValue) office (--parent)"
                )
            }
            guard office.parent != parent else { return office }
            try db.execute(sql: "UPDATE offices SET parent = ? WHERE code = ?", arguments: [parent, code])
            // Every case of a community that changes street changes whose jurisdiction it is
            // in: recorded as moves, so the new street receives them with their history and
            // the old one purges them (§9.6).
            if office.level == .community {
                try db.execute(
                    sql: """
                        INSERT INTO scope_moves (record_id, old_community, old_handling, new_community, new_handling, old_parent, new_parent)
                        SELECT record_id, community, handling, community, handling, ?, ? FROM merge_state
                        WHERE tbl = 'cases' AND community = ? ORDER BY record_id
                        """, arguments: [office.parent, parent, code])
            }
            return Office(code: code, name: office.name, level: office.level, parent: parent, createdAt: office.createdAt)
        }
    }

    public func retireOffice(code: String, now: Int64) throws(ServerError) -> Office {
        let code = code.uppercased()
        return try write("cannot retire the office") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [code])
            else {
                throw ServerError.notFound("cannot retire the office: no active office \(code)")
            }
            let children =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM offices WHERE parent = ? AND retired_at IS NULL", arguments: [code]) ?? 0
            guard children == 0 else {
                throw ServerError.conflict(
                    "in_use", "cannot retire the office: \(children) active office(s) are under it; move or retire them first")
            }
            let cases =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM merge_state WHERE tbl = 'cases' AND (community = ? OR handling = ?)",
                    arguments: [code, code])
                ?? 0
            guard cases == 0 else {
                throw ServerError.conflict(
                    "in_use",
                    "cannot retire the office: \(cases) case(s) belong to it or are handled by it; reassign them first (rain case reassign)"
                )
            }
            try db.execute(sql: "UPDATE offices SET retired_at = ? WHERE code = ?", arguments: [now, code])
            // Its replicas stop at their next request; its unused tokens stop working.
            try db.execute(
                sql: "UPDATE replicas SET revoked_at = coalesce(revoked_at, ?), previous_secret_sha256 = NULL WHERE office = ?",
                arguments: [now, code])
            try db.execute(
                sql: "UPDATE enrolment_tokens SET expires_at = min(expires_at, ?) WHERE office = ? AND used_at IS NULL",
                arguments: [now, code])
            return Self.office(row: row)
        }
    }

    public func offices() throws(ServerError) -> [Office] {
        try read("cannot list the offices") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM offices ORDER BY code").map(Self.office(row:))
        }
    }

    static func office(row: Row) -> Office {
        Office(
            code: row["code"], name: row["name"], level: OfficeLevel(rawValue: row["level"]) ?? .community, parent: row["parent"],
            createdAt: row["created_at"], retiredAt: row["retired_at"])
    }

    public func issueToken(office: String, lifetime: Int64, now: Int64) throws(ServerError) -> IssuedToken {
        let office = office.uppercased()
        return try write("cannot issue a token") { db in
            guard
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM offices WHERE code = ? AND retired_at IS NULL)", arguments: [office]) == true
            else {
                throw ServerError.notFound("cannot issue a token: no active office \(office); add it with `rain-server office add`")
            }
            let id = Secrets.randomTokenID()
            let secret = Secrets.randomSecret()
            try db.execute(
                sql: "INSERT INTO enrolment_tokens (id, office, secret_sha256, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, office, Secrets.digest(secret), now, now + lifetime])
            return IssuedToken(office: office, token: id + "." + secret, expiresAt: now + lifetime)
        }
    }

    public func replicas() throws(ServerError) -> [EnrolledReplica] {
        try read("cannot list the replicas") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT r.*, (SELECT max(counter) FROM changes c WHERE c.replica = r.id) AS holds
                    FROM replicas r ORDER BY office, enrolled_at, id
                    """
            ).map(Self.replica(row:))
        }
    }

    static func replica(row: Row) -> EnrolledReplica {
        let holds: Int64? = row["holds"]
        return EnrolledReplica(
            id: ReplicaID(row["id"]), office: row["office"], staff: row["staff"], enrolledAt: row["enrolled_at"],
            revokedAt: row["revoked_at"], lastSeenAt: row["last_seen_at"], holds: UInt64(max(holds ?? 0, 0)),
            predecessor: (row["predecessor"] as String?).map(ReplicaID.init),
            supersededBy: (row["superseded_by"] as String?).map(ReplicaID.init))
    }

    public func revoke(replica: ReplicaID, now: Int64) throws(ServerError) -> EnrolledReplica {
        try write("cannot revoke the replica") { db in
            try db.execute(
                sql: "UPDATE replicas SET revoked_at = coalesce(revoked_at, ?), previous_secret_sha256 = NULL WHERE id = ?",
                arguments: [now, replica.rawValue])
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT r.*, (SELECT max(counter) FROM changes c WHERE c.replica = r.id) AS holds FROM replicas r WHERE id = ?",
                    arguments: [replica.rawValue])
            else { throw ServerError.notFound("cannot revoke the replica: no replica \(replica) is enrolled") }
            return Self.replica(row: row)
        }
    }

    // MARK: Sync

    public func enrol(_ request: EnrolRequestV1, now: Int64) throws(ServerError) -> EnrolResponseV1 {
        // One answer for every bad token, so that a guess learns nothing (which part was wrong).
        let refused = ServerError.unauthenticated(
            "cannot enrol: the enrolment token is not valid (unknown, already used or expired); ask the administrator for a new one with `rain-server office token`",
            code: "invalid_token")
        guard let (id, secret) = Secrets.split(request.token) else { throw refused }
        return try write("cannot enrol") { db in
            guard let token = try Row.fetchOne(db, sql: "SELECT * FROM enrolment_tokens WHERE id = ?", arguments: [id]),
                Secrets.matches(secret, storedDigest: token["secret_sha256"])
            else { throw refused }
            let usedAt: Int64? = token["used_at"]
            let expiresAt: Int64 = token["expires_at"]
            guard usedAt == nil, now < expiresAt else { throw refused }
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM replicas WHERE id = ?)", arguments: [request.replica.rawValue])
                == true
                || request.replica == self.store.identity.replica
            {
                throw ServerError.conflict(
                    "replica_exists",
                    "cannot enrol: replica \(request.replica) is already enrolled; a replica id is never reused (create a new replica with `rain init`)"
                )
            }
            let office: String = token["office"]
            guard let officeRow = try Row.fetchOne(db, sql: "SELECT * FROM offices WHERE code = ?", arguments: [office]) else {
                throw refused
            }
            let credentialSecret = Secrets.randomSecret()
            try db.execute(
                sql: "UPDATE enrolment_tokens SET used_at = ?, used_by = ? WHERE id = ?", arguments: [now, request.replica.rawValue, id])
            try db.execute(
                sql: "INSERT INTO replicas (id, office, staff, secret_sha256, enrolled_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [request.replica.rawValue, office, request.staff, Secrets.digest(credentialSecret), now])
            let info = Self.office(row: officeRow)
            return EnrolResponseV1(
                replica: request.replica, office: office, officeName: info.name, level: info.level.rawValue,
                credential: request.replica.rawValue + "." + credentialSecret)
        }
    }

    public func authenticate(credential: String?, now: Int64) throws(ServerError) -> Caller {
        guard let credential else {
            throw .unauthenticated("unauthenticated: no credential; send `Authorization: Bearer <credential>` (Authorization)")
        }
        guard let (id, secret) = Secrets.split(credential) else {
            throw .unauthenticated("unauthenticated: the credential is malformed (Authorization)")
        }
        let row = try read("cannot check the credential") { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT r.office, r.secret_sha256, r.previous_secret_sha256, r.revoked_at, r.superseded_by, r.predecessor, r.used_at,
                        (SELECT s.used_at FROM replicas s WHERE s.id = r.superseded_by) AS successor_used_at
                    FROM replicas r WHERE r.id = ?
                    """, arguments: [id])
        }
        guard let row else { throw .unauthenticated("unauthenticated: the credential is not valid (Authorization)") }
        let current = Secrets.matches(secret, storedDigest: row["secret_sha256"])
        let previous = (row["previous_secret_sha256"] as String?).map { Secrets.matches(secret, storedDigest: $0) } ?? false
        guard current || previous else { throw .unauthenticated("unauthenticated: the credential is not valid (Authorization)") }
        if (row["revoked_at"] as Int64?) != nil {
            throw .unauthenticated(
                "unauthenticated: this replica's credential was revoked; ask the administrator for a new enrolment token (Authorization)",
                code: "revoked")
        }
        let successor = (row["superseded_by"] as String?).map(ReplicaID.init)
        if let successor, (row["successor_used_at"] as Int64?) != nil {
            throw .unauthenticated(
                "unauthenticated: this replica was re-issued as \(successor) after a restore, and \(successor) has synced since; this file is an older copy — enrol it again with a new token to recover its work (Authorization)",
                code: "superseded")
        }
        let clearPrevious = current && (row["previous_secret_sha256"] as String?) != nil
        let firstUse = (row["predecessor"] as String?) != nil && (row["used_at"] as Int64?) == nil
        if clearPrevious || firstUse {
            // The new credential is in use: the old one stops working now. A successor's
            // first use retires its predecessor's credential.
            try write("cannot check the credential") { db in
                if clearPrevious { try db.execute(sql: "UPDATE replicas SET previous_secret_sha256 = NULL WHERE id = ?", arguments: [id]) }
                if firstUse { try db.execute(sql: "UPDATE replicas SET used_at = ? WHERE id = ?", arguments: [now, id]) }
            }
        }
        return Caller(replica: ReplicaID(id), office: row["office"], supersededBy: successor, withPreviousCredential: !current)
    }

    public func reissue(_ request: ReissueRequestV1, from caller: Caller, now: Int64) throws(ServerError) -> ReissueResponseV1 {
        let secret = Secrets.randomSecret()
        return try write("cannot re-issue the replica") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM replicas WHERE id = ?", arguments: [caller.replica.rawValue]) else {
                throw ServerError.unauthenticated("unauthenticated: the credential is not valid (Authorization)")
            }
            let successor = request.replica
            if successor == caller.replica {
                throw ServerError.badRequest(
                    "invalid", "cannot re-issue the replica: the new replica id must differ from the old one (replica)")
            }
            let known = (row["superseded_by"] as String?).map(ReplicaID.init)
            if let known, known != successor {
                throw ServerError.conflict(
                    "replica_superseded",
                    "cannot re-issue the replica: it was already re-issued as \(known); ask for that id again (replica)")
            }
            let exists =
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM replicas WHERE id = ?)", arguments: [successor.rawValue]) == true
            if (exists && known != successor) || successor == self.store.identity.replica {
                throw ServerError.conflict(
                    "replica_exists",
                    "cannot re-issue the replica: replica \(successor) is already enrolled; a replica id is never reused (replica)")
            }
            let holds = try self.holds(caller.replica, in: db)
            // Up to where the file's changes are the server's: compare digests in order.
            var same = request.after
            let last = min(holds, request.after + UInt64(request.digests.count))
            if last > request.after {
                var bodies: [UInt64: String] = [:]
                for stored in try Row.fetchAll(
                    db, sql: "SELECT counter, body FROM changes WHERE replica = ? AND counter > ? AND counter <= ?",
                    arguments: [caller.replica.rawValue, Int64(request.after), Int64(last)])
                {
                    let counter: Int64 = stored["counter"]
                    bodies[UInt64(counter)] = stored["body"]
                }
                var refused: [UInt64: String?] = [:]
                for stored in try Row.fetchAll(
                    db, sql: "SELECT counter, body_sha256 FROM refused_dots WHERE replica = ? AND counter > ? AND counter <= ?",
                    arguments: [caller.replica.rawValue, Int64(request.after), Int64(last)])
                {
                    let counter: Int64 = stored["counter"]
                    refused[UInt64(counter)] = .some(stored["body_sha256"])
                }
                for counter in (request.after + 1)...last {
                    let digest = request.digests[Int(counter - request.after - 1)]
                    if let body = bodies[counter] {
                        guard SHA256Hex.digest(Array(body.utf8)) == digest else { break }
                    } else if let refusedDigest = refused[counter] {
                        guard refusedDigest == digest else { break }
                    } else {
                        break
                    }
                    same = counter
                }
            }
            if exists {
                // A retry (the client died before saving the credential): a new one.
                try db.execute(
                    sql: "UPDATE replicas SET secret_sha256 = ?, previous_secret_sha256 = NULL WHERE id = ?",
                    arguments: [Secrets.digest(secret), successor.rawValue])
            } else {
                try db.execute(
                    sql: "INSERT INTO replicas (id, office, staff, secret_sha256, enrolled_at, predecessor) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [
                        successor.rawValue, caller.office, row["staff"] as String, Secrets.digest(secret), now, caller.replica.rawValue,
                    ])
                try db.execute(
                    sql: "UPDATE replicas SET superseded_by = ? WHERE id = ?", arguments: [successor.rawValue, caller.replica.rawValue])
            }
            return ReissueResponseV1(replica: successor, credential: successor.rawValue + "." + secret, same: same, holds: holds)
        }
    }

    public func rekey(_ caller: Caller, now: Int64) throws(ServerError) -> String {
        let secret = Secrets.randomSecret()
        try write("cannot rotate the credential") { db in
            // The credential in use becomes (or stays) the previous one: valid until the new
            // one is used. A second rotation asked with it replaces only the unused new one,
            // so that the credential the client holds keeps working.
            try db.execute(
                sql: caller.withPreviousCredential
                    ? "UPDATE replicas SET secret_sha256 = ? WHERE id = ? AND revoked_at IS NULL"
                    : "UPDATE replicas SET previous_secret_sha256 = secret_sha256, secret_sha256 = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [Secrets.digest(secret), caller.replica.rawValue])
            guard db.changesCount == 1 else {
                throw ServerError.unauthenticated("cannot rotate the credential: the replica is revoked", code: "revoked")
            }
        }
        return caller.replica.rawValue + "." + secret
    }

    public func push(_ changes: [Change], bodies: [[UInt8]]?, from caller: Caller, now: Int64) throws(ServerError) -> PushResponseV1 {
        if let bodies, bodies.count != changes.count {
            preconditionFailure("push: \(bodies.count) bodies for \(changes.count) changes")
        }
        // A replica writes only under its own id (§9.4): checked before anything is written.
        if let index = changes.firstIndex(where: { $0.dot.replica != caller.replica }) {
            throw .forbidden(
                "foreign_dot",
                "cannot accept the changes: a replica may push only its own changes, and this one was written by another replica (changes[\(index)].dot.replica)"
            )
        }
        do {
            return try write("cannot accept the changes") { db in try self.push(changes, bodies: bodies, from: caller, now: now, in: db) }
        } catch let refusal where refusal.code == "out_of_scope" {
            // Nothing of the batch is written; the refusal is, so that the writer's later
            // changes can pass the refused counters (§9.6).
            try write("cannot record the refusal") { db in
                let byCounter = Dictionary(changes.map { ($0.dot.counter, $0) }, uniquingKeysWith: { first, _ in first })
                for refused in refusal.refused {
                    let digest = byCounter[refused.counter].map { SHA256Hex.digest(ChangeV1.encode($0)) }
                    try db.execute(
                        sql: """
                            INSERT OR IGNORE INTO refused_dots (replica, counter, tbl, record_id, refused_at, body_sha256)
                            VALUES (?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [caller.replica.rawValue, Int64(refused.counter), refused.table, refused.record, now, digest])
                }
            }
            var answer = refusal
            answer.holds = try read("cannot read what the server holds") { db in try self.holds(caller.replica, in: db) }
            throw answer
        }
    }

    /// The tables whose records have a scope of their own (a case) or their case's.
    private static let scopedTables: Set<String> = ["cases", "case_events", "audit_events"]

    private func push(_ changes: [Change], bodies: [[UInt8]]?, from caller: Caller, now: Int64, in db: Database) throws
        -> PushResponseV1
    {
        let holds = try self.holds(caller.replica, in: db)
        let refusedBefore = try self.refusedCounters(caller.replica, in: db)
        let office = try officeScope(caller.office, in: db)
        // Jurisdiction (§9.6): each new change must be within the writer's scope. One
        // entry per record the batch touches or whose scope it reads (an event's case),
        // found with one hash of its key per change: the scope it had and has now.
        struct Touched {
            let key: RecordKey
            let original: RecordScope?
            var current: RecordScope?
            var caseID: String?
        }
        var touched: [Touched] = []
        var position: [RecordKey: Int] = [:]
        // Looked up once per record of the batch: through SQLite's C API.
        let lookup = try FastStatement(
            "SELECT community, handling, case_id FROM merge_state WHERE tbl = ? AND record_id = ?", in: db)
        func entry(_ key: RecordKey) throws -> Int {
            if let known = position[key] { return known }
            lookup.clear()
            lookup.bind(1, key.table)
            lookup.bind(2, key.id)
            var found: RecordScope?
            if try lookup.step() {
                let community = lookup.text(0)
                let handling = lookup.text(1)
                // A record with no scope has a merge state with none of the three set.
                if community != nil || handling != nil || lookup.text(2) != nil {
                    found = RecordScope(community: community, handling: handling)
                }
                lookup.reset()
            }
            touched.append(Touched(key: key, original: found, current: found))
            position[key] = touched.count - 1
            return touched.count - 1
        }
        var refused: [ServerError.Refused] = []
        var fresh: [UInt64] = []
        fresh.reserveCapacity(changes.count)
        for change in changes {
            // Held already (a replay): every counter up to `holds` is held, but refused ones.
            // `apply` compares it with what is held; its scope was judged when it came.
            if change.dot.counter <= holds, !refusedBefore.contains(change.dot.counter) { continue }
            let index = try entry(change.record)
            let before = touched[index].current
            var lookupError: (any Error)?
            let after = RecordScope.after(change, before: before) { id in
                do { return touched[try entry(RecordKey(table: "cases", id: id))].current } catch {
                    lookupError = error
                    return nil
                }
            }
            if let lookupError { throw lookupError }
            guard office.mayWrite(change, before: before, after: after) else {
                refused.append(ServerError.Refused(table: change.record.table, record: change.record.id, counter: change.dot.counter))
                continue
            }
            touched[index].current = after
            if change.record.table != "cases", case .text(let caseID)? = change.fields["case_id"] { touched[index].caseID = caseID }
            fresh.append(change.dot.counter)
        }
        if !refused.isEmpty {
            let list = refused.prefix(20).map { "\($0.table)/\($0.record)" }.joined(separator: ", ")
            throw ServerError(
                status: 403, code: "out_of_scope",
                message:
                    "cannot accept the changes: \(refused.count) change(s) are to records outside office \(caller.office)'s jurisdiction: \(list)",
                refused: refused)
        }
        // New counters continue the writer's sequence without a gap, refused counters
        // counting as held, so that `holds` always means "every counter up to here". (A
        // batch comes in counter order: sorted only when it does not.)
        var expected = holds + 1
        let inOrder = zip(fresh, fresh.dropFirst()).allSatisfy { $0 < $1 }
        for counter in inOrder ? fresh : Set(fresh).sorted() {
            if counter <= holds {
                guard refusedBefore.contains(counter) else { continue }
                try db.execute(
                    sql: "DELETE FROM refused_dots WHERE replica = ? AND counter = ?", arguments: [caller.replica.rawValue, Int64(counter)])
                continue
            }
            while refusedBefore.contains(expected) { expected += 1 }
            guard counter == expected else {
                throw ServerError.conflict(
                    "gap",
                    "cannot accept the changes: counter \(expected) of this replica is missing; push again from counter \(holds + 1)",
                    holds: holds)
            }
            expected += 1
        }
        // Where every touched record now belongs, stored with its merge state: only
        // records this batch changed, and only when their scope is new or moved (a record
        // whose scope was only read is unchanged).
        var moved: [(key: RecordKey, was: RecordScope?, value: RecordScope)] = []
        var stored: [RecordKey: StateScope] = [:]
        for record in touched {
            guard let value = record.current, record.original != value, Self.scopedTables.contains(record.key.table) else { continue }
            stored[record.key] = StateScope(
                community: value.community, handling: value.handling, caseID: record.key.table == "cases" ? record.key.id : record.caseID)
            moved.append((record.key, record.original, value))
        }
        let summary = try self.store.apply(changes, bodies: bodies, in: db, now: now, scopes: &stored)
        // A record the batch changed always has its merge state written above; this is
        // for safety only (a scope is never dropped).
        for (key, scope) in stored {
            try db.cachedStatement(
                sql: "UPDATE merge_state SET community = ?, handling = ?, case_id = coalesce(case_id, ?) WHERE tbl = ? AND record_id = ?"
            ).execute(arguments: [scope.community, scope.handling, scope.caseID, key.table, key.id])
        }
        // A case's events follow it; its move is recorded for pulls (§9.6).
        for (key, was, value) in moved where key.table == "cases" {
            guard let was else { continue }
            try db.cachedStatement(
                sql: "UPDATE merge_state SET community = ?, handling = ? WHERE case_id = ? AND tbl <> 'cases'"
            ).execute(arguments: [value.community, value.handling, key.id])
            let oldParent = try String.fetchOne(db, sql: "SELECT parent FROM offices WHERE code = ?", arguments: [was.community])
            let newParent = try String.fetchOne(db, sql: "SELECT parent FROM offices WHERE code = ?", arguments: [value.community])
            try db.cachedStatement(
                sql: """
                    INSERT INTO scope_moves (record_id, old_community, old_handling, new_community, new_handling, old_parent, new_parent)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [key.id, was.community, was.handling, value.community, value.handling, oldParent, newParent])
        }
        try db.execute(sql: "UPDATE replicas SET last_seen_at = ? WHERE id = ?", arguments: [now, caller.replica.rawValue])
        return PushResponseV1(accepted: summary.applied, duplicates: summary.duplicates, holds: try self.holds(caller.replica, in: db))
    }

    /// The highest counter `c` of `replica` such that the server holds or refused every
    /// counter up to `c`.
    func holds(_ replica: ReplicaID, in db: Database) throws -> UInt64 {
        var held = UInt64(
            max(
                try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT max(counter) FROM changes WHERE replica = ?"), arguments: [replica.rawValue])
                    ?? 0, 0))
        let refused = try refusedCounters(replica, in: db)
        while refused.contains(held + 1) { held += 1 }
        return held
    }

    func refusedCounters(_ replica: ReplicaID, in db: Database) throws -> Set<UInt64> {
        Set(
            try Int64.fetchAll(db.cachedStatement(sql: "SELECT counter FROM refused_dots WHERE replica = ?"), arguments: [replica.rawValue])
                .map { UInt64(max($0, 0)) })
    }

    /// What `office` may read and write.
    func officeScope(_ office: String, in db: Database) throws -> OfficeScope {
        guard let level = try String.fetchOne(db.cachedStatement(sql: "SELECT level FROM offices WHERE code = ?"), arguments: [office])
        else { return OfficeScope(office: office, level: .community) }
        let levelValue = OfficeLevel(rawValue: level) ?? .community
        var communities: Set<String> = []
        if levelValue == .street {
            communities = Set(
                try String.fetchAll(db.cachedStatement(sql: "SELECT code FROM offices WHERE parent = ?"), arguments: [office]))
        }
        return OfficeScope(office: office, level: levelValue, communities: communities)
    }

    /// The position is `v1.<n>`: every change the server received as number `n` or
    /// earlier has been offered. Clients treat it as opaque (§9.5), which leaves the
    /// server free to add to it (issue 5's scopes) without a protocol change.
    static func position(_ cursor: String) throws(ServerError) -> (arrived: Int64, moves: Int64) {
        if cursor.isEmpty { return (0, 0) }
        let parts = cursor.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0] == "v1", let arrived = Int64(parts[1]), arrived >= 0 else {
            throw .badRequest("invalid_cursor", "cannot pull: the position is not one this server issued (after)")
        }
        guard parts.count == 3 else { return (arrived, 0) }
        guard let moves = Int64(parts[2]), moves >= 0 else {
            throw .badRequest("invalid_cursor", "cannot pull: the position is not one this server issued (after)")
        }
        return (arrived, moves)
    }

    public func pull(for caller: Caller, after: String, limit: Int, maximumBytes: Int, now: Int64) throws(ServerError) -> PullPage {
        let (start, movesSeen) = try Self.position(after)
        return try read("cannot read the changes") { db in
            var bodies: [[UInt8]] = []
            var writers: Set<ReplicaID> = []
            var bytes = 0
            var position = start
            var full = false
            let latest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(arrived), 0) FROM changes")) ?? 0
            let office = try self.officeScope(caller.office, in: db)
            if start > latest {
                throw ServerError.conflict(
                    "unknown_position",
                    "cannot pull: the position is ahead of everything this server holds (was the server restored from a backup?)")
            }
            // Cases that entered or left the caller's jurisdiction since its last pull
            // (§9.6): one entering comes with every change the caller was not sent before
            // (those it received up to `start` were outside its scope then); one leaving is
            // to be purged.
            var movesDone = movesSeen
            var purge: [RecordKey] = []
            var entered: [String] = []
            for move in try Row.fetchAll(db, sql: "SELECT * FROM scope_moves WHERE seq > ? ORDER BY seq", arguments: [movesSeen]) {
                movesDone = move["seq"]
                let was = office.covers(
                    RecordScope(community: move["old_community"], handling: move["old_handling"]), communityParent: move["old_parent"])
                let now = office.covers(
                    RecordScope(community: move["new_community"], handling: move["new_handling"]), communityParent: move["new_parent"])
                let id: String = move["record_id"]
                if !was, now { entered.append(id) }
                if was, !now { purge.append(RecordKey(table: "cases", id: id)) }
            }
            for id in Set(entered).sorted() {
                // Still in scope now (a later move may have taken it out again)?
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT community, handling FROM merge_state WHERE tbl = 'cases' AND record_id = ?", arguments: [id]),
                    office.covers(RecordScope(community: row["community"], handling: row["handling"]))
                else { continue }
                purge.removeAll { $0.id == id }
                // The case's and its events' whole history, in arrival order, as the merge
                // state lists it.
                var keys = [RecordKey(table: "cases", id: id)]
                keys += try Row.fetchAll(
                    db, sql: "SELECT tbl, record_id FROM merge_state WHERE case_id = ? AND tbl <> 'cases'", arguments: [id]
                ).map { RecordKey(table: $0["tbl"], id: $0["record_id"]) }
                var arrivals: [Int64] = []
                for key in keys { arrivals += try store.arrivals(of: key, in: db).filter { $0 <= start } }
                for arrived in arrivals.sorted() {
                    guard
                        let history = try Row.fetchOne(
                            db.cachedStatement(sql: "SELECT replica, body FROM changes WHERE arrived = ?"), arguments: [arrived])
                    else { continue }
                    let writer = ReplicaID(history["replica"])
                    guard writer != caller.replica else { continue }
                    let body: String = history["body"]
                    bytes += body.utf8.count + 1
                    bodies.append(Array(body.utf8))
                    writers.insert(writer)
                }
            }
            // Scan in arrival order (a causal order, §9.5), skipping the caller's own
            // changes, until the page is full or nothing is left.
            // Each change with its record's scope: a replica is never sent a record outside
            // its office's jurisdiction (§9.6); the district's covers every record, so its
            // scan needs no scope. Through SQLite's C API: this visits every row after the
            // position (most of the log is another office's, or the caller's own, for a
            // community replica), and a row's body is read only when it is sent.
            let scan = try FastStatement(
                office.level == .district
                    ? "SELECT c.arrived, c.replica, c.body FROM changes c WHERE c.arrived > ? ORDER BY c.arrived"
                    : """
                    SELECT c.arrived, c.replica, c.body, s.community, s.handling,
                        s.community IS NOT NULL OR s.handling IS NOT NULL OR s.case_id IS NOT NULL
                    FROM changes c LEFT JOIN merge_state s ON s.tbl = c.tbl AND s.record_id = c.record_id
                    WHERE c.arrived > ? ORDER BY c.arrived
                    """, in: db)
            scan.bind(1, position)
            let own = Array(caller.replica.rawValue.utf8)
            while !full, try scan.step() {
                let arrived = scan.integer(0)
                let visible =
                    office.level == .district
                    || (scan.integer(5) != 0 && office.covers(RecordScope(community: scan.text(3), handling: scan.text(4))))
                if visible, !scan.textEquals(1, own) {
                    let body = scan.bytes(2)
                    if !bodies.isEmpty, bodies.count >= limit || bytes + body.count > maximumBytes {
                        full = true
                        scan.reset()
                        break
                    }
                    bytes += body.count + 1
                    bodies.append(body)
                    writers.insert(ReplicaID(scan.text(1) ?? ""))
                }
                position = arrived
            }
            var offices: [ReplicaID: String] = [:]
            for writer in writers {
                if let office = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT office FROM replicas WHERE id = ?"), arguments: [writer.rawValue])
                {
                    offices[writer] = office
                }
            }
            return PullPage(
                bodies: bodies, cursor: "v1.\(position).\(movesDone)", more: full, holds: try self.holds(caller.replica, in: db),
                offices: offices, purge: purge)
        }
    }

    public func close() {
        store.close()
    }

    public func checkHealth() throws(ServerError) {
        // Healthy means able to take a push: a database opened read-only (its disk came
        // back read-only) is not, though it still answers reads.
        let readOnly = try read("cannot read the database") { db in
            _ = try Int.fetchOne(db, sql: "SELECT 1")
            return sqlite3_db_readonly(db.sqliteConnection, "main") == 1
        }
        if readOnly {
            throw .unavailable("the server's database is read-only; pushes fail until it is writable", cause: "readonly database")
        }
    }

    static func isCode(_ code: String) -> Bool {
        !code.isEmpty && code.utf8.count <= 12 && code.utf8.allSatisfy(\.isASCIIAlphanumeric)
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
    }
}
