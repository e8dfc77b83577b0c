import Foundation
import GRDB
import GRDBSQLite
public import ReplicaStore
public import SyncCore
public import SyncProtocol

extension SQLiteCentralStorage {
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

    private func push(_ changes: [Change], bodies: [[UInt8]]?, from caller: Caller, now: Int64, in db: Database) throws
        -> PushResponseV1
    {
        let holds = try self.holds(caller.replica, in: db)
        let refusedBefore = try self.refusedCounters(caller.replica, in: db)
        let office = try officeScope(caller.office, in: db)
        // Jurisdiction (§9.6): each new change must be within the writer's scope. One
        // entry per record the batch touches or whose scope it reads (a child's parent),
        // found with one hash of its key per change: the scope it had and has now.
        struct Touched {
            let key: RecordKey
            let original: RecordScope?
            /// Whether the server held the record before this batch (with or without a scope).
            let existed: Bool
            var current: RecordScope?
            var parent: String?
        }
        var touched: [Touched] = []
        var position: [RecordKey: Int] = [:]
        // Looked up once per record of the batch: through SQLite's C API.
        let lookup = try FastStatement("SELECT scope FROM merge_state WHERE tbl = ? AND record_id = ?", in: db)
        func entry(_ key: RecordKey) throws -> Int {
            if let known = position[key] { return known }
            lookup.clear()
            lookup.bind(1, key.table)
            lookup.bind(2, key.id)
            var found: RecordScope?
            let existed = try lookup.step()
            if existed {
                found = RecordScope(encoded: lookup.text(0))
                lookup.reset()
            }
            touched.append(Touched(key: key, original: found, existed: existed, current: found))
            position[key] = touched.count - 1
            return touched.count - 1
        }
        var refused: [ServerError.Refused] = []
        var fresh: [UInt64] = []
        fresh.reserveCapacity(changes.count)
        // The entry of each fresh change's record, in order: what the merge logs is these
        // changes (less repeats), in this order.
        var freshEntries: [Int] = []
        freshEntries.reserveCapacity(changes.count)
        // The rule of the table of the change before (a batch is mostly one table's).
        var ruleTable = ""
        var rule = ScopeRule.district
        for change in changes {
            // Held already (a replay): every counter up to `holds` is held, but refused ones.
            // `apply` compares it with what is held; its scope was judged when it came.
            if change.dot.counter <= holds, !refusedBefore.contains(change.dot.counter) { continue }
            let index = try entry(change.record)
            if ruleTable != change.record.table {
                ruleTable = change.record.table
                rule = scopes.rule(for: ruleTable)
            }
            let before = touched[index].current
            let after: RecordScope?
            if case .parent(let table, let field) = rule {
                // A child: its parent's scope, looked up (and kept) like any record's.
                var lookupError: (any Error)?
                after = RecordScope.after(change, rule: rule, before: before) { id in
                    do { return touched[try entry(RecordKey(table: table, id: id))].current } catch {
                        lookupError = error
                        return nil
                    }
                }
                if let lookupError { throw lookupError }
                if touched[index].parent == nil, case .text(let parent)? = change.fields[field] { touched[index].parent = parent }
            } else {
                after = RecordScope.after(change, rule: rule, before: before) { _ in nil }
            }
            guard office.mayWrite(before: before, after: after) else {
                refused.append(ServerError.Refused(table: change.record.table, record: change.record.id, counter: change.dot.counter))
                continue
            }
            if after != before { touched[index].current = after }
            fresh.append(change.dot.counter)
            freshEntries.append(index)
        }
        if !refused.isEmpty {
            let list = refused.prefix(20).map { "\($0.table)/\($0.record)" }.joined(separator: ", ")
            throw ServerError(
                status: 403, code: "out_of_scope",
                message:
                    "cannot accept the changes: \(refused.count) change(s) are to records outside office \(caller.office)'s jurisdiction: \(list)",
                refused: refused)
        }
        switch Sequencing.check(fresh: fresh, holds: holds, refused: refusedBefore) {
        case .gap(let missing):
            throw ServerError.conflict(
                "gap", "cannot accept the changes: counter \(missing) of this replica is missing; push again from counter \(holds + 1)",
                holds: holds)
        case .accept(let retried):
            for counter in retried {
                try db.execute(
                    sql: "DELETE FROM refused_dots WHERE replica = ? AND counter = ?", arguments: [caller.replica.rawValue, Int64(counter)])
            }
        }
        // Where every touched record now belongs, stored with its merge state: only
        // records this batch changed, and only when their scope is new or moved (a record
        // whose scope was only read is unchanged).
        var moved: [(key: RecordKey, was: RecordScope, value: RecordScope)] = []
        var stored: [RecordKey: StateScope] = [:]
        for record in touched {
            guard let value = record.current, record.original != value else { continue }
            stored[record.key] = StateScope(scope: value.encoded, parent: record.parent)
            // A record held before whose scope changes — or that gets its first scope (its
            // earlier changes are listed nowhere) — moves: whoever it enters gets its history.
            guard record.existed else { continue }
            switch scopes.rule(for: record.key.table) {
            case .fields, .parent: moved.append((record.key, record.original ?? RecordScope([]), value))
            case .district: break
            }
        }
        let bookkeeping = StateScopes(stored)
        // Only changes of records with a scope are listed (the district reads the log).
        bookkeeping.notesLogged = touched.contains { $0.current != nil }
        let summary = try self.store.apply(changes, bodies: bodies, in: db, now: now, scopes: bookkeeping)
        // A record the batch changed always has its merge state written above; this is
        // for safety only (a scope is never dropped).
        for (key, scope) in bookkeeping.byRecord {
            try db.cachedStatement(
                sql: "UPDATE merge_state SET scope = ?, parent = coalesce(parent, ?) WHERE tbl = ? AND record_id = ?"
            ).execute(arguments: [scope.scope, scope.parent, key.table, key.id])
        }
        // A record's children follow it; its move is recorded for pulls (§9.6).
        if !moved.isEmpty {
            let parents = try Self.officeParents(in: db)
            for (key, was, value) in moved {
                for child in scopes.children(of: key.table) {
                    try db.cachedStatement(sql: "UPDATE merge_state SET scope = ? WHERE parent = ? AND tbl = ?")
                        .execute(arguments: [value.encoded, key.id, child])
                }
                try db.cachedStatement(sql: "INSERT INTO scope_moves (tbl, record_id, old_scope, new_scope) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [
                        key.table, key.id, PlacedScope(was) { parents[$0] }.encoded, PlacedScope(value) { parents[$0] }.encoded,
                    ])
            }
        }
        // Each change just logged, listed under the offices its record's scope names
        // (§9.5), as runs: a pull reads only its caller's listings, and a batch of one
        // office's records is one row, not one per change.
        if !bookkeeping.logged.isEmpty {
            var runs = ListingRuns()
            // Found by walking the fresh changes alongside (the listing depends on the
            // record only, so any entry of the same record answers); by hash otherwise.
            // When every fresh change was logged (no repeat in the batch), one to one.
            if bookkeeping.logged.count == freshEntries.count {
                for ((arrived, _), entry) in zip(bookkeeping.logged, freshEntries) {
                    runs.list(arrived, under: touched[entry].current?.offices ?? [])
                }
            }
            var walk = 0
            for (arrived, key) in bookkeeping.logged where bookkeeping.logged.count != freshEntries.count {
                while walk < freshEntries.count, touched[freshEntries[walk]].key != key { walk += 1 }
                let entry = walk < freshEntries.count ? freshEntries[walk] : position[key]
                runs.list(arrived, under: entry.flatMap { touched[$0].current }?.offices ?? [])
                if walk >= freshEntries.count { walk = 0 }
            }
            for run in runs.finish() {
                try db.cachedStatement(sql: "INSERT INTO scope_log (office, first, last) VALUES (?, ?, ?)")
                    .execute(arguments: [run.office, run.first, run.last])
            }
        }
        try db.execute(sql: "UPDATE replicas SET last_seen_at = ? WHERE id = ?", arguments: [now, caller.replica.rawValue])
        return PushResponseV1(accepted: summary.applied, duplicates: summary.duplicates, holds: try self.holds(caller.replica, in: db))
    }

    /// The highest counter `c` of `replica` such that the server holds or refused every
    /// counter up to `c`.
    func holds(_ replica: ReplicaID, in db: Database) throws -> UInt64 {
        let highest = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT max(counter) FROM changes WHERE replica = ?"), arguments: [replica.rawValue])
        return Sequencing.holds(highestHeld: UInt64(max(highest ?? 0, 0)), refused: try refusedCounters(replica, in: db))
    }

    func refusedCounters(_ replica: ReplicaID, in db: Database) throws -> Set<UInt64> {
        Set(
            try Int64.fetchAll(db.cachedStatement(sql: "SELECT counter FROM refused_dots WHERE replica = ?"), arguments: [replica.rawValue])
                .map { UInt64(max($0, 0)) })
    }

}
