import Foundation
import GRDB
public import SyncCore
import SyncProtocol

/// What a recovery of a restored file did (`Protocol/PROTOCOL.md` §9.8).
public struct RecoveryResult: Hashable, Sendable {
    /// The identity the file had, and the fresh one it has now.
    public var predecessor: ReplicaID
    public var successor: ReplicaID
    /// The highest counter up to which the file's own changes equal the server's.
    public var same: UInt64
    /// Own changes written again under the fresh identity.
    public var reissued: Int
}

/// An identity this file has left behind after a restore.
public struct FormerIdentity: Hashable, Sendable {
    public var predecessor: ReplicaID
    public var successor: ReplicaID
    public var same: UInt64
    public var reissued: Int
    public var at: Int64
}

extension ReplicaStore {
    // MARK: Noticing a restore on this machine

    /// The high-water file of this replica in `directory`: the highest own counter and the
    /// last number (a case's) this machine has seen the replica mint. It lives outside the
    /// replica's folder so that copying an old file back does not bring it back too.
    public func highWaterPath(in directory: String) -> String {
        directory + "/" + identity.replica.rawValue
    }

    /// Compares the file with its high-water mark in `directory`. When the file is
    /// behind (an older copy of itself), notes the restore in the file — the next sync
    /// recovers (§9.8) — and raises the number minter to the last number minted, so that
    /// no number handed out before is minted again. Every command runs this, so it only
    /// reads unless the file is behind its mark.
    ///
    /// - Returns: whether the file is marked restored, and whether this call marked it.
    @discardableResult
    public func checkHighWater(in directory: String, now: Int64 = ReplicaStore.nowMillis()) throws(ReplicaStoreError) -> (
        restored: Bool, newly: Bool
    ) {
        let mark = Self.readHighWater(highWaterPath(in: directory))
        let (own, lastText, restoredAt) = try read("cannot read the replica's state") { db in
            (
                try self.highestOwnCounter(in: db), try String.fetchOne(db, sql: "SELECT last_number FROM replica WHERE singleton = 1"),
                try Int64.fetchOne(db, sql: "SELECT restored_at FROM sync_state")
            )
        }
        guard let mark else { return (restoredAt != nil, false) }
        let behind = mark.counter > own && restoredAt == nil
        let raise = mark.number.flatMap { projections.isMinted($0, after: lastText) } ?? false
        guard behind || raise else { return (restoredAt != nil, false) }
        try write("cannot note the restore") { db in
            if behind {
                try db.execute(sql: "UPDATE sync_state SET restored_at = coalesce(restored_at, ?) WHERE singleton = 1", arguments: [now])
            }
            if raise { try db.execute(sql: "UPDATE replica SET last_number = ? WHERE singleton = 1", arguments: [mark.number]) }
        }
        return (restoredAt != nil || behind, behind)
    }

    /// Raises the high-water mark in `directory` to the file's state (never lowers it).
    /// Best effort: a mark that cannot be written only weakens the local detection.
    public func recordHighWater(in directory: String) {
        guard
            let (counter, number) = try? read(
                "cannot read the high-water state",
                { db -> (UInt64, String?) in
                    (
                        try self.highestOwnCounter(in: db),
                        try String.fetchOne(db, sql: "SELECT last_number FROM replica WHERE singleton = 1")
                    )
                })
        else { return }
        let path = highWaterPath(in: directory)
        let old = Self.readHighWater(path)
        var best = number
        if let oldNumber = old?.number, projections.isMinted(oldNumber, after: nil) != nil {
            best = number.flatMap { projections.isMinted($0, after: oldNumber) } == true ? number : oldNumber
        }
        let top = max(counter, old?.counter ?? 0)
        if let old, old.counter == top, old.number == best { return }
        let manager = FileManager.default
        try? manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let text = "\(top) \(best ?? "-")\n"
        let temporary = path + ".tmp"
        guard manager.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else { return }
        _ = rename(temporary, path)
    }

