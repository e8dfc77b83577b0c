public import CaseDomain
import Foundation
public import GRDB
public import ReplicaStore

/// The replica's duplicate-detection index (README, "Similarity rules"): each case's phone
/// and place keys as columns of `cases` (indexed), and its title's bigrams in
/// `case_grams (gram, case_rowid)`, an inverted index: the candidates for one case are
/// index reads, not a scan of every case.
enum CaseLikenessIndex {
    static func create(in db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE cases ADD COLUMN phone_key TEXT;
                ALTER TABLE cases ADD COLUMN place_key TEXT;
                ALTER TABLE cases ADD COLUMN gram_count INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX cases_by_phone_key ON cases (phone_key) WHERE phone_key IS NOT NULL;
                CREATE INDEX cases_by_place_key ON cases (place_key) WHERE place_key IS NOT NULL;
                CREATE TABLE case_grams (gram INTEGER NOT NULL, case_rowid INTEGER NOT NULL, PRIMARY KEY (gram, case_rowid)) WITHOUT ROWID;
                """)
        // The cases already held (a file made by an earlier release).
        let update = try db.makeStatement(sql: "UPDATE cases SET phone_key = ?, place_key = ?, gram_count = ? WHERE rowid = ?")
        let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO case_grams (gram, case_rowid) VALUES (?, ?)")
        let rows = try Row.fetchCursor(db, sql: "SELECT rowid, title, phone, address FROM cases WHERE moved_at IS NULL")
        while let row = try rows.next() {
            let rowid: Int64 = row["rowid"]
            let grams = (row["title"] as String?).map(LikenessKeys.grams) ?? []
            try update.execute(
                arguments: [LikenessKeys.phone(row["phone"]), LikenessKeys.place(row["address"]), grams.count, rowid])
            for gram in grams { try insert.execute(arguments: [gram, rowid]) }
        }
    }

    /// What keeps the index in step as the projection writes a case row.
    final class Statements {
        private let lookup: FastStatement
        private let delete: FastStatement
        private let insert: FastStatement
        private let rowid: FastStatement

        init(in db: Database) throws {
            lookup = try FastStatement("SELECT rowid, title FROM cases WHERE id = ?1", in: db)
            delete = try FastStatement("DELETE FROM case_grams WHERE gram = ?1 AND case_rowid = ?2", in: db)
            insert = try FastStatement("INSERT OR IGNORE INTO case_grams (gram, case_rowid) VALUES (?1, ?2)", in: db)
            rowid = try FastStatement("SELECT rowid FROM cases WHERE id = ?1", in: db)
        }

        /// The case row's rowid and title before a write, nil for a new row.
        func before(_ id: String) throws -> (rowid: Int64, title: String?)? {
            lookup.clear()
            lookup.bind(1, id)
            guard try lookup.step() else { return nil }
            let found = (lookup.integer(0), lookup.text(1))
            lookup.reset()
            return found
        }

        /// Replaces a row's grams `old` with `new` (its rowid looked up for a new row).
        func replace(rowid known: Int64?, old: [Int64], new: [Int64], id: String) throws {
            var rowid = known
            if rowid == nil {
                self.rowid.clear()
                self.rowid.bind(1, id)
                if try self.rowid.step() {
                    rowid = self.rowid.integer(0)
                    self.rowid.reset()
                }
            }
            guard let rowid else { return }
            let kept = Set(new)
            for gram in old where !kept.contains(gram) {
                delete.clear()
                delete.bind(1, gram)
                delete.bind(2, rowid)
                try delete.run()
            }
            let had = Set(old)
            for gram in new where !had.contains(gram) {
                insert.clear()
                insert.bind(1, gram)
                insert.bind(2, rowid)
                try insert.run()
            }
        }
    }
}

/// A candidate duplicate of a case, as `rain case similar` lists it.
public struct SimilarCase: Sendable {
    public let row: CaseRow
    public let match: LikenessMatch
}

extension ReplicaStore {
    /// The cases this replica holds that may be duplicates of case `reference`, strongest
    /// first, at most `limit` (README, "Similarity rules"): the same phone, the same place,
    /// like titles (bigram Dice ≥ 0.5), or the same category within 14 days with titles at
    /// least 0.3 alike. `kind` keeps only cases of that kind (suggestions).
    public func similarCases(
        to reference: String, kind: CaseKind? = nil, rules: LikenessRules = LikenessRules(), limit: Int = 50
    ) throws -> (subject: CaseRow, candidates: [SimilarCase]) {
        let subject = try findCase(reference)
        return try reading("cannot read the cases") { db in
            guard
                let keys = try Row.fetchOne(
                    db, sql: "SELECT rowid, phone_key, place_key FROM cases WHERE id = ?", arguments: [subject.id])
            else { return (subject, []) }
            let grams = subject.title.map(LikenessKeys.grams) ?? []
            let me = Self.likenessSubject(subject, phone: keys["phone_key"], place: keys["place_key"], grams: grams)
            // Candidates by index: the same keys, or enough shared bigrams for the weaker
            // threshold (2s/(a+b) ≥ t needs s ≥ t·a/2 shared at the least).
            var similarity: [Int64: Double] = [:]
            if !grams.isEmpty {
                let least = max(1, Int((rules.weakTextThreshold * Double(grams.count) / 2).rounded(.up)))
                let list = grams.map(String.init).joined(separator: ",")
                let hits = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT g.case_rowid AS rowid, COUNT(*) AS shared, c.gram_count AS count
                        FROM case_grams g JOIN cases c ON c.rowid = g.case_rowid
                        WHERE g.gram IN (\(list)) AND g.case_rowid <> ?
                        GROUP BY g.case_rowid HAVING 2.0 * shared >= ? * (? + count)
                        """, arguments: [keys["rowid"] as Int64, rules.weakTextThreshold, grams.count])
                for hit in hits {
                    similarity[hit["rowid"]] = LikenessKeys.dice(shared: hit["shared"], grams.count, hit["count"])
                }
            }
            var sql = "SELECT rowid, * FROM cases WHERE moved_at IS NULL AND id <> ? AND ("
            var arguments: [any DatabaseValueConvertible] = [subject.id]
            var any: [String] = []
            if let phone = me.phone {
                any.append("phone_key = ?")
                arguments.append(phone)
            }
            if let place = me.place {
                any.append("place_key = ?")
                arguments.append(place)
            }
            if !similarity.isEmpty { any.append("rowid IN (\(similarity.keys.map(String.init).joined(separator: ",")))") }
            guard !any.isEmpty else { return (subject, []) }
            sql += any.joined(separator: " OR ") + ")"
            if let kind {
                sql += " AND kind = ?"
                arguments.append(kind.rawValue)
            }
            var found: [SimilarCase] = []
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)) {
                let other = CaseRow(row: row)
                let subjectOfOther = Self.likenessSubject(other, phone: row["phone_key"], place: row["place_key"], grams: [])
                let rowid: Int64 = row["rowid"]
                if let match = rules.compare(me, subjectOfOther, similarity: similarity[rowid] ?? 0) {
                    found.append(SimilarCase(row: other, match: match))
                }
            }
            found.sort { LikenessRules.stronger($0.match, $1.match) }
            return (subject, Array(found.prefix(limit)))
        }
    }

    static func likenessSubject(_ row: CaseRow, phone: String?, place: String?, grams: [Int64]) -> LikenessSubject {
        LikenessSubject(
            id: row.id, number: row.number ?? row.id, category: row.category ?? "", createdAt: row.createdAt ?? 0,
            community: row.office ?? "", phone: phone, place: place, grams: grams)
    }
}
