public import GRDB
public import ReplicaStore
public import SuggestionDomain
public import SyncCore

/// The `suggestions` kind's rows in a replica (DESIGN §8): one table per declared table
/// (``DeclaredRows``), written by the generic store for every record of the kind it merges.
/// A suggestion's `stage_siblings` counts its concurrent stages (a selection and a
/// rejection made offline: publishing waits until a person settles it).
public struct SuggestionProjection: RecordProjection {
    public init() {}

    public var kind: RecordKind { SuggestionRecords.kind }

    static let rows = DeclaredRows(
        SuggestionRecords.kind, extras: ["suggestions": [("stage_siblings", "INTEGER NOT NULL DEFAULT 0")]])

    public var migrations: [MigrationStep] {
        [
            MigrationStep(name: "suggestions-v1") { db in
                try db.execute(
                    sql: Self.rows.schema + """
                        CREATE INDEX suggestions_by_number ON suggestions (number);
                        CREATE INDEX suggestion_steps_by_suggestion ON suggestion_steps (suggestion_id);
                        CREATE INDEX suggestion_reviews_by_suggestion ON suggestion_reviews (suggestion_id);
                        CREATE INDEX case_links_by_a ON case_links (case_a);
                        CREATE INDEX case_links_by_b ON case_links (case_b);
                        CREATE INDEX campaigns_by_code ON campaigns (code);
                        """)
            }
        ]
    }

    public func materialize(_ record: SyncCore.Record, key: RecordKey, in context: ProjectionContext) throws {
        guard var values = Self.rows.values(record, key: key, in: context) else { return }
        if key.table == "suggestions" {
            let stages = record.register("stage")?.siblings.count ?? 0
            values.append(stages.databaseValue)
        }
        let statement = try context.kept("suggestions.upsert.\(key.table)") {
            try context.db.makeStatement(sql: Self.rows.upsert(key.table))
        }
        try statement.execute(arguments: StatementArguments(values))
    }

    /// A suggestion's steps and reviews leave with it.
    public func dependents(of key: RecordKey, in db: Database) throws -> [RecordKey] {
        guard key.table == "suggestions" else { return [] }
        let steps = try String.fetchAll(db, sql: "SELECT id FROM suggestion_steps WHERE suggestion_id = ?", arguments: [key.id])
        let reviews = try String.fetchAll(db, sql: "SELECT id FROM suggestion_reviews WHERE suggestion_id = ?", arguments: [key.id])
        return steps.map { RecordKey(table: "suggestion_steps", id: $0) } + reviews.map { RecordKey(table: "suggestion_reviews", id: $0) }
    }

    /// A record that left this office's jurisdiction: its row goes (with a suggestion, its
    /// steps and reviews).
    public func purgeRows(of key: RecordKey, now: Int64, in db: Database) throws {
        guard Self.rows.tables[key.table] != nil else { return }
        try db.execute(sql: "DELETE FROM \(key.table) WHERE id = ?", arguments: [key.id])
        if key.table == "suggestions" {
            try db.execute(sql: "DELETE FROM suggestion_steps WHERE suggestion_id = ?", arguments: [key.id])
            try db.execute(sql: "DELETE FROM suggestion_reviews WHERE suggestion_id = ?", arguments: [key.id])
        }
    }

    /// A suggestion's number (a step's or review's, its suggestion's); a campaign's code; a
    /// link's two numbers.
    public func label(of key: RecordKey, in db: Database) throws -> String? {
        switch key.table {
        case "suggestions": try String.fetchOne(db, sql: "SELECT number FROM suggestions WHERE id = ?", arguments: [key.id])
        case "suggestion_steps", "suggestion_reviews":
            try String.fetchOne(
                db, sql: "SELECT s.number FROM \(key.table) x JOIN suggestions s ON s.id = x.suggestion_id WHERE x.id = ?",
                arguments: [key.id])
        case "campaigns": try String.fetchOne(db, sql: "SELECT code FROM campaigns WHERE id = ?", arguments: [key.id])
        case "case_links":
            try String.fetchOne(db, sql: "SELECT number_a || ' ~ ' || number_b FROM case_links WHERE id = ?", arguments: [key.id])
        default: nil
        }
    }
}
