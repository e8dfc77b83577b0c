import Foundation
package import GRDB
public import SyncCore
import SyncProtocol

/// Who this replica is.
public struct ReplicaIdentity: Hashable, Sendable {
    public let replica: ReplicaID
    public let office: String
    public let staff: String
    /// The replica's tag in case numbers.
    public let tag: String
    /// When the replica was created (ms since the epoch).
    public let createdAt: Int64
}

/// An office's replica: one SQLite file (WAL, foreign keys on, a busy timeout) holding
/// the change log, the merge state of every field, the sync position, and the readable
/// rows of each record kind, written by the kind's ``RecordProjection``. Every local
/// write and its change commit in one transaction; a batch of remote changes is applied
/// in one transaction, idempotently.
///
/// The merge itself is `SyncCore`'s: this type only loads the records a change touches,
/// lets the core apply it, stores the result and hands it to the projection of its
/// table. It names no kind's table or field.
public final class ReplicaStore: Sendable {
    /// The file.
    public let path: String
    let queue: DatabaseQueue
    /// This replica.
    public let identity: ReplicaIdentity
    /// Merge rules.
    public let schema: Schema
    /// The kinds' projections, by table.
    let projections: Projections
    /// Whether writes keep the readable rows (the projections'). Every office's replica
    /// does; the central server's file does not (nothing there reads them: it keeps the
    /// change log and the merge state only).
    package let materializes: Bool
    /// Whether the merge state keeps each sibling's value: a store that materialises no
    /// rows (the central server) leaves them in the change log (`MergeStateCodec`
    /// format 2) — its merge never reads one — and reads them from there to show a record.
    package var keepsValues: Bool { materializes }

    private init(
        path: String, queue: DatabaseQueue, identity: ReplicaIdentity, schema: Schema, projections: [any RecordProjection],
        materializes: Bool
    ) {
        self.path = path
        self.queue = queue
        self.identity = identity
        self.schema = schema
        self.projections = Projections(projections)
        self.materializes = materializes
    }

    /// The projection of the kind that owns `table`, if this store has one.
    public func projection(of table: String) -> (any RecordProjection)? {
        projections.owner(of: table)
    }

    /// How every connection to a replica or server file is tuned — in one place, so that
    /// rain-bench's raw-SQLite baseline is tuned exactly alike (`RawSQLite`).
    public enum Tuning {
        /// The page size of a new file (an existing one keeps its own): a merge's rows and
        /// index entries take a quarter of the page splits and B-tree descents of 4 KiB.
        public static let pageSize = 16_384
        /// `PRAGMA synchronous`: FULL, so that a committed change survives a power cut, not
        /// only a crash (nothing recorded offline may be lost).
        public static let synchronous = "FULL"
        /// The page cache, in KiB: a merge touches pages all over the indexes, and with
        /// SQLite's 2 MiB default it re-read them from the file for every batch (an upper
        /// bound, allocated as used).
        public static let cacheKiB = 65_536
        /// Write-ahead log bytes between automatic checkpoints: 64 MiB instead of 4 MiB
        /// copies a page rewritten by several transactions once.
        public static let checkpointBytes = 64 * 1024 * 1024
        /// `PRAGMA secure_delete`: deleted content is overwritten with zeros, never left
        /// in free space — a purged case's residents' data must be gone from the file's
        /// bytes (README, Security). Set, not left to how this system's SQLite was built.
        public static let secureDelete = true

        /// The statements that apply these settings to a connection, given the page size
        /// the file ended up with (`PRAGMA page_size` after the first three).
        public static func statements(journal: Bool = true) -> [String] {
            (journal ? ["PRAGMA page_size = \(pageSize)", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = \(synchronous)"] : [])
                + ["PRAGMA cache_size = -\(cacheKiB)", "PRAGMA secure_delete = \(secureDelete ? "ON" : "OFF")"]
        }

        /// `PRAGMA wal_autocheckpoint` for a file of `pageSize`-byte pages.
        public static func autocheckpoint(pageSize: Int) -> String {
            "PRAGMA wal_autocheckpoint = \(checkpointBytes / max(pageSize, 512))"
        }
    }

    /// How long a connection waits for another process's lock before failing.
    static let busyTimeoutMilliseconds: Int32 = 10_000

    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(Double(busyTimeoutMilliseconds) / 1000)
        configuration.prepareDatabase { db in
            // WAL: readers never block the writer. The rest: `Tuning`.
            for statement in Tuning.statements() { try db.execute(sql: statement) }
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            try db.execute(sql: Tuning.autocheckpoint(pageSize: pageSize))
        }
        return configuration
    }

