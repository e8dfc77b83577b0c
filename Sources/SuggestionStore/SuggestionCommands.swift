public import CaseDomain
public import CaseStore
import Foundation
import GRDB
public import ReplicaStore
public import SuggestionDomain
public import SyncCore

extension ReplicaStore {
    /// Limits on what staff type into a step (reasons, notes, published texts).
    static let maximumStepBytes = 4 * 1024

    // MARK: Recording

    /// Records a suggestion at the counter: the case (kind `suggestion`) and its pipeline
    /// record at stage `submitted`, in one transaction; `campaign` names an open campaign
    /// this office collects for.
    ///
    /// - Throws: ``SuggestionError`` (campaign), ``CaseInputError`` (the case's input).
    public func newSuggestion(
        _ input: NewCase, campaign: String? = nil, categories: CategoryList = CategoryList(), now: Int64 = ReplicaStore.nowMillis()
    ) throws -> (id: String, number: String) {
        var input = input
        input.kind = .suggestion
        if let campaign { try checkCampaignOpen(campaign, now: now) }
        let title = input.title.trimmingCharacters(in: .whitespacesAndNewlines)
        return try newCase(input, categories: categories, now: now) { session, id, number in
            var fields: [String: Value] = [
                "number": .text(number), "community": .text(self.identity.office), "title": .text(title),
                "category": .text(input.category), "source": .text(input.creditCode == nil ? "counter" : "enterprise"),
                "stage": .text(SuggestionStage.submitted.rawValue), "round": .integer(1), "created_at": .timestamp(now),
            ]
            if let text = Self.argueText(input.description, name: input.citizenName, address: input.address) {
                fields["text"] = .text(text)
            }
            if let campaign { fields["campaign"] = .text(campaign) }
            _ = try session.local(fields, to: RecordKey(table: "suggestions", id: id), now: now)
        }
    }

    /// The fields that create a suggestion's pipeline record from its case (a suggestion
    /// case recorded by an earlier release, or sent online).
    func creationFields(_ row: SuggestionRow) -> [String: Value] {
        var fields: [String: Value] = [
            "number": .text(row.number), "community": .text(row.community), "title": .text(row.title), "category": .text(row.category),
            "source": .text(row.source), "created_at": .timestamp(row.createdAt),
        ]
        let held = try? findCase(row.id)
        if let text = Self.argueText(row.text, name: held?.citizenName, address: held?.address) { fields["text"] = .text(text) }
        return fields
    }

    /// The words a suggestion's record carries to the department arguing it: the case's
    /// description only when it holds no personal data (PersonalDataCheck: no run of
    /// seven digits, not the resident's name or address); otherwise none — the department
    /// reads the title, or what `rain suggestion argue --text` gives.
    static func argueText(_ description: String?, name: String?, address: String?) -> String? {
        guard let text = description?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty,
            PersonalDataCheck.finding(in: text, name: name, address: address) == nil
        else { return nil }
        return text
    }

    /// The resident's name and address as the replica holds the suggestion's case (for the
    /// personal-data check of what the suggester or the public reads).
    func residentOf(_ id: String) -> (name: String?, address: String?) {
        let held = try? findCase(id)
        return (held?.citizenName, held?.address)
    }

    // MARK: The pipeline

