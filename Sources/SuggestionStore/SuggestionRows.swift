import CaseDomain
public import CaseStore
import Foundation
public import GRDB
public import ReplicaStore
public import SuggestionDomain
public import SyncCore

/// A suggestion as the replica holds it: its pipeline record, or — for a suggestion case
/// no step has touched yet (recorded by an earlier release, or sent online) — the case
/// itself, at stage `submitted` (``recorded`` false).
public struct SuggestionRow: Sendable, Hashable {
    public var id: String
    public var number: String
    public var community: String
    public var department: String?
    public var title: String
    public var text: String?
    public var category: String
    public var theme: String?
    public var groupKey: String?
    public var campaign: String?
    public var source: String
    public var stage: SuggestionStage
    /// The stage as written, when this release does not know it.
    public var stageText: String
    public var decisionReason: String?
    public var publicTitle: String?
    public var publicText: String?
    public var publishedAt: Int64?
    /// When it was not selected: set on a golden idea only by a rejection made concurrently,
    /// not yet settled.
    public var rejectedAt: Int64?
    public var rewardKind: String?
    public var rewardFen: Int64?
    public var rewardNote: String?
    public var implementedBy: String?
    public var implementedOn: String?
    public var createdAt: Int64
    public var conflicts: Int
    /// Concurrent stages waiting for a person (a selection and a rejection made offline).
    public var stageConflicted: Bool
    /// Whether the pipeline record exists (false: a suggestion case not yet moved).
    public var recorded: Bool

    init(row: Row) {
        id = row["id"]
        number = row["number"] ?? ""
        community = row["community"] ?? ""
        department = row["department"]
        title = row["title"] ?? ""
        text = row["text"]
        category = row["category"] ?? ""
        theme = row["theme"]
        groupKey = row["group_key"]
        campaign = row["campaign"]
        source = row["source"] ?? "counter"
        stageText = row["stage"] ?? "submitted"
        stage = SuggestionStage(rawValue: stageText) ?? .submitted
        decisionReason = row["decision_reason"]
        publicTitle = row["public_title"]
        publicText = row["public_text"]
        publishedAt = row["published_at"]
        rejectedAt = row["rejected_at"]
        rewardKind = row["reward_kind"]
        rewardFen = row["reward_fen"]
        rewardNote = row["reward_note"]
        implementedBy = row["implemented_by"]
        implementedOn = row["implemented_on"]
        createdAt = row["created_at"] ?? 0
        conflicts = row["conflicts"] ?? 0
        stageConflicted = (row["stage_siblings"] as Int? ?? 0) > 1
        recorded = true
    }

    /// A suggestion case with no pipeline record yet.
    init(case row: CaseRow, community: String) {
        id = row.id
        number = row.number ?? row.id
        self.community = community
        title = row.title ?? ""
        text = row.description
        category = row.category ?? ""
        source = row.source
        stage = .submitted
        stageText = "submitted"
        createdAt = row.createdAt ?? 0
        conflicts = 0
        stageConflicted = false
        recorded = false
    }

    /// The key of its pipeline record (the case's id).
    public var key: RecordKey { RecordKey(table: "suggestions", id: id) }
}

/// A step of a suggestion's pipeline (what its suggester hears).
public struct SuggestionStepRow: Sendable, Hashable {
    public var type: String
    public var text: String?
    public var at: Int64
}

/// A department's opinion of a suggestion (论证意见).
public struct SuggestionReviewRow: Sendable, Hashable {
    public var office: String
    public var value: Int
    public var feasibility: Int
    public var cost: Int
    public var text: String
    public var at: Int64
}

/// A suggestion campaign (征集活动).
public struct CampaignRow: Sendable, Hashable {
    public var id: String
    public var code: String
    public var theme: String
    public var starts: String
    public var ends: String
    /// The collecting offices; empty for every office.
    public var offices: [String]
    public var owner: String
    public var status: String
    public var createdAt: Int64
    public var closedAt: Int64?

    init(row: Row) {
        id = row["id"]
        code = row["code"] ?? ""
        theme = row["theme"] ?? ""
        starts = row["starts"] ?? ""
        ends = row["ends"] ?? ""
        offices = (row["offices"] as String?).map { $0.split(separator: ";").map(String.init) } ?? []
        owner = row["owner"] ?? ""
        status = row["status"] ?? "open"
        createdAt = row["created_at"] ?? 0
        closedAt = row["closed_at"]
    }
}

/// What `rain suggestion list` selects.
public struct SuggestionFilter: Sendable {
    public var stage: SuggestionStage?
    public var campaign: String?
    public var theme: String?
    /// Received from this day (epoch milliseconds), inclusive.
    public var from: Int64?
    /// Received before this moment (epoch milliseconds), exclusive.
    public var until: Int64?

