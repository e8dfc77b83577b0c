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
                CREATE INDEX cases_by_category_time ON cases (category, created_at);
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

    /// What keeps the index in step as the projection writes a case row (which reads the
    /// row's rowid and title before the write with its search-index lookup).
    final class Statements {
        private let delete: FastStatement
        private let insert: FastStatement

        init(in db: Database) throws {
            delete = try FastStatement("DELETE FROM case_grams WHERE gram = ?1 AND case_rowid = ?2", in: db)
            insert = try FastStatement("INSERT OR IGNORE INTO case_grams (gram, case_rowid) VALUES (?1, ?2)", in: db)
        }

        /// Replaces row `rowid`'s grams `old` with `new`.
        func replace(rowid: Int64, old: [Int64], new: [Int64]) throws {
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
            let similarity = try Self.likeTitles(
                grams, rowid: keys["rowid"], category: subject.category, createdAt: subject.createdAt, rules: rules, in: db)
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

    /// The cases whose titles may pass the text rules, with their likeness (bigram Dice):
    /// those sharing enough bigrams for ``LikenessRules/textThreshold`` — found from the
    /// rarest of the title's bigrams only (a title alike must share at least one of them:
    /// prefix filtering, so the commonest bigrams' long lists are never read) — and those of
    /// the same category within the window, for the weaker threshold. At most `cap` by
    /// likeness. The prefix's candidates are taken most-shared first, at most `5 × cap`
    /// (1,000): a title alike shares most of the rarer bigrams, so it ranks among them; the
    /// window's nearest in time first, at most 5,000.
    static func likeTitles(
        _ grams: [Int64], rowid: Int64, category: String?, createdAt: Int64?, rules: LikenessRules, cap: Int = 200, in db: Database
    ) throws -> [Int64: Double] {
        guard !grams.isEmpty else { return [:] }
        var similarity: [Int64: Double] = [:]
        // How many cases hold each bigram (an index range count each).
        let count = try db.cachedStatement(sql: "SELECT count(*) FROM case_grams WHERE gram = ?")
        var frequency: [(gram: Int64, cases: Int)] = []
        for gram in grams { frequency.append((gram, try Int.fetchOne(count, arguments: [gram]) ?? 0)) }
        frequency.sort { $0.cases < $1.cases }
        // Dice ≥ t needs the other title to have b ≥ t·a/(2−t) bigrams and to share s ≥ t·(a+b)/2
        // of them: any such title shares one of the a − s + 1 rarest.
        let a = Double(grams.count)
        let t = rules.textThreshold
        let fewest = (t * a / (2 - t)).rounded(.up)
        let shared = max(1, Int((t * (a + fewest) / 2).rounded(.up)))
        // Counted here rather than by SQLite's GROUP BY (a sort of every posting): a walk
        // of each rare bigram's posting list in the index and a dictionary.
        let postings = try FastStatement("SELECT case_rowid FROM case_grams WHERE gram = ?1", in: db)
        var counts: [Int64: Int] = [:]
        for entry in frequency.prefix(max(1, grams.count - shared + 1)) {
            postings.clear()
            postings.bind(1, entry.gram)
            while try postings.step() { counts[postings.integer(0), default: 0] += 1 }
        }
        counts[rowid] = nil
        var candidates: Set<Int64>
        if counts.count <= cap * 5 {
            candidates = Set(counts.keys)
        } else {
            candidates = Set(counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(cap * 5).map(\.key))
        }
        // The weaker threshold only within the category and the window.
        if let category, let createdAt {
            let window = Int64(rules.windowDays) * 86_400_000
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT rowid FROM cases WHERE category = ? AND created_at BETWEEN ? AND ? AND rowid <> ? AND moved_at IS NULL
                    ORDER BY abs(created_at - ?) LIMIT 5000
                    """,
                arguments: [category, createdAt - window, createdAt + window, rowid, createdAt])
            {
                candidates.insert(row[0])
            }
        }
        guard !candidates.isEmpty else { return [:] }
        // Exact likeness from the candidates' titles.
        let list = candidates.map(String.init).joined(separator: ",")
        for row in try Row.fetchAll(db, sql: "SELECT rowid, title FROM cases WHERE rowid IN (\(list)) AND moved_at IS NULL") {
            guard let title: String = row[1] else { continue }
            let value = LikenessKeys.dice(grams, LikenessKeys.grams(title))
            if value >= rules.weakTextThreshold { similarity[row[0]] = value }
        }
        if similarity.count > cap {
            let kept = similarity.sorted { $0.value > $1.value }.prefix(cap)
            similarity = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
        return similarity
    }

    static func likenessSubject(_ row: CaseRow, phone: String?, place: String?, grams: [Int64]) -> LikenessSubject {
        LikenessSubject(
            id: row.id, number: row.number ?? row.id, category: row.category ?? "", createdAt: row.createdAt ?? 0,
            community: row.office ?? "", phone: phone, place: place, grams: grams)
    }
}
