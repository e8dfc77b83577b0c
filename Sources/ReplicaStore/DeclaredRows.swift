public import GRDB
public import SyncCore

/// A kind's tables materialised the plain way — one table per declared table, `id`, a
/// column per field holding its winner (text, or integer for integers, timestamps and
/// booleans), `conflicts` (fields with siblings listed for review), then the kind's own
/// extra columns — shared by the projections that need nothing more (policy direct,
/// suggestions).
public struct DeclaredRows: Sendable {
    public let tables: [String: TableDeclaration]
    /// Extra columns after `conflicts`, by table: name and SQL type with its constraints.
    public let extras: [String: [(name: String, type: String)]]
    private let order: [String]

    public init(_ kind: RecordKind, extras: [String: [(name: String, type: String)]] = [:]) {
        tables = Dictionary(uniqueKeysWithValues: kind.tables.map { ($0.name, $0) })
        order = kind.tables.map(\.name)
        self.extras = extras
    }

    /// `CREATE TABLE` for every table.
    public var schema: String {
        var sql = ""
        for name in order {
            let table = tables[name]!
            var columns = ["id TEXT PRIMARY KEY"]
            columns += table.fields.map { $0.name + ($0.type == .text ? " TEXT" : " INTEGER") }
            columns.append("conflicts INTEGER NOT NULL DEFAULT 0")
            columns += (extras[name] ?? []).map { $0.name + " " + $0.type }
            sql += "CREATE TABLE \(name) (\n    " + columns.joined(separator: ",\n    ") + "\n);\n"
        }
        return sql
    }

    /// The upsert of a row of `table`: every column by position (`id`, fields, `conflicts`,
    /// extras).
    public func upsert(_ table: String) -> String {
        let declaration = tables[table]!
        let columns = ["id"] + declaration.fields.map(\.name) + ["conflicts"] + (extras[table] ?? []).map(\.name)
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let updates = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return
            "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) ON CONFLICT (id) DO UPDATE SET \(updates)"
    }

    /// The values of a record's row up to `conflicts` (the caller appends its extras).
    public func values(_ record: SyncCore.Record, key: RecordKey, in context: ProjectionContext) -> [DatabaseValue]? {
        guard let table = tables[key.table] else { return nil }
        var values: [DatabaseValue] = [key.id.databaseValue]
        var conflicts = 0
        for field in table.fields {
            values.append(Self.column(context.value(record, field.name, table: key.table)))
            if let register = record.register(field.name), register.isConflicted, field.rule.listsConflicts { conflicts += 1 }
        }
        values.append(conflicts.databaseValue)
        return values
    }

    /// A winner as its column holds it.
    public static func column(_ value: Value?) -> DatabaseValue {
        switch value {
        case .text(let text)?: text.databaseValue
        case .integer(let number)?: number.databaseValue
        case .timestamp(let millis)?: millis.databaseValue
        case .bool(let flag)?: (flag ? 1 : 0).databaseValue
        case .null?, nil: .null
        }
    }
}
