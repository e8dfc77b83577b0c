import PostgresNIO
import ReplicaStore
public import SyncCore
public import SyncServer

extension PostgresCentralStorage {
    // MARK: Administration

    public func addOffice(code: String, name: String, level: OfficeLevel, parent: String?, now: Int64) async throws(ServerError)
        -> Office
    {
        let (code, trimmed) = try OfficeRules.newOffice(code: code, name: name)
        let logger = logger
        return try await write("cannot add the office") { connection in
            if try await connection.query("SELECT 1 FROM offices WHERE code = \(code)", logger: logger).collectOne(Int32.self) != nil {
                throw ServerError.conflict("exists", "cannot add the office: \(code) already exists")
            }
            var parentLevel: String?
            if let parent {
                parentLevel = try await connection.query(
                    "SELECT level FROM offices WHERE code = \(parent) AND retired_at IS NULL", logger: logger
                ).collectOne(String.self)
            }
            try OfficeRules.checkParent(of: level, parent: parent, parentLevel: parentLevel)
            try await connection.query(
                "INSERT INTO offices (code, name, level, parent, created_at) VALUES (\(code), \(trimmed), \(level.rawValue), \(parent), \(now))",
                logger: logger)
            return Office(code: code, name: trimmed, level: level, parent: parent, createdAt: now)
        }
    }

    public func moveOffice(code: String, parent: String, now: Int64) async throws(ServerError) -> Office {
        let code = code.uppercased()
        let parent = parent.uppercased()
        let logger = logger
        return try await write("cannot move the office") { connection in
            guard let office = try await Self.offices(where: "code = $1 AND retired_at IS NULL", code, in: connection, logger).first else {
                throw ServerError.notFound("cannot move the office: no active office \(code)")
            }
            let parentLevel = try await connection.query(
                "SELECT level FROM offices WHERE code = \(parent) AND retired_at IS NULL", logger: logger
            ).collectOne(String.self)
            try OfficeRules.checkMove(office, to: parent, parentLevel: parentLevel)
            guard office.parent != parent else { return office }
            try await connection.query("UPDATE offices SET parent = \(parent) WHERE code = \(code)", logger: logger)
            // Every record whose scope names a community that changes street changes whose
            // jurisdiction it is in: recorded as moves (§9.6). Under the write lock, so a
            // move's number is taken, and committed, in order with every other's.
            if office.level == .community {
                let parents = try await Self.officeParents(connection, logger)
                var before = parents
                before[code] = office.parent
                let naming = try await Self.recordsNaming(code, connection, logger)
                var seq = try await Self.lastMove(connection, logger)
                for move in OfficeRules.scopesMoved(naming, before: before, after: parents) {
                    seq += 1
                    try await connection.query(
                        """
                        INSERT INTO scope_moves (seq, tbl, record_id, old_scope, new_scope)
                        VALUES (\(seq), \(move.key.table), \(move.key.id), \(move.old), \(move.new))
                        """, logger: logger)
                }
            }
            return Office(code: code, name: office.name, level: office.level, parent: parent, createdAt: office.createdAt)
        }
    }

    public func retireOffice(code: String, now: Int64) async throws(ServerError) -> Office {
        let code = code.uppercased()
        let logger = logger
        return try await write("cannot retire the office") { connection in
            guard let office = try await Self.offices(where: "code = $1 AND retired_at IS NULL", code, in: connection, logger).first else {
                throw ServerError.notFound("cannot retire the office: no active office \(code)")
            }
            let children =
                try await connection.query(
                    "SELECT count(*) FROM offices WHERE parent = \(code) AND retired_at IS NULL", logger: logger
                ).collectOne(Int64.self) ?? 0
            try OfficeRules.checkRetire(
                children: Int(children), records: try await Self.recordsNaming(code, connection, logger).map(\.key.table))
            try await connection.query("UPDATE offices SET retired_at = \(now) WHERE code = \(code)", logger: logger)
            // Its replicas stop at their next request; its unused tokens stop working.
            try await connection.query(
                "UPDATE replicas SET revoked_at = coalesce(revoked_at, \(now)), previous_secret_sha256 = NULL WHERE office = \(code)",
                logger: logger)
            try await connection.query(
                "UPDATE enrolment_tokens SET expires_at = least(expires_at, \(now)) WHERE office = \(code) AND used_at IS NULL",
                logger: logger)
            return office
        }
    }

    public func offices() async throws(ServerError) -> [Office] {
        let logger = logger
        return try await read("cannot list the offices") { connection in
            try await Self.offices(where: "true", nil, in: connection, logger)
        }
    }

