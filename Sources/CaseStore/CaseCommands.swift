public import CaseDomain
import Foundation
public import GRDB
public import ReplicaStore
public import SyncCore

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
        try newCase(input, categories: categories, now: now, also: nil)
    }

    /// ``newCase(_:categories:now:)``, and `also` writes more in the same transaction (a
    /// suggestion's pipeline record), given the case's id and number.
    package func newCase(
        _ input: NewCase, categories: CategoryList = CategoryList(), now: Int64,
        also: ((_ session: WriteSession, _ id: String, _ number: String) throws -> Void)?
    ) throws -> (id: String, number: String) {
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
        if let code = input.creditCode {
            fields["credit_code"] = .text(code)
            fields["source"] = .text("enterprise")
        }
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
            try also?(session, id, number)
            try session.finish()
            return (id, number)
        }
    }

    static func checkLength(_ field: String, _ text: String, limit: Int) throws {
        if text.utf8.count > limit { throw CaseInputError.tooLong(field: field, bytes: text.utf8.count, limit: limit) }
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
        switch filter.source {
        case "online"?: conditions.append("source = 'online'")
        case "counter"?: conditions.append("(source IS NULL OR source = 'counter')")
        case "enterprise"?: conditions.append("source = 'enterprise'")
        default: break
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
        try reassign(reference, to: community, reason: reason, now: now, also: nil)
    }

    /// ``reassign(_:to:reason:now:)``, and `also` writes more in the same transaction (what
    /// other kinds keep of the case follows it: a suggestion's pipeline record, its links).
    package func reassign(
        _ reference: String, to community: String, reason: String, now: Int64,
        also: ((_ session: WriteSession, _ db: Database, _ row: CaseRow) throws -> Void)?
    ) throws -> CaseRow {
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
            try also?(session, db, row)
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
