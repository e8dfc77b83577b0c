public import CaseDomain
public import SuggestionDomain
import SyncCore
import SyncServer

extension CaseRequests {
    /// A suggestion's progress as its suggester may see it (README, "Suggestions"): the
    /// stage, why it was not selected, the reward, the implementation, and each step.
    public struct SuggestionStatus: Sendable {
        public var stage: SuggestionStage
        public var reason: String?
        public var rewardKind: RewardKind?
        public var rewardFen: Int?
        public var rewardNote: String?
        public var publicTitle: String?
        public var implementedBy: String?
        public var implementedOn: String?
        public var steps: [Status.Event]
    }

    /// The suggestion's progress for a suggestion case (nil for another kind). A
    /// suggestion no step has touched yet is at stage `submitted`.
    func suggestionStatus(number: String, id: String) async throws -> SuggestionStatus {
        let rows = try await storage.viewRows(SuggestionRecords.suggestionView.name, where: "number", in: [.text(number)], limit: 1)
        guard let row = rows.first else { return SuggestionStatus(stage: .submitted, steps: []) }
        let steps = try await storage.viewRows(
            SuggestionRecords.stepView.name, where: "suggestion_id", in: [.text(row["id"]?.text ?? id)], limit: 200)
        let stage = row["stage"]?.text.flatMap(SuggestionStage.init(rawValue:)) ?? .submitted
        return SuggestionStatus(
            stage: stage, reason: stage == .notSelected ? row["decision_reason"]?.text : nil,
            rewardKind: row["reward_kind"]?.text.flatMap(RewardKind.init(rawValue:)), rewardFen: row["reward_fen"]?.integer.map(Int.init),
            rewardNote: row["reward_note"]?.text, publicTitle: stage.isPublished ? row["public_title"]?.text : nil,
            implementedBy: row["implemented_by"]?.text, implementedOn: row["implemented_on"]?.text,
            steps: steps.compactMap { step in
                guard let type = step["type"]?.text, let at = Self.millis(step["at"]) else { return nil }
                return Status.Event(type: type, at: at, score: nil)
            }.sorted { $0.at < $1.at })
    }

}

/// A published golden idea as `GET /ideas` and the public page list it: only what the
/// district wrote for the public (the published title and text, checked for personal data
/// when published; the reward; the adoption) and the community's name — never the case's
/// number, which with a phone tail opens the suggester's follow-up.
public struct PublishedIdea: Sendable {
    public var title: String
    public var text: String
    /// The office it came from (its community's name).
    public var office: String
    public var publishedAt: Int64
    public var rewardKind: RewardKind?
    public var rewardFen: Int?
    public var rewardNote: String?
    /// published, rewarded, adopted or implemented.
    public var stage: SuggestionStage
    public var implementedOn: String?
}

extension CaseRequests {
    /// The published golden ideas, newest first: only suggestions the district published
    /// (a `published_at`, a stage from `published` on, and no rejection — one made
    /// concurrently keeps an idea off the list until a person settles it), never another.
    public func ideas() async throws -> [PublishedIdea] {
        let stages = SuggestionStage.allCases.filter(\.isPublished).map { Value.text($0.rawValue) }
        let rows = try await storage.viewRows(SuggestionRecords.suggestionView.name, where: "stage", in: stages, limit: 100_000)
        var ideas: [PublishedIdea] = []
        for row in rows {
            guard let stage = row["stage"]?.text.flatMap(SuggestionStage.init(rawValue:)), stage.isPublished,
                let published = Self.millis(row["published_at"]), let title = row["public_title"]?.text,
                let text = row["public_text"]?.text, Self.millis(row["rejected_at"]) == nil
            else { continue }
            let community = row["community"]?.text ?? ""
            ideas.append(
                PublishedIdea(
                    title: title, text: text, office: try await officeName(community) ?? community, publishedAt: published,
                    rewardKind: row["reward_kind"]?.text.flatMap(RewardKind.init(rawValue:)),
                    rewardFen: row["reward_fen"]?.integer.map(Int.init), rewardNote: row["reward_note"]?.text, stage: stage,
                    implementedOn: row["implemented_on"]?.text))
        }
        return ideas.sorted { ($0.publishedAt, $0.title) > ($1.publishedAt, $1.title) }
    }
}
