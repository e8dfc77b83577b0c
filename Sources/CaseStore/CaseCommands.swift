public import CaseDomain
import Foundation
public import GRDB
public import ReplicaStore
public import SyncCore

/// A case as the materialised `cases` table holds it.
public struct CaseRow: Hashable, Sendable {
    public var id: String
    public var number: String?
    public var kind: String?
    public var category: String?
    public var title: String?
    public var description: String?
    public var citizenName: String?
    public var phone: String?
    public var address: String?
    public var status: String?
    public var round: Int?
    public var level: String?
    public var office: String?
    public var answer: String?
    public var rating: Int?
    public var createdAt: Int64?
    public var dueDate: String?
    public var updatedAt: Int64?
    public var closedAt: Int64?
    public var conflicts: Int

    init(row: Row) {
        id = row["id"]
        number = row["number"]
        kind = row["kind"]
        category = row["category"]
        title = row["title"]
        description = row["description"]
        citizenName = row["citizen_name"]
        phone = row["phone"]
        address = row["address"]
        status = row["status"]
        round = row["round"]
        level = row["level"]
        office = row["office"]
        answer = row["answer"]
        rating = row["rating"]
        createdAt = row["created_at"]
        dueDate = row["due_date"]
        updatedAt = row["updated_at"]
        closedAt = row["closed_at"]
        conflicts = row["conflicts"] ?? 0
    }

    /// The workflow position the row shows.
    public var workflow: WorkflowState {
        WorkflowState(
            status: status.flatMap(CaseStatus.init(rawValue:)) ?? .received, round: round ?? 1,
            level: level.flatMap(HandlingLevel.init(rawValue:)) ?? .community)
    }

    /// The key of the case's record.
    public var key: RecordKey { RecordKey(table: "cases", id: id) }
}

/// An entry of a case's event list (`case_events`): a note, a site visit, a workflow
/// move with its reason, a rating.
public struct CaseEventRow: Hashable, Sendable {
    public var id: String
    public var type: String?
    public var text: String?
    public var score: Int?
    public var author: String?
    public var replica: String?
    public var at: Int64?
}

/// What `rain case new` records.
public struct NewCase: Sendable {
    public var kind: CaseKind
    public var category: String
    public var title: String
    public var description: String?
    public var citizenName: String?
    public var phone: String?
    public var address: String?

    public init(
        kind: CaseKind, category: String, title: String, description: String? = nil, citizenName: String? = nil, phone: String? = nil,
        address: String? = nil
    ) {
        self.kind = kind
        self.category = category
        self.title = title
        self.description = description
        self.citizenName = citizenName
        self.phone = phone
        self.address = address
    }
}

/// What a case query selects.
public struct CaseFilter: Sendable {
    public var status: CaseStatus?
    public var kind: CaseKind?
    public var category: String?
    /// Only open cases past their due date on `today`.
    public var overdueOn: CivilDate?
    public var limit: Int

    public init(status: CaseStatus? = nil, kind: CaseKind? = nil, category: String? = nil, overdueOn: CivilDate? = nil, limit: Int = 50) {
        self.status = status
        self.kind = kind
        self.category = category
        self.overdueOn = overdueOn
        self.limit = limit
    }
}

/// Why a case operation was refused. Messages never contain residents' data.
public enum CaseInputError: Error, Hashable, Sendable {
    case unknownCategory(String)
    case emptyTitle
    case tooLong(field: String, bytes: Int, limit: Int)
    case caseNotFound(String)
    case ambiguousReference(String, matches: Int)
    case emptyText(String)

    /// A reference as it may be repeated in a message: one that looks like a phone number
    /// (seven digits or more) is masked, since people look cases up by phone too.
    static func shown(_ reference: String) -> String {
        let digits = reference.filter(\.isNumber)
        return digits.count >= 7 && digits.count == reference.count ? Masking.phone(reference) : reference
    }

