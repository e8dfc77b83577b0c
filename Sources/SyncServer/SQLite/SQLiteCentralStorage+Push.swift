import Foundation
import GRDB
import GRDBSQLite
public import ReplicaStore
public import SyncCore
public import SyncProtocol

extension SQLiteCentralStorage {
    /// ``push(_:bodies:from:now:)`` encoding the changes inside the transaction (the
    /// blocking form, for callers outside the server's tasks).
    public func push(_ changes: [Change], from caller: Caller, now: Int64) throws(ServerError) -> PushResponseV1 {
        try push(changes, bodies: nil, from: caller, now: now)
    }

    public func push(_ changes: [Change], bodies: [[UInt8]]?, from caller: Caller, now: Int64) throws(ServerError) -> PushResponseV1 {
        // A replica writes only under its own id (§9.4): checked before anything is written.
        try PushPlan.checkWriter(changes, bodies: bodies, caller: caller)
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

    /// The push inside the caller's transaction; `office`, when given, is the writer's
    /// jurisdiction (the server's own writes: everywhere) instead of its caller's office's.
    func push(
        _ changes: [Change], bodies: [[UInt8]]?, from caller: Caller, office given: OfficeScope? = nil, now: Int64, in db: Database
    ) throws -> PushResponseV1 {
        let holds = try self.holds(caller.replica, in: db)
        let refusedBefore = try self.refusedCounters(caller.replica, in: db)
        let office = try given ?? officeScope(caller.office, in: db)
        // Jurisdiction (§9.6): each new change must be within the writer's scope, judged
        // by the pure plan; each record it needs is looked up once, through SQLite's C API.
        let lookup = try FastStatement("SELECT scope FROM merge_state WHERE tbl = ? AND record_id = ?", in: db)
        let plan = try PushPlan(changes, holds: holds, refusedBefore: refusedBefore, office: office, scopes: scopes) { key in
            lookup.clear()
            lookup.bind(1, key.table)
            lookup.bind(2, key.id)
            guard try lookup.step() else { return PushPlan.Stored(existed: false, scope: nil) }
            defer { lookup.reset() }
            return PushPlan.Stored(existed: true, scope: RecordScope(encoded: lookup.text(0)))
        }
        try plan.checkJurisdiction(of: caller.office)
        for counter in try plan.checkSequence(holds: holds, refusedBefore: refusedBefore) {
            try db.execute(
                sql: "DELETE FROM refused_dots WHERE replica = ? AND counter = ?", arguments: [caller.replica.rawValue, Int64(counter)])
        }
        // Where every touched record now belongs, stored with its merge state: only
        // records this batch changed, and only when their scope is new or moved.
        let rescoped = plan.rescoped(scopes: scopes)
        var stored: [RecordKey: StateScope] = [:]
        for record in rescoped { stored[record.key] = StateScope(scope: record.scope.encoded, parent: record.parent) }
        let bookkeeping = StateScopes(stored)
        // Only changes of records with a scope are listed (the district reads the log).
        bookkeeping.notesLogged = plan.listsAny
        bookkeeping.observed = views.tables
        let summary = try self.store.apply(changes, bodies: bodies, in: db, now: now, scopes: bookkeeping)
        // The read model follows the merge in the same transaction: only the columns of
        // fields the batch wrote, of the records it touched.
        if !bookkeeping.merged.isEmpty {
            let lookup = { (dot: Dot) throws -> Change? in try self.store.change(dot, in: db) }
            let upserts = try views.upserts(
                changes: bookkeeping.applied, merged: bookkeeping.merged, isNew: { !plan.existed($0) }, lookup: lookup)
            // A record held before whose row a view lacks (written by a server that kept no
            // views) gets all of its columns, like a new one.
            let rowless = try Self.write(upserts, now: now, in: db, existing: { plan.existed(RecordKey(table: $0, id: $1)) })
            if !rowless.isEmpty {
                let full = try views.upserts(
                    changes: bookkeeping.applied, merged: bookkeeping.merged.filter { rowless.contains($0.key) }, isNew: { _ in true },
                    lookup: lookup)
                _ = try Self.write(full, now: now, in: db)
            }
        }
        // A record the batch changed always has its merge state written above; this is
        // for safety only (a scope is never dropped).
        for (key, scope) in bookkeeping.byRecord {
            try db.cachedStatement(
                sql: "UPDATE merge_state SET scope = ?, parent = coalesce(parent, ?) WHERE tbl = ? AND record_id = ?"
            ).execute(arguments: [scope.scope, scope.parent, key.table, key.id])
        }
        // A record's children follow it; its move is recorded for pulls (§9.6).
        let moved = rescoped.filter(\.moved)
        if !moved.isEmpty {
            let parents = try Self.officeParents(in: db)
            for record in moved {
                for child in scopes.children(of: record.key.table) {
                    try db.cachedStatement(sql: "UPDATE merge_state SET scope = ? WHERE parent = ? AND tbl = ?")
                        .execute(arguments: [record.scope.encoded, record.key.id, child])
                }
                try db.cachedStatement(sql: "INSERT INTO scope_moves (tbl, record_id, old_scope, new_scope) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [
                        record.key.table, record.key.id, PlacedScope(record.was ?? RecordScope([])) { parents[$0] }.encoded,
                        PlacedScope(record.scope) { parents[$0] }.encoded,
                    ])
            }
        }
        // Each change just logged, listed under the offices its record's scope names
        // (§9.5), as runs: a pull reads only its caller's listings, and a batch of one
        // office's records is one row, not one per change.
        for run in plan.listing(bookkeeping.logged) {
            try db.cachedStatement(sql: "INSERT INTO scope_log (office, first, last) VALUES (?, ?, ?)")
                .execute(arguments: [run.office, run.first, run.last])
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