    /// The offices matching `condition` (`$1` is `argument`), by code.
    static func offices(where condition: String, _ argument: String?, in connection: PostgresConnection, _ logger: Logger)
        async throws -> [Office]
    {
        var bindings = PostgresBindings()
        if let argument { bindings.append(argument) }
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT code, name, level, parent, created_at, retired_at FROM offices WHERE \(condition) ORDER BY code",
                binds: bindings), logger: logger)
        var offices: [Office] = []
        for try await (code, name, level, parent, created, retired) in rows.decode((String, String, String, String?, Int64, Int64?).self) {
            offices.append(
                Office(
                    code: code, name: name, level: OfficeLevel(rawValue: level) ?? .community, parent: parent, createdAt: created,
                    retiredAt: retired))
        }
        return offices
    }

    /// What `office` may read and write.
    static func officeScope(_ office: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> OfficeScope {
        guard
            let level = try await connection.query("SELECT level FROM offices WHERE code = \(office)", logger: logger)
                .collectOne(String.self)
        else { return OfficeScope(office: office, level: .community) }
        var children: Set<String> = []
        for try await child in try await connection.query("SELECT code FROM offices WHERE parent = \(office)", logger: logger)
            .decode(String.self)
        {
            children.insert(child)
        }
        return OfficeScope(office: office, level: OfficeLevel(rawValue: level) ?? .community, children: children)
    }

    /// Each office's parent, by code (the tree is small: read whole).
    static func officeParents(_ connection: PostgresConnection, _ logger: Logger) async throws -> [String: String] {
        var parents: [String: String] = [:]
        for try await (code, parent) in try await connection.query(
            "SELECT code, parent FROM offices WHERE parent IS NOT NULL", logger: logger
        ).decode((String, String).self) {
            parents[code] = parent
        }
        return parents
    }

    /// The records (not children: they follow their parent) whose scope names `code`: as
    /// the embedded storage matches them (SQLite's LIKE ignores ASCII case) and orders
    /// them (byte order).
    static func recordsNaming(_ code: String, _ connection: PostgresConnection, _ logger: Logger) async throws
        -> [(key: RecordKey, scope: String)]
    {
        var records: [(key: RecordKey, scope: String)] = []
        for try await (table, id, scope) in try await connection.query(
            """
            SELECT tbl, record_id, scope FROM merge_state
            WHERE parent IS NULL AND ',' || scope || ',' ILIKE '%,' || \(code) || ',%' ORDER BY tbl COLLATE "C", record_id COLLATE "C"
            """, logger: logger
        ).decode((String, String, String).self) {
            records.append((RecordKey(table: table, id: id), scope))
        }
        return records
    }

    /// The number of the last scope move (taken under the write lock: max + 1 is safe), or
    /// just below the floor a restore set.
    static func lastMove(_ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        try await connection.query(
            "SELECT greatest(coalesce(max(seq), 0), (SELECT numbering_floor FROM server_identity) - 1)::int8 FROM scope_moves",
            logger: logger
        ).collectOne(Int64.self) ?? 0
    }

    /// The next arrival number: max + 1, or the floor a restore set.
    static func nextArrival(_ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        try await connection.query(
            "SELECT greatest(coalesce(max(arrived), 0) + 1, (SELECT numbering_floor FROM server_identity))::int8 FROM changes",
            logger: logger
        ).collectOne(Int64.self) ?? 1
    }

    /// Records that the database was restored from a backup: every log and move number
    /// from now on is above every number handed out before the restore (the wall clock in
    /// microseconds exceeds any count of changes), so that no replica's pull position has
    /// passed the changes the restore lost and their writers push again; the server's own
    /// writer takes a fresh id. Returns the floor.
    public func markRestored(now: Int64) async throws(ServerError) -> Int64 {
        let logger = logger
        return try await write("cannot record the restore") { connection in
            // The server writer's changes after the backup are lost too, but replicas may
            // hold them: it writes under a fresh id from now on, so that no dot is reused
            // (its last number stays, so no number is minted twice either).
            try await connection.query(
                "UPDATE server_writer SET replica = \(ReplicaStore.newReplicaID().rawValue)", logger: logger)
            return try await connection.query(
                """
                UPDATE server_identity SET numbering_floor = greatest(numbering_floor,
                    (SELECT coalesce(max(arrived), 0) + 1 FROM changes), (SELECT coalesce(max(seq), 0) + 1 FROM scope_moves),
                    \(now) * 1000)
                RETURNING numbering_floor
                """, logger: logger
            ).collectOne(Int64.self) ?? 0
        }
    }
}
