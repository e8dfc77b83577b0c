public import SyncCore
public import SyncProtocol

/// An office's level in the tree district → street → community.
public enum OfficeLevel: String, Sendable, Hashable, CaseIterable {
    /// A department (部门: a bureau publishing policies) sits under the district beside the
    /// streets, with no offices of its own under it.
    case district, street, community, department

    /// The level a parent must have; nil for the district (the root).
    public var parentLevel: OfficeLevel? {
        switch self {
        case .district: nil
        case .street: .district
        case .community: .street
        case .department: .district
        }
    }
}

/// An office as the administrator registered it.
public struct Office: Sendable, Hashable {
    public var code: String
    public var name: String
    public var level: OfficeLevel
    public var parent: String?
    public var createdAt: Int64
    /// When the office was retired (nil while active).
    public var retiredAt: Int64? = nil

    public init(code: String, name: String, level: OfficeLevel, parent: String?, createdAt: Int64, retiredAt: Int64? = nil) {
        self.code = code
        self.name = name
        self.level = level
        self.parent = parent
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }
}

/// An enrolled replica, as the administrator sees it (never its secret).
public struct EnrolledReplica: Sendable, Hashable {
    public var id: ReplicaID
    public var office: String
    public var staff: String
    public var enrolledAt: Int64
    public var revokedAt: Int64?
    public var lastSeenAt: Int64?
    /// The highest of its counters the server holds.
    public var holds: UInt64
    /// The replica it was re-issued from, or as, after a restore (§9.8).
    public var predecessor: ReplicaID? = nil
    public var supersededBy: ReplicaID? = nil

    public init(
        id: ReplicaID, office: String, staff: String, enrolledAt: Int64, revokedAt: Int64?, lastSeenAt: Int64?, holds: UInt64,
        predecessor: ReplicaID? = nil, supersededBy: ReplicaID? = nil
    ) {
        self.id = id
        self.office = office
        self.staff = staff
        self.enrolledAt = enrolledAt
        self.revokedAt = revokedAt
        self.lastSeenAt = lastSeenAt
        self.holds = holds
        self.predecessor = predecessor
        self.supersededBy = supersededBy
    }
}

/// A new one-time enrolment token: shown once, stored only as a hash.
public struct IssuedToken: Sendable, Hashable {
    public var office: String
    public var token: String
    public var expiresAt: Int64

