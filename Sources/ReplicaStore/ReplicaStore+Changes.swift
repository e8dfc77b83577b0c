import Foundation
package import GRDB
public import SyncCore
import SyncProtocol

extension ReplicaStore {
    // MARK: Local writes

    /// Writes `fields` of `record` as a new local change and applies it — change,
    /// field versions and materialised row in one transaction.
    ///
    /// - Throws: ``ReplicaStoreError/sync(_:)`` when the core refuses the write.
    @discardableResult
    public func write(_ fields: [String: Value], to record: RecordKey, now: Int64 = ReplicaStore.nowMillis()) throws(ReplicaStoreError)
        -> Change
    {
        try write("cannot write the change") { db in
            let session = WriteSession(store: self, db: db)
            let change = try session.local(fields, to: record, now: now)
            try session.finish()
            return change
        }
    }

    /// Several local writes in one transaction (e.g. a day's import); each becomes its
    /// own change, in order. Each record is loaded, stored and rematerialised once.
    @discardableResult
    public func write(batch writes: [(fields: [String: Value], record: RecordKey)], now: Int64 = ReplicaStore.nowMillis())
        throws(ReplicaStoreError)
        -> [Change]
    {
        try write("cannot write the changes") { db in
            let session = WriteSession(store: self, db: db)
            let changes = try writes.map { try session.local($0.fields, to: $0.record, now: now) }
            try session.finish()
            return changes
        }
    }

    /// Settles `field` of `record` (`Protocol/PROTOCOL.md` §5.5) with a local change.
    @discardableResult
    public func resolve(
        _ field: String,
        of record: RecordKey,
        with resolution: Resolution,
        now: Int64 = ReplicaStore.nowMillis()
    ) throws(ReplicaStoreError) -> Change {
        try write("cannot resolve the conflict") { db in
            let session = WriteSession(store: self, db: db)
            let change = try session.resolution(field, of: record, with: resolution, now: now)
            try session.finish()
            return change
        }
    }

    func highestOwnCounter(in db: Database) throws -> UInt64 {
        // A purge (§9.6) may delete own changes the server acknowledged: `acked` keeps the
        // counter from ever going back, so a dot is never reused.
        UInt64(
            try Int64.fetchOne(
                db.cachedStatement(
                    sql: "SELECT max(coalesce((SELECT max(counter) FROM changes WHERE replica = ?), 0), (SELECT acked FROM sync_state))"),
                arguments: [identity.replica.rawValue]) ?? 0)
    }

    func loadClock(in db: Database) throws -> HybridLogicalClock {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT hlc_wall, hlc_logical FROM replica WHERE singleton = 1"))
        let wall: Int64 = row?["hlc_wall"] ?? 0
        let logical: Int64 = row?["hlc_logical"] ?? 0
        return HybridLogicalClock(last: HLC(wall: UInt64(max(wall, 0)), logical: UInt32(clamping: logical)))
    }

    func saveClock(_ clock: HybridLogicalClock, in db: Database) throws {
        try db.cachedStatement(sql: "UPDATE replica SET hlc_wall = ?, hlc_logical = ? WHERE singleton = 1").execute(
            arguments: [Int64(clock.last.wall), Int64(clock.last.logical)])
    }

    // MARK: Remote changes

    /// Applies a batch of changes from elsewhere in one transaction: all or nothing,
    /// idempotent by dot (`Protocol/PROTOCOL.md` §3.1, §3.5).
    ///
    /// - Throws: ``ReplicaStoreError/sync(_:)`` naming the first refused change; nothing
    ///   of the batch is written then.
    @discardableResult
    public func apply(batch changes: [Change], now: Int64 = ReplicaStore.nowMillis()) throws(ReplicaStoreError) -> ApplySummary {
        try write("cannot apply the changes") { db in try self.apply(changes, in: db, now: now) }
    }