    static func readHighWater(_ path: String) -> (counter: UInt64, number: String?)? {
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)
        else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let counter = UInt64(parts[0]) else { return nil }
        return (counter, parts[1] == "-" ? nil : String(parts[1]))
    }

    // MARK: Recovery

    /// The fresh replica id of the recovery: minted and kept on the first call, so that
    /// a recovery interrupted after the server registered it asks for the same id again.
    public func prepareRecovery() throws(ReplicaStoreError) -> ReplicaID {
        try write("cannot prepare the recovery") { db in
            if let known = try String.fetchOne(db, sql: "SELECT successor FROM sync_state") { return ReplicaID(known) }
            let fresh = ReplicaStore.newReplicaID()
            try db.execute(sql: "UPDATE sync_state SET successor = ? WHERE singleton = 1", arguments: [fresh.rawValue])
            return fresh
        }
    }

    /// The SHA-256 of the canonical encoding of each own change after `counter`, in
    /// counter order (the request of `POST /reissue`).
    public func ownDigests(after counter: UInt64) throws(ReplicaStoreError) -> [String] {
        try read("cannot read the change log") { db in
            try String.fetchAll(
                db, sql: "SELECT body FROM changes WHERE replica = ? AND counter > ? ORDER BY counter",
                arguments: [self.identity.replica.rawValue, Int64(counter)]
            ).map { SHA256Hex.digest(Array($0.utf8)) }
        }
    }

    /// Finishes a recovery in one transaction (§9.8): every own change after `same`, and
    /// every withheld one, is written again under `successor` (``Reissue``), the records
    /// they touch are rebuilt from what remains plus the new changes, and the file takes
    /// the new identity and `credential`. The pull position stays: the next pull brings
    /// the old identity's changes the file lacks, now another replica's.
    ///
    /// The store keeps the old identity in memory: open the file again afterwards.
    public func completeRecovery(successor: ReplicaID, credential: String, same: UInt64, now: Int64 = ReplicaStore.nowMillis())
        throws(ReplicaStoreError) -> RecoveryResult
    {
        let predecessor = identity.replica
        return try write("cannot re-issue the changes of the restored replica") { db in
            let withheld = Set(try Int64.fetchAll(db, sql: "SELECT counter FROM withheld").map { UInt64(max($0, 0)) })
            // One pass over the old identity's changes: those that move, and per record the
            // counters that stay (what the rewritten contexts may still name).
            var moving: [Change] = []
            var staying: [RecordKey: [UInt64]] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT counter, tbl, record_id, body FROM changes WHERE replica = ? ORDER BY counter",
                arguments: [predecessor.rawValue])
            {
                let counter = UInt64(max(row["counter"] as Int64, 0))
                if counter > same || withheld.contains(counter) {
                    moving.append(try self.decodeStoredChange(row["body"], place: "changes \(predecessor):\(counter)"))
                } else {
                    staying[RecordKey(table: row["tbl"], id: row["record_id"]), default: []].append(counter)
                }
            }
            let touched = Set(moving.map(\.record))
            let kept = staying.filter { touched.contains($0.key) }
            let rewritten = Reissue.rewrite(moving, kept: kept, from: predecessor, as: successor)
            for change in moving {
                try db.execute(
                    sql: "DELETE FROM changes WHERE replica = ? AND counter = ?",
                    arguments: [predecessor.rawValue, Int64(change.dot.counter)])
            }
            try db.execute(sql: "DELETE FROM withheld")
            // Each touched record as the changes that stay make it, then the new ones on top.
            let session = WriteSession(store: self, db: db)
            for key in touched.sorted() {
                var record: SyncCore.Record?
                let history = try self.storedHistory(of: key, in: db)
                for (_, change) in history {
                    var current = record ?? SyncCore.Record()
                    current.apply(change, rules: self.schema.table(key.table)) { dot in try? self.change(dot, in: db) }
                    record = current
                }
                session.seed(key, record, arrivals: history.map(\.arrived))
            }
            for change in rewritten { try session.insert(change) }
            try session.finish()
            try db.execute(
                sql: "UPDATE replica SET replica_id = ?, tag = ? WHERE singleton = 1",
                arguments: [successor.rawValue, successor.tag])
            try db.execute(
                sql: "UPDATE sync_state SET credential = ?, acked = 0, successor = NULL, restored_at = NULL WHERE singleton = 1",
                arguments: [credential])
            try db.execute(
                sql: "INSERT OR REPLACE INTO replica_offices (replica, office) VALUES (?, ?)",
                arguments: [predecessor.rawValue, self.identity.office])
            try db.execute(
                sql: "INSERT OR REPLACE INTO reissues (predecessor, successor, same, reissued, at) VALUES (?, ?, ?, ?, ?)",
                arguments: [predecessor.rawValue, successor.rawValue, Int64(same), rewritten.count, now])
            return RecoveryResult(predecessor: predecessor, successor: successor, same: same, reissued: rewritten.count)
        }
    }

    /// The identities this file has left behind, oldest first.
    public func formerIdentities() throws(ReplicaStoreError) -> [FormerIdentity] {
        try read("cannot read the former identities") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM reissues ORDER BY at").map { row in
                let same: Int64 = row["same"]
                return FormerIdentity(
                    predecessor: ReplicaID(row["predecessor"]), successor: ReplicaID(row["successor"]), same: UInt64(max(same, 0)),
                    reissued: row["reissued"], at: row["at"])
            }
        }
    }

    /// The same file opened again (after ``completeRecovery(successor:credential:same:now:)``
    /// changed its identity).
    public func reopened() throws(ReplicaStoreError) -> ReplicaStore {
        try ReplicaStore.open(
            at: path, schema: schema, projections: projections.all, migrator: ReplicaMigrations.migrator(projections.all),
            materializes: materializes)
    }
}
