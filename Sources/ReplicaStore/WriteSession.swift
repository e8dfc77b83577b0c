package import GRDB
package import SyncCore
import SyncProtocol

/// The writes of one transaction. Each record is loaded once, merged in memory by
/// `SyncCore` as its changes arrive, and stored and rematerialised once in
/// ``finish()``; the change log row of every change is written at once (chains may
/// need to look changes up). Counter, clock and arrival order are kept in memory and
/// saved at the end.
package final class WriteSession {
    let store: ReplicaStore
    let db: Database
    // One slot per touched record, found with one hash of its key per change, and a
    // class so that the record is merged in place: a copy taken out of a dictionary and
    // stored back made every change copy the record's register arrays.
    private final class Slot {
        let key: RecordKey
        var record: SyncCore.Record?
        // The record's changes by arrival, as stored, then the new ones.
        var arrivals: [Int64]
        var touched = false

        init(key: RecordKey, record: SyncCore.Record?, arrivals: [Int64]) {
            self.key = key
            self.record = record
            self.arrivals = arrivals
        }
    }
    private var slots: [RecordKey: Slot] = [:]
    // The touched records, in the order first touched.
    private var order: [Slot] = []
    /// Scopes to store with the records' merge state (the central server's); each one
    /// stored is removed.
    var scopes: StateScopes?
    private var arrived: Int64?
    private var counter: UInt64?
    private var clock: HybridLogicalClock?

    package init(store: ReplicaStore, db: Database) {
        self.store = store
        self.db = db
    }

    // The statements every change or record goes through, looked up once a session.
    private var statements: [FastStatement?] = [nil, nil, nil, nil]
    private func statement(_ slot: Int, _ sql: String) throws -> FastStatement {
        if let kept = statements[slot] { return kept }
        let made = try FastStatement(sql, in: db)
        statements[slot] = made
        return made
    }
    // What the projections keep for the rest of the transaction.
    private lazy var projectionContext = ProjectionContext(db: db, schema: store.schema)
    private static let insertChangeSQL = "INSERT INTO changes (arrived, replica, counter, tbl, record_id, body) VALUES (?, ?, ?, ?, ?, ?)"

    /// The record as this transaction sees it (read from the file at most once).
    func record(_ key: RecordKey) throws -> SyncCore.Record? {
        try slot(key).record
    }

    private func slot(_ key: RecordKey) throws -> Slot {
        if let slot = slots[key] { return slot }
        let state = try store.loadState(key, in: db, using: statement(0, ReplicaStore.loadStateSQL))
        let slot = Slot(key: key, record: state?.record, arrivals: state?.arrivals ?? [])
        slots[key] = slot
        return slot
    }

    /// Makes `record` the state of `key` for this transaction, whatever the file holds
    /// (a record rebuilt from its remaining changes, `arrivals` theirs).
    func seed(_ key: RecordKey, _ record: SyncCore.Record?, arrivals kept: [Int64]) {
        if let slot = slots[key], slot.touched {
            slot.record = record
            slot.arrivals = kept
            slot.touched = false
            order.removeAll { $0 === slot }
        } else {
            slots[key] = Slot(key: key, record: record, arrivals: kept)
        }
    }

    private func nextCounter() throws -> UInt64 {
        let next = (try counter ?? store.highestOwnCounter(in: db)) + 1
        counter = next
        return next
    }

    private func tick(now: Int64) throws -> HLC {
        var current = try clock ?? store.loadClock(in: db)
        let hlc = current.tick(physical: UInt64(max(now, 0)))
        clock = current
        return hlc
    }

    /// Notes a peer's timestamp (`Protocol/PROTOCOL.md` §4.3).
    func observe(_ hlc: HLC, now: Int64) throws {
        var current = try clock ?? store.loadClock(in: db)
        _ = current.observe(hlc, physical: UInt64(max(now, 0)))
        clock = current
    }

    /// A local write of `fields` to `key` (`Protocol/PROTOCOL.md` §3.3).
    package func local(_ fields: [String: Value], to key: RecordKey, now: Int64) throws -> Change {
        let change = try LocalWrite.change(
            fields, to: key, current: try record(key), schema: store.schema, by: store.identity.replica,
            counter: try nextCounter(), author: store.identity.staff, at: try tick(now: now))
        try insert(change)
        return change
    }

    /// A local resolution of a conflict (`Protocol/PROTOCOL.md` §5.5).
    func resolution(_ field: String, of key: RecordKey, with resolution: Resolution, now: Int64) throws -> Change {
        let change = try LocalWrite.resolution(
            field, of: key, current: try record(key), with: resolution, schema: store.schema, by: store.identity.replica,
            counter: try nextCounter(), author: store.identity.staff, at: try tick(now: now))
        try insert(change)
        return change
    }

    /// Logs a new change and merges it into its record (in memory until ``finish()``).
    func insert(_ change: Change, body: [UInt8]? = nil) throws {
        let next = (try arrived ?? Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(arrived), 0) FROM changes")) ?? 0) + 1
        arrived = next
        let insert = try statement(1, Self.insertChangeSQL)
        insert.clear()
        insert.bind(1, next)
        insert.bind(2, change.dot.replica.rawValue)
        insert.bind(3, Int64(change.dot.counter))
        insert.bind(4, change.record.table)
        insert.bind(5, change.record.id)
        try insert.run(bindingText: body ?? ChangeV1.encode(change), at: 6)
        let key = change.record
        if let scopes, scopes.notesLogged { scopes.logged.append((next, key)) }
        let slot = try slot(key)
        slot.arrivals.append(next)
        if slot.record == nil { slot.record = SyncCore.Record() }
        var lookupError: (any Error)?
        // In place: the slot holds the only reference to the record's arrays.
        slot.record!.apply(change, rules: store.schema.table(key.table)) { dot in
            do { return try self.store.change(dot, in: self.db) } catch {
                lookupError = error
                return nil
            }
        }
        if let lookupError { throw lookupError }
        if !slot.touched {
            slot.touched = true
            order.append(slot)
        }
    }

    /// Stores every touched record and its row, and the clock.
    package func finish() throws {
        for slot in order {
            guard let record = slot.record else { continue }
            let key = slot.key
            if let scope = scopes?.byRecord.removeValue(forKey: key) {
                try store.saveRecord(
                    record, key: key, arrivals: slot.arrivals, in: db, using: statement(3, ReplicaStore.saveStateWithScopeSQL), scope: scope
                )
            } else {
                try store.saveRecord(record, key: key, arrivals: slot.arrivals, in: db, using: statement(2, ReplicaStore.saveStateSQL))
            }
            if let scopes, scopes.observed.contains(key.table) { scopes.merged[key] = record }
            if store.materializes, let projection = store.projections.owner(of: key.table) {
                try projection.materialize(record, key: key, in: projectionContext)
            }
        }
        if let clock { try store.saveClock(clock, in: db) }
        Failpoint.hit("before-commit")
    }
}