    public init(stage: SuggestionStage? = nil, campaign: String? = nil, theme: String? = nil, from: Int64? = nil, until: Int64? = nil) {
        self.stage = stage
        self.campaign = campaign
        self.theme = theme
        self.from = from
        self.until = until
    }
}

extension ReplicaStore {
    // MARK: Reading suggestions

    /// Every suggestion this replica holds matching `filter`, oldest first: the pipeline
    /// records, and the suggestion cases no step has touched yet (stage `submitted`).
    public func suggestions(_ filter: SuggestionFilter = SuggestionFilter()) throws -> [SuggestionRow] {
        let recorded = try reading("cannot read the suggestions") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM suggestions").map(SuggestionRow.init(row:))
        }
        var rows = recorded
        let held = Set(recorded.map(\.id))
        for row in try cases(CaseFilter(kind: .suggestion, limit: Int.max)) where !held.contains(row.id) {
            rows.append(SuggestionRow(case: row, community: try community(ofCase: row)))
        }
        return rows.filter { row in
            (filter.stage.map { row.stage == $0 } ?? true) && (filter.campaign.map { row.campaign == $0 } ?? true)
                && (filter.theme.map { row.theme == $0 } ?? true) && (filter.from.map { row.createdAt >= $0 } ?? true)
                && (filter.until.map { row.createdAt < $0 } ?? true)
        }.sorted { ($0.createdAt, $0.number) < ($1.createdAt, $1.number) }
    }

    /// The suggestion `reference` names: a number or record id (or a unique prefix of
    /// either) of a pipeline record, or of a suggestion case.
    ///
    /// - Throws: ``SuggestionError`` (none, several, or a case of another kind).
    public func findSuggestion(_ reference: String) throws -> SuggestionRow {
        let text = reference.trimmingCharacters(in: .whitespacesAndNewlines)
        let found = try reading("cannot read the suggestions") { db -> [SuggestionRow] in
            let exact = try Row.fetchAll(
                db, sql: "SELECT * FROM suggestions WHERE number = ? COLLATE NOCASE OR id = ? LIMIT 2", arguments: [text, text])
            if !exact.isEmpty { return exact.map(SuggestionRow.init(row:)) }
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            return try Row.fetchAll(
                db, sql: "SELECT * FROM suggestions WHERE number LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' LIMIT 11",
                arguments: [escaped + "%", escaped + "%"]
            ).map(SuggestionRow.init(row:))
        }
        if found.count == 1 { return found[0] }
        if found.count > 1 {
            throw SuggestionError(
                .notFound, zh: "「\(text)」对应多条建议，请写完整编号", en: "cannot tell which suggestion: \(found.count) match \(text) (reference)")
        }
        guard !text.isEmpty, let row = try? findCase(text) else {
            throw SuggestionError(.notFound, zh: "没有编号为「\(text)」的建议", en: "no suggestion has number \(text) (reference)")
        }
        guard row.kind == "suggestion" else {
            throw SuggestionError(
                .input, zh: "\(row.number ?? text) 不是建议类案件（是 \(row.kind ?? "?")）",
                en: "\(row.number ?? text) is not a suggestion but a case of kind \(row.kind ?? "?") (reference)")
        }
        return SuggestionRow(case: row, community: try community(ofCase: row))
    }

    /// A case's community (its scope's home), from its record: not a column of `cases`.
    func community(ofCase row: CaseRow) throws -> String {
        if case .text(let code)? = try record(row.key)?.value(of: "community", table: "cases", schema: schema) { return code }
        return row.office ?? identity.office
    }

    /// A suggestion's steps, oldest first.
    public func steps(ofSuggestion id: String) throws -> [SuggestionStepRow] {
        try reading("cannot read the suggestion's steps") { db in
            try Row.fetchAll(
                db, sql: "SELECT type, text, at FROM suggestion_steps WHERE suggestion_id = ? ORDER BY at, id", arguments: [id]
            )
            .map { SuggestionStepRow(type: $0["type"] ?? "", text: $0["text"], at: $0["at"] ?? 0) }
        }
    }

    /// The opinions recorded for a suggestion, oldest first: every one counts (append-only).
    public func reviews(ofSuggestion id: String) throws -> [SuggestionReviewRow] {
        try reading("cannot read the suggestion's reviews") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM suggestion_reviews WHERE suggestion_id = ? ORDER BY at, id", arguments: [id]).map {
                SuggestionReviewRow(
                    office: $0["office"] ?? "", value: $0["value"] ?? 0, feasibility: $0["feasibility"] ?? 0, cost: $0["cost"] ?? 0,
                    text: $0["text"] ?? "", at: $0["at"] ?? 0)
            }
        }
    }

    /// The ids of the suggestions with at least one review.
    func reviewedSuggestions() throws -> Set<String> {
        try reading("cannot read the reviews") { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT suggestion_id FROM suggestion_reviews"))
        }
    }
}
