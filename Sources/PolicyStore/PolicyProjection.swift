public import GRDB
public import PolicyDomain
public import ReplicaStore
public import SyncCore

/// The `policy` kind's rows in a replica (DESIGN §8): one table per declared table, a
/// column per field holding its winner, plus what queries need (an enterprise's name as
/// a search compares it; how many payment references a grant holds). Written by the
/// generic store for every record of the kind it merges.
public struct PolicyProjection: RecordProjection {
    public init() {}

    public var kind: RecordKind { PolicyRecords.kind }

    public var migrations: [MigrationStep] {
        [MigrationStep(name: "policy-v1") { db in try db.execute(sql: PolicyRows.schema) }]
    }

    public func materialize(_ record: SyncCore.Record, key: RecordKey, in context: ProjectionContext) throws {
        guard var values = PolicyRows.rows.values(record, key: key, in: context) else { return }
        switch key.table {
        case "enterprises":
            let name = context.value(record, "name", table: key.table)
            if case .text(let text)? = name {
                let company = CompanyName(text)
                values += [company.full.databaseValue, company.key.databaseValue]
            } else {
                values += [.null, .null]
            }
        case "grants":
            values.append((record.register("payment")?.siblings.filter { $0.value != .null }.count ?? 0).databaseValue)
        default: break
        }
        let statement = try context.kept("policy.upsert.\(key.table)") {
            try context.db.makeStatement(sql: PolicyRows.rows.upsert(key.table))
        }
        try statement.execute(arguments: StatementArguments(values))
    }

    /// An account's reveals leave with it.
    public func dependents(of key: RecordKey, in db: Database) throws -> [RecordKey] {
        guard key.table == "enterprise_accounts" else { return [] }
        return try String.fetchAll(db, sql: "SELECT id FROM enterprise_reveals WHERE account_id = ?", arguments: [key.id])
            .map { RecordKey(table: "enterprise_reveals", id: $0) }
    }

    /// A record that left: its row goes (an enterprise's account when it moved street, a
    /// grant when its enterprise did).
    public func purgeRows(of key: RecordKey, now: Int64, in db: Database) throws {
        guard PolicyRows.rows.tables[key.table] != nil else { return }
        try db.execute(sql: "DELETE FROM \(key.table) WHERE id = ?", arguments: [key.id])
        if key.table == "enterprise_accounts" {
            try db.execute(sql: "DELETE FROM enterprise_reveals WHERE account_id = ?", arguments: [key.id])
        }
    }

    /// A policy's document number; an enterprise's or an account's credit code; a grant's
    /// code and period.
    public func label(of key: RecordKey, in db: Database) throws -> String? {
        switch key.table {
        case "policies": try String.fetchOne(db, sql: "SELECT document FROM policies WHERE id = ?", arguments: [key.id])
        case "enterprises", "enterprise_accounts":
            try String.fetchOne(db, sql: "SELECT credit_code FROM \(key.table) WHERE id = ?", arguments: [key.id])
        case "grants":
            try String.fetchOne(db, sql: "SELECT credit_code || ' ' || period FROM grants WHERE id = ?", arguments: [key.id])
        default: nil
        }
    }
}

/// The materialised tables (documented in README, "Replica file").
enum PolicyRows {
    /// One table per declared table; an enterprise's name as a search compares it, and how
    /// many payment references a grant holds.
    static let rows = DeclaredRows(
        PolicyRecords.kind,
        extras: [
            "enterprises": [("name_full", "TEXT"), ("name_key", "TEXT")], "grants": [("payments", "INTEGER NOT NULL DEFAULT 0")],
        ])

    static var schema: String {
        rows.schema + """
            CREATE INDEX enterprises_by_code ON enterprises (credit_code);
            CREATE INDEX enterprise_accounts_by_code ON enterprise_accounts (credit_code);
            CREATE INDEX grants_by_policy ON grants (policy, credit_code);
            CREATE INDEX policies_by_document ON policies (document);
            """
    }
}
