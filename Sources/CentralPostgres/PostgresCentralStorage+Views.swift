import CaseDomain
import Logging
import NIOCore
import PostgresNIO
import ReplicaStore
public import SyncCore
public import SyncProtocol
public import SyncServer

// The read model (DESIGN §8) and the server's own writes on PostgreSQL.
extension PostgresCentralStorage {
    /// Builds each view missing or declared with another version, from the merge state,
    /// under the write lock (servers starting together build it once).
    func buildViews() async throws(ServerError) {
        let views = views.views
        guard !views.isEmpty else {
            // A server keeping no views (rain-bench's) leaves them behind: built again at the
            // next start of one that keeps them.
            try await write("cannot mark the views stale") { connection in
                try await connection.query("DELETE FROM record_views", logger: self.logger)
            }
            return
        }
        try await write("cannot build the views") { connection in
            var built: [String: Int] = [:]
            for try await (name, version) in try await connection.query("SELECT name, version FROM record_views", logger: logger).decode(
                (String, Int32).self)
            {
                built[name] = Int(version)
            }
            for view in views where built[view.name] != view.version {
                try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(view.name)"), logger: logger)
                for statement in ViewSQL.create(view, .postgres) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                var after = ""
                while true {
                    var batch: [(RecordKey, SyncCore.Record)] = []
                    for try await (id, state) in try await connection.query(
                        """
                        SELECT record_id, state FROM merge_state WHERE tbl = \(view.table) AND record_id > \(after)
                        ORDER BY record_id LIMIT 1000
                        """, logger: logger
                    ).decode((String, ByteBuffer).self) {
                        let key = RecordKey(table: view.table, id: id)
                        guard let decoded = MergeStateCodec.decode(Array(buffer: state)) else {
                            throw ServerError.unavailable(
                                "cannot build the views: a damaged merge state", cause: "corrupt merge_state \(key)")
                        }
                        batch.append((key, decoded.record))
                        after = id
                    }
                    if batch.isEmpty { break }
                    let rows = ViewRows(only: view, schema: schema)
                    let upserts = try await resolved(connection) { lookup in try rows.rebuild(batch, lookup: lookup) }
                    try await write(upserts, now: 0, connection)
                }
                try await connection.query(
                    """
                    INSERT INTO record_views (name, version) VALUES (\(view.name), \(Int32(view.version)))
                    ON CONFLICT (name) DO UPDATE SET version = excluded.version
                    """, logger: logger)
            }
        }
    }

    /// Runs `body` with a lookup of held changes: the dots it asks for that are not loaded
    /// yet are fetched, and it runs again, until it asks for none new.
    func resolved<T>(
        _ connection: PostgresConnection, known start: [Dot: Change?] = [:],
        _ body: ((Dot) throws -> Change?) throws -> T
    ) async throws -> T {
        var known = start
        while true {
            var missing: Set<Dot> = []
            let result = try body { dot in
                if let found = known[dot] { return found }
                missing.insert(dot)
                return nil
            }
            if missing.isEmpty { return result }
            let fetched = try await heldChanges(dots: missing, connection)
            for dot in missing { known[dot] = fetched[dot] ?? .some(nil) }
        }
    }

