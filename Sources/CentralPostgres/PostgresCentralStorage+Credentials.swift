import NIOCore
import PostgresNIO
public import SyncCore
public import SyncProtocol
public import SyncServer
import Synchronization

extension PostgresCentralStorage {
    public func issueToken(office: String, lifetime: Int64, now: Int64) async throws(ServerError) -> IssuedToken {
        let office = office.uppercased()
        let logger = logger
        return try await write("cannot issue a token") { connection in
            guard
                try await connection.query("SELECT 1 FROM offices WHERE code = \(office) AND retired_at IS NULL", logger: logger)
                    .collectOne(Int32.self) != nil
            else {
                throw ServerError.notFound("cannot issue a token: no active office \(office); add it with `rain-server office add`")
            }
            let id = Secrets.randomTokenID()
            let secret = Secrets.randomSecret()
            try await connection.query(
                """
                INSERT INTO enrolment_tokens (id, office, secret_sha256, created_at, expires_at)
                VALUES (\(id), \(office), \(Secrets.digest(secret)), \(now), \(now + lifetime))
                """, logger: logger)
            return IssuedToken(office: office, token: id + "." + secret, expiresAt: now + lifetime)
        }
    }

    public func replicas() async throws(ServerError) -> [EnrolledReplica] {
        let logger = logger
        return try await read("cannot list the replicas") { connection in
            try await Self.replicas(where: "true", nil, connection, logger)
        }
    }

