public import CaseDomain
import Foundation
public import GRDB
public import ReplicaStore
public import SyncCore

/// The `cases` kind's rows in a replica (DESIGN §8): `cases` (one row per case, with its
/// due date and search note), `case_events`, and the full-text index over a case's title,
/// description and address. The generic store calls it for every record of the kind's
/// tables it merges; its tables were created by the replica's first migrations (v1–v11).
public struct CaseProjection: RecordProjection {
    /// Deadlines for the materialised `due_date`.
    public let deadlines: DeadlinePolicy

    public init(deadlines: DeadlinePolicy = DeadlinePolicy()) {
        self.deadlines = deadlines
    }

    public var kind: RecordKind { CaseRecords.kind }

    /// The kind's own steps after the replica's v1–v11 (which created its tables).
    public var migrations: [MigrationStep] {
        [
            // How a case came: `online` for a resident's own submission (written by the
            // server), NULL or `counter` for one staff recorded.
            MigrationStep(name: "cases-v12-source") { db in
                try db.execute(sql: "ALTER TABLE cases ADD COLUMN source TEXT")
            },
            // The enterprise raising a case (policy direct's registry): its credit code.
            MigrationStep(name: "cases-v13-enterprise") { db in
                try db.execute(sql: "ALTER TABLE cases ADD COLUMN credit_code TEXT")
            },
            // Duplicate detection (README, "Similarity rules"): each case's phone and place
            // keys, and its title's bigrams in an inverted index, filled for the cases
            // already held.
            MigrationStep(name: "cases-v14-likeness") { db in try CaseLikenessIndex.create(in: db) },
            // The case's community (its home; `office` is who handles it, a street's or the
            // district's after an escalation): the report's figures by community and over a
            // street's subtree. Filled from the merge state for the cases already held.
            MigrationStep(name: "cases-v15-community") { db in try Self.addCommunity(in: db) },
        ]
    }

    static func addCommunity(in db: Database) throws {
        try db.execute(sql: "ALTER TABLE cases ADD COLUMN community TEXT")
        let rule = Schema(kinds: [CaseRecords.kind]).rule(table: "cases", field: "community")
        let update = try db.makeStatement(sql: "UPDATE cases SET community = ? WHERE id = ?")
        let states = try Row.fetchCursor(db, sql: "SELECT record_id, state FROM merge_state WHERE tbl = 'cases'")
        while let row = try states.next() {
            let bytes: [UInt8] = Array((row["state"] as Data?) ?? Data())
            guard let record = MergeStateCodec.decode(bytes)?.record else { continue }
            var community: String?
            record.forEachField(
                register: { name, register in
                    if name == "community", case .text(let text)? = register.winner(under: rule)?.value { community = text }
                },
                base: { name, value, _ in
                    if name == "community", case .text(let text) = value { community = text }
                })
            if let community { try update.execute(arguments: [community, row["record_id"] as String?]) }
        }
        // A case whose state held no community (never seen in practice): its handling office.
        try db.execute(sql: "UPDATE cases SET community = office WHERE community IS NULL")
    }

    public func materialize(_ record: SyncCore.Record, key: RecordKey, in context: ProjectionContext) throws {
        switch key.table {
        case "cases":
            let statements = try context.kept("cases.rows") { try CaseRowStatements(in: context.db) }
            try materializeCase(record, key: key, schema: context.schema, using: statements, in: context.db)
        case "case_events": try materializeEvent(record, key: key, in: context)
        default: break  // audit_events: read from the merge state (`reveals(ofCase:)`)
        }
    }

    /// A case's events leave with it.
    public func dependents(of key: RecordKey, in db: Database) throws -> [RecordKey] {
        guard key.table == "cases" else { return [] }
        return try String.fetchAll(db, sql: "SELECT id FROM case_events WHERE case_id = ?", arguments: [key.id])
            .map { RecordKey(table: "case_events", id: $0) }
    }

    /// A case that left: its events and residents' data go; its number and status stay,
    /// marked `moved_at`. The search index catches up with the row at once (its note
    /// would keep the old text in `search_pending` until the next catch-up); its older
    /// segments may still hold it until ``scrub(in:)``.
    public func purgeRows(of key: RecordKey, now: Int64, in db: Database) throws {
        guard key.table == "cases" else { return }
        try db.execute(sql: "DELETE FROM case_events WHERE case_id = ?", arguments: [key.id])
        let statements = try CaseRowStatements(in: db)
        if let previous = try statements.noteBeforeWriting(key.id, title: nil, description: nil, address: nil) {
            try statements.likeness.replace(rowid: previous.rowid, old: previous.title.map(LikenessKeys.grams) ?? [], new: [])
        }
        try db.execute(
            sql: """
                UPDATE cases SET title = NULL, description = NULL, citizen_name = NULL, phone = NULL, address = NULL,
                    answer = NULL, conflicts = 0, moved_at = ?, phone_key = NULL, place_key = NULL, gram_count = 0
                WHERE id = ?
                """, arguments: [now, key.id])
        if try db.tableExists("cases_fts"),
            let rowid = try Int64.fetchOne(db, sql: "SELECT rowid FROM cases WHERE id = ?", arguments: [key.id])
        {
            try ReplicaStore.indexNoted(from: rowid, to: rowid, in: db)
        }
    }

