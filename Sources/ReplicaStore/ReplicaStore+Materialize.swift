import CaseDomain
import GRDB
import SyncCore

/// The columns of the materialised tables (documented in README, "Replica file").
enum MaterialisedColumns {
    static let caseText = [
        "number", "kind", "category", "title", "description", "citizen_name", "phone", "address", "status", "level", "office", "answer",
    ]
    static let caseInteger = ["round", "rating", "created_at", "closed_at"]
    static let eventText = ["case_id", "type", "text"]
    static let eventInteger = ["score", "at"]
}

extension ReplicaStore {
    /// Writes the record's current values (the winners of the merge) into its table's
    /// row. Tables other than `cases` and `case_events` keep only their merge state.
    func materialize(_ record: SyncCore.Record, key: RecordKey, in db: Database) throws {
        switch key.table {
        case "cases": try materializeCase(record, key: key, in: db)
        case "case_events": try materializeEvent(record, key: key, in: db)
        default: break
        }
    }

    private func winner(_ record: SyncCore.Record, _ field: String, table: String) -> Sibling? {
        record.register(field)?.winner(under: schema.rule(table: table, field: field))
    }

    private func text(_ value: Value?) -> (any DatabaseValueConvertible)? {
        switch value {
        case .text(let text)?: text
        case .integer(let number)?: String(number)
        case .bool(let flag)?: flag ? "true" : "false"
        case .timestamp(let millis)?: String(millis)
        case .null?, nil: nil
        }
    }

    private func integer(_ value: Value?) -> (any DatabaseValueConvertible)? {
        switch value {
        case .integer(let number)?: number
        case .timestamp(let millis)?: millis
        case .bool(let flag)?: flag ? 1 : 0
        case .text(let text)?: Int64(text)
        case .null?, nil: nil
        }
    }

    private func materializeCase(_ record: SyncCore.Record, key: RecordKey, in db: Database) throws {
        var columns = ["id"]
        var values: [(any DatabaseValueConvertible)?] = [key.id]
        var latest: UInt64 = 0
        var conflicts = 0
        // One pass over the registers: winners, the latest time, the conflicts.
        var winners: [String: Value] = [:]
        for (name, register) in record.registersByName {
            let rule = schema.rule(table: key.table, field: name)
            guard let winner = register.winner(under: rule) else { continue }
            winners[name] = winner.value
            latest = max(latest, winner.hlc.wall)
            if register.isConflicted {
                for sibling in register.siblings { latest = max(latest, sibling.hlc.wall) }
                if rule.listsConflicts { conflicts += 1 }
            }
        }
        for name in MaterialisedColumns.caseText {
            columns.append(name)
            values.append(text(winners[name]))
        }
        for name in MaterialisedColumns.caseInteger {
            columns.append(name)
            values.append(integer(winners[name]))
        }
        var due: String?
        if let kindText = winners["kind"]?.text, let kind = CaseKind(rawValue: kindText),
            case .timestamp(let created)? = winners["created_at"]
        {
            due = deadlines.due(kind: kind, received: CivilDate(epochMillis: created)).description
        }
        // moved_at: NULL again when a case comes back into this office's jurisdiction.
        columns += ["due_date", "updated_at", "conflicts", "moved_at"]
        values += [due, Int64(latest), conflicts, nil]
        try upsert(table: "cases", columns: columns, values: values, in: db)
    }

    private func materializeEvent(_ record: SyncCore.Record, key: RecordKey, in db: Database) throws {
        var columns = ["id"]
        var values: [(any DatabaseValueConvertible)?] = [key.id]
        for name in MaterialisedColumns.eventText {
            columns.append(name)
            values.append(text(winner(record, name, table: key.table)?.value))
        }
        for name in MaterialisedColumns.eventInteger {
            columns.append(name)
            values.append(integer(winner(record, name, table: key.table)?.value))
        }
        let any = winner(record, "type", table: key.table) ?? record.registersByName.first?.register.siblings.first
        columns += ["author", "replica"]
        values += [any?.author, any?.dot.replica.rawValue]
        try upsert(table: "case_events", columns: columns, values: values, in: db)
    }

    private func upsert(table: String, columns: [String], values: [(any DatabaseValueConvertible)?], in db: Database) throws {
        // ON CONFLICT … DO UPDATE keeps the rowid, so the full-text index stays in step.
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let updates = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let sql =
            "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) ON CONFLICT (id) DO UPDATE SET \(updates)"
        // Cached: the statement is the same for every row of a table; compiling it each
        // time dominated the cost of a write.
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(values.map { $0?.databaseValue ?? .null }))
    }
}
