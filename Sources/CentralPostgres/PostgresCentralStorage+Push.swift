import NIOCore
import PostgresNIO
import ReplicaStore
public import SyncCore
public import SyncProtocol
public import SyncServer
import Synchronization

extension PostgresCentralStorage {
    public func push(_ changes: [Change], bodies: [[UInt8]]?, from caller: Caller, now: Int64) async throws(ServerError)
        -> PushResponseV1
    {
        // A replica writes only under its own id (§9.4): checked before anything is written.
        try PushPlan.checkWriter(changes, bodies: bodies, caller: caller)
        // Encoded outside the lock (the request's task when the HTTP layer did not).
        let bodies = bodies ?? changes.map(ChangeV1.encode)
        do {
            return try await write("cannot accept the changes") { connection in
                try await self.push(changes, bodies: bodies, from: caller, now: now, connection)
            }
        } catch let refusal where refusal.code == "out_of_scope" {
            // Nothing of the batch is written; the refusal is, so that the writer's later
            // changes can pass the refused counters (§9.6).
            let logger = logger
            try await write("cannot record the refusal") { connection in
                let byCounter = Dictionary(changes.map { ($0.dot.counter, $0) }, uniquingKeysWith: { first, _ in first })
                for refused in refusal.refused {
                    let digest = byCounter[refused.counter].map { SHA256Hex.digest(ChangeV1.encode($0)) }
                    try await connection.query(
                        """
                        INSERT INTO refused_dots (replica, counter, tbl, record_id, refused_at, body_sha256)
                        VALUES (\(caller.replica.rawValue), \(Int64(refused.counter)), \(refused.table), \(refused.record), \(now), \(digest))
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                }
            }
            var answer = refusal
            answer.holds = try await read("cannot read what the server holds") { connection in
                try await Self.holds(caller.replica, connection, logger)
            }
            throw answer
        }
    }

    /// A record looked up that the prefetch did not load.
    private struct Unloaded: Error {
        let key: RecordKey
    }

    /// The push inside the caller's transaction; `office`, when given, is the writer's
    /// jurisdiction (the server's own writes: everywhere) instead of its caller's office's.
    func push(
        _ changes: [Change], bodies: [[UInt8]], from caller: Caller, office given: OfficeScope? = nil, now: Int64,
        _ connection: PostgresConnection
    ) async throws -> PushResponseV1 {
        let replica = caller.replica.rawValue
        let highest =
            try await connection.query("SELECT max(counter) FROM changes WHERE replica = \(replica)", logger: logger)
            .collectOne(Int64?.self) ?? nil
        let highestHeld = UInt64(max(highest ?? 0, 0))
        var refusedBefore = try await Self.refusedCounters(caller.replica, connection, logger)
        let holds = Sequencing.holds(highestHeld: highestHeld, refused: refusedBefore)
        let office: OfficeScope
        if let given { office = given } else { office = try await Self.officeScope(caller.office, connection, logger) }
        // Every record the batch names, and every parent its child changes name, loaded in
        // one query: the plan's lookups and the merge read them from memory.
        var wanted: Set<RecordKey> = []
        for change in changes {
            wanted.insert(change.record)
            if case .parent(let table, let field) = scopes.rule(for: change.record.table), case .text(let id)? = change.fields[field] {
                wanted.insert(RecordKey(table: table, id: id))
            }
        }
        var stored = try await loadStates(Array(wanted), connection)
        var plan: PushPlan
        while true {
            do {
                plan = try PushPlan(changes, holds: holds, refusedBefore: refusedBefore, office: office, scopes: scopes) { key in
                    guard wanted.contains(key) else { throw Unloaded(key: key) }
                    guard let row = stored[key] else { return PushPlan.Stored(existed: false, scope: nil) }
                    return PushPlan.Stored(existed: true, scope: RecordScope(encoded: row.scope))
                }
                break
            } catch let missing as Unloaded {
                wanted.insert(missing.key)
                stored.merge(try await loadStates([missing.key], connection)) { first, _ in first }
            }
        }
        try plan.checkJurisdiction(of: caller.office)
        for counter in try plan.checkSequence(holds: holds, refusedBefore: refusedBefore) {
            try await connection.query(
                "DELETE FROM refused_dots WHERE replica = \(replica) AND counter = \(Int64(counter))", logger: logger)
            refusedBefore.remove(counter)
        }
        // Which changes are new: those at or below what is held are compared with it.
        let repeated = changes.filter { $0.dot.counter <= highestHeld }.map { Int64($0.dot.counter) }
        let held = try await heldChanges(caller.replica, counters: repeated, connection)
        let (fresh, duplicates) = try CentralMerge.fresh(
            changes, bodies: bodies, schema: schema, held: [caller.replica: highestHeld],
            stored: held.compactMapValues { $0 })
        // Arrival numbers: max + 1 under the write lock (or the floor set after a restore), so
        // consecutive and committed in order.
        let first = try await Self.nextArrival(connection, logger)
        var states: [RecordKey: CentralMerge.State] = [:]
        for (key, row) in stored {
            guard let state = CentralMerge.decode(row.state) else {
                throw ServerError.unavailable(
                    "cannot accept the changes: the server's database holds a damaged merge state", cause: "corrupt merge_state \(key)")
            }
            states[key] = state
        }
        // The merge, again with the held changes it looked up when it named any.
        var known: [Dot: Change?] = held
        var outcome = CentralMerge.merge(fresh.map(\.change), first: first, states: states, schema: schema, known: known)
        while !outcome.missing.isEmpty {
            let fetched = try await heldChanges(dots: outcome.missing, connection)
            for dot in outcome.missing { known[dot] = fetched[dot] ?? .some(nil) }
            outcome = CentralMerge.merge(fresh.map(\.change), first: first, states: states, schema: schema, known: known)
        }
        try await writeLog(fresh, first: first, connection)
        // The read model follows the merge in the same transaction: only the columns of
        // fields the batch wrote, of the records it touched.
        let shown = outcome.merged.filter { views.shows($0.key.table) }
        if !shown.isEmpty {
            var merged: [RecordKey: SyncCore.Record] = [:]
            for record in shown { merged[record.key] = record.record }
            let applied = fresh.map(\.change)
            let views = views
            // A record held before whose row a view lacks (written by a server that kept no
            // views) gets all of its columns, like a new one.
            var rowless: Set<RecordKey> = []
            for view in views.views {
                let held = merged.keys.filter { $0.table == view.table && plan.existed($0) }
                guard !held.isEmpty else { continue }
                var query = PostgresQuery(unsafeSQL: "SELECT id FROM \(view.name) WHERE id = ANY($1::text[])")
                query.binds.append(held.map(\.id))
                var present: Set<String> = []
                for try await id in try await connection.query(query, logger: logger).decode(String.self) { present.insert(id) }
                for key in held where !present.contains(key.id) { rowless.insert(key) }
            }
            let upserts = try await resolved(connection, known: known) { lookup in
                try views.upserts(changes: applied, merged: merged, isNew: { !plan.existed($0) || rowless.contains($0) }, lookup: lookup)
            }
            try await write(upserts, now: now, connection)
        }
        // Where every touched record now belongs, stored with its merge state.
        let rescoped = plan.rescoped(scopes: scopes)
        var scoped: [RecordKey: (scope: String, parent: String?)] = [:]
        for record in rescoped { scoped[record.key] = (record.scope.encoded, record.parent) }
        try await writeStates(outcome.merged, scoped: &scoped, connection)
        for (key, scope) in scoped {
            // A record the batch rescoped always has its state written above; for safety only.
            try await connection.query(
                """
                UPDATE merge_state SET scope = \(scope.scope), parent = coalesce(parent, \(scope.parent))
                WHERE tbl = \(key.table) AND record_id = \(key.id)
                """, logger: logger)
        }
        // A record's children follow it; its move is recorded for pulls (§9.6).
        let moved = rescoped.filter(\.moved)
        if !moved.isEmpty {
            let parents = try await Self.officeParents(connection, logger)
            var seq = try await Self.lastMove(connection, logger)
            for record in moved {
                for child in scopes.children(of: record.key.table) {
                    try await connection.query(
                        "UPDATE merge_state SET scope = \(record.scope.encoded) WHERE parent = \(record.key.id) AND tbl = \(child)",
                        logger: logger)
                }
                seq += 1
                let old = PlacedScope(record.was ?? RecordScope([])) { parents[$0] }.encoded
                let new = PlacedScope(record.scope) { parents[$0] }.encoded
                try await connection.query(
                    """
                    INSERT INTO scope_moves (seq, tbl, record_id, old_scope, new_scope)
                    VALUES (\(seq), \(record.key.table), \(record.key.id), \(old), \(new))
                    """, logger: logger)
            }
        }
        // Each change just logged, listed under the offices its record's scope names (§9.5).
        if plan.listsAny {
            let runs = plan.listing(outcome.logged)
            if !runs.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO scope_log (office, first, last)
                    SELECT * FROM unnest(\(runs.map(\.office))::text[], \(runs.map(\.first))::int8[], \(runs.map(\.last))::int8[])
                    """, logger: logger)
            }
        }
        try await connection.query("UPDATE replicas SET last_seen_at = \(now) WHERE id = \(replica)", logger: logger)
        if let hook = beforeCommit.withLock({ $0 }) { await hook() }
        // The crash matrix kills the server here: the transaction never commits.
        Failpoint.hit("before-commit")
        let newest = fresh.reduce(highestHeld) { max($0, $1.change.dot.counter) }
        return PushResponseV1(
            accepted: fresh.count, duplicates: duplicates, holds: Sequencing.holds(highestHeld: newest, refused: refusedBefore))
    }

    /// The stored merge state and scope of each of `keys` held.
    func loadStates(_ keys: [RecordKey], _ connection: PostgresConnection) async throws
        -> [RecordKey: (state: [UInt8], scope: String?)]
    {
        var found: [RecordKey: (state: [UInt8], scope: String?)] = [:]
        guard !keys.isEmpty else { return found }
        let rows = try await connection.query(
            """
            SELECT s.tbl, s.record_id, s.state, s.scope FROM merge_state s
            JOIN unnest(\(keys.map(\.table))::text[], \(keys.map(\.id))::text[]) AS k (tbl, record_id)
                ON s.tbl = k.tbl AND s.record_id = k.record_id
            """, logger: logger)
        for try await (table, id, state, scope) in rows.decode((String, String, ByteBuffer, String?).self) {
            found[RecordKey(table: table, id: id)] = (Array(buffer: state), scope)
        }
        return found
    }

    /// The changes of `replica` held under `counters`, decoded.
    private func heldChanges(_ replica: ReplicaID, counters: [Int64], _ connection: PostgresConnection) async throws -> [Dot: Change?] {
        guard !counters.isEmpty else { return [:] }
        var found: [Dot: Change?] = [:]
        for try await body in try await connection.query(
            "SELECT body FROM changes WHERE replica = \(replica.rawValue) AND counter = ANY(\(counters)::int8[])", logger: logger
        ).decode(ByteBuffer.self) {
            let change = try decodeHeld(body)
            found[change.dot] = change
        }
        return found
    }

    /// The held changes of `dots`, decoded.
    func heldChanges(dots: Set<Dot>, _ connection: PostgresConnection) async throws -> [Dot: Change] {
        let dots = Array(dots)
        var found: [Dot: Change] = [:]
        for try await body in try await connection.query(
            """
            SELECT c.body FROM changes c
            JOIN unnest(\(dots.map(\.replica.rawValue))::text[], \(dots.map { Int64($0.counter) })::int8[]) AS d (replica, counter)
                ON c.replica = d.replica AND c.counter = d.counter
            """, logger: logger
        ).decode(ByteBuffer.self) {
            let change = try decodeHeld(body)
            found[change.dot] = change
        }
        return found
    }

    private func decodeHeld(_ body: ByteBuffer) throws -> Change {
        do {
            return try ChangeV1.decode(try JSONParser.parse(Array(buffer: body)), at: "", schema: schema)
        } catch {
            throw ServerError.unavailable(
                "cannot accept the changes: the server's database holds a damaged change", cause: "corrupt change body")
        }
    }

    /// Appends `fresh` to the log, numbered from `first`.
    private func writeLog(_ fresh: [(change: Change, body: [UInt8])], first: Int64, _ connection: PostgresConnection) async throws {
        guard !fresh.isEmpty else { return }
        let arrived = (0..<Int64(fresh.count)).map { first + $0 }
        try await connection.query(
            """
            INSERT INTO changes (arrived, replica, counter, tbl, record_id, body)
            SELECT * FROM unnest(\(arrived)::int8[], \(fresh.map(\.change.dot.replica.rawValue))::text[],
                \(fresh.map { Int64($0.change.dot.counter) })::int8[], \(fresh.map(\.change.record.table))::text[],
                \(fresh.map(\.change.record.id))::text[], \(fresh.map { ByteBuffer(bytes: $0.body) })::bytea[])
            """, logger: logger)
    }

    /// Stores the merged states; those in `scoped` with their scope (each stored one is
    /// removed), a record keeping the parent it was first given.
    private func writeStates(
        _ merged: [CentralMerge.Merged], scoped: inout [RecordKey: (scope: String, parent: String?)], _ connection: PostgresConnection
    ) async throws {
        var plain: [CentralMerge.Merged] = []
        var withScope: [(merged: CentralMerge.Merged, scope: String, parent: String)] = []
        for record in merged {
            if let scope = scoped.removeValue(forKey: record.key) {
                // '' for no parent: unnest takes no NULL elements; NULLIF restores it.
                withScope.append((record, scope.scope, scope.parent ?? ""))
            } else {
                plain.append(record)
            }
        }
        if !plain.isEmpty {
            try await connection.query(
                """
                INSERT INTO merge_state (tbl, record_id, state, conflicts)
                SELECT * FROM unnest(\(plain.map(\.key.table))::text[], \(plain.map(\.key.id))::text[],
                    \(plain.map { ByteBuffer(bytes: $0.state) })::bytea[], \(plain.map { Int64($0.conflicts) })::int8[])
                ON CONFLICT (tbl, record_id) DO UPDATE SET state = excluded.state, conflicts = excluded.conflicts
                """, logger: logger)
        }
        if !withScope.isEmpty {
            try await connection.query(
                """
                INSERT INTO merge_state (tbl, record_id, state, conflicts, scope, parent)
                SELECT t, r, s, c, sc, NULLIF(p, '') FROM unnest(\(withScope.map(\.merged.key.table))::text[],
                    \(withScope.map(\.merged.key.id))::text[], \(withScope.map { ByteBuffer(bytes: $0.merged.state) })::bytea[],
                    \(withScope.map { Int64($0.merged.conflicts) })::int8[], \(withScope.map(\.scope))::text[],
                    \(withScope.map(\.parent))::text[]) AS u (t, r, s, c, sc, p)
                ON CONFLICT (tbl, record_id) DO UPDATE SET state = excluded.state, conflicts = excluded.conflicts,
                    scope = excluded.scope, parent = coalesce(merge_state.parent, excluded.parent)
                """, logger: logger)
        }
    }
}
