public import GRDB
public import SyncCore

/// How one record kind's merged records become readable rows in a replica (DESIGN §8):
/// declared by the kind's module (cases: `CaseStore.CaseProjection`), called by the
/// generic store, which names no table or field of any kind.
///
/// Every method runs inside the store's transaction: a projection never opens one.
public protocol RecordProjection: Sendable {
    /// The kind: its tables, fields, merge rules and scope.
    var kind: RecordKind { get }
    /// The kind's own tables, as versioned migrations run after the store's, in order.
    /// Identifiers are the kind's (`suggestions-v1`), never reused or edited once shipped.
    var migrations: [MigrationStep] { get }
    /// Writes `record`'s current values — the winners of its merge — into its rows.
    func materialize(_ record: SyncCore.Record, key: RecordKey, in context: ProjectionContext) throws
    /// The records that leave with `key` when it leaves this replica's scope (a case's
    /// events), read from the rows.
    func dependents(of key: RecordKey, in db: Database) throws -> [RecordKey]
    /// Removes what the rows show of `key` (and its dependents) now that it left this
    /// replica's scope: every resident's datum goes; what the office may still be told
    /// (a case's number and that it moved) may stay. The store has already dropped their
    /// changes and merge state.
    func purgeRows(of key: RecordKey, now: Int64, in db: Database) throws
    /// Drops copies a purge could not remove in its own transaction (a search index's
    /// older segments), before the store checkpoints the log away.
    func scrub(in db: Database) throws
    /// What a person knows the record by (a case's number), for lists of refused changes;
    /// nil when none.
    func label(of key: RecordKey, in db: Database) throws -> String?
    /// For a kind that mints numbers for people (a case's 受理编号, kept by the store as
    /// the replica's last number): whether `number` was minted after `other` by the same
    /// replica — true when `other` is nil or not one of the kind's numbers; nil when
    /// `number` is not. A replica found behind its high-water mark (an old copy put
    /// back) raises its last number by it, so that no number handed out is minted again.
    func isMinted(_ number: String, after other: String?) -> Bool?
}

extension RecordProjection {
    public var migrations: [MigrationStep] { [] }
    public func dependents(of key: RecordKey, in db: Database) throws -> [RecordKey] { [] }
    public func purgeRows(of key: RecordKey, now: Int64, in db: Database) throws {}
    public func scrub(in db: Database) throws {}
    public func label(of key: RecordKey, in db: Database) throws -> String? { nil }
    public func isMinted(_ number: String, after other: String?) -> Bool? { nil }
}

/// What a projection is given to write a record's rows: the transaction's database, the
/// merge rules, and a place to keep prepared statements for the rest of the transaction
/// (a pull materialises thousands of rows).
public final class ProjectionContext {
    public let db: Database
    public let schema: Schema
    private var kept: [String: AnyObject] = [:]

    init(db: Database, schema: Schema) {
        self.db = db
        self.schema = schema
    }

    /// The object kept under `name` for this transaction, made by `make` the first time.
    public func kept<T: AnyObject>(_ name: String, make: () throws -> T) rethrows -> T {
        if let found = kept[name] as? T { return found }
        let made = try make()
        kept[name] = made
        return made
    }

    /// The winner of `field` under the schema's rule, or nil.
    public func winner(_ record: SyncCore.Record, _ field: String, table: String) -> Sibling? {
        record.register(field)?.winner(under: schema.rule(table: table, field: field))
    }

    /// The winning value of `field`, or nil when never written.
    public func value(_ record: SyncCore.Record, _ field: String, table: String) -> Value? {
        record.value(of: field, table: table, schema: schema)
    }
}

/// The projections of a store, by table.
struct Projections: Sendable {
    let all: [any RecordProjection]
    private let byTable: [String: Int]

    init(_ all: [any RecordProjection]) {
        self.all = all
        var byTable: [String: Int] = [:]
        for (index, projection) in all.enumerated() {
            for table in projection.kind.tables where byTable[table.name] == nil { byTable[table.name] = index }
        }
        self.byTable = byTable
    }

    /// The projection that owns `table`, if any.
    func owner(of table: String) -> (any RecordProjection)? {
        byTable[table].map { all[$0] }
    }

    /// ``RecordProjection/isMinted(_:after:)`` of the first kind that knows `number`.
    func isMinted(_ number: String, after other: String?) -> Bool? {
        for projection in all {
            if let answer = projection.isMinted(number, after: other) { return answer }
        }
        return nil
    }
}
