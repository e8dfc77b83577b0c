public import CaseDomain

/// One suggestion as the periodic summary (定期汇总分类) sees it.
public struct SummaryItem: Sendable, Hashable {
    public var number: String
    public var community: String
    public var category: String
    /// The theme it was grouped under, if any.
    public var theme: String?
    /// The number leading the group a person put it in, if any.
    public var groupKey: String?
    public var title: String
    public var stage: SuggestionStage

    public init(
        number: String, community: String, category: String, theme: String?, groupKey: String?, title: String, stage: SuggestionStage
    ) {
        self.number = number
        self.community = community
        self.category = category
        self.theme = theme
        self.groupKey = groupKey
        self.title = title
        self.stage = stage
    }
}

/// A group of like suggestions: those a person grouped together, and those whose titles
/// are alike (bigram Dice ≥ the summary's threshold, joined transitively).
public struct SummaryGroup: Sendable, Hashable, Codable {
    /// The member whose title is likest the others' (ties: the earliest number).
    public var representative: String
    public var representativeTitle: String
    public var count: Int
    /// Each office with how many of the group it received, most first.
    public var offices: [OfficeCount]
    public var numbers: [String]

    public struct OfficeCount: Sendable, Hashable, Codable {
        public var office: String
        public var count: Int
    }
}

/// A theme (or, for suggestions not yet grouped, their category) with its groups.
public struct SummaryTheme: Sendable, Hashable, Codable {
    public var theme: String
    /// Whether `theme` is a category: no suggestion under it has been given a theme.
    public var isCategory: Bool
    public var count: Int
    public var groups: [SummaryGroup]
}

/// The periodic summary (README, "Suggestions"): the period's suggestions by theme (or
/// category), each theme's groups of like suggestions, biggest first.
public enum SuggestionSummary {
    /// The titles' likeness from which two suggestions fall in one group.
    public static let threshold = 0.4

    public static func themes(_ items: [SummaryItem], threshold: Double = threshold) -> [SummaryTheme] {
        var byTheme: [String: [SummaryItem]] = [:]
        for item in items { byTheme[item.theme ?? item.category, default: []].append(item) }
        let themes = byTheme.map { name, members in
            SummaryTheme(
                theme: name, isCategory: members.allSatisfy { $0.theme == nil }, count: members.count,
                groups: groups(members.sorted { $0.number < $1.number }, threshold: threshold))
        }
        return themes.sorted { $0.count != $1.count ? $0.count > $1.count : $0.theme < $1.theme }
    }

    /// The groups of `items` (sorted by number).
    static func groups(_ items: [SummaryItem], threshold: Double) -> [SummaryGroup] {
        let grams = items.map { LikenessKeys.grams($0.title) }
        var parent = Array(items.indices)
        func root(_ index: Int) -> Int {
            var index = index
            while parent[index] != index {
                parent[index] = parent[parent[index]]
                index = parent[index]
            }
            return index
        }
        func join(_ a: Int, _ b: Int) {
            let (ra, rb) = (root(a), root(b))
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        // A person's grouping: every member named by its lead's number, and the lead.
        var firstOfKey: [String: Int] = [:]
        let byNumber = Dictionary(items.enumerated().map { ($0.element.number, $0.offset) }, uniquingKeysWith: { first, _ in first })
        for (index, item) in items.enumerated() {
            guard let key = item.groupKey else { continue }
            if let first = firstOfKey[key] { join(first, index) } else { firstOfKey[key] = index }
            if let lead = byNumber[key] { join(lead, index) }
        }
        var likeness = [[Double]](repeating: [], count: items.count)
        for a in items.indices {
            likeness[a] = [Double](repeating: 0, count: items.count)
            for b in items.indices where b < a {
                let value = LikenessKeys.dice(grams[a], grams[b])
                likeness[a][b] = value
                likeness[b][a] = value
                if value >= threshold { join(a, b) }
            }
        }
        var members: [Int: [Int]] = [:]
        for index in items.indices { members[root(index), default: []].append(index) }
        let groups = members.values.map { indices -> SummaryGroup in
            let lead = indices.max { a, b in
                let (sa, sb) = (indices.reduce(0) { $0 + likeness[a][$1] }, indices.reduce(0) { $0 + likeness[b][$1] })
                return sa != sb ? sa < sb : items[a].number > items[b].number
            }!
            var offices: [String: Int] = [:]
            for index in indices { offices[items[index].community, default: 0] += 1 }
            return SummaryGroup(
                representative: items[lead].number, representativeTitle: items[lead].title, count: indices.count,
                offices: offices.map { SummaryGroup.OfficeCount(office: $0.key, count: $0.value) }
                    .sorted { $0.count != $1.count ? $0.count > $1.count : $0.office < $1.office },
                numbers: indices.map { items[$0].number })
        }
        return groups.sorted { $0.count != $1.count ? $0.count > $1.count : $0.representative < $1.representative }
    }
}

/// One suggestion as the campaign figures count it.
public struct FigureItem: Sendable, Hashable {
    public var office: String
    public var theme: String
    public var stage: SuggestionStage
    public var reviewed: Bool
    public var rewarded: Bool

    public init(office: String, theme: String, stage: SuggestionStage, reviewed: Bool, rewarded: Bool) {
        self.office = office
        self.theme = theme
        self.stage = stage
        self.reviewed = reviewed
        self.rewarded = rewarded
    }
}

/// A campaign's figures for one office and theme, or a total (README, "Suggestions"):
/// received — every suggestion; grouped — past `submitted`; argued — at least one
/// department's opinion recorded; selected — a golden idea; rewarded — a reward recorded;
/// adopted — adopted or implemented.
public struct CampaignFigures: Sendable, Hashable, Codable {
    public var office: String
    public var theme: String
    public var received = 0
    public var grouped = 0
    public var argued = 0
    public var selected = 0
    public var rewarded = 0
    public var adopted = 0

    public init(office: String, theme: String) {
        self.office = office
        self.theme = theme
    }

    mutating func count(_ item: FigureItem) {
        received += 1
        if item.stage != .submitted { grouped += 1 }
        if item.reviewed { argued += 1 }
        if item.stage.isGolden { selected += 1 }
        if item.rewarded { rewarded += 1 }
        if item.stage >= .adopted { adopted += 1 }
    }

    /// The figures by office and theme (sorted), and the total (office and theme `*`).
    public static func compute(_ items: [FigureItem]) -> (rows: [CampaignFigures], total: CampaignFigures) {
        var rows: [String: CampaignFigures] = [:]
        var total = CampaignFigures(office: "*", theme: "*")
        for item in items {
            rows[item.office + "\u{0}" + item.theme, default: CampaignFigures(office: item.office, theme: item.theme)].count(item)
            total.count(item)
        }
        return (rows.values.sorted { ($0.office, $0.theme) < ($1.office, $1.theme) }, total)
    }
}
