import CSQLite
import GRDB
public import SyncCore
import SyncProtocol

/// The replica's enrolment with a server and its sync position (`Protocol/PROTOCOL.md` §9).
public struct SyncState: Hashable, Sendable {
    /// The server's base URL, once enrolled.
    public var server: String?
    /// The replica credential the server issued (a secret: never print it).
    public var credential: String?
    public var officeName: String?
    public var officeLevel: String?
    public var enrolledAt: Int64?
    /// The highest own counter the server acknowledged.
    public var acked: UInt64
    /// The opaque position after the last page pulled and applied.
    public var cursor: String
    /// When the last sync completed (ms since the epoch).
    public var lastSyncAt: Int64?
    /// PEM certificates trusted for the server's https (nil: the system's roots).
    public var caCertificates: String?
    /// Whether plain http to a host other than this machine is allowed.
    public var insecure: Bool = false
    /// When this machine noticed that the file is an older copy of itself (§9.8).
    public var restoredAt: Int64?
    /// The fresh replica id of a recovery in progress (§9.8).
    public var successor: ReplicaID?

    /// Whether the replica has a server to sync with.
    public var isEnrolled: Bool { server != nil && credential != nil }
}

extension ReplicaStore {
    /// The enrolment and sync position.
    public func syncState() throws(ReplicaStoreError) -> SyncState {
        try read("cannot read the sync state") { db in try self.syncState(in: db) }
    }

