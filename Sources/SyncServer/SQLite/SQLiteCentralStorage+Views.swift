import CaseDomain
import Foundation
import GRDB
import ReplicaStore
public import SyncCore

// The read model (DESIGN §8) and the server's own writes on SQLite.
extension SQLiteCentralStorage {
    /// Builds each view missing or declared with another version, from the merge state: a
    /// view is derived data, so a new server version or a moved database (`rain-server
    /// migrate` copies no view) simply builds it again. Reads only when all are current.
    func buildViews() throws(ServerError) {
        let built = try read("cannot read the views") { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT name, version FROM record_views").map { ($0["name"] as String, $0["version"] as Int) },
                uniquingKeysWith: { first, _ in first })
        }
        if views.views.isEmpty {
            // A server keeping no views (rain-bench's) leaves them behind: built again at the
            // next start of one that keeps them.
            if !built.isEmpty { try write("cannot mark the views stale") { db in try db.execute(sql: "DELETE FROM record_views") } }
            return
        }
        let stale = views.views.filter { built[$0.name] != $0.version }
        guard !stale.isEmpty else { return }
        try write("cannot build the views") { db in
            for view in stale {
                try db.execute(sql: "DROP TABLE IF EXISTS \(view.name)")
                for statement in ViewSQL.create(view, .sqlite) { try db.execute(sql: statement) }
                let rows = try Row.fetchCursor(db, sql: "SELECT record_id, state FROM merge_state WHERE tbl = ?", arguments: [view.table])
                var batch: [(RecordKey, SyncCore.Record)] = []
                func flush() throws {
                    let upserts = try ViewRows(only: view, schema: store.schema).rebuild(batch) { dot in try self.store.change(dot, in: db)
                    }
                    try Self.write(upserts, now: 0, in: db)
                    batch.removeAll(keepingCapacity: true)
                }
                while let row = try rows.next() {
                    let key = RecordKey(table: view.table, id: row["record_id"])
                    let state: Data = row["state"]
                    guard let decoded = MergeStateCodec.decode(Array(state)) else {
                        throw ServerError.unavailable("cannot build the views: a damaged merge state", cause: "corrupt merge_state \(key)")
                    }
                    batch.append((key, decoded.record))
                    if batch.count == 1000 { try flush() }
                }
                try flush()
                try db.execute(
                    sql:
                        "INSERT INTO record_views (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                    arguments: [view.name, view.version])
            }
        }
    }

    /// Writes `upserts` (at `now`, the server's time of the write). A row of a record
    /// `existing` says the view has is updated in place; the keys of those the view turned out
    /// not to have are answered, to be written whole. Bound through SQLite's C API: a push
    /// writes a row per record it touches.
    @discardableResult
    static func write(
        _ upserts: [ViewUpsert], now: Int64, in db: Database, existing: (String, String) -> Bool = { _, _ in false }
    ) throws -> Set<RecordKey> {
        var rowless: Set<RecordKey> = []
        // The statement for each view, kind and set of columns, made once per call.
        struct Shape: Hashable {
            let update: Bool
            let view: String
            let columns: UInt64
        }
        var statements: [Shape: FastStatement] = [:]
        for upsert in upserts {
            let update = existing(upsert.view.table, upsert.id)
            let shape = Shape(update: update, view: upsert.view.name, columns: upsert.columnMask)
            let statement: FastStatement
            if let kept = statements[shape] {
                statement = kept
            } else {
                let columns = upsert.values.map(\.name)
                let sql =
                    update
                    ? "UPDATE \(upsert.view.name) SET updated_at = ?, \(columns.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?"
                    : ViewSQL.upsert(upsert.view, columns: columns, .sqlite)
                statement = try FastStatement(sql, in: db)
                statements[shape] = statement
            }
            statement.clear()
            var index: Int32 = 1
            if !update {
                statement.bind(index, upsert.id)
                index += 1
            }
            statement.bind(index, upsert.updatedAt ?? now)
            for (_, value) in upsert.values {
                index += 1
                switch value {
                case .null: statement.bindNull(index)
                case .bool(let flag): statement.bind(index, Int64(flag ? 1 : 0))
                case .integer(let number), .timestamp(let number): statement.bind(index, number)
                case .text(let text): statement.bind(index, text)
                }
            }
            if update { statement.bind(index + 1, upsert.id) }
            try statement.run()
            if update, db.changesCount == 0 { rowless.insert(RecordKey(table: upsert.view.table, id: upsert.id)) }
        }
        return rowless
    }

    static func databaseValue(_ value: Value) -> (any DatabaseValueConvertible)? {
        switch value {
        case .null: nil
        case .bool(let flag): flag ? 1 : 0
        case .integer(let number), .timestamp(let number): number
        case .text(let text): text
        }
    }

    /// A stored row as values of the view's declared types.
    static func values(_ row: Row, of view: ViewDeclaration) -> [String: Value] {
        var values: [String: Value] = [:]
        for name in view.allColumns {
            let stored: DatabaseValue = row[name]
            switch (stored.storage, view.type(of: name) ?? .text) {
            case (.null, _): values[name] = .null
            case (.string(let text), _): values[name] = .text(text)
            case (.int64(let number), .timestamp): values[name] = .timestamp(number)
            case (.int64(let number), .bool): values[name] = .bool(number != 0)
            case (.int64(let number), _): values[name] = .integer(number)
            default: values[name] = .null
            }
        }
        return values
    }

    public func viewRows(_ name: String, where column: String, in values: [Value], limit: Int) throws(ServerError) -> [[String: Value]] {
        let view = try views.view(named: name, column: column)
        guard !values.isEmpty else { return [] }
        return try read("cannot read \(name)") { db in
            try Self.rows(of: view, where: column, in: values, limit: limit, in: db)
        }
    }