    /// Applies `changes` inside the caller's transaction (see ``apply(batch:now:)``): the
    /// one entry point of every merge — a push on the server, a pulled page, a batch.
    ///
    /// - Parameters:
    ///   - bodies: each change's canonical encoding made beforehand (`bodies[i]` is
    ///     `ChangeV1.encode(changes[i])`), so that the transaction only writes it.
    ///   - scopes: scopes to store in the merge-state rows of the records written (the
    ///     central server's columns); each one stored is removed, so that what is left
    ///     belongs to records the batch did not write.
    package func apply(
        _ changes: [Change], bodies: [[UInt8]]? = nil, in db: Database, now: Int64, scopes: StateScopes? = nil
    ) throws -> ApplySummary {
        var summary = ApplySummary()
        var fresh: [(change: Change, body: [UInt8]?)] = []
        fresh.reserveCapacity(changes.count)
        // Per writer: the highest counter held before the batch, and the highest fresh in
        // it so far. A counter above both is new — no lookup, no hashing of the change;
        // only the rare change at or below them is compared with what is held or came
        // earlier in the batch.
        // The writer of the change before is kept apart, so that a run of one writer's
        // changes (the usual batch) hashes nothing.
        var writers: [ReplicaID: (held: UInt64, fresh: UInt64)] = [:]
        var current: (replica: ReplicaID, held: UInt64, fresh: UInt64)?
        for (position, change) in changes.enumerated() {
            try change.validate(against: self.schema)
            let replica = change.dot.replica
            if current?.replica != replica {
                if let current { writers[current.replica] = (current.held, current.fresh) }
                let known =
                    try writers[replica]
                    ?? (
                        held: UInt64(
                            max(
                                try Int64.fetchOne(
                                    db.cachedStatement(sql: "SELECT max(counter) FROM changes WHERE replica = ?"),
                                    arguments: [replica.rawValue]) ?? 0, 0)), fresh: 0
                    )
                current = (replica, known.held, known.fresh)
            }
            guard let writer = current else { continue }
            if change.dot.counter > writer.held, change.dot.counter > writer.fresh {
                current?.fresh = change.dot.counter
                fresh.append((change, bodies?[position]))
                continue
            }
            // At or below what is held or came earlier: compared with the batch so far (a
            // counter refused before and sent twice is below what is held, not stored).
            if let earlier = fresh.first(where: { $0.change.dot == change.dot })?.change {
                if earlier != change { throw SyncCoreError.conflictingDuplicate(change.dot) }
                summary.duplicates += 1
                continue
            }
            if change.dot.counter <= writer.held, let held = try self.change(change.dot, in: db) {
                if held != change { throw SyncCoreError.conflictingDuplicate(change.dot) }
                summary.duplicates += 1
                continue
            }
            fresh.append((change, bodies?[position]))
        }
        let session = WriteSession(store: self, db: db)
        session.scopes = scopes
        if let scopes, !scopes.observed.isEmpty {
            scopes.applied = fresh.lazy.map(\.change).filter { scopes.observed.contains($0.record.table) }
        }
        for (change, body) in fresh {
            try session.insert(change, body: body)
            // Remote clocks inform ours, within the drift bound (§4.3).
            try session.observe(change.hlc, now: now)
        }
        try session.finish()
        summary.applied = fresh.count
        return summary
    }

    // MARK: Reading merge state

    /// The change with this dot, if held.
    public func change(_ dot: Dot) throws(ReplicaStoreError) -> Change? {
        try read("cannot read the change log") { db in try self.change(dot, in: db) }
    }

    package func change(_ dot: Dot, in db: Database) throws -> Change? {
        guard
            let body = try String.fetchOne(
                db.cachedStatement(sql: "SELECT body FROM changes WHERE replica = ? AND counter = ?"),
                arguments: [dot.replica.rawValue, Int64(dot.counter)])
        else { return nil }
        return try decodeStoredChange(body, place: "changes \(dot)")
    }

    func decodeStoredChange(_ body: String, place: String) throws -> Change {
        do {
            return try ChangeV1.decode(try JSONParser.parse(Array(body.utf8)), at: "", schema: schema)
        } catch {
            throw ReplicaStoreError.corrupt(place)
        }
    }

    /// Every change of `record`, in arrival order.
    public func history(of record: RecordKey) throws(ReplicaStoreError) -> [Change] {
        try read("cannot read the change log") { db in try self.history(of: record, in: db) }
    }