    func syncState(in db: Database) throws -> SyncState {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM sync_state WHERE singleton = 1")) else {
            throw ReplicaStoreError.corrupt("sync_state")
        }
        let acked: Int64 = row["acked"]
        let insecure: Int64 = row["insecure"]
        return SyncState(
            server: row["server"], credential: row["credential"], officeName: row["office_name"], officeLevel: row["office_level"],
            enrolledAt: row["enrolled_at"], acked: UInt64(max(acked, 0)), cursor: row["cursor"], lastSyncAt: row["last_sync_at"],
            caCertificates: row["ca_certificates"], insecure: insecure != 0, restoredAt: row["restored_at"],
            successor: (row["successor"] as String?).map(ReplicaID.init))
    }

    /// Records an enrolment: the server and the credential it issued for this replica.
    public func saveEnrolment(
        server: String, credential: String, officeName: String, officeLevel: String, caCertificates: String? = nil,
        insecure: Bool = false, now: Int64 = ReplicaStore.nowMillis()
    ) throws(ReplicaStoreError) {
        try write("cannot save the enrolment") { db in
            try db.execute(
                sql: """
                    UPDATE sync_state SET server = ?, credential = ?, office_name = ?, office_level = ?, enrolled_at = ?,
                        ca_certificates = ?, insecure = ?
                    WHERE singleton = 1
                    """, arguments: [server, credential, officeName, officeLevel, now, caCertificates, insecure ? 1 : 0])
        }
    }

    /// Replaces the credential after a rotation (`rain rekey`).
    public func saveCredential(_ credential: String) throws(ReplicaStoreError) {
        try write("cannot save the credential") { db in
            try db.execute(sql: "UPDATE sync_state SET credential = ? WHERE singleton = 1", arguments: [credential])
        }
    }

    /// The highest counter this replica has written (0 before its first change).
    public func highestOwnCounter() throws(ReplicaStoreError) -> UInt64 {
        try read("cannot read the change log") { db in try self.highestOwnCounter(in: db) }
    }

    /// This replica's own changes with counters above `counter`, in counter order, in
    /// their canonical encoding: at most `limit` changes and about `maximumBytes`
    /// (always at least one).
    public func ownChanges(after counter: UInt64, limit: Int, maximumBytes: Int) throws(ReplicaStoreError) -> [(
        counter: UInt64, body: [UInt8]
    )] {
        try read("cannot read the change log") { db in
            // Withheld changes (refused as outside the office's jurisdiction) are never sent again.
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT counter, body FROM changes
                        WHERE replica = ? AND counter > ? AND counter NOT IN (SELECT counter FROM withheld)
                        ORDER BY counter LIMIT ?
                        """),
                arguments: [self.identity.replica.rawValue, Int64(counter), min(limit, Int(Int32.max))])
            var result: [(counter: UInt64, body: [UInt8])] = []
            var bytes = 0
            while let row = try rows.next() {
                let body: String = row["body"]
                if !result.isEmpty, bytes + body.utf8.count > maximumBytes { break }
                bytes += body.utf8.count + 1
                let own: Int64 = row["counter"]
                result.append((UInt64(own), Array(body.utf8)))
            }
            return result
        }
    }

    /// Notes own changes the server refused as outside this office's jurisdiction.
    public func withhold(_ refused: [(table: String, record: String, counter: UInt64)], now: Int64 = ReplicaStore.nowMillis())
        throws(ReplicaStoreError)
    {
        try write("cannot record the refused changes") { db in
            for change in refused {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO withheld (counter, tbl, record_id, refused_at) VALUES (?, ?, ?, ?)",
                    arguments: [Int64(change.counter), change.table, change.record, now])
            }
        }
    }

    /// Own changes the server refused, each with what a person knows its record by (a
    /// case's number; its projection's ``RecordProjection/label(of:in:)``).
    public func withheldChanges() throws(ReplicaStoreError) -> [(counter: UInt64, table: String, record: String, number: String?)] {
        try read("cannot read the refused changes") { db in
            try Row.fetchAll(db, sql: "SELECT counter, tbl, record_id FROM withheld ORDER BY counter").map { row in
                let counter: Int64 = row["counter"]
                let key = RecordKey(table: row["tbl"], id: row["record_id"])
                return (UInt64(counter), key.table, key.id, try self.projections.owner(of: key.table)?.label(of: key, in: db))
            }
        }
    }

    /// Notes that the server holds every own change up to `counter`.
    public func acknowledge(upTo counter: UInt64) throws(ReplicaStoreError) {
        try write("cannot save the sync position") { db in
            try db.execute(sql: "UPDATE sync_state SET acked = max(acked, ?) WHERE singleton = 1", arguments: [Int64(counter)])
        }
    }

    /// Applies a pulled page and stores its cursor and the writers' offices in one
    /// transaction, so that an interrupted sync resumes exactly after the last page
    /// applied.
    ///
    /// `bodies`, when given, are the changes' canonical encodings (one per change), made
    /// beforehand — while the previous page was applied — so that the transaction only
    /// writes them.
    @discardableResult
    public func applyPulled(
        _ changes: [Change], bodies: [[UInt8]]? = nil, cursor: String, offices: [ReplicaID: String], purge: [RecordKey] = [],
        now: Int64 = ReplicaStore.nowMillis()
    ) throws(ReplicaStoreError) -> ApplySummary {
        if let bodies { precondition(bodies.count == changes.count, "applyPulled: one body per change") }
        return try write("cannot apply the pulled changes") { db in
            for key in purge { try self.purge(key, in: db, now: now) }
            let summary = try self.apply(changes, bodies: bodies, in: db, now: now)
            try db.execute(sql: "UPDATE sync_state SET cursor = ? WHERE singleton = 1", arguments: [cursor])
            for (replica, office) in offices {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO replica_offices (replica, office) VALUES (?, ?)").execute(
                    arguments: [replica.rawValue, office])
            }
            return summary
        }
    }

    /// Removes a record that left this office's jurisdiction (§9.6), with its dependents
    /// (a case's events): their changes (but own ones the server has not acknowledged) and
    /// merge state here, their rows through their projection. A record of a kind this
    /// store has no projection for is not purged (it has no rows to show, and its merge
    /// state stays until a later release knows the kind).
    func purge(_ record: RecordKey, in db: Database, now: Int64) throws {
        guard let projection = projections.owner(of: record.table) else { return }
        let acked = try syncState(in: db).acked
        for key in [record] + (try projection.dependents(of: record, in: db)) {
            // Own changes the server has not acknowledged stay, still listed as the record's
            // (an empty merge state with their arrivals), to be pushed.
            var kept: [Int64] = []
            for arrived in try loadState(key, in: db)?.arrivals ?? [] {
                guard
                    let row = try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT replica, counter FROM changes WHERE arrived = ?"), arguments: [arrived])
                else { continue }
                let counter: Int64 = row["counter"]
                if row["replica"] == identity.replica.rawValue, counter > Int64(acked) {
                    kept.append(arrived)
                } else {
                    try db.execute(sql: "DELETE FROM changes WHERE arrived = ?", arguments: [arrived])
                }
            }
            if kept.isEmpty {
                try db.execute(sql: "DELETE FROM merge_state WHERE tbl = ? AND record_id = ?", arguments: [key.table, key.id])
            } else {
                try saveRecord(SyncCore.Record(), key: key, arrivals: kept, in: db)
            }
        }
        try projection.purgeRows(of: record, now: now, in: db)
        // A count, not a flag: a scrub clears only the purges it saw (another process may
        // purge while it runs).
        try db.execute(sql: "UPDATE sync_state SET scrub_due = scrub_due + 1 WHERE singleton = 1")
    }

    /// Whether a purge has happened since its leftovers were last scrubbed.
    public func scrubDue() throws(ReplicaStoreError) -> Bool {
        try purgesSinceScrub() > 0
    }

    private func purgesSinceScrub() throws(ReplicaStoreError) -> Int64 {
        try read("cannot read the sync state") { db in
            try Int64.fetchOne(db, sql: "SELECT scrub_due FROM sync_state WHERE singleton = 1") ?? 0
        }
    }

    /// Removes every copy of purged residents' data that a purge's transaction could not
    /// (§9.6): each projection scrubs its own (a full-text index's segments are merged into
    /// one, dropping what deletions only marked; `secure_delete` zeroes the freed pages),
    /// and the write-ahead log is
    /// checkpointed into the file and truncated to nothing, taking the older frames with
    /// it. Nothing to do unless a purge happened since the last scrub; `rain sync` runs it
    /// at its end and ``close()`` when an interrupted sync left it due.
    ///
    /// - Parameter waiting: whether to wait (the busy timeout) for another process that
    ///   holds the file; without, a busy file fails at once and the scrub stays due.
    /// - Complexity: rewrites the whole full-text index (a second or two for 10,000 cases
    ///   on this machine kind); purges are rare and scrubbed once per sync.
    /// - Throws: ``ReplicaStoreError/database(_:_:)``, also when another process holds the
    ///   file open so that its log cannot be truncated (the scrub stays due).
    public func scrubPurged(waiting: Bool = true) throws(ReplicaStoreError) {
        let seen = try purgesSinceScrub()
        guard seen > 0 else { return }
        do {
            try queue.writeWithoutTransaction { db in
                if !waiting { sqlite3_busy_timeout(db.sqliteConnection, 0) }
                defer { if !waiting { sqlite3_busy_timeout(db.sqliteConnection, Self.busyTimeoutMilliseconds) } }
                try db.inTransaction {
                    for projection in self.projections.all { try projection.scrub(in: db) }
                    return .commit
                }
                // SQLITE_BUSY (thrown) when another connection reads or writes meanwhile.
                _ = try db.checkpoint(.truncate)
                try db.execute(sql: "UPDATE sync_state SET scrub_due = 0 WHERE singleton = 1 AND scrub_due = ?", arguments: [seen])
                // That write is in the log again: truncate once more (nothing of a
                // resident's in it, but a clean file is what the scrub promises).
                _ = try db.checkpoint(.truncate)
            }
        } catch {
            throw .database("cannot scrub what the purged records left", ReplicaStore.describe(error))
        }
    }

    /// Notes a completed sync.
    public func finishSync(at now: Int64 = ReplicaStore.nowMillis()) throws(ReplicaStoreError) {
        try write("cannot save the sync time") { db in
            try db.execute(sql: "UPDATE sync_state SET last_sync_at = ? WHERE singleton = 1", arguments: [now])
        }
    }

    /// The office of each replica the server named (this replica's own included).
    public func replicaOffices() throws(ReplicaStoreError) -> [ReplicaID: String] {
        try read("cannot read the replicas' offices") { db in
            var offices: [ReplicaID: String] = [self.identity.replica: self.identity.office]
            for row in try Row.fetchAll(db, sql: "SELECT replica, office FROM replica_offices") {
                offices[ReplicaID(row["replica"])] = row["office"]
            }
            return offices
        }
    }

    /// Own changes the server has not acknowledged yet.
    public func unsyncedCount() throws(ReplicaStoreError) -> Int {
        try read("cannot read the change log") { db in
            let acked = try self.syncState(in: db).acked
            return try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT count(*) FROM changes WHERE replica = ? AND counter > ? AND counter NOT IN (SELECT counter FROM withheld)"),
                arguments: [self.identity.replica.rawValue, Int64(acked)]) ?? 0
        }
    }
}

extension ReplicaStore {
    /// The level of this replica's office as the server told it at enrolment (`district`,
    /// `street`, `community`, `department`); nil before enrolment.
    public func officeLevel() throws -> String? {
        try syncState().officeLevel
    }

    /// Whether this replica speaks for the whole district (or was never enrolled).
    package func actsForDistrict() throws -> Bool {
        let level = try officeLevel()
        return level == nil || level == "district"
    }
}