    public func message(_ language: Language) -> String {
        switch (self, language) {
        case (.unknownCategory(let name), .zh): "未知的类别：\(name)（可用类别见 `rain case new --help`）"
        case (.unknownCategory(let name), .en): "unknown category: \(name) (see `rain case new --help` for the list)"
        case (.emptyTitle, .zh): "标题不能为空（--title）"
        case (.emptyTitle, .en): "the title must not be empty (--title)"
        case (.tooLong(let field, let bytes, let limit), .zh): "\(field) 过长：\(bytes) 字节，上限 \(limit) 字节"
        case (.tooLong(let field, let bytes, let limit), .en): "\(field) is too long: \(bytes) bytes, the limit is \(limit)"
        case (.caseNotFound(let reference), .zh): "找不到案件：\(Self.shown(reference))"
        case (.caseNotFound(let reference), .en): "no such case: \(Self.shown(reference))"
        case (.ambiguousReference(let reference, let matches), .zh): "案件编号不唯一：\(Self.shown(reference)) 匹配 \(matches) 个案件，请输入更多字符"
        case (.ambiguousReference(let reference, let matches), .en):
            "ambiguous case reference: \(Self.shown(reference)) matches \(matches) cases; type more of it"
        case (.emptyText(let option), .zh): "内容不能为空（\(option)）"
        case (.emptyText(let option), .en): "the text must not be empty (\(option))"
        }
    }
}

extension ReplicaStore {
    /// Limits on what staff type (a case's texts become change values, ≤ 64 KiB each).
    public static let maximumTitleBytes = 600
    public static let maximumTextBytes = 64 * 1024

