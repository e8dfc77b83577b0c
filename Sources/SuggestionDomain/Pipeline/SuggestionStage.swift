public import CaseDomain

/// Where a suggestion is in the district's pipeline (README, "Suggestions").
public enum SuggestionStage: String, Sendable, CaseIterable, Codable, Comparable {
    case submitted, grouped, arguing
    case notSelected = "not_selected"
    case selected, published, rewarded, adopted, implemented

    /// The label the suggester and staff see.
    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.submitted, .zh): "已提交"
        case (.grouped, .zh): "已归类"
        case (.arguing, .zh): "论证中"
        case (.notSelected, .zh): "未入选"
        case (.selected, .zh): "入选金点子"
        case (.published, .zh): "已公示"
        case (.rewarded, .zh): "已奖励"
        case (.adopted, .zh): "已采纳"
        case (.implemented, .zh): "已实施"
        case (_, .en): rawValue.replacingUnderscores
        }
    }

    /// Workflow order (the merge rule's: a selection ranks above a rejection).
    public static func < (a: SuggestionStage, b: SuggestionStage) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Whether the stage means the suggestion was selected as a golden idea.
    public var isGolden: Bool { self >= .selected }
    /// Whether the golden idea is published (listed on `/ideas`).
    public var isPublished: Bool { self >= .published }
}

/// A step of the pipeline, as `rain suggestion …` names it.
public enum SuggestionMove: String, Sendable, CaseIterable {
    case group, argue, select, reject, publish, reward, adopt, implement

    /// The stage the move leads to.
    public var target: SuggestionStage {
        switch self {
        case .group: .grouped
        case .argue: .arguing
        case .select: .selected
        case .reject: .notSelected
        case .publish: .published
        case .reward: .rewarded
        case .adopt: .adopted
        case .implement: .implemented
        }
    }

    /// The stages the move is legal from: grouping again changes a theme, arguing again
    /// hands the suggestion to another department.
    public var sources: [SuggestionStage] {
        switch self {
        case .group: [.submitted, .grouped]
        case .argue: [.grouped, .arguing]
        case .select: [.arguing]
        case .reject: [.grouped, .arguing]
        case .publish: [.selected]
        case .reward: [.published]
        case .adopt: [.published, .rewarded]
        case .implement: [.adopted]
        }
    }

    /// Only the district selects, rejects, publishes, rewards, and records adoption and
    /// implementation: every decision its suggester is told of (the server enforces it too).
    public var isDistricts: Bool { ![.group, .argue].contains(self) }

    /// The moves legal from `stage`.
    public static func legal(from stage: SuggestionStage) -> [SuggestionMove] {
        allCases.filter { $0.sources.contains(stage) }
    }

    /// Checks the move from `stage`.
    ///
    /// - Throws: ``SuggestionError`` naming the legal moves.
    public func check(from stage: SuggestionStage, number: String) throws(SuggestionError) {
        guard sources.contains(stage) else {
            let legal = Self.legal(from: stage).map(\.rawValue)
            let list = legal.isEmpty ? "无 / none" : legal.joined(separator: ", ")
            throw SuggestionError(
                .illegalMove,
                zh: "不能\(zhVerb)建议 \(number)：它处于「\(stage.label(.zh))」，此时可做的是：\(list)",
                en:
                    "cannot \(rawValue) suggestion \(number): it is at stage \(stage.rawValue); the legal moves from there are: \(list) (stage)"
            )
        }
    }

    var zhVerb: String {
        switch self {
        case .group: "归类"
        case .argue: "送论证"
        case .select: "选定"
        case .reject: "不选"
        case .publish: "公示"
        case .reward: "奖励"
        case .adopt: "采纳"
        case .implement: "记录实施"
        }
    }
}

/// What a suggestion's reward is.
public enum RewardKind: String, Sendable, CaseIterable, Codable {
    case certificate, money, other

    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.certificate, .zh): "荣誉证书"
        case (.money, .zh): "奖金"
        case (.other, .zh): "其他"
        case (_, .en): rawValue
        }
    }
}

/// Why a suggestion or campaign command refused, in both languages.
public typealias SuggestionError = CommandRefusal
