public import CaseDomain
import Foundation
public import GRDB
public import ReplicaStore
public import SyncCore

/// Finding cases: trigram full-text search over title, description and address, kept up
/// to date after writes (`search_pending`), and phone-tail lookups.
extension ReplicaStore {
    /// Cases whose title, description or address contains `text` (trigram full text for
    /// three characters or more), or whose phone number ends with it.
    public func search(_ text: String, limit: Int = 50) throws -> [CaseRow] {
        try search(text, limit: limit, updatingIndex: true)
    }

    func search(_ text: String, limit: Int, updatingIndex: Bool) throws -> [CaseRow] {
        let query = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !query.isEmpty else { return [] }
        // Best effort: the query below is exact with rows still waiting for the index, so
        // a file another process is writing (or a read-only copy) is still searched.
        if updatingIndex { _ = try? updateSearchIndex() }
        return try reading("cannot search the cases") { db in
            var rows: [Row]
            if query.count >= 3 {
                let tail = Self.phoneTail(query)
                let phrase = "\"" + query.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let pattern =
                    "%"
                    + query.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_") + "%"
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM cases WHERE rowid IN (
                            SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?
                                AND rowid NOT IN (SELECT case_rowid FROM search_pending)
                            UNION SELECT c.rowid FROM search_pending p CROSS JOIN cases c ON c.rowid = p.case_rowid
                                WHERE c.title LIKE ? ESCAPE '\\' OR c.description LIKE ? ESCAPE '\\' OR c.address LIKE ? ESCAPE '\\'
                            UNION SELECT rowid FROM cases WHERE phone_tail = ? AND phone LIKE ?
                        )
                        ORDER BY created_at DESC LIMIT ?
                        """,
                    // Indexed lookups (trigrams, the phone's last four digits), never a scan. Rows
                    // the index has not caught up with are matched on their current text, and its
                    // stale entries for them are not trusted (CROSS JOIN: SQLite keeps that order,
                    // pending rows first; else it may scan every case's text). `= NULL` matches
                    // nothing when the text is no phone tail.
                    arguments: [
                        phrase, pattern, pattern, pattern, tail.isEmpty ? nil : String(tail.suffix(4)), "%" + tail, limit,
                    ])
            } else {
                let pattern = "%" + query + "%"
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM cases WHERE title LIKE ? OR description LIKE ? OR address LIKE ? ORDER BY created_at DESC LIMIT ?",
                    arguments: [pattern, pattern, pattern, limit])
            }
            return rows.map(CaseRow.init(row:))
        }
    }

    /// Cases written since the full-text index was last brought up to date.
    public func pendingSearchCount() throws(ReplicaStoreError) -> Int {
        try read("cannot read the search index") { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM search_pending")) ?? 0
        }
    }

    /// Brings the full-text index up to date with every case written since it last was
    /// (migration `v9-search-later`), `chunk` cases a transaction, so that an interrupted
    /// update keeps what it did; `progress` hears the cases done so far. Returns how many
    /// cases were indexed.
    @discardableResult
    public func updateSearchIndex(chunk: Int = 2_000, progress: (Int) -> Void = { _ in }) throws(ReplicaStoreError) -> Int {
        guard try pendingSearchCount() > 0 else { return 0 }
        var done = 0
        while true {
            let count = try write("cannot update the search index") { db -> Int in
                let rowids = try Int64.fetchAll(
                    db.cachedStatement(sql: "SELECT case_rowid FROM search_pending ORDER BY case_rowid LIMIT ?"), arguments: [chunk])
                guard let last = rowids.last, let first = rowids.first else { return 0 }
                try Self.indexNoted(from: first, to: last, in: db)
                return rowids.count
            }
            if count == 0 { break }
            done += count
            progress(done)
        }
        return done
    }

    /// Brings the index up to date for the noted cases whose rowids are in `first...last`:
    /// what it holds for them (their notes say) goes, their current values come in, their
    /// notes go.
    package static func indexNoted(from first: Int64, to last: Int64, in db: Database) throws {
        let range: StatementArguments = [first, last]
        try db.execute(
            sql: """
                INSERT INTO cases_fts (cases_fts, rowid, title, description, address)
                SELECT 'delete', case_rowid, old_title, old_description, old_address
                FROM search_pending WHERE case_rowid BETWEEN ? AND ? AND indexed = 1
                """, arguments: range)
        try db.execute(
            sql: """
                INSERT INTO cases_fts (rowid, title, description, address)
                SELECT c.rowid, c.title, c.description, c.address
                FROM search_pending p CROSS JOIN cases c ON c.rowid = p.case_rowid WHERE p.case_rowid BETWEEN ? AND ?
                """, arguments: range)
        try db.execute(sql: "DELETE FROM search_pending WHERE case_rowid BETWEEN ? AND ?", arguments: range)
    }

    static func phoneTail(_ text: String) -> String {
        text.count >= 4 && text.allSatisfy(\.isNumber) && text.allSatisfy(\.isASCII) ? text : ""
    }
}