    static func rows(of view: ViewDeclaration, where column: String, in values: [Value], limit: Int, in db: Database) throws
        -> [[String: Value]]
    {
        let placeholders = Array(repeating: "?", count: values.count).joined(separator: ", ")
        var arguments = values.map(databaseValue)
        arguments.append(limit)
        return try Row.fetchAll(
            db, sql: "SELECT * FROM \(view.name) WHERE \(column) IN (\(placeholders)) ORDER BY id LIMIT ?",
            arguments: StatementArguments(arguments)
        ).map { Self.values($0, of: view) }
    }

    // MARK: The server as a writer

    public func write(_ request: ServerWrite, now: Int64) throws(ServerError) -> ServerWrite.Result {
        var resolved: [ViewDeclaration] = []
        for read in request.reads { resolved.append(try views.view(named: read.view, column: read.column)) }
        return try write("cannot record the request") { db in
            let writer = try Self.writer(in: db)
            if let allowance = request.allowance { try Self.take(allowance, now: now, in: db) }
            var rows: [[[String: Value]]] = []
            for (read, view) in zip(request.reads, resolved) {
                guard let key = ServerWrite.key(of: read, after: rows) else {
                    rows.append([])
                    continue
                }
                rows.append(try Self.rows(of: view, where: read.column, in: [key], limit: read.limit, in: db))
            }
            var number: String?
            if let office = request.mint {
                let minted = ServerWrite.mint(office: office, after: writer.last, tag: CaseNumber.serverTag(for: writer.replica), now: now)
                try db.execute(sql: "UPDATE server_writer SET last_number = ? WHERE singleton = 1", arguments: [minted])
                number = minted
            }
            let edits = try request.build(ServerWrite.Input(rows: rows, number: number, now: now))
            guard !edits.isEmpty else { return ServerWrite.Result(changes: [], number: number, rows: rows) }
            var records: [RecordKey: SyncCore.Record] = [:]
            for key in Set(edits.map(\.key)) {
                guard
                    let state = try Data.fetchOne(
                        db, sql: "SELECT state FROM merge_state WHERE tbl = ? AND record_id = ?", arguments: [key.table, key.id])
                else { continue }
                records[key] = try self.store.decodeState(Array(state), of: key, in: db).record
            }
            let changes = ServerWrite.changes(
                edits, writer: writer.replica, first: try self.holds(writer.replica, in: db) + 1, now: now, records: records,
                schema: self.store.schema, author: request.author)
            _ = try self.push(
                changes, bodies: nil, from: Caller(replica: writer.replica, office: "server"), office: .server, now: now, in: db)
            return ServerWrite.Result(changes: changes, number: number, rows: rows)
        }
    }

    /// The server writer's id (made the first time) and last number.
    static func writer(in db: Database) throws -> (replica: ReplicaID, last: String?) {
        if let row = try Row.fetchOne(db, sql: "SELECT replica, last_number FROM server_writer WHERE singleton = 1"),
            let text = row["replica"] as String?
        {
            return (ReplicaID(text), row["last_number"])
        }
        let replica = ReplicaStore.newReplicaID()
        try db.execute(sql: "INSERT INTO server_writer (singleton, replica) VALUES (1, ?)", arguments: [replica.rawValue])
        return (replica, nil)
    }

    /// Whether `replica` is the server writer's id (no replica may enrol under it).
    static func isServerWriter(_ replica: ReplicaID, in db: Database) throws -> Bool {
        try String.fetchOne(db, sql: "SELECT replica FROM server_writer WHERE singleton = 1") == replica.rawValue
    }

    static func take(_ allowance: ServerWrite.Allowance, now: Int64, in db: Database) throws {
        let used =
            try Int.fetchOne(
                db, sql: "SELECT used FROM server_allowances WHERE key = ? AND day = ?", arguments: [allowance.key, allowance.day]) ?? 0
        guard used < allowance.limit else { throw ServerWrite.allowanceSpent(allowance) }
        // Yesterday's allowances are of no use: dropped as today's are taken.
        try db.execute(sql: "DELETE FROM server_allowances WHERE day < ?", arguments: [allowance.day])
        try db.execute(
            sql: "INSERT INTO server_allowances (key, day, used) VALUES (?, ?, 1) ON CONFLICT (key, day) DO UPDATE SET used = used + 1",
            arguments: [allowance.key, allowance.day])
    }

    public func attempt(_ subject: String, correct: Bool, now: Int64, limit: Int, lockout: Int64) throws(ServerError) -> Attempt {
        // The usual case, a right tail and no wrong one before, writes nothing.
        if correct {
            let clear = try read("cannot check the request") { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM guard_attempts WHERE subject = ?", arguments: [subject]) == 0
            }
            if clear { return .allowed }
        }
        return try write("cannot check the request") { db in
            let row = try Row.fetchOne(db, sql: "SELECT failures, locked_until FROM guard_attempts WHERE subject = ?", arguments: [subject])
            let outcome = ServerWrite.attempt(
                failures: row?["failures"] ?? 0, lockedUntil: row?["locked_until"], correct: correct, now: now, limit: limit,
                lockout: lockout)
            switch outcome.stored {
            case nil: try db.execute(sql: "DELETE FROM guard_attempts WHERE subject = ?", arguments: [subject])
            case (let failures, let lockedUntil)?:
                try db.execute(
                    sql: """
                        INSERT INTO guard_attempts (subject, failures, locked_until) VALUES (?, ?, ?)
                        ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until
                        """, arguments: [subject, failures, lockedUntil])
            }
            return outcome.attempt
        }
    }
}