    /// Merges the full-text index's segments into one, dropping what deletions only marked.
    public func scrub(in db: Database) throws {
        if try db.tableExists("cases_fts") { try db.execute(sql: "INSERT INTO cases_fts (cases_fts) VALUES ('optimize')") }
    }

    /// A case's number; an event's or a reveal's, its case's.
    public func label(of key: RecordKey, in db: Database) throws -> String? {
        if key.table == "cases" {
            return try String.fetchOne(db, sql: "SELECT number FROM cases WHERE id = ?", arguments: [key.id])
        }
        return try String.fetchOne(
            db, sql: "SELECT c.number FROM case_events e JOIN cases c ON c.id = e.case_id WHERE e.id = ?", arguments: [key.id])
    }

    /// Case numbers are ordered by ``CaseNumberMinter/isAfter(_:_:)``.
    public func isMinted(_ number: String, after other: String?) -> Bool? {
        guard let minted = CaseNumber(parsing: number) else { return nil }
        guard let other = other.flatMap(CaseNumber.init(parsing:)) else { return true }
        return CaseNumberMinter.isAfter(minted, other)
    }
}

extension ReplicaStore {
    /// Creates an office's replica file holding cases (``CaseProjection``).
    public static func create(
        at path: String, office: String, staff: String, replica: ReplicaID = ReplicaStore.newReplicaID(),
        now: Int64 = ReplicaStore.nowMillis(), deadlines: DeadlinePolicy = DeadlinePolicy(), also: [any RecordProjection] = []
    ) throws(ReplicaStoreError) -> ReplicaStore {
        try create(
            at: path, office: office, staff: staff, replica: replica, now: now, projections: [CaseProjection(deadlines: deadlines)] + also)
    }

    /// Opens an office's replica file holding cases, migrating it to this version's schema.
    public static func open(at path: String, deadlines: DeadlinePolicy = DeadlinePolicy(), also: [any RecordProjection] = [])
        throws(ReplicaStoreError) -> ReplicaStore
    {
        try open(at: path, projections: [CaseProjection(deadlines: deadlines)] + also)
    }

    /// The deadlines the cases' due dates are computed with.
    public var deadlines: DeadlinePolicy {
        (projection(of: "cases") as? CaseProjection)?.deadlines ?? DeadlinePolicy()
    }
}

/// The columns of the materialised tables (documented in README, "Replica file").
enum MaterialisedColumns {
    static let caseText = [
        "number", "kind", "category", "title", "description", "citizen_name", "phone", "address", "status", "level", "office", "answer",
        "source", "credit_code", "community",
    ]
    static let caseInteger = ["round", "rating", "created_at", "closed_at"]
    static let eventText = ["case_id", "type", "text"]
    static let eventInteger = ["score", "at"]
}

extension CaseProjection {

    /// A winner as a text column.
    private func text(_ value: Value?) -> String? {
        switch value {
        case .text(let text)?: text
        case .integer(let number)?: String(number)
        case .bool(let flag)?: flag ? "true" : "false"
        case .timestamp(let millis)?: String(millis)
        case .null?, nil: nil
        }
    }

    /// A winner as an integer column.
    private func integer(_ value: Value?) -> Int64? {
        switch value {
        case .integer(let number)?: number
        case .timestamp(let millis)?: millis
        case .bool(let flag)?: flag ? 1 : 0
        case .text(let text)?: Int64(text)
        case .null?, nil: nil
        }
    }

    // Built once: the upsert of a case row, every materialised column by position.
    static let caseColumns =
        ["id"] + MaterialisedColumns.caseText + MaterialisedColumns.caseInteger + [
            "due_date", "updated_at", "conflicts", "moved_at", "phone_key", "place_key", "gram_count",
        ]
    static let caseUpsert =
        "INSERT INTO cases (\(caseColumns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: caseColumns.count).joined(separator: ", "))) "
        + "ON CONFLICT (id) DO UPDATE SET \(caseColumns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", "))"

    /// The statements that write a case row and its search note, prepared once for a
    /// transaction that writes many.
    final class CaseRowStatements {
        let upsert: FastStatement
        /// The row's rowid, and whether binding 2–4 (title, description, address) changes
        /// what the search index holds for it while it has no note yet.
        private let searchLookup: FastStatement
        /// Notes what the index holds for row `?1` (before its searched columns change).
        private let noteIndexed: FastStatement
        /// Notes the row just inserted as not indexed.
        let noteNew: FastStatement

