public import CaseDomain
import Foundation
import SyncCore
import SyncServer

extension CaseRequests {
    /// A request as a resident may see it: never a name, phone, address, description, staff
    /// name or note; the office's answer and the timeline only to its requester.
    public struct Status: Sendable {
        public var id: String
        public var number: String
        public var status: CaseStatus
        public var kind: CaseKind?
        public var category: String
        public var serviceCode: String?
        /// The handling office's name.
        public var agency: String
        public var requested: Int64
        public var updated: Int64
        public var due: CivilDate?
        public var source: String
        /// Shown to the requester only (proved by the phone tail).
        public var verified: Bool
        public var answer: String?
        public var rating: Int?
        public var timeline: [Event]
        /// Whether the requester may rate now.
        public var mayRate: Bool
        /// A suggestion's progress in the district's pipeline (shown to its suggester only).
        public var suggestion: SuggestionStatus? = nil

        public struct Event: Sendable {
            public var type: String
            public var at: Int64
            public var score: Int?
        }
    }

    /// The number as a resident typed it, checked.
    static func number(_ text: String?) throws -> String {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw ResidentError.invalid(zh: "请填写受理编号", en: "a request number is required (service_request_id)")
        }
        guard let number = CaseNumber(parsing: text) else {
            throw ResidentError(404, zh: "没有这个受理编号", en: "no request has this number (service_request_id)")
        }
        return number.description
    }

    /// The requests `numbers` name, in that order (unknown ones left out), without what
    /// only the requester sees.
    public func statuses(_ numbers: [String]) async throws -> [Status] {
        // A number that is not one is left out, like an unknown one.
        let checked = numbers.prefix(50).compactMap { try? Self.number($0) }
        guard !checked.isEmpty else { return [] }
        let rows = try await storage.viewRows("case_view", where: "number", in: checked.map(Value.text), limit: 100)
        var byNumber: [String: [String: Value]] = [:]
        for row in rows { if let number = row["number"]?.text { byNumber[number] = row } }
        var found: [Status] = []
        for number in checked {
            guard let row = byNumber[number] else { continue }
            found.append(try await status(row, events: nil))
        }
        return found
    }

    /// One request; with `tail` (its phone's last four digits) the answer and timeline too.
    /// A wrong tail counts toward the lock-out.
    public func status(_ numberText: String?, tail: String?, now: Int64) async throws -> Status {
        let number = try Self.number(numberText)
        guard let row = try await storage.viewRows("case_view", where: "number", in: [.text(number)], limit: 1).first else {
            throw ResidentError(404, zh: "没有这个受理编号", en: "no request has this number (service_request_id)")
        }
        guard let tail else { return try await status(row, events: nil) }
        try await prove(tail, row: row, number: number, now: now)
        let id = row["id"]?.text ?? ""
        let events = try await storage.viewRows("case_event_view", where: "case_id", in: [.text(id)], limit: 200)
        return try await status(row, events: events)
    }

    /// Checks `tail` against the request's phone, counting wrong tries.
    func prove(_ tail: String, row: [String: Value], number: String, now: Int64) async throws {
        let digits = tail.trimmingCharacters(in: .whitespaces)
        guard digits.count == 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ResidentError.invalid(zh: "请填写手机号后四位（phone_tail）", en: "phone_tail must be the last four digits of the phone")
        }
        let correct = row["phone_tail"]?.text == digits
        switch try await storage.attempt(
            "case:" + number, correct: correct, now: now, limit: settings.tailTries, lockout: settings.tailLockout)
        {
        case .allowed: return
        case .wrong(let remaining):
            throw ResidentError(
                403, zh: "手机号后四位不对（还可再试 \(remaining) 次）",
                en: "phone_tail does not match this request's phone (\(remaining) more tries before a lock-out)")
        case .locked(let until):
            let seconds = Int(max(until - now, 1000) / 1000)
            throw ResidentError(
                429, zh: "错误次数过多，请 \(seconds / 60 + 1) 分钟后再试", en: "too many wrong phone_tail tries; try again in \(seconds) seconds",
                retryAfter: seconds)
        }
    }

    private func status(_ row: [String: Value], events: [[String: Value]]?) async throws -> Status {
        let kind = row["kind"]?.text.flatMap(CaseKind.init(rawValue:))
        let category = row["category"]?.text ?? ""
        let created = Self.millis(row["created_at"]) ?? 0
        let office = row["office"]?.text ?? ""
        let status = row["status"]?.text.flatMap(CaseStatus.init(rawValue:)) ?? .received
        var timeline: [Status.Event] = []
        var mayRate = false
        if let events {
            timeline = events.compactMap { event in
                guard let type = event["type"]?.text, let at = Self.millis(event["at"]) else { return nil }
                return Status.Event(type: type, at: at, score: event["score"]?.integer.map(Int.init))
            }.sorted { $0.at < $1.at }
            mayRate = Self.mayRate(status: status, timeline: timeline)
        }
        var suggestion: SuggestionStatus?
        if events != nil, kind == .suggestion, let number = row["number"]?.text {
            suggestion = try await suggestionStatus(number: number, id: row["id"]?.text ?? "")
        }
        return Status(
            id: row["id"]?.text ?? "", number: row["number"]?.text ?? "", status: status, kind: kind, category: category,
            serviceCode: Self.services.first { $0.kind == kind && $0.category == category }?.code,
            agency: try await officeName(office) ?? office, requested: created, updated: Self.millis(row["updated_at"]) ?? created,
            due: kind.map { deadlines.due(kind: $0, received: CivilDate(epochMillis: created)) }, source: row["source"]?.text ?? "counter",
            verified: events != nil, answer: events != nil ? row["answer"]?.text : nil,
            rating: events != nil ? row["rating"]?.integer.map(Int.init) : nil, timeline: timeline, mayRate: mayRate,
            suggestion: suggestion)
    }

    static func millis(_ value: Value?) -> Int64? {
        switch value {
        case .timestamp(let millis)?, .integer(let millis)?: millis
        default: nil
        }
    }

    /// Once per round, after the office replied: fewer ratings than replies so far.
    static func mayRate(status: CaseStatus, timeline: [Status.Event]) -> Bool {
        guard status == .replied || status == .closed else { return false }
        return timeline.filter { $0.type == "rating" }.count < timeline.filter { $0.type == "reply" }.count
    }

    // MARK: Rating and messages

    /// Records the requester's rating (1…5) of the office's answer: the case's rating and a
    /// rating event, exactly as staff record one.
    public func rate(_ numberText: String?, tail: String?, score scoreText: String?, comment: String?, now: Int64) async throws {
        let number = try Self.number(numberText)
        guard let scoreText, let score = Int(scoreText.trimmingCharacters(in: .whitespaces)), (1...5).contains(score) else {
            throw ResidentError.invalid(zh: "请选择 1 到 5 分（score）", en: "score must be a whole number from 1 to 5")
        }
        if let comment { try Self.check(comment, limit: Self.maximumDescription, zh: "评价内容", en: "comment") }
        let text = trimmed(comment)
        try await proveForWrite(number, tail: tail, now: now)
        let eventID = Self.newRecordID(now: now)
        let write = ServerWrite(
            reads: [
                .init(view: "case_view", column: "number", key: .value(.text(number)), limit: 1),
                .init(view: "case_event_view", column: "case_id", key: .column(ofRead: 0, name: "id"), limit: 500),
            ], author: Self.author
        ) { input throws(ServerError) in
            guard let row = input.rows[0].first, let id = row["id"]?.text else {
                throw ServerError(status: 404, code: "not_found", message: "no request has this number")
            }
            let status = row["status"]?.text.flatMap(CaseStatus.init(rawValue:)) ?? .received
            let timeline = input.rows[1].compactMap { event -> Status.Event? in
                guard let type = event["type"]?.text else { return nil }
                return Status.Event(type: type, at: Self.millis(event["at"]) ?? 0, score: nil)
            }
            guard status == .replied || status == .closed else {
                throw ServerError(status: 409, code: "not_replied", message: "cannot rate: the office has not replied yet")
            }
            guard Self.mayRate(status: status, timeline: timeline) else {
                throw ServerError(status: 409, code: "already_rated", message: "cannot rate: this answer was already rated")
            }
            var event: [String: Value] = [
                "case_id": .text(id), "type": .text("rating"), "score": .integer(Int64(score)), "at": .timestamp(input.now),
            ]
            if let text { event["text"] = .text(text) }
            return [
                ServerWrite.Edit(RecordKey(table: "cases", id: id), ["rating": .integer(Int64(score))]),
                ServerWrite.Edit(RecordKey(table: "case_events", id: eventID), event),
            ]
        }
        try await run(write, now: now)
    }

    /// Adds the requester's follow-up message to the case (an event staff see at sync).
    public func message(_ numberText: String?, tail: String?, text body: String?, now: Int64) async throws {
        let number = try Self.number(numberText)
        if let body { try Self.check(body, limit: Self.maximumDescription, zh: "留言内容", en: "text") }
        guard let text = trimmed(body) else {
            throw ResidentError.invalid(zh: "请填写留言内容（text）", en: "text is required")
        }
        try await proveForWrite(number, tail: tail, now: now)
        let eventID = Self.newRecordID(now: now)
        let write = ServerWrite(
            reads: [.init(view: "case_view", column: "number", key: .value(.text(number)), limit: 1)], author: Self.author
        ) { input throws(ServerError) in
            guard let id = input.rows[0].first?["id"]?.text else {
                throw ServerError(status: 404, code: "not_found", message: "no request has this number")
            }
            return [
                ServerWrite.Edit(
                    RecordKey(table: "case_events", id: eventID),
                    ["case_id": .text(id), "type": .text("message"), "text": .text(text), "at": .timestamp(input.now)])
            ]
        }
        try await run(write, now: now)
    }

    private func proveForWrite(_ number: String, tail: String?, now: Int64) async throws {
        guard let tail else {
            throw ResidentError.invalid(zh: "请填写手机号后四位（phone_tail）", en: "phone_tail is required: the last four digits of the phone")
        }
        guard let row = try await storage.viewRows("case_view", where: "number", in: [.text(number)], limit: 1).first else {
            throw ResidentError(404, zh: "没有这个受理编号", en: "no request has this number (service_request_id)")
        }
        try await prove(tail, row: row, number: number, now: now)
    }

    private func run(_ write: ServerWrite, now: Int64) async throws {
        do {
            _ = try await storage.write(write, now: now)
        } catch {
            switch error.code {
            case "not_replied": throw ResidentError(409, zh: "社区尚未答复，暂不能评价", en: error.message)
            case "already_rated": throw ResidentError(409, zh: "这次答复已经评价过了", en: error.message)
            case "not_found": throw ResidentError(404, zh: "没有这个受理编号", en: "no request has this number (service_request_id)")
            default: throw error
            }
        }
    }
}
