import Foundation
import GRDB
import GRDBSQLite
public import ReplicaStore
public import SyncCore
public import SyncProtocol

extension SQLiteCentralStorage {
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
        let refused = invalidEnrolmentToken
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
                || request.replica == self.store.identity.replica || Self.isServerWriter(request.replica, in: db)
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
        let (id, secret) = try CredentialRules.split(credential)
        let row = try read("cannot check the credential") { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT r.office, r.secret_sha256, r.previous_secret_sha256, r.revoked_at, r.superseded_by, r.predecessor, r.used_at,
                        (SELECT s.used_at FROM replicas s WHERE s.id = r.superseded_by) AS successor_used_at
                    FROM replicas r WHERE r.id = ?
                    """, arguments: [id])
        }
        let decision = try CredentialRules.authenticate(
            id: id, secret: secret,
            stored: row.map { row in
                CredentialRules.Stored(
                    office: row["office"], secretDigest: row["secret_sha256"], previousDigest: row["previous_secret_sha256"],
                    revoked: (row["revoked_at"] as Int64?) != nil, supersededBy: (row["superseded_by"] as String?).map(ReplicaID.init),
                    successorUsed: (row["successor_used_at"] as Int64?) != nil, isSuccessor: (row["predecessor"] as String?) != nil,
                    used: (row["used_at"] as Int64?) != nil)
            })
        if decision.clearPrevious || decision.firstUse {
            // The new credential is in use: the old one stops working now. A successor's
            // first use retires its predecessor's credential.
            try write("cannot check the credential") { db in
                if decision.clearPrevious {
                    try db.execute(sql: "UPDATE replicas SET previous_secret_sha256 = NULL WHERE id = ?", arguments: [id])
                }
                if decision.firstUse { try db.execute(sql: "UPDATE replicas SET used_at = ? WHERE id = ?", arguments: [now, id]) }
            }
        }
        return decision.caller
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
            let writer = try Self.isServerWriter(successor, in: db)
            if (exists && known != successor) || successor == self.store.identity.replica || writer {
                throw ServerError.conflict(
                    "replica_exists",
                    "cannot re-issue the replica: replica \(successor) is already enrolled; a replica id is never reused (replica)")
            }
            let holds = try self.holds(caller.replica, in: db)
            // Up to where the file's changes are the server's: compare digests in order.
            let last = min(holds, request.after + UInt64(request.digests.count))
            var bodies: [UInt64: [UInt8]] = [:]
            var refused: [UInt64: String?] = [:]
            if last > request.after {
                for stored in try Row.fetchAll(
                    db, sql: "SELECT counter, body FROM changes WHERE replica = ? AND counter > ? AND counter <= ?",
                    arguments: [caller.replica.rawValue, Int64(request.after), Int64(last)])
                {
                    let counter: Int64 = stored["counter"]
                    bodies[UInt64(counter)] = Array((stored["body"] as String).utf8)
                }
                for stored in try Row.fetchAll(
                    db, sql: "SELECT counter, body_sha256 FROM refused_dots WHERE replica = ? AND counter > ? AND counter <= ?",
                    arguments: [caller.replica.rawValue, Int64(request.after), Int64(last)])
                {
                    let counter: Int64 = stored["counter"]
                    refused[UInt64(counter)] = .some(stored["body_sha256"])
                }
            }
            let same = CredentialRules.same(
                after: request.after, digests: request.digests, holds: holds, bodies: bodies, refused: refused)
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

}