    /// Records a new case and mints its number, in one transaction.
    ///
    /// - Throws: ``CaseInputError`` for bad input, ``ReplicaStoreError`` otherwise.
    public func newCase(_ input: NewCase, categories: CategoryList = CategoryList(), now: Int64 = ReplicaStore.nowMillis()) throws -> (
        id: String, number: String
    ) {
        guard categories.contains(input.category) else { throw CaseInputError.unknownCategory(input.category) }
        let title = input.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty else { throw CaseInputError.emptyTitle }
        try Self.checkLength("title", title, limit: Self.maximumTitleBytes)
        var fields: [String: Value] = [
            "kind": .text(input.kind.rawValue), "category": .text(input.category), "title": .text(title),
            "status": .text(CaseStatus.received.rawValue), "round": .integer(1), "level": .text(HandlingLevel.community.rawValue),
            "office": .text(identity.office), "community": .text(identity.office), "created_at": .timestamp(now),
        ]
        if let description = input.description {
            try Self.checkLength("description", description, limit: Self.maximumTextBytes)
            fields["description"] = .text(description)
        }
        if let name = input.citizenName { fields["citizen_name"] = .text(name.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if let phone = input.phone { fields["phone"] = .text(try PhoneNumber.normalize(phone)) }
        if let address = input.address {
            try Self.checkLength("address", address, limit: Self.maximumTitleBytes)
            fields["address"] = .text(address)
        }
        let id = Self.newRecordID(now: now)
        return try transaction("cannot record the case") { db in
            let lastText = try String.fetchOne(db, sql: "SELECT last_number FROM replica WHERE singleton = 1")
            var minter = CaseNumberMinter(last: lastText.flatMap(CaseNumber.init(parsing:)))
            let number = minter.next(office: self.identity.office, tag: self.identity.tag, epochMillis: now).description
            try db.execute(sql: "UPDATE replica SET last_number = ? WHERE singleton = 1", arguments: [number])
            fields["number"] = .text(number)
            let session = WriteSession(store: self, db: db)
            _ = try session.local(fields, to: RecordKey(table: "cases", id: id), now: now)
            try session.finish()
            return (id, number)
        }
    }

    static func checkLength(_ field: String, _ text: String, limit: Int) throws {
        if text.utf8.count > limit { throw CaseInputError.tooLong(field: field, bytes: text.utf8.count, limit: limit) }
    }

    /// A UUIDv7: 48 bits of milliseconds, then random bits — minted offline, sortable by time.
    public static func newRecordID(now: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        let millis = UInt64(max(now, 0))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - UInt64(index)))) }
        for index in 6..<16 { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    // MARK: Finding cases

    /// The case `reference` names: a case number (any letter case), an id, or a unique
    /// prefix of either.
    ///
    /// - Throws: ``CaseInputError/caseNotFound(_:)``, ``CaseInputError/ambiguousReference(_:matches:)``.
    public func findCase(_ reference: String) throws -> CaseRow {
        let text = reference.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw CaseInputError.caseNotFound(reference) }
        return try reading("cannot read the cases") { db in
            if let row = try Row.fetchOne(
                db, sql: "SELECT * FROM cases WHERE number = ? COLLATE NOCASE OR id = ? LIMIT 1", arguments: [text, text])
            {
                return CaseRow(row: row)
            }
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(
                of: "_", with: "\\_")
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM cases WHERE number LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' LIMIT 11",
                arguments: [escaped + "%", escaped + "%"])
            guard let first = rows.first else { throw CaseInputError.caseNotFound(text) }
            guard rows.count == 1 else { throw CaseInputError.ambiguousReference(text, matches: rows.count) }
            return CaseRow(row: first)
        }
    }

    /// Cases matching `filter`, newest first.
    public func cases(_ filter: CaseFilter = CaseFilter()) throws -> [CaseRow] {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let status = filter.status {
            conditions.append("status = ?")
            arguments.append(status.rawValue)
        }
        if let kind = filter.kind {
            conditions.append("kind = ?")
            arguments.append(kind.rawValue)
        }
        if let category = filter.category {
            conditions.append("category = ?")
            arguments.append(category)
        }
        if let today = filter.overdueOn {
            conditions.append("status <> 'closed' AND due_date < ?")
            arguments.append(today.description)
        }
        let clause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(max(filter.limit, 0))
        return try reading("cannot read the cases") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM cases \(clause) ORDER BY created_at DESC, id LIMIT ?", arguments: StatementArguments(arguments)
            )
            .map(CaseRow.init(row:))
        }
    }

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

    /// Records that `command` showed these cases' personal data unmasked: one append-only
    /// `audit_events` record per case (who and where are the change's author and replica),
    /// synced like any change, so the district sees every reveal.
    public func recordReveal(ofCases ids: [String], command: String, now: Int64 = ReplicaStore.nowMillis()) throws {
        guard !ids.isEmpty else { return }
        try transaction("cannot record the reveal") { db in
            let session = WriteSession(store: self, db: db)
            for id in ids {
                let fields: [String: Value] = [
                    "case_id": .text(id), "action": .text("reveal"), "command": .text(command), "at": .timestamp(now),
                ]
                _ = try session.local(fields, to: RecordKey(table: "audit_events", id: Self.newRecordID(now: now)), now: now)
            }
            try session.finish()
        }
    }

    /// The reveals recorded for a case, oldest first: (author, replica, time, command).
    public func reveals(ofCase id: String) throws -> [(author: String, replica: String, at: Int64, command: String)] {
        try reading("cannot read the audit events") { db in
            // Audit events are append-only: each record is its one change.
            var reveals: [(arrived: Int64, author: String, replica: String, at: Int64, command: String)] = []
            for row in try Row.fetchAll(db, sql: "SELECT record_id, state FROM merge_state WHERE tbl = 'audit_events'") {
                let state: Data = row["state"]
                let decoded = try self.decodeState(Array(state), of: RecordKey(table: "audit_events", id: row["record_id"]), in: db)
                let record = decoded.record
                guard record.register("case_id")?.siblings.first?.value == .text(id),
                    let sibling = record.register("at")?.siblings.first, case .timestamp(let at) = sibling.value,
                    case .text(let command)? = record.register("command")?.siblings.first?.value
                else { continue }
                reveals.append((decoded.arrivals.first ?? 0, sibling.author, sibling.dot.replica.rawValue, at, command))
            }
            return reveals.sorted { $0.arrived < $1.arrived }.map { ($0.author, $0.replica, $0.at, $0.command) }
        }
    }

    /// The events of a case, oldest first.
    public func events(ofCase id: String) throws -> [CaseEventRow] {
        try reading("cannot read the case's events") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM case_events WHERE case_id = ? ORDER BY at, id", arguments: [id]).map { row in
                CaseEventRow(
                    id: row["id"], type: row["type"], text: row["text"], score: row["score"], author: row["author"],
                    replica: row["replica"], at: row["at"])
            }
        }
    }

    // MARK: Working a case

    /// Changes the given fields of a case (title, description, category, citizen, phone, address).
    public func editCase(
        _ reference: String, fields input: [String: String], categories: CategoryList = CategoryList(),
        now: Int64 = ReplicaStore.nowMillis()
    ) throws -> CaseRow {
        let row = try findCase(reference)
        var fields: [String: Value] = [:]
        for (name, value) in input {
            switch name {
            case "title":
                let title = value.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !title.isEmpty else { throw CaseInputError.emptyTitle }
                try Self.checkLength(name, title, limit: Self.maximumTitleBytes)
                fields[name] = .text(title)
            case "category":
                guard categories.contains(value) else { throw CaseInputError.unknownCategory(value) }
                fields[name] = .text(value)
            case "phone":
                fields[name] = .text(try PhoneNumber.normalize(value))
            default:
                try Self.checkLength(name, value, limit: Self.maximumTextBytes)
                fields[name] = .text(value)
            }
        }
        guard !fields.isEmpty else { return row }
        try write(fields, to: row.key, now: now)
        return try findCase(row.id)
    }

    /// Adds a note (or, with `visit`, a site-visit record) to a case.
    public func addNote(_ reference: String, text: String, visit: Bool, now: Int64 = ReplicaStore.nowMillis()) throws -> CaseRow {
        let row = try findCase(reference)
        let body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !body.isEmpty else { throw CaseInputError.emptyText("TEXT") }
        try Self.checkLength("note", body, limit: Self.maximumTextBytes)
        try transaction("cannot add the note") { db in
            let session = WriteSession(store: self, db: db)
            try self.addEvent(caseID: row.id, type: visit ? "visit" : "note", text: body, score: nil, now: now, session: session)
            try session.finish()
        }
        return row
    }

    func addEvent(caseID: String, type: String, text: String?, score: Int?, now: Int64, session: WriteSession) throws {
        var fields: [String: Value] = ["case_id": .text(caseID), "type": .text(type), "at": .timestamp(now)]
        if let text { fields["text"] = .text(text) }
        if let score { fields["score"] = .integer(Int64(score)) }
        _ = try session.local(fields, to: RecordKey(table: "case_events", id: Self.newRecordID(now: now)), now: now)
    }

    /// Hands a case over to another community (a street's or the district's decision; the
    /// server refuses it from a community, §9.6): its community and handling office
    /// become `community`, at community level; the reason is recorded as an event.
    public func reassign(_ reference: String, to community: String, reason: String, now: Int64 = ReplicaStore.nowMillis()) throws
        -> CaseRow
    {
        let row = try findCase(reference)
        let body = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !body.isEmpty else { throw CaseInputError.emptyText("--reason") }
        try Self.checkLength("reason", body, limit: Self.maximumTextBytes)
        try transaction("cannot reassign the case") { db in
            let session = WriteSession(store: self, db: db)
            _ = try session.local(
                ["community": .text(community), "office": .text(community), "level": .text(HandlingLevel.community.rawValue)], to: row.key,
                now: now)
            try self.addEvent(caseID: row.id, type: "reassign", text: body, score: nil, now: now, session: session)
            try session.finish()
        }
        return try findCase(row.id)
    }

    /// Moves a case through its workflow; the note, answer or reason is recorded as an
    /// event in the same transaction.
    ///
    /// `office`, with an escalation, is the code of the office that takes the case over.
    ///
    /// - Throws: ``CaseDomainError`` naming the legal moves when the move is illegal.
    public func move(
        _ reference: String, _ action: CaseAction, text: String? = nil, office: String? = nil, now: Int64 = ReplicaStore.nowMillis()
    ) throws -> CaseRow {
        let row = try findCase(reference)
        let body = text?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let body { try Self.checkLength("text", body, limit: Self.maximumTextBytes) }
        if action == .reply, (body ?? "").isEmpty { throw CaseInputError.emptyText("--answer") }
        let next = try Workflow.apply(action, to: row.workflow, reason: body)
        var fields: [String: Value] = ["status": .text(next.status.rawValue), "round": .integer(Int64(next.round))]
        if next.level != row.workflow.level { fields["level"] = .text(next.level.rawValue) }
        if action == .escalate, let office, !office.isEmpty { fields["office"] = .text(office) }
        if action == .reply, let body { fields["answer"] = .text(body) }
        if action == .close { fields["closed_at"] = .timestamp(now) }
        if action == .reopen { fields["closed_at"] = .null }
        try transaction("cannot move the case") { db in
            let session = WriteSession(store: self, db: db)
            _ = try session.local(fields, to: row.key, now: now)
            if let body, !body.isEmpty {
                try self.addEvent(caseID: row.id, type: action.rawValue, text: body, score: nil, now: now, session: session)
            }
            try session.finish()
        }
        return try findCase(row.id)
    }

    /// Records the resident's rating (1…5) of an answered case.
    public func rate(_ reference: String, score: Int, comment: String?, now: Int64 = ReplicaStore.nowMillis()) throws -> CaseRow {
        let row = try findCase(reference)
        try Workflow.checkRating(score, status: row.workflow.status)
        let body = comment?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let body { try Self.checkLength("comment", body, limit: Self.maximumTextBytes) }
        try transaction("cannot record the rating") { db in
            let session = WriteSession(store: self, db: db)
            _ = try session.local(["rating": .integer(Int64(score))], to: row.key, now: now)
            try self.addEvent(caseID: row.id, type: "rating", text: body, score: score, now: now, session: session)
            try session.finish()
        }
        return try findCase(row.id)
    }

    /// The number of cases held.
    public func caseCount() throws -> Int {
        try reading("cannot count the cases") { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM cases") ?? 0 }
    }

}

