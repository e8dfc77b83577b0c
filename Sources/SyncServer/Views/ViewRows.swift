public import SyncCore

/// One row of a view to write: the record's id and the columns to set (the others keep
/// their values).
public struct ViewUpsert: Sendable, Equatable {
    public let view: ViewDeclaration
    public let id: String
    /// Column name and value, in the view's column order.
    public let values: [(name: String, value: Value)]
    /// The row's time when not the write's (a rebuild: the record's latest clock).
    public var updatedAt: Int64? = nil
    /// Which of the view's columns `values` holds (bit `i`: `view.columns[i]`): a storage
    /// keeps one statement per view and set of columns, so it is given with the values.
    package let columnMask: UInt64

    package init(view: ViewDeclaration, id: String, values: [(name: String, value: Value)], columnMask: UInt64) {
        self.view = view
        self.id = id
        self.values = values
        self.columnMask = columnMask
    }

    public static func == (lhs: ViewUpsert, rhs: ViewUpsert) -> Bool {
        lhs.view == rhs.view && lhs.id == rhs.id && lhs.values.map(\.name) == rhs.values.map(\.name)
            && lhs.values.map(\.value) == rhs.values.map(\.value)
    }
}

/// What a merge changes in the kinds' views (DESIGN §8: the server's read model), pure:
/// the storage gives the changes it just merged and the records they made, and writes the
/// upserts this answers in the same transaction.
///
/// Only the columns of fields the batch wrote are recomputed: a field's register changes
/// only when a change writes it, so the others still hold what the view shows. A column's
/// value is its field's winner under the merge rule; the central merge state keeps no
/// values (`MergeStateCodec` format 2), so a winner the batch did not bring is read from
/// the change log through `lookup`.
public struct ViewRows: Sendable {
    public let views: [ViewDeclaration]
    let schema: Schema
    private let byTable: [String: [ViewDeclaration]]
    /// Per table, the fields its views read, each once (a record's written columns are a
    /// mask over them, so a push's changes are looked at without building sets)…
    private let fieldsByTable: [String: [String]]
    /// …and per view of the table, each column's field's index in that list.
    private let plansByTable: [String: [[Int]]]

    public init(kinds: [RecordKind]) {
        views = kinds.flatMap(\.views)
        schema = Schema(kinds: kinds)
        byTable = Dictionary(grouping: views, by: \.table)
        (fieldsByTable, plansByTable) = Self.plans(byTable)
    }

    /// The rows of `view` alone, under `schema`'s merge rules.
    package init(only view: ViewDeclaration, schema: Schema) {
        views = [view]
        self.schema = schema
        byTable = [view.table: [view]]
        (fieldsByTable, plansByTable) = Self.plans(byTable)
    }

    private static func plans(_ byTable: [String: [ViewDeclaration]]) -> ([String: [String]], [String: [[Int]]]) {
        var fields: [String: [String]] = [:]
        var plans: [String: [[Int]]] = [:]
        for (table, views) in byTable {
            var names: [String] = []
            plans[table] = views.map { view in
                view.columns.map { column in
                    if let index = names.firstIndex(of: column.field) { return index }
                    names.append(column.field)
                    return names.count - 1
                }
            }
            // Columns and written fields are 64-bit masks: a wider view is a declaration's
            // mistake, caught when the server starts.
            precondition(names.count <= 64 && views.allSatisfy { $0.columns.count <= 64 }, "the views of \(table) read more than 64 fields")
            fields[table] = names
        }
        return (fields, plans)
    }

    /// The view `name`, which must have `column` (a caller's programming error otherwise: 500).
    package func view(named name: String, column: String) throws(ServerError) -> ViewDeclaration {
        guard let view = views.first(where: { $0.name == name }), view.type(of: column) != nil else {
            throw ServerError(status: 500, code: "internal", message: "cannot read the view: no view \(name) with column \(column)")
        }
        return view
    }

    /// Whether any view shows records of `table`.
    public func shows(_ table: String) -> Bool { byTable[table] != nil }

    /// The tables some view shows.
    public var tables: Set<String> { Set(byTable.keys) }