    public init(office: String, token: String, expiresAt: Int64) {
        self.office = office
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// The replica a request was authenticated as.
public struct Caller: Sendable, Hashable {
    public var replica: ReplicaID
    public var office: String
    /// The fresh identity this replica was re-issued as (§9.8), while that one has not
    /// been used yet: the caller may then only ask for the re-issue again.
    public var supersededBy: ReplicaID?
    /// Whether the request came with the replica's previous credential (rotated by a
    /// rekey whose new credential has not been used yet).
    public var withPreviousCredential = false

    public init(replica: ReplicaID, office: String, supersededBy: ReplicaID? = nil, withPreviousCredential: Bool = false) {
        self.replica = replica
        self.office = office
        self.supersededBy = supersededBy
        self.withPreviousCredential = withPreviousCredential
    }
}

/// One page of a pull, its changes still in their canonical encoding.
public struct PullPage: Sendable {
    public var bodies: [[UInt8]]
    public var cursor: String
    public var more: Bool
    public var holds: UInt64
    public var offices: [ReplicaID: String]
    /// Cases that left the caller's jurisdiction: to be purged from its replica.
    public var purge: [RecordKey] = []

    public init(bodies: [[UInt8]], cursor: String, more: Bool, holds: UInt64, offices: [ReplicaID: String], purge: [RecordKey] = []) {
        self.bodies = bodies
        self.cursor = cursor
        self.more = more
        self.holds = holds
        self.offices = offices
        self.purge = purge
    }

    /// The response body (`Protocol/PROTOCOL.md` §9.5).
    public func encode() -> [UInt8] {
        PullResponseV1.encode(canonicalBodies: bodies, cursor: cursor, more: more, holds: holds, offices: offices, purge: purge)
    }
}

/// What the central server stores: offices, enrolment tokens, replicas and their
/// credentials, and the merged change log. The HTTP layer speaks only to this
/// protocol, so that a PostgreSQL backend can follow the embedded SQLite one.
///
/// Every method is one transaction: it writes all of its effect or nothing, and
/// throws ``ServerError`` with the HTTP status the client should see.
public protocol CentralStorage: Sendable {
    // MARK: Administration

    /// Registers an office.
    func addOffice(code: String, name: String, level: OfficeLevel, parent: String?, now: Int64) async throws(ServerError) -> Office
    /// Moves an office under another parent; a community's cases change street with it.
    func moveOffice(code: String, parent: String, now: Int64) async throws(ServerError) -> Office
    /// Retires an office with no active office under it and no case: its replicas are
    /// revoked and its unused tokens stop working.
    func retireOffice(code: String, now: Int64) async throws(ServerError) -> Office
    /// Every office, by code.
    func offices() async throws(ServerError) -> [Office]
    /// A new one-time enrolment token for `office`, valid until `now + lifetime` (ms).
    func issueToken(office: String, lifetime: Int64, now: Int64) async throws(ServerError) -> IssuedToken
    /// Every enrolled replica.
    func replicas() async throws(ServerError) -> [EnrolledReplica]
    /// Revokes a replica's credential: its very next request is refused.
    func revoke(replica: ReplicaID, now: Int64) async throws(ServerError) -> EnrolledReplica

    // MARK: Sync

    /// Exchanges a one-time token for a replica credential.
    func enrol(_ request: EnrolRequestV1, now: Int64) async throws(ServerError) -> EnrolResponseV1
    /// The replica a credential belongs to; 401 when missing, malformed, wrong or revoked.
    func authenticate(credential: String?, now: Int64) async throws(ServerError) -> Caller
    /// A new credential for the caller (`Protocol/PROTOCOL.md` §9.2); the one in use
    /// stays valid until the new one is first used.
    func rekey(_ caller: Caller, now: Int64) async throws(ServerError) -> String
    /// Re-issues a restored replica under the fresh id it names (`Protocol/PROTOCOL.md`
    /// §9.8): registers the id for the caller's office, compares the digests with the
    /// caller's changes the server holds, and answers the new credential.
    func reissue(_ request: ReissueRequestV1, from caller: Caller, now: Int64) async throws(ServerError) -> ReissueResponseV1
    /// Applies a pushed batch in one transaction (`Protocol/PROTOCOL.md` §9.4).
    /// `bodies`, when given, are the changes' canonical encodings, one per change, made
    /// before the transaction (on the request's task) so that it only writes them.
    func push(_ changes: [Change], bodies: [[UInt8]]?, from caller: Caller, now: Int64) async throws(ServerError) -> PushResponseV1
    /// The page after `after` of changes the caller lacks (`Protocol/PROTOCOL.md` §9.5).
    func pull(for caller: Caller, after: String, limit: Int, maximumBytes: Int, now: Int64) async throws(ServerError) -> PullPage

    // MARK: The server's read model and its own writes (DESIGN §8)

    /// Writes as the server itself, in one transaction under the write lock (see
    /// ``ServerWrite``): takes the allowance, makes the reads, mints the number, then
    /// merges `build`'s edits as the server writer's changes and updates the views.
    func write(_ write: ServerWrite, now: Int64) async throws(ServerError) -> ServerWrite.Result
    /// The rows of `view` whose `column` is one of `values`, at most `limit` (an index
    /// lookup: the view's declared indexes).
    func viewRows(_ view: String, where column: String, in values: [Value], limit: Int) async throws(ServerError) -> [[String: Value]]
    /// One try at what guards `subject` (a case's phone tail): `correct` when it matched.
    /// After `limit` wrong tries in a row the subject is locked for `lockout` ms, during which
    /// even a right answer is refused; a right answer otherwise clears the count.
    func attempt(_ subject: String, correct: Bool, now: Int64, limit: Int, lockout: Int64) async throws(ServerError) -> Attempt

    /// The rows of a read-only statement over the views and the server's own tables (one
    /// snapshot); `columns` gives each result column's type, in order.
    func query(_ statement: ServerSQL, columns: [FieldDeclaration.ValueType]) async throws(ServerError) -> [[Value]]
    /// Runs `statements` in one transaction, all or none; answers how many rows each changed.
    func execute(_ statements: [ServerSQL]) async throws(ServerError) -> [Int]

    /// Whether storage answers (for `GET /healthz`).
    func checkHealth() async throws(ServerError)
    /// Closes the storage when the server stops gracefully (SQLite checkpoints its
    /// write-ahead log into the file and removes it). Nothing may use it afterwards.
    func close() async
}

/// How a guarded lookup went (``CentralStorage/attempt(_:correct:now:limit:lockout:)``).
public enum Attempt: Sendable, Equatable {
    case allowed
    /// Wrong; `remaining` more tries before the lock.
    case wrong(remaining: Int)
    /// Locked until this time (ms).
    case locked(until: Int64)
}

extension CentralStorage {
    /// ``push(_:bodies:from:now:)`` encoding the changes inside the transaction.
    public func push(_ changes: [Change], from caller: Caller, now: Int64) async throws(ServerError) -> PushResponseV1 {
        try await push(changes, bodies: nil, from: caller, now: now)
    }
}
