public import CaseDomain
import Foundation
import GRDB
import GRDBSQLite
public import ReplicaStore
public import SyncCore
public import SyncProtocol

/// The embedded storage: one SQLite file holding the change log and the merge state of
/// every record, merged by the same `SyncCore` code through ``ReplicaStore``, plus the
/// server's own tables (offices, enrolment tokens, replicas, scope moves and the log's
/// listing by office). Its schema is its own list of migrations (`CentralMigrations`).
/// Which records an office may read and write is decided by the kinds' scope rules
/// (``ScopeRules``); the storage names no kind's table or field.
///
/// The administration commands (`rain-server office add`, …) open the same file while
/// the server runs: SQLite's locking and busy timeout serialise them, and the server
/// reads credentials on every request, so a revocation is effective at once.
public final class SQLiteCentralStorage: CentralStorage {
    /// The change log and merge state.
    public let store: ReplicaStore
    /// Where each table's records belong.
    let scopes: ScopeRules
    /// The kinds' views (the read model), kept as pushes merge.
    let views: ViewRows

    private init(store: ReplicaStore, kinds: [RecordKind]) {
        self.store = store
        scopes = ScopeRules(kinds: kinds)
        views = ViewRows(kinds: kinds)
    }

    /// Opens the server's database at `path`, creating it (mode 0600) when missing.
    ///
    /// - Throws: ``ServerError`` with status 503 when the file cannot be opened or
    ///   created, or is not a central database.
    /// `kinds`: the record kinds the server knows (their merge rules and scopes); a table
    /// no kind declares merges by last-writer-wins and is the district's only.
    public static func open(at path: String, create: Bool = true, kinds: [RecordKind] = [CaseRecords.kind]) throws(ServerError)
        -> SQLiteCentralStorage
    {
        let schema = Schema(kinds: kinds)
        do {
            let storage: SQLiteCentralStorage
            if FileManager.default.fileExists(atPath: path) {
                storage = SQLiteCentralStorage(
                    store: try ReplicaStore.open(
                        at: path, schema: schema, projections: [], migrator: CentralMigrations.migrator(), materializes: false),
                    kinds: kinds)
            } else {
                guard create else { throw ServerError.unavailable("cannot open the server database: no file (\(path))") }
                storage = SQLiteCentralStorage(
                    store: try ReplicaStore.create(
                        at: path, office: "central", staff: "rain-server", replica: ReplicaStore.newReplicaID(),
                        now: ReplicaStore.nowMillis(), schema: schema, projections: [], migrator: CentralMigrations.migrator(),
                        materializes: false),
                    kinds: kinds)
            }
            try storage.buildViews()
            return storage
        } catch let error as ServerError {
            throw error
        } catch let error as ReplicaStoreError {
            switch error {
            case .newerVersion:
                throw .unavailable("cannot open the server database: written by a newer rain-server (\(path))")
            case .database(_, let reason):
                throw .unavailable("cannot open the server database: \(error.description)", cause: reason)
            default:
                throw .unavailable("cannot open the server database: \(error.description)", cause: error.description)
            }
        } catch {
            throw .unavailable("cannot open the server database: \(error) (\(path))", cause: "\(error)")
        }
    }

    // MARK: Transactions

    func write<T>(_ what: String, _ body: (Database) throws -> T) throws(ServerError) -> T {
        var refusal: ServerError?
        do {
            return try store.write(what) { db in
                do { return try body(db) } catch let error as ServerError {
                    refusal = error
                    throw error
                }
            }
        } catch {
            throw refusal ?? Self.map(error, what: what)
        }
    }

    func read<T>(_ what: String, _ body: (Database) throws -> T) throws(ServerError) -> T {
        var refusal: ServerError?
        do {
            return try store.read(what) { db in
                do { return try body(db) } catch let error as ServerError {
                    refusal = error
                    throw error
                }
            }
        } catch {
            throw refusal ?? Self.map(error, what: what)
        }
    }

    /// Storage failures become 503 (retry later: a full disk, a read-only file, a lock
    /// held too long); the core's refusals of a change become 400 or 409.
    static func map(_ error: ReplicaStoreError, what: String) -> ServerError {
        switch error {
        case .sync(let core):
            if case .conflictingDuplicate(let dot) = core {
                return .conflict(
                    "dot_reused",
                    "\(what): change \(dot) differs from the change the server holds under that dot; a replica never reuses a counter (was this replica restored from a backup?)"
                )
            }
            return .badRequest("invalid", "\(what): \(core.description)")
        case .rule(let rule): return .badRequest("invalid", "\(what): \(rule.description)")
        case .database(_, let reason):
            // Say which of the usual storage failures it is; the details go to the log.
            let why =
                switch StorageFailure(cause: reason) {
                case .full: "the server's disk is full"
                case .readOnly: "the server's database is read-only"
                case .busy: "the server's database is busy"
                default: "the server's storage failed"
                }
            return .unavailable("\(what): \(why); try again later", cause: reason)
        default: return .unavailable("\(what): the server's storage failed; try again later", cause: error.description)
        }
    }

    public func close() {
        store.close()
    }

    public func checkHealth() throws(ServerError) {
        // Healthy means able to take a push: a database opened read-only (its disk came
        // back read-only) is not, though it still answers reads.
        let readOnly = try read("cannot read the database") { db in
            _ = try Int.fetchOne(db, sql: "SELECT 1")
            return sqlite3_db_readonly(db.sqliteConnection, "main") == 1
        }
        if readOnly {
            throw .unavailable("the server's database is read-only; pushes fail until it is writable", cause: "readonly database")
        }
    }

}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
    }
}