    /// The upserts for `merged` (each record a batch touched, after the merge), given the
    /// batch's new `changes`; `isNew(key)` tells a record the server did not hold before
    /// (all of its columns are written). `lookup` answers a change the batch did not bring.
    public func upserts(
        changes: [Change], merged: [RecordKey: Record], isNew: (RecordKey) -> Bool, lookup: (Dot) throws -> Change?
    ) throws -> [ViewUpsert] {
        guard !byTable.isEmpty else { return [] }
        // Each change read from the log once per batch (a record's first change wins most of
        // its fields).
        var read: [Dot: Change?] = [:]
        func held(_ dot: Dot) throws -> Change? {
            if let known = read[dot] { return known }
            let change = try lookup(dot)
            read[dot] = change
            return change
        }
        // The records in the order the batch first touched them (the storage writes in this
        // order), then any other record asked for, by table and id: deterministic without
        // sorting a push's thousands of keys.
        var order: [RecordKey] = []
        var position: [RecordKey: Int] = [:]
        // Which view columns each record held before had written (bit i: the table's
        // `fields[i]`); a new record gets every column, so its changes need no look.
        var written: [UInt64] = []
        var fresh: [Bool] = []
        var byDot: [Dot: Change] = [:]
        for change in changes {
            guard let fields = fieldsByTable[change.record.table] else { continue }
            byDot[change.dot] = change
            let index: Int
            if let known = position[change.record] {
                index = known
            } else {
                index = order.count
                position[change.record] = index
                order.append(change.record)
                written.append(0)
                fresh.append(isNew(change.record))
            }
            if fresh[index] { continue }
            var mask = written[index]
            for (bit, field) in fields.enumerated() where change.fields[field] != nil { mask |= 1 << UInt64(bit) }
            written[index] = mask
        }
        let rest = merged.keys.filter { position[$0] == nil && byTable[$0.table] != nil }
        for key in rest.sorted(by: { ($0.table, $0.id) < ($1.table, $1.id) }) {
            position[key] = order.count
            order.append(key)
            written.append(0)
            fresh.append(isNew(key))
        }
        var upserts: [ViewUpsert] = []
        for (index, key) in order.enumerated() {
            guard let views = byTable[key.table], let plans = plansByTable[key.table], let record = merged[key] else { continue }
            let everything = fresh[index]
            let fields = written[index]
            for (view, plan) in zip(views, plans) {
                var values: [(name: String, value: Value)] = []
                var mask: UInt64 = 0
                for (slot, column) in view.columns.enumerated() where everything || fields & (1 << UInt64(plan[slot])) != 0 {
                    // A field only the record's first change wrote has that value (no register
                    // is built for it); one written since, its register's winner.
                    let value =
                        record.hasRegister(column.field)
                        ? try record.register(column.field).flatMap {
                            try winner(of: $0, field: column.field, table: key.table, byDot, held)
                        }
                        : record.firstChangeValue(of: column.field)
                    values.append((column.name, column.derive(value)))
                    mask |= 1 << UInt64(slot)
                }
                if !values.isEmpty { upserts.append(ViewUpsert(view: view, id: key.id, values: values, columnMask: mask)) }
            }
        }
        return upserts
    }

    /// The upserts that build the views of `table` from scratch, one per record.
    /// Each row's `updated_at` is its record's latest clock (a push sets the server's time).
    public func rebuild(_ records: [(RecordKey, Record)], lookup: (Dot) throws -> Change?) throws -> [ViewUpsert] {
        let merged = Dictionary(records, uniquingKeysWith: { first, _ in first })
        return try upserts(changes: [], merged: merged, isNew: { _ in true }, lookup: lookup).map { upsert in
            var dated = upsert
            var latest: UInt64 = 0
            for (_, register) in merged[RecordKey(table: upsert.view.table, id: upsert.id)]?.registersByName ?? [] {
                register.forEachSibling { latest = max(latest, $0.hlc.wall) }
            }
            dated.updatedAt = Int64(latest)
            return dated
        }
    }

    private func winner(
        of register: FieldRegister, field: String, table: String, _ byDot: [Dot: Change], _ lookup: (Dot) throws -> Change?
    ) throws -> Value? {
        let rule = schema.rule(table: table, field: field)
        func valued(_ sibling: Sibling) throws -> Value {
            if let change = byDot[sibling.dot] { return change.fields[field] ?? .null }
            return try lookup(sibling.dot)?.fields[field] ?? .null
        }
        // A rule that ranks values (a workflow's furthest stage, a maximum) needs every
        // sibling's: the merge state keeps none, so they are read before the choice.
        if register.siblingCount > 1, rule != .lastWriterWins {
            var candidates = register.siblings
            // A workflow's highest round wins before any value is compared: only the siblings
            // of that round need their values.
            if case .workflow = rule, let top = candidates.map(\.round).max() {
                candidates.removeAll { $0.round != top }
                if candidates.count == 1 { return try valued(candidates[0]) }
            }
            var best: Sibling?
            for sibling in candidates {
                let full = Sibling(
                    dot: sibling.dot, value: try valued(sibling), hlc: sibling.hlc, author: sibling.author, round: sibling.round)
                if let current = best, !FieldRegister.beats(full, current, under: rule) { continue }
                best = full
            }
            return best?.value
        }
        guard let winner = register.winner(under: rule) else { return nil }
        return try valued(winner)
    }
}

/// The SQL a backend needs for the views (both speak `INSERT … ON CONFLICT DO UPDATE`).
public enum ViewSQL {
    /// A backend's column types.
    public enum Dialect: Sendable {
        case sqlite, postgres

        func type(_ type: FieldDeclaration.ValueType) -> String {
            switch (self, type) {
            case (_, .text): "TEXT"
            case (.sqlite, _): "INTEGER"
            case (.postgres, _): "BIGINT"
            }
        }
    }

    /// The statements creating `view` (its table and indexes); each one statement.
    public static func create(_ view: ViewDeclaration, _ dialect: Dialect) -> [String] {
        let columns = view.columns.map { "\($0.name) \(dialect.type($0.type))" }.joined(separator: ", ")
        var statements = ["CREATE TABLE \(view.name) (id TEXT PRIMARY KEY, updated_at \(dialect.type(.integer)) NOT NULL, \(columns))"]
        for index in view.indexes {
            statements.append(
                "CREATE INDEX \(view.name)_\(index.joined(separator: "_")) ON \(view.name) (\(index.joined(separator: ", ")))")
        }
        return statements
    }

    /// The upsert of `columns` of `view`, with placeholders `?` (SQLite) or `$n` (PostgreSQL)
    /// for `id`, `updated_at` and each column, in that order.
    public static func upsert(_ view: ViewDeclaration, columns: [String], _ dialect: Dialect) -> String {
        let names = ["id", "updated_at"] + columns
        let placeholders = names.indices.map { dialect == .sqlite ? "?" : "$\($0 + 1)" }.joined(separator: ", ")
        let updates = (["updated_at"] + columns).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return
            "INSERT INTO \(view.name) (\(names.joined(separator: ", "))) VALUES (\(placeholders)) ON CONFLICT (id) DO UPDATE SET \(updates)"
    }
}