    /// One pipeline step for each of `references`, all or nothing: the stage (and `fields`)
    /// written and a step recorded with `text` — what the suggester hears.
    ///
    /// - Throws: ``SuggestionError``: an illegal move (naming the legal ones), a stage
    ///   conflict not yet settled, a district's move on another office's replica.
    @discardableResult
    public func moveSuggestions(
        _ references: [String], _ move: SuggestionMove, fields: [String: Value] = [:], text: String? = nil,
        now: Int64 = ReplicaStore.nowMillis()
    ) throws -> [SuggestionRow] {
        guard !references.isEmpty else {
            throw SuggestionError(.input, zh: "请写出建议编号", en: "cannot \(move.rawValue): no suggestion named (REF)")
        }
        if move.isDistricts, try !actsForDistrict() {
            throw SuggestionError(
                .jurisdiction, zh: "只有区级可以作出这一决定（选定、不选、公示、奖励、采纳、实施；本办公室 \(identity.office)）",
                en:
                    "cannot \(move.rawValue): only the district selects, rejects, publishes, rewards and records adoption and implementation, not office \(identity.office)"
            )
        }
        if let text { try Self.checkStepText(text, what: "text") }
        var rows: [SuggestionRow] = []
        for reference in references {
            let row = try findSuggestion(reference)
            guard !rows.contains(where: { $0.id == row.id }) else { continue }
            if row.stageConflicted || (move.target.isGolden && row.rejectedAt != nil && move != .select) {
                throw SuggestionError(
                    .illegalMove, zh: "建议 \(row.number) 的阶段有并发冲突，请先用 rain conflicts / rain resolve 处理",
                    en:
                        "cannot \(move.rawValue) suggestion \(row.number): its stage has concurrent values; settle them first (rain conflicts, rain resolve)"
                )
            }
            try move.check(from: row.stage, number: row.number)
            if move == .select, try reviews(ofSuggestion: row.id).isEmpty {
                throw SuggestionError(
                    .illegalMove, zh: "不能选定建议 \(row.number)：还没有部门的论证意见（rain suggestion review）",
                    en: "cannot select suggestion \(row.number): no department's opinion is recorded yet (rain suggestion review)")
            }
            rows.append(row)
        }
        // Read before the transaction: the case of a suggestion without its record yet.
        let creation = rows.map { $0.recorded ? [:] : creationFields($0) }
        try transaction("cannot record the suggestions' step") { db in
            let session = WriteSession(store: self, db: db)
            for (row, created) in zip(rows, creation) {
                var written = created
                written.merge(fields) { _, new in new }
                written["stage"] = .text(move.target.rawValue)
                written["round"] = .integer(1)
                _ = try session.local(written, to: row.key, now: now)
                var step: [String: Value] = ["suggestion_id": .text(row.id), "type": .text(move.target.rawValue), "at": .timestamp(now)]
                if let text { step["text"] = .text(text) }
                _ = try session.local(step, to: RecordKey(table: "suggestion_steps", id: Self.newRecordID(now: now)), now: now)
            }
            try session.finish()
        }
        return try rows.map { try findSuggestion($0.id) }
    }

    /// Groups suggestions under `theme` (定期汇总分类): the first named leads the group.
    @discardableResult
    public func groupSuggestions(_ references: [String], theme: String, now: Int64 = ReplicaStore.nowMillis()) throws -> [SuggestionRow] {
        let theme = try Self.checkedLine(theme, what: "theme", zh: "主题")
        let lead = try references.first.map { try findSuggestion($0).number }
        var fields: [String: Value] = ["theme": .text(theme)]
        if let lead { fields["group_key"] = .text(lead) }
        return try moveSuggestions(references, .group, fields: fields, text: theme, now: now)
    }