        init(in db: Database) throws {
            upsert = try FastStatement(CaseProjection.caseUpsert, in: db)
            searchLookup = try FastStatement(
                """
                SELECT c.rowid, (c.title IS NOT ?2 OR c.description IS NOT ?3 OR c.address IS NOT ?4)
                    AND NOT EXISTS (SELECT 1 FROM search_pending p WHERE p.case_rowid = c.rowid), c.title
                FROM cases c WHERE c.id = ?1
                """, in: db)
            noteIndexed = try FastStatement(
                """
                INSERT INTO search_pending (case_rowid, indexed, old_title, old_description, old_address)
                    SELECT rowid, 1, title, description, address FROM cases WHERE rowid = ?1
                """, in: db)
            noteNew = try FastStatement(
                "INSERT INTO search_pending (case_rowid, indexed) VALUES (last_insert_rowid(), 0)", in: db)
            likeness = try CaseLikenessIndex.Statements(in: db)
        }

        /// The title-bigram index's statements.
        let likeness: CaseLikenessIndex.Statements

        /// The search index's note (v10-search-notes-by-the-writer), before case `id`'s
        /// searched columns are written with these values: what the index holds for the
        /// row, noted when the values change it and the row has no note yet (the first
        /// change since the index was last brought up to date). Returns the row's rowid and
        /// title before the write (the likeness index's bigrams are the title's), nil for a
        /// new row, which is noted with ``noteNew`` once it has its rowid.
        func noteBeforeWriting(_ id: String, title: String?, description: String?, address: String?) throws -> (
            rowid: Int64, title: String?
        )? {
            searchLookup.clear()
            searchLookup.bind(1, id)
            searchLookup.bind(2, title)
            searchLookup.bind(3, description)
            searchLookup.bind(4, address)
            guard try searchLookup.step() else { return nil }
            let (rowid, changesSearchedText, before) = (searchLookup.integer(0), searchLookup.integer(1) != 0, searchLookup.text(2))
            searchLookup.reset()
            if changesSearchedText {
                noteIndexed.clear()
                noteIndexed.bind(1, rowid)
                try noteIndexed.run()
            }
            return (rowid, before)
        }
    }

    private func materializeCase(
        _ record: SyncCore.Record, key: RecordKey, schema: Schema, using statements: CaseRowStatements, in db: Database
    ) throws {
        var latest: UInt64 = 0
        var conflicts: Int64 = 0
        // One pass over the registers: winners, the latest time, the conflicts.
        var winners: [String: Value] = [:]
        winners.reserveCapacity(24)
        let baseWall = record.baseWrite?.hlc.wall ?? 0
        record.forEachField(
            register: { name, register in
                let rule = schema.rule(table: key.table, field: name)
                guard let winner = register.winner(under: rule) else { return }
                winners[name] = winner.value
                latest = max(latest, winner.hlc.wall)
                if register.isConflicted {
                    register.forEachSibling { latest = max(latest, $0.hlc.wall) }
                    if rule.listsConflicts { conflicts += 1 }
                }
            },
            base: { name, value, _ in
                // A field only the first change wrote: its one value wins.
                winners[name] = value
                latest = max(latest, baseWall)
            })
        // Bound through SQLite's C API (`FastStatement`): this runs for every case a
        // pull touches. ON CONFLICT … DO UPDATE keeps the rowid, so the search index's
        // notes stay in step.
        let (title, description, address) = (text(winners["title"]), text(winners["description"]), text(winners["address"]))
        let previous = try statements.noteBeforeWriting(key.id, title: title, description: description, address: address)
        let grams = title.map(LikenessKeys.grams) ?? []
        let upsert = statements.upsert
        upsert.clear()
        var index: Int32 = 1
        upsert.bind(index, key.id)
        for name in MaterialisedColumns.caseText {
            index += 1
            switch name {
            case "title": upsert.bind(index, title)
            case "description": upsert.bind(index, description)
            case "address": upsert.bind(index, address)
            default: upsert.bind(index, text(winners[name]))
            }
        }
        for name in MaterialisedColumns.caseInteger {
            index += 1
            upsert.bind(index, integer(winners[name]))
        }
        var due: String?
        if let kindText = winners["kind"]?.text, let kind = CaseKind(rawValue: kindText),
            case .timestamp(let created)? = winners["created_at"]
        {
            due = deadlines.due(kind: kind, received: CivilDate(epochMillis: created)).description
        }
        upsert.bind(index + 1, due)
        upsert.bind(index + 2, Int64(latest))
        upsert.bind(index + 3, conflicts)
        // moved_at: NULL again when a case comes back into this office's jurisdiction.
        upsert.bindNull(index + 4)
        upsert.bind(index + 5, LikenessKeys.phone(text(winners["phone"])))
        upsert.bind(index + 6, LikenessKeys.place(address))
        upsert.bind(index + 7, Int64(grams.count))
        try upsert.run()
        // A new row's rowid, read before the search note's insert takes its place.
        let rowid = previous?.rowid ?? db.lastInsertedRowID
        if previous == nil { try statements.noteNew.run() }
        if previous == nil || previous?.title != title {
            try statements.likeness.replace(rowid: rowid, old: previous?.title.map(LikenessKeys.grams) ?? [], new: grams)
        }
    }

    private func materializeEvent(_ record: SyncCore.Record, key: RecordKey, in context: ProjectionContext) throws {
        let db = context.db
        func winner(_ record: SyncCore.Record, _ field: String, table: String) -> Sibling? { context.winner(record, field, table: table) }
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