    func history(of record: RecordKey, in db: Database) throws -> [Change] {
        try storedHistory(of: record, in: db).map(\.change)
    }

    /// The record's changes held, in arrival order, with their `arrived`. The merge state
    /// lists them (the log has no index by record); a change deleted since (a re-issue,
    /// a purge) is skipped.
    func storedHistory(of record: RecordKey, in db: Database) throws -> [(arrived: Int64, change: Change)] {
        guard let state = try loadState(record, in: db) else { return [] }
        var changes: [(arrived: Int64, change: Change)] = []
        changes.reserveCapacity(state.arrivals.count)
        for arrived in state.arrivals {
            guard
                let body = try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM changes WHERE arrived = ?"), arguments: [arrived])
            else { continue }
            changes.append((arrived, try decodeStoredChange(body, place: "changes of \(record)")))
        }
        return changes
    }

    /// The number of changes held.
    public func changeCount() throws(ReplicaStoreError) -> Int {
        try read("cannot read the change log") { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM changes")) ?? 0 }
    }

    /// The record's merge state, if any change to it is held.
    public func record(_ key: RecordKey) throws(ReplicaStoreError) -> SyncCore.Record? {
        try read("cannot read the record") { db in try self.loadRecord(key, in: db) }
    }

    func loadRecord(_ key: RecordKey, in db: Database) throws -> SyncCore.Record? {
        try loadState(key, in: db, values: true)?.record
    }

    /// The record's merge state (nil when no field is held: never written, or purged with
    /// only unacknowledged own changes kept) and its changes by arrival; nil with no row.
    /// Without `values`, a state stored without them (``keepsValues``) has `.null` values:
    /// enough to merge into.
    func loadState(_ key: RecordKey, in db: Database, using kept: FastStatement? = nil, values: Bool = false) throws -> (
        record: SyncCore.Record?, arrivals: [Int64]
    )? {
        let select = try kept ?? FastStatement(Self.loadStateSQL, in: db)
        select.clear()
        select.bind(1, key.table)
        select.bind(2, key.id)
        guard try select.step() else { return nil }
        let state = select.bytes(0)
        select.reset()
        let decoded = try values ? decodeState(state, of: key, in: db) : Self.decodeState(state, of: key)
        return (decoded.record.fieldNames.isEmpty ? nil : decoded.record, decoded.arrivals)
    }

    /// A stored `merge_state.state`, or a corrupt-file error naming the record. A state
    /// stored without values (``keepsValues``) has `.null` values.
    static func decodeState(_ bytes: [UInt8], of key: RecordKey) throws -> (record: SyncCore.Record, arrivals: [Int64]) {
        guard let decoded = MergeStateCodec.decode(bytes) else { throw ReplicaStoreError.corrupt("merge_state of \(key)") }
        return decoded
    }

    /// A stored `merge_state.state` with every value, those of a state stored without
    /// them read from the changes their dots name.
    package func decodeState(_ bytes: [UInt8], of key: RecordKey, in db: Database) throws -> (record: SyncCore.Record, arrivals: [Int64]) {
        var changes: [Dot: Change] = [:]
        let decoded = try MergeStateCodec.decode(bytes) { dot, field in
            if let known = changes[dot] { return known.fields[field] }
            guard let change = try self.change(dot, in: db) else {
                throw ReplicaStoreError.corrupt("merge_state of \(key): no change \(dot)")
            }
            changes[dot] = change
            return change.fields[field]
        }
        guard let decoded else { throw ReplicaStoreError.corrupt("merge_state of \(key)") }
        return decoded
    }

    static let loadStateSQL = "SELECT state FROM merge_state WHERE tbl = ? AND record_id = ?"
    /// ``saveStateSQL`` with the central server's scope columns (`central-v7-scopes-by-kind`);
    /// a record keeps the parent it was first given.
    static let saveStateWithScopeSQL = """
        INSERT INTO merge_state (tbl, record_id, state, conflicts, scope, parent) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (tbl, record_id) DO UPDATE SET state = excluded.state, conflicts = excluded.conflicts,
            scope = excluded.scope, parent = coalesce(merge_state.parent, excluded.parent)
        """
    static let saveStateSQL = """
        INSERT INTO merge_state (tbl, record_id, state, conflicts) VALUES (?, ?, ?, ?)
        ON CONFLICT (tbl, record_id) DO UPDATE SET state = excluded.state, conflicts = excluded.conflicts
        """

    /// The `changes.arrived` of the record's changes, ascending (some may have been
    /// deleted since: a caller skips those).
    package func arrivals(of key: RecordKey, in db: Database) throws -> [Int64] {
        try loadState(key, in: db)?.arrivals ?? []
    }

    func saveRecord(
        _ record: SyncCore.Record, key: RecordKey, arrivals: [Int64], in db: Database, using kept: FastStatement? = nil,
        scope: StateScope? = nil
    ) throws {
        var conflicts = 0
        let state = MergeStateCodec.encode(record, arrivals: arrivals, conflicts: &conflicts, values: keepsValues) { name in
            schema.rule(table: key.table, field: name).listsConflicts
        }
        let upsert = try kept ?? FastStatement(Self.saveStateSQL, in: db)
        upsert.clear()
        upsert.bind(1, key.table)
        upsert.bind(2, key.id)
        upsert.bind(3, blob: state)
        upsert.bind(4, Int64(conflicts))
        if let scope {
            upsert.bind(5, scope.scope)
            upsert.bind(6, scope.parent)
        }
        try upsert.run()
    }

    /// The merge state of every record as JSON text, one line per record (`table/id: {…}`),
    /// for tests and inspection: the stored form is binary. Values left out of a stored
    /// state (``keepsValues``) show as null.
    package static func mergeStateText(at path: String) throws -> String {
        try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT tbl, record_id, state FROM merge_state ORDER BY tbl, record_id").map { row in
                let key = RecordKey(table: row["tbl"], id: row["record_id"])
                let state: Data = row["state"]
                return "\(key): " + StoredForms.encode(fields: try decodeState(Array(state), of: key).record)
            }.joined(separator: "\n")
        }
    }

    /// Every field in conflict, sorted by record then field.
    public func conflicts() throws(ReplicaStoreError) -> [Conflict] {
        try read("cannot read the conflicts") { db in
            var result: [Conflict] = []
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT tbl, record_id, state FROM merge_state WHERE conflicts > 0 ORDER BY tbl, record_id"))
            for row in rows {
                let key = RecordKey(table: row["tbl"], id: row["record_id"])
                let state: Data = row["state"]
                let registers = try self.decodeState(Array(state), of: key, in: db).record.fields
                for (field, register) in registers.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
                where register.isConflicted {
                    let rule = self.schema.rule(table: key.table, field: field)
                    guard rule.listsConflicts, let winner = register.winner(under: rule) else { continue }
                    result.append(Conflict(record: key, field: field, rule: rule, siblings: register.siblings, winner: winner))
                }
            }
            return result.sorted { $0.record != $1.record ? $0.record < $1.record : $0.field.utf8.lexicographicallyPrecedes($1.field.utf8) }
        }
    }

}

/// Where a record belongs, kept by the central server in its merge-state row: its scope
/// in stored form (the server's `RecordScope.encoded`) and, for a child record, its
/// parent's id. The store only writes them: it knows no kind's scope.
package struct StateScope: Sendable, Equatable {
    package var scope: String?
    package var parent: String?

    package init(scope: String?, parent: String?) {
        self.scope = scope
        self.parent = parent
    }
}

/// The scopes a merge stores, by record (each stored one is removed), and what it
/// logged: the central server lists each logged change under the offices that may read
/// it without reading the log back.
package final class StateScopes {
    package var byRecord: [RecordKey: StateScope]
    /// Whether to note what the merge logs (``logged``).
    package var notesLogged = false
    /// Each change the merge logged, in arrival order (when ``notesLogged``).
    package var logged: [(arrived: Int64, record: RecordKey)] = []
    /// Tables whose merged records the caller reads back (the server's views).
    package var observed: Set<String> = []
    /// The new changes of observed tables, and each touched record of them after the merge.
    package var applied: [Change] = []
    package var merged: [RecordKey: SyncCore.Record] = [:]

    package init(_ byRecord: [RecordKey: StateScope]) {
        self.byRecord = byRecord
    }
}