    /// Sends a suggestion to `department` for argument (论证): the department reads it from
    /// its next sync.
    @discardableResult
    public func argueSuggestion(_ reference: String, department: String, text: String? = nil, now: Int64 = ReplicaStore.nowMillis())
        throws -> SuggestionRow
    {
        var fields: [String: Value] = [:]
        if let text {
            let words = try Self.checkedText(text, what: "text", zh: "论证材料")
            let resident = residentOf(try findSuggestion(reference).id)
            try Self.checkPublic(words, what: "text", name: resident.name, address: resident.address)
            fields["text"] = .text(words)
        }
        let code = department.trimmingCharacters(in: .whitespaces)
        guard !code.isEmpty, code.count <= 32, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw SuggestionError(
                .input, zh: "部门代码「\(code)」无效（字母和数字）",
                en: "cannot send to argument: \(code) is not an office code (letters and digits) (--department)")
        }
        fields["department"] = .text(code)
        return try moveSuggestions([reference], .argue, fields: fields, text: code, now: now)[0]
    }

    /// Records this office's opinion of a suggestion under argument: value, feasibility and
    /// cost, each 1 to 5, with its text. Every opinion counts: two offices scoring the same
    /// suggestion offline both stay (an append-only record each).
    public func reviewSuggestion(
        _ reference: String, value: Int, feasibility: Int, cost: Int, text: String, now: Int64 = ReplicaStore.nowMillis()
    ) throws -> SuggestionRow {
        for (name, score) in [("value", value), ("feasibility", feasibility), ("cost", cost)] where !(1...5).contains(score) {
            throw SuggestionError(
                .input, zh: "评分须为 1 到 5（--\(name)）", en: "cannot review: \(name) must be 1 to 5, not \(score) (--\(name))")
        }
        let opinion = try Self.checkedText(text, what: "text", zh: "论证意见")
        let row = try findSuggestion(reference)
        guard row.stage == .arguing else {
            throw SuggestionError(
                .illegalMove, zh: "建议 \(row.number) 不在论证中（「\(row.stage.label(.zh))」），不能记录论证意见",
                en: "cannot review suggestion \(row.number): it is at stage \(row.stage.rawValue), not arguing (stage)")
        }
        try transaction("cannot record the review") { db in
            let session = WriteSession(store: self, db: db)
            _ = try session.local(
                [
                    "suggestion_id": .text(row.id), "office": .text(self.identity.office), "value": .integer(Int64(value)),
                    "feasibility": .integer(Int64(feasibility)), "cost": .integer(Int64(cost)), "text": .text(opinion),
                    "at": .timestamp(now),
                ], to: RecordKey(table: "suggestion_reviews", id: Self.newRecordID(now: now)), now: now)
            try session.finish()
        }
        return row
    }

    /// Selects a suggestion as a golden idea (金点子), the district's decision.
    @discardableResult
    public func selectSuggestion(_ reference: String, note: String?, now: Int64 = ReplicaStore.nowMillis()) throws -> SuggestionRow {
        var fields: [String: Value] = [:]
        if let note { fields["decision_reason"] = .text(try Self.checkedText(note, what: "note", zh: "说明")) }
        return try moveSuggestions([reference], .select, fields: fields, text: note, now: now)[0]
    }

    /// Does not select a suggestion; `reason` is sent back to its suggester.
    @discardableResult
    public func rejectSuggestion(_ reference: String, reason: String, now: Int64 = ReplicaStore.nowMillis()) throws -> SuggestionRow {
        let reason = try Self.checkedText(reason, what: "reason", zh: "不选理由")
        let resident = residentOf(try findSuggestion(reference).id)
        try Self.checkPublic(reason, what: "reason", name: resident.name, address: resident.address)
        return try moveSuggestions(
            [reference], .reject, fields: ["decision_reason": .text(reason), "rejected_at": .timestamp(now)], text: reason, now: now)[0]
    }

    /// Publishes a golden idea (公示) under `title` and `text`, checked for personal data:
    /// a run of seven digits or more, and the suggester's name and address when this
    /// replica holds the case.
    @discardableResult
    public func publishSuggestion(_ reference: String, title: String, text: String, now: Int64 = ReplicaStore.nowMillis()) throws
        -> SuggestionRow
    {
        let row = try findSuggestion(reference)
        let title = try Self.checkedLine(title, what: "title", zh: "公示标题")
        let text = try Self.checkedText(text, what: "text", zh: "公示内容")
        let resident = residentOf(row.id)
        for (what, value) in [("title", title), ("text", text)] {
            try Self.checkPublic(value, what: what, name: resident.name, address: resident.address)
        }
        return try moveSuggestions(
            [row.id], .publish, fields: ["public_title": .text(title), "public_text": .text(text), "published_at": .timestamp(now)],
            now: now)[0]
    }

    /// Records a published golden idea's reward: a certificate, money (in fen, more than
    /// 0) or another kind, with what it is.
    @discardableResult
    public func rewardSuggestion(
        _ reference: String, kind: RewardKind, fen: Int64?, note: String, now: Int64 = ReplicaStore.nowMillis()
    ) throws -> SuggestionRow {
        let note = try Self.checkedText(note, what: "note", zh: "奖励说明")
        let resident = residentOf(try findSuggestion(reference).id)
        try Self.checkPublic(note, what: "note", name: resident.name, address: resident.address)
        var fields: [String: Value] = ["reward_kind": .text(kind.rawValue), "reward_note": .text(note)]
        switch (kind, fen) {
        case (.money, let amount?) where amount > 0: fields["reward_fen"] = .integer(amount)
        case (.money, _):
            throw SuggestionError(
                .input, zh: "奖金须写明金额（分，大于 0）", en: "cannot reward: a money reward needs its amount in fen, above 0 (--fen)")
        case (_, nil): break
        case (_, .some):
            throw SuggestionError(.input, zh: "只有奖金才写金额", en: "cannot reward: only a money reward has an amount (--fen)")
        }
        return try moveSuggestions([reference], .reward, fields: fields, text: note, now: now)[0]
    }

    /// Records that a golden idea was adopted.
    @discardableResult
    public func adoptSuggestion(_ reference: String, note: String?, now: Int64 = ReplicaStore.nowMillis()) throws -> SuggestionRow {
        let note = try note.map { try Self.checkedText($0, what: "note", zh: "说明") }
        return try moveSuggestions([reference], .adopt, text: note, now: now)[0]
    }

    /// Records that an adopted idea was implemented, by `office`, on `date` (YYYY-MM-DD).
    @discardableResult
    public func implementSuggestion(_ reference: String, office: String, on date: String, now: Int64 = ReplicaStore.nowMillis()) throws
        -> SuggestionRow
    {
        let code = office.trimmingCharacters(in: .whitespaces)
        guard !code.isEmpty, code.count <= 32, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw SuggestionError(
                .input, zh: "办公室代码「\(code)」无效", en: "cannot record the implementation: \(code) is not an office code (--office)")
        }
        guard let day = CivilDate(parsing: date.trimmingCharacters(in: .whitespaces)) else {
            throw SuggestionError(
                .input, zh: "日期须为 YYYY-MM-DD（\(date)）", en: "cannot record the implementation: \(date) is not a date YYYY-MM-DD (--on)")
        }
        return try moveSuggestions(
            [reference], .implement, fields: ["implemented_by": .text(code), "implemented_on": .text(day.description)],
            text: code + " " + day.description, now: now)[0]
    }

    /// After a person settled a suggestion's concurrent stages: when the stage kept is a
    /// golden idea's, the rejection's mark goes (written over every sibling it has), so the
    /// idea may be published; when it is `not_selected`, the mark stays.
    public func settledSuggestionStage(_ id: String) throws {
        let row = try findSuggestion(id)
        guard row.stage.isGolden, row.rejectedAt != nil else { return }
        try write(["rejected_at": .null], to: row.key)
    }

    // MARK: Following a case

    /// Hands a case over to another community (``ReplicaStore/reassign(_:to:reason:now:)``)
    /// with what this kind keeps of it, in the same transaction: its suggestion's pipeline
    /// record and its links move with it, so the old community keeps none of its words and
    /// the new one receives them.
    @discardableResult
    public func reassignCase(_ reference: String, to community: String, reason: String, now: Int64 = ReplicaStore.nowMillis()) throws
        -> CaseRow
    {
        try reassign(reference, to: community, reason: reason, now: now) { session, db, row in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM suggestions WHERE id = ?)", arguments: [row.id]) == true {
                _ = try session.local(["community": .text(community)], to: RecordKey(table: "suggestions", id: row.id), now: now)
            }
            for link in try Row.fetchAll(db, sql: "SELECT id, case_a FROM case_links WHERE case_a = ?1 OR case_b = ?1", arguments: [row.id])
            {
                let field = (link["case_a"] as String?) == row.id ? "community_a" : "community_b"
                _ = try session.local([field: .text(community)], to: RecordKey(table: "case_links", id: link["id"]), now: now)
            }
        }
    }

    // MARK: Checks

    static func checkStepText(_ text: String, what: String) throws {
        if text.utf8.count > maximumStepBytes {
            throw SuggestionError(
                .input, zh: "内容过长（\(text.utf8.count) 字节，上限 \(maximumStepBytes)）",
                en: "cannot record: \(what) is \(text.utf8.count) bytes, more than \(maximumStepBytes) (--\(what))")
        }
    }

    static func checkedText(_ text: String, what: String, zh: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw SuggestionError(.input, zh: "请填写\(zh)", en: "cannot record: \(what) is empty (--\(what))") }
        try checkStepText(trimmed, what: what)
        return trimmed
    }

    static func checkedLine(_ text: String, what: String, zh: String) throws -> String {
        let trimmed = try checkedText(text, what: what, zh: zh)
        guard !trimmed.contains(where: \.isNewline), trimmed.count <= 100 else {
            throw SuggestionError(
                .input, zh: "\(zh)须为一行，不超过 100 字", en: "cannot record: \(what) must be one line of at most 100 characters (--\(what))")
        }
        return trimmed
    }

    /// Refuses personal data in a text the public or the suggester sees (the finding is
    /// named, never echoed).
    static func checkPublic(_ text: String, what: String, name: String?, address: String?) throws {
        if let finding = PersonalDataCheck.finding(in: text, name: name, address: address) {
            throw SuggestionError(
                .input, zh: "公开内容不能含个人信息：\(what) 中有\(finding.zh)",
                en:
                    "cannot publish personal data: \(what) contains a \(finding.rawValue.replacingOccurrences(of: "_", with: " ")) (--\(what))"
            )
        }
    }
}