extension ReplicaStore {
    /// The figures over cases received from `from` through `to` (local dates, inclusive).
    public func report(from: CivilDate?, to: CivilDate?, today: CivilDate) throws -> CaseReport {
        let rows = try reading("cannot read the cases") { db in
            try Row.fetchAll(db, sql: "SELECT status, kind, category, level, created_at, closed_at, due_date, rating FROM cases")
        }
        var cases: [ReportCase] = []
        for row in rows {
            guard let created: Int64 = row["created_at"] else { continue }
            let received = CivilDate(epochMillis: created)
            if let from, received < from { continue }
            if let to, received > to { continue }
            let closedAt: Int64? = row["closed_at"]
            let status: String? = row["status"]
            let kind: String? = row["kind"]
            let level: String? = row["level"]
            let due: String? = row["due_date"]
            cases.append(
                ReportCase(
                    status: status.flatMap(CaseStatus.init(rawValue:)) ?? .received, kind: kind.flatMap(CaseKind.init(rawValue:)),
                    category: row["category"] ?? "", level: level.flatMap(HandlingLevel.init(rawValue:)) ?? .community, received: received,
                    closed: closedAt.map { CivilDate(epochMillis: $0) }, due: due.flatMap(CivilDate.init(parsing:)), rating: row["rating"]))
        }
        return CaseReport.compute(cases, today: today, calendar: deadlines.calendar)
    }
}
