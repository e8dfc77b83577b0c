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
        guard let table = PolicyRows.tables[key.table] else { return }
        var values: [DatabaseValue] = [key.id.databaseValue]
        var conflicts = 0
        for field in table.fields {
            values.append(PolicyRows.column(context.value(record, field.name, table: key.table)))
            if let register = record.register(field.name), register.isConflicted, field.rule.listsConflicts { conflicts += 1 }
        }
        values.append(conflicts.databaseValue)
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
            try context.db.makeStatement(sql: PolicyRows.upsert(key.table))
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
        guard PolicyRows.tables[key.table] != nil else { return }
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
    static let tables: [String: TableDeclaration] = Dictionary(
        uniqueKeysWithValues: PolicyRecords.kind.tables.map { ($0.name, $0) })

    /// Columns after the fields and `conflicts`, by table.
    static let extras: [String: [String]] = ["enterprises": ["name_full", "name_key"], "grants": ["payments"]]

    /// Every table: `id`, a column per field (text, or integer for integers and
    /// timestamps), `conflicts` (fields with siblings listed for review), the extras.
    static var schema: String {
        var sql = ""
        for table in PolicyRecords.kind.tables {
            var columns = ["id TEXT PRIMARY KEY"]
            columns += table.fields.map { $0.name + ($0.type == .text ? " TEXT" : " INTEGER") }
            columns.append("conflicts INTEGER NOT NULL DEFAULT 0")
            columns += (extras[table.name] ?? []).map { $0 + ($0 == "payments" ? " INTEGER NOT NULL DEFAULT 0" : " TEXT") }
            sql += "CREATE TABLE \(table.name) (\n    " + columns.joined(separator: ",\n    ") + "\n);\n"
        }
        sql += """
            CREATE INDEX enterprises_by_code ON enterprises (credit_code);
            CREATE INDEX enterprise_accounts_by_code ON enterprise_accounts (credit_code);
            CREATE INDEX grants_by_policy ON grants (policy, credit_code);
            CREATE INDEX policies_by_document ON policies (document);
            """
        return sql
    }

    static func upsert(_ table: String) -> String {
        let declaration = tables[table]!
        let columns = ["id"] + declaration.fields.map(\.name) + ["conflicts"] + (extras[table] ?? [])
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let updates = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return
            "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) ON CONFLICT (id) DO UPDATE SET \(updates)"
    }

    static func column(_ value: Value?) -> DatabaseValue {
        switch value {
        case .text(let text)?: text.databaseValue
        case .integer(let number)?: number.databaseValue
        case .timestamp(let millis)?: millis.databaseValue
        case .bool(let flag)?: (flag ? 1 : 0).databaseValue
        case .null?, nil: .null
        }
    }
}