    /// Creates a new replica file (mode 0600, its folder 0700) with a fresh random
    /// 128-bit replica id.
    ///
    /// - Throws: ``ReplicaStoreError/alreadyExists(path:)``, ``ReplicaStoreError/cannotCreate(path:reason:)``.
    public static func create(
        at path: String,
        office: String,
        staff: String,
        replica: ReplicaID = ReplicaStore.newReplicaID(),
        now: Int64 = ReplicaStore.nowMillis(),
        projections: [any RecordProjection]
    ) throws(ReplicaStoreError) -> ReplicaStore {
        try create(
            at: path, office: office, staff: staff, replica: replica, now: now, schema: Schema(kinds: projections.map(\.kind)),
            projections: projections, migrator: ReplicaMigrations.migrator(projections))
    }

    /// ``create(at:office:staff:replica:now:projections:)`` with merge rules and a
    /// migrator of the embedding program's own (the central server's list,
    /// `CentralMigrations`).
    package static func create(
        at path: String,
        office: String,
        staff: String,
        replica: ReplicaID,
        now: Int64,
        schema: Schema,
        projections: [any RecordProjection],
        migrator: DatabaseMigrator,
        materializes: Bool = true
    ) throws(ReplicaStoreError) -> ReplicaStore {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) { throw .alreadyExists(path: path) }
        let folder = (path as NSString).deletingLastPathComponent
        do {
            if !folder.isEmpty, !manager.fileExists(atPath: folder) {
                try manager.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw .cannotCreate(path: path, reason: "cannot create its folder")
        }
        // Create the file with 0600 before SQLite opens it; SQLite gives the -wal and
        // -shm files the same permissions.
        guard manager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw .cannotCreate(path: path, reason: "cannot create the file")
        }
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration())
            try migrator.migrate(queue)
            let identity = ReplicaIdentity(
                replica: replica, office: office, staff: staff, tag: replica.tag, createdAt: now)
            try queue.write { db in
                try db.execute(
                    sql: "INSERT INTO replica (singleton, replica_id, office, staff, tag, created_at) VALUES (1, ?, ?, ?, ?, ?)",
                    arguments: [replica.rawValue, office, staff, identity.tag, now])
            }
            return ReplicaStore(
                path: path, queue: queue, identity: identity, schema: schema, projections: projections, materializes: materializes)
        } catch {
            try? manager.removeItem(atPath: path)
            throw .cannotCreate(path: path, reason: ReplicaStore.describe(error))
        }
    }

    /// Opens an existing replica file, migrating it to this version's schema.
    ///
    /// - Throws: ``ReplicaStoreError/noReplica(path:)``, ``ReplicaStoreError/notAReplica(path:reason:)``,
    ///   ``ReplicaStoreError/newerVersion(path:)``.
    public static func open(at path: String, projections: [any RecordProjection]) throws(ReplicaStoreError) -> ReplicaStore {
        try open(
            at: path, schema: Schema(kinds: projections.map(\.kind)), projections: projections,
            migrator: ReplicaMigrations.migrator(projections))
    }

    /// ``open(at:projections:)`` with merge rules and a migrator of the embedding
    /// program's own.
    package static func open(
        at path: String,
        schema: Schema,
        projections: [any RecordProjection],
        migrator: DatabaseMigrator,
        materializes: Bool = true
    ) throws(ReplicaStoreError) -> ReplicaStore {
        guard FileManager.default.fileExists(atPath: path) else { throw .noReplica(path: path) }
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration())
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            throw .notAReplica(path: path, reason: "the file is not an SQLite database or is damaged")
        } catch {
            // A file that exists but cannot be opened for writing (a read-only or full disk,
            // an I/O error): a storage problem, not a damaged file.
            throw .database("cannot open the replica file \(path)", ReplicaStore.describe(error))
        }
        do {
            let superseded = try queue.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded { throw ReplicaStoreError.newerVersion(path: path) }
            try migrator.migrate(queue)
            let identity = try queue.read { db -> ReplicaIdentity? in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM replica WHERE singleton = 1") else { return nil }
                return ReplicaIdentity(
                    replica: ReplicaID(row["replica_id"]), office: row["office"], staff: row["staff"], tag: row["tag"],
                    createdAt: row["created_at"])
            }
            guard let identity else { throw ReplicaStoreError.notAReplica(path: path, reason: "the file holds no replica identity") }
            return ReplicaStore(
                path: path, queue: queue, identity: identity, schema: schema, projections: projections, materializes: materializes)
        } catch let error as ReplicaStoreError {
            throw error
        } catch let error as DatabaseError
            where [.SQLITE_FULL, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_BUSY, .SQLITE_LOCKED].contains(
                error.resultCode.primaryResultCode)
        {
            throw .database("cannot open the replica file \(path)", ReplicaStore.describe(error))
        } catch {
            throw .notAReplica(path: path, reason: "the file is not a TimelyRain replica or is damaged")
        }
    }

    /// A fresh random 128-bit replica id, as 32 lower-case hex digits.
    public static func newReplicaID() -> ReplicaID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        let hex = String(high, radix: 16).leftPadded(16) + String(low, radix: 16).leftPadded(16)
        return ReplicaID(hex)
    }

    /// A UUIDv7: 48 bits of milliseconds, then random bits — minted offline, sortable by time.
    public static func newRecordID(now: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        let millis = UInt64(max(now, 0))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - UInt64(index)))) }
        for index in 6..<16 { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// The wall clock, in milliseconds since the epoch, shifted by `$RAIN_CLOCK_OFFSET_MS`
    /// when set (tests that need hours to pass: a laptop restored and used later).
    public static func nowMillis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded()) + clockOffset
    }

    private static let clockOffset: Int64 = ProcessInfo.processInfo.environment["RAIN_CLOCK_OFFSET_MS"].flatMap { Int64($0) } ?? 0

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "SQLite error \(error.resultCode.rawValue)" }
        return String(describing: error)
    }

    /// Runs `body` in one write transaction, mapping errors to ``ReplicaStoreError``.
    package func write<T>(_ what: String, _ body: (Database) throws -> T) throws(ReplicaStoreError) -> T {
        do {
            return try queue.write(body)
        } catch let error as ReplicaStoreError {
            throw error
        } catch let error as SyncCoreError {
            throw .sync(error)
        } catch let error as any RecordRuleError {
            throw .rule(error)
        } catch {
            throw .database(what, ReplicaStore.describe(error))
        }
    }

    /// Runs `body` in a read transaction, mapping errors to ``ReplicaStoreError``.
    package func read<T>(_ what: String, _ body: (Database) throws -> T) throws(ReplicaStoreError) -> T {
        do {
            return try queue.read(body)
        } catch let error as ReplicaStoreError {
            throw error
        } catch {
            throw .database(what, ReplicaStore.describe(error))
        }
    }

    /// Runs `body` in one write transaction; SQLite errors become
    /// ``ReplicaStoreError/database(_:_:)``, every other error passes through.
    package func transaction<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.write(body)
        } catch let error as DatabaseError {
            throw ReplicaStoreError.database(what, ReplicaStore.describe(error))
        }
    }

    /// Runs `body` in a read transaction; SQLite errors become
    /// ``ReplicaStoreError/database(_:_:)``, every other error passes through.
    package func reading<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as DatabaseError {
            throw ReplicaStoreError.database(what, ReplicaStore.describe(error))
        }
    }

    /// Closes the file: what a purge left is scrubbed first (``scrubPurged()``), then
    /// SQLite checkpoints the write-ahead log into the file and removes it, so that no
    /// `-wal` file (with older copies of pages) stays behind. Best effort: another
    /// process with the file open keeps its log until it closes. The store cannot be
    /// used afterwards.
    public func close() {
        // Never waits for another process: a busy file keeps the scrub due for the next.
        try? scrubPurged(waiting: false)
        try? queue.close()
    }

    /// `PRAGMA integrity_check`: "ok" for a healthy file.
    public func integrityCheck() throws(ReplicaStoreError) -> String {
        try read("integrity check") { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