    static func replicas(where condition: String, _ argument: String?, _ connection: PostgresConnection, _ logger: Logger) async throws
        -> [EnrolledReplica]
    {
        var bindings = PostgresBindings()
        if let argument { bindings.append(argument) }
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT r.id, r.office, r.staff, r.enrolled_at, r.revoked_at, r.last_seen_at,
                        (SELECT max(counter) FROM changes c WHERE c.replica = r.id), r.predecessor, r.superseded_by
                    FROM replicas r WHERE \(condition) ORDER BY office, enrolled_at, id
                    """, binds: bindings), logger: logger)
        var replicas: [EnrolledReplica] = []
        for try await (id, office, staff, enrolled, revoked, seen, holds, predecessor, successor) in rows.decode(
            (String, String, String, Int64, Int64?, Int64?, Int64?, String?, String?).self)
        {
            replicas.append(
                EnrolledReplica(
                    id: ReplicaID(id), office: office, staff: staff, enrolledAt: enrolled, revokedAt: revoked, lastSeenAt: seen,
                    holds: UInt64(max(holds ?? 0, 0)), predecessor: predecessor.map(ReplicaID.init),
                    supersededBy: successor.map(ReplicaID.init)))
        }
        return replicas
    }

    public func revoke(replica: ReplicaID, now: Int64) async throws(ServerError) -> EnrolledReplica {
        let logger = logger
        return try await write("cannot revoke the replica") { connection in
            try await connection.query(
                "UPDATE replicas SET revoked_at = coalesce(revoked_at, \(now)), previous_secret_sha256 = NULL WHERE id = \(replica.rawValue)",
                logger: logger)
            guard let found = try await Self.replicas(where: "r.id = $1", replica.rawValue, connection, logger).first else {
                throw ServerError.notFound("cannot revoke the replica: no replica \(replica) is enrolled")
            }
            return found
        }
    }

    // MARK: Sync

    public func enrol(_ request: EnrolRequestV1, now: Int64) async throws(ServerError) -> EnrolResponseV1 {
        let refused = invalidEnrolmentToken
        guard let (id, secret) = Secrets.split(request.token) else { throw refused }
        let logger = logger
        // The server's own id is known once the schema is checked.
        try await prepare()
        let own = identity.withLock { $0 }
        return try await write("cannot enrol") { connection in
            guard
                let (digest, office, expiresAt, usedAt) = try await Self.first(
                    connection.query(
                        "SELECT secret_sha256, office, expires_at, used_at FROM enrolment_tokens WHERE id = \(id)", logger: logger
                    ).decode((String, String, Int64, Int64?).self)),
                Secrets.matches(secret, storedDigest: digest), usedAt == nil, now < expiresAt
            else { throw refused }
            let writer = try await Self.isServerWriter(request.replica, connection, logger)
            if try await connection.query("SELECT 1 FROM replicas WHERE id = \(request.replica.rawValue)", logger: logger)
                .collectOne(Int32.self) != nil || request.replica == own || writer
            {
                throw ServerError.conflict(
                    "replica_exists",
                    "cannot enrol: replica \(request.replica) is already enrolled; a replica id is never reused (create a new replica with `rain init`)"
                )
            }
            guard let info = try await Self.offices(where: "code = $1", office, in: connection, logger).first else { throw refused }
            let credentialSecret = Secrets.randomSecret()
            try await connection.query(
                "UPDATE enrolment_tokens SET used_at = \(now), used_by = \(request.replica.rawValue) WHERE id = \(id)", logger: logger)
            try await connection.query(
                """
                INSERT INTO replicas (id, office, staff, secret_sha256, enrolled_at)
                VALUES (\(request.replica.rawValue), \(office), \(request.staff), \(Secrets.digest(credentialSecret)), \(now))
                """, logger: logger)
            return EnrolResponseV1(
                replica: request.replica, office: office, officeName: info.name, level: info.level.rawValue,
                credential: request.replica.rawValue + "." + credentialSecret)
        }
    }

    public func authenticate(credential: String?, now: Int64) async throws(ServerError) -> Caller {
        let (id, secret) = try CredentialRules.split(credential)
        let logger = logger
        let stored = try await read("cannot check the credential") { connection in
            try await Self.first(
                connection.query(
                    """
                    SELECT r.office, r.secret_sha256, r.previous_secret_sha256, r.revoked_at IS NOT NULL, r.superseded_by,
                        (SELECT s.used_at FROM replicas s WHERE s.id = r.superseded_by) IS NOT NULL,
                        r.predecessor IS NOT NULL, r.used_at IS NOT NULL
                    FROM replicas r WHERE r.id = \(id)
                    """, logger: logger
                ).decode((String, String, String?, Bool, String?, Bool, Bool, Bool).self)
            ).map { row in
                CredentialRules.Stored(
                    office: row.0, secretDigest: row.1, previousDigest: row.2, revoked: row.3, supersededBy: row.4.map(ReplicaID.init),
                    successorUsed: row.5, isSuccessor: row.6, used: row.7)
            }
        }
        let decision = try CredentialRules.authenticate(id: id, secret: secret, stored: stored)
        if decision.clearPrevious || decision.firstUse {
            // The new credential is in use: the old one stops working now. A successor's
            // first use retires its predecessor's credential.
            try await write("cannot check the credential") { connection in
                if decision.clearPrevious {
                    try await connection.query("UPDATE replicas SET previous_secret_sha256 = NULL WHERE id = \(id)", logger: logger)
                }
                if decision.firstUse {
                    try await connection.query("UPDATE replicas SET used_at = \(now) WHERE id = \(id)", logger: logger)
                }
            }
        }
        return decision.caller
    }

    public func reissue(_ request: ReissueRequestV1, from caller: Caller, now: Int64) async throws(ServerError) -> ReissueResponseV1 {
        let secret = Secrets.randomSecret()
        let logger = logger
        // The server's own id is known once the schema is checked.
        try await prepare()
        let own = identity.withLock { $0 }
        return try await write("cannot re-issue the replica") { connection in
            guard
                let (staff, knownText) = try await Self.first(
                    connection.query("SELECT staff, superseded_by FROM replicas WHERE id = \(caller.replica.rawValue)", logger: logger)
                        .decode((String, String?).self))
            else { throw ServerError.unauthenticated("unauthenticated: the credential is not valid (Authorization)") }
            let successor = request.replica
            if successor == caller.replica {
                throw ServerError.badRequest(
                    "invalid", "cannot re-issue the replica: the new replica id must differ from the old one (replica)")
            }
            let known = knownText.map(ReplicaID.init)
            if let known, known != successor {
                throw ServerError.conflict(
                    "replica_superseded",
                    "cannot re-issue the replica: it was already re-issued as \(known); ask for that id again (replica)")
            }
            let exists =
                try await connection.query("SELECT 1 FROM replicas WHERE id = \(successor.rawValue)", logger: logger)
                .collectOne(Int32.self) != nil
            let writer = try await Self.isServerWriter(successor, connection, logger)
            if (exists && known != successor) || successor == own || writer {
                throw ServerError.conflict(
                    "replica_exists",
                    "cannot re-issue the replica: replica \(successor) is already enrolled; a replica id is never reused (replica)")
            }
            let holds = try await Self.holds(caller.replica, connection, logger)
            // Up to where the file's changes are the server's: compare digests in order.
            let last = min(holds, request.after + UInt64(request.digests.count))
            var bodies: [UInt64: [UInt8]] = [:]
            var refused: [UInt64: String?] = [:]
            if last > request.after {
                let (after, upTo) = (Int64(request.after), Int64(last))
                for try await (counter, body) in try await connection.query(
                    """
                    SELECT counter, body FROM changes WHERE replica = \(caller.replica.rawValue) AND counter > \(after) AND counter <= \(upTo)
                    """, logger: logger
                ).decode((Int64, ByteBuffer).self) {
                    bodies[UInt64(counter)] = Array(buffer: body)
                }
                for try await (counter, digest) in try await connection.query(
                    """
                    SELECT counter, body_sha256 FROM refused_dots
                    WHERE replica = \(caller.replica.rawValue) AND counter > \(after) AND counter <= \(upTo)
                    """, logger: logger
                ).decode((Int64, String?).self) {
                    refused[UInt64(counter)] = .some(digest)
                }
            }
            let same = CredentialRules.same(
                after: request.after, digests: request.digests, holds: holds, bodies: bodies, refused: refused)
            if exists {
                // A retry (the client died before saving the credential): a new one.
                try await connection.query(
                    "UPDATE replicas SET secret_sha256 = \(Secrets.digest(secret)), previous_secret_sha256 = NULL WHERE id = \(successor.rawValue)",
                    logger: logger)
            } else {
                try await connection.query(
                    """
                    INSERT INTO replicas (id, office, staff, secret_sha256, enrolled_at, predecessor)
                    VALUES (\(successor.rawValue), \(caller.office), \(staff), \(Secrets.digest(secret)), \(now), \(caller.replica.rawValue))
                    """, logger: logger)
                try await connection.query(
                    "UPDATE replicas SET superseded_by = \(successor.rawValue) WHERE id = \(caller.replica.rawValue)", logger: logger)
            }
            return ReissueResponseV1(replica: successor, credential: successor.rawValue + "." + secret, same: same, holds: holds)
        }
    }

    public func rekey(_ caller: Caller, now: Int64) async throws(ServerError) -> String {
        let secret = Secrets.randomSecret()
        let digest = Secrets.digest(secret)
        let logger = logger
        try await write("cannot rotate the credential") { connection in
            // The credential in use becomes (or stays) the previous one: valid until the new
            // one is used. A second rotation asked with it replaces only the unused new one.
            let rows =
                caller.withPreviousCredential
                ? try await connection.query(
                    """
                    UPDATE replicas SET secret_sha256 = \(digest) WHERE id = \(caller.replica.rawValue) AND revoked_at IS NULL RETURNING id
                    """, logger: logger)
                : try await connection.query(
                    """
                    UPDATE replicas SET previous_secret_sha256 = secret_sha256, secret_sha256 = \(digest)
                    WHERE id = \(caller.replica.rawValue) AND revoked_at IS NULL RETURNING id
                    """, logger: logger)
            guard try await rows.collectOne(String.self) != nil else {
                throw ServerError.unauthenticated("cannot rotate the credential: the replica is revoked", code: "revoked")
            }
        }
        return caller.replica.rawValue + "." + secret
    }

    /// The first element of `rows`, the rest consumed.
    static func first<S: AsyncSequence>(_ rows: S) async throws -> S.Element? {
        var found: S.Element?
        for try await row in rows where found == nil { found = row }
        return found
    }

    /// The highest counter `c` of `replica` such that the server holds or refused every
    /// counter up to `c`.
    static func holds(_ replica: ReplicaID, _ connection: PostgresConnection, _ logger: Logger) async throws -> UInt64 {
        let highest =
            try await connection.query("SELECT max(counter) FROM changes WHERE replica = \(replica.rawValue)", logger: logger)
            .collectOne(Int64?.self) ?? nil
        return Sequencing.holds(
            highestHeld: UInt64(max(highest ?? 0, 0)), refused: try await refusedCounters(replica, connection, logger))
    }

    static func refusedCounters(_ replica: ReplicaID, _ connection: PostgresConnection, _ logger: Logger) async throws -> Set<UInt64> {
        var counters: Set<UInt64> = []
        for try await counter in try await connection.query(
            "SELECT counter FROM refused_dots WHERE replica = \(replica.rawValue)", logger: logger
        ).decode(Int64.self) {
            counters.insert(UInt64(max(counter, 0)))
        }
        return counters
    }
}