    /// Writes `upserts` (at `now`): one statement per view and set of columns, the rows as
    /// one JSON array (`jsonb_to_recordset` carries NULLs, which array parameters cannot).
    func write(_ upserts: [ViewUpsert], now: Int64, _ connection: PostgresConnection) async throws {
        struct Shape: Hashable {
            let view: String
            let columns: UInt64
        }
        var groups: [Shape: (view: ViewDeclaration, columns: [String], rows: [ViewUpsert])] = [:]
        var order: [Shape] = []
        for upsert in upserts {
            let key = Shape(view: upsert.view.name, columns: upsert.columnMask)
            if groups[key] == nil {
                groups[key] = (upsert.view, upsert.values.map(\.name), [])
                order.append(key)
            }
            groups[key]?.rows.append(upsert)
        }
        for key in order {
            guard let group = groups[key] else { continue }
            var json = CanonicalJSONWriter()
            json.raw("[")
            for (index, row) in group.rows.enumerated() {
                if index > 0 { json.raw(",") }
                json.raw("{\"id\":")
                json.string(row.id)
                json.raw(",\"updated_at\":")
                json.integer(row.updatedAt ?? now)
                for (name, value) in row.values {
                    json.raw(",")
                    json.string(name)
                    json.raw(":")
                    switch value {
                    case .null: json.raw("null")
                    case .bool(let flag): json.integer(flag ? 1 : 0)
                    case .integer(let number), .timestamp(let number): json.integer(number)
                    case .text(let text): json.string(text)
                    }
                }
                json.raw("}")
            }
            json.raw("]")
            let view = group.view
            let names = ["id", "updated_at"] + group.columns
            let types = names.map { "\($0) " + ((view.type(of: $0) ?? .text) == .text ? "text" : "bigint") }
            let updates = (["updated_at"] + group.columns).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
            var query = PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(view.name) (\(names.joined(separator: ", ")))
                    SELECT \(names.joined(separator: ", ")) FROM jsonb_to_recordset($1::jsonb) AS r (\(types.joined(separator: ", ")))
                    ON CONFLICT (id) DO UPDATE SET \(updates)
                    """)
            query.binds.append(String(decoding: json.bytes, as: UTF8.self))
            try await connection.query(query, logger: logger)
        }
    }

    public func viewRows(_ name: String, where column: String, in values: [Value], limit: Int) async throws(ServerError)
        -> [[String: Value]]
    {
        let view = try views.view(named: name, column: column)
        guard !values.isEmpty else { return [] }
        return try await read("cannot read \(name)") { connection in
            try await self.rows(of: view, where: column, in: values, limit: limit, connection)
        }
    }

    func rows(of view: ViewDeclaration, where column: String, in values: [Value], limit: Int, _ connection: PostgresConnection)
        async throws -> [[String: Value]]
    {
        let names = view.allColumns
        // Every column read as text (one decoder for all), typed again from the declaration.
        let select = names.map { "\($0)::text" }.joined(separator: ", ")
        var query: PostgresQuery
        if (view.type(of: column) ?? .text) == .text {
            query = PostgresQuery(
                unsafeSQL: "SELECT \(select) FROM \(view.name) WHERE \(column) = ANY($1::text[]) ORDER BY id LIMIT \(limit)")
            query.binds.append(values.map { $0.text ?? "" })
        } else {
            query = PostgresQuery(
                unsafeSQL: "SELECT \(select) FROM \(view.name) WHERE \(column) = ANY($1::int8[]) ORDER BY id LIMIT \(limit)")
            query.binds.append(
                values.map { value -> Int64 in
                    switch value {
                    case .integer(let number), .timestamp(let number): number
                    default: 0
                    }
                })
        }
        var found: [[String: Value]] = []
        for try await row in try await connection.query(query, logger: logger) {
            var values: [String: Value] = [:]
            for (index, cell) in row.enumerated() {
                let name = names[index]
                guard let text = try cell.decode(String?.self) else {
                    values[name] = .null
                    continue
                }
                switch view.type(of: name) ?? .text {
                case .text: values[name] = .text(text)
                case .timestamp: values[name] = Int64(text).map(Value.timestamp) ?? .null
                case .bool: values[name] = .bool(text != "0")
                case .integer: values[name] = Int64(text).map(Value.integer) ?? .null
                }
            }
            found.append(values)
        }
        return found
    }

    // MARK: The server as a writer

    public func write(_ request: ServerWrite, now: Int64) async throws(ServerError) -> ServerWrite.Result {
        var resolvedViews: [ViewDeclaration] = []
        for read in request.reads { resolvedViews.append(try views.view(named: read.view, column: read.column)) }
        let schema = schema
        return try await write("cannot record the request") { connection in
            let writer = try await self.writer(connection)
            if let allowance = request.allowance { try await self.take(allowance, connection) }
            var rows: [[[String: Value]]] = []
            for (read, view) in zip(request.reads, resolvedViews) {
                guard let key = ServerWrite.key(of: read, after: rows) else {
                    rows.append([])
                    continue
                }
                rows.append(try await self.rows(of: view, where: read.column, in: [key], limit: read.limit, connection))
            }
            var number: String?
            if let office = request.mint {
                let minted = ServerWrite.mint(office: office, after: writer.last, tag: CaseNumber.serverTag(for: writer.replica), now: now)
                try await connection.query("UPDATE server_writer SET last_number = \(minted) WHERE singleton = 1", logger: self.logger)
                number = minted
            }
            let edits = try request.build(ServerWrite.Input(rows: rows, number: number, now: now))
            guard !edits.isEmpty else { return ServerWrite.Result(changes: [], number: number, rows: rows) }
            let keys = Array(Set(edits.map(\.key)))
            var records: [RecordKey: SyncCore.Record] = [:]
            for (key, state) in try await self.loadStates(keys, connection) {
                guard let decoded = MergeStateCodec.decode(state.state) else {
                    throw ServerError.unavailable("cannot record the request: a damaged merge state", cause: "corrupt merge_state \(key)")
                }
                records[key] = decoded.record
            }
            let highest =
                try await connection.query(
                    "SELECT max(counter) FROM changes WHERE replica = \(writer.replica.rawValue)", logger: self.logger
                )
                .collectOne(Int64?.self) ?? nil
            let changes = ServerWrite.changes(
                edits, writer: writer.replica, first: UInt64(max(highest ?? 0, 0)) + 1, now: now, records: records, schema: schema,
                author: request.author)
            _ = try await self.push(
                changes, bodies: changes.map(ChangeV1.encode), from: Caller(replica: writer.replica, office: "server"), office: .server,
                now: now, connection)
            return ServerWrite.Result(changes: changes, number: number, rows: rows)
        }
    }

    /// The server writer's id (made the first time) and last number.
    private func writer(_ connection: PostgresConnection) async throws -> (replica: ReplicaID, last: String?) {
        for try await (replica, last) in try await connection.query(
            "SELECT replica, last_number FROM server_writer WHERE singleton = 1", logger: logger
        ).decode((String, String?).self) {
            return (ReplicaID(replica), last)
        }
        let replica = ReplicaStore.newReplicaID()
        try await connection.query("INSERT INTO server_writer (singleton, replica) VALUES (1, \(replica.rawValue))", logger: logger)
        return (replica, nil)
    }

    /// Whether `replica` is the server writer's id (no replica may enrol under it).
    static func isServerWriter(_ replica: ReplicaID, _ connection: PostgresConnection, _ logger: Logger) async throws -> Bool {
        try await connection.query("SELECT replica FROM server_writer WHERE singleton = 1", logger: logger).collectOne(String.self)
            == replica.rawValue
    }

    private func take(_ allowance: ServerWrite.Allowance, _ connection: PostgresConnection) async throws {
        let used =
            try await connection.query(
                "SELECT used FROM server_allowances WHERE key = \(allowance.key) AND day = \(allowance.day)", logger: logger
            ).collectOne(Int32.self) ?? 0
        guard used < allowance.limit else { throw ServerWrite.allowanceSpent(allowance) }
        try await connection.query("DELETE FROM server_allowances WHERE day < \(allowance.day)", logger: logger)
        try await connection.query(
            """
            INSERT INTO server_allowances (key, day, used) VALUES (\(allowance.key), \(allowance.day), 1)
            ON CONFLICT (key, day) DO UPDATE SET used = server_allowances.used + 1
            """, logger: logger)
    }

    public func attempt(_ subject: String, correct: Bool, now: Int64, limit: Int, lockout: Int64) async throws(ServerError) -> Attempt {
        // Not under the write lock (a status query with a phone tail must not wait for
        // pushes), but under the subject's row lock: tries at the same moment count one
        // after the other, so parallel guesses still lock the subject.
        try await writeAlone("cannot check the request") { connection in
            let logger = self.logger
            if correct {
                // The usual case, a right tail and no wrong one before, writes nothing.
                let held = try await connection.query("SELECT 1 FROM guard_attempts WHERE subject = \(subject)", logger: logger)
                    .collectOne(Int32.self)
                if held == nil { return .allowed }
            }
            try await connection.query(
                "INSERT INTO guard_attempts (subject, failures) VALUES (\(subject), 0) ON CONFLICT DO NOTHING", logger: logger)
            var failures = 0
            var lockedUntil: Int64?
            for try await (count, until) in try await connection.query(
                "SELECT failures, locked_until FROM guard_attempts WHERE subject = \(subject) FOR UPDATE", logger: logger
            ).decode((Int32, Int64?).self) {
                failures = Int(count)
                lockedUntil = until
            }
            let outcome = ServerWrite.attempt(
                failures: failures, lockedUntil: lockedUntil, correct: correct, now: now, limit: limit, lockout: lockout)
            if let stored = outcome.stored {
                try await connection.query(
                    """
                    UPDATE guard_attempts SET failures = \(Int32(stored.failures)), locked_until = \(stored.lockedUntil)
                    WHERE subject = \(subject)
                    """, logger: logger)
            } else {
                try await connection.query("DELETE FROM guard_attempts WHERE subject = \(subject)", logger: logger)
            }
            return outcome.attempt
        }
    }

}
