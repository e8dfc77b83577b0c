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
    /// The likeness of what two titles suggest from which they fall in one group.
    public static let threshold = 0.5

    /// Wordings that say a text is a suggestion, not what it suggests.
    static let boilerplate = ["的建议", "关于", "建议", "希望在", "希望", "恳请", "应该", "方便居民", "请求", "能否", "可否"]
    /// The endings of estates' and communities' names: a place is where, not what.
    static let placeEndings = ["小区", "花园", "家园", "新村", "公寓", "社区", "雅苑", "名城", "佳园", "苑"]

    /// What a title suggests, as compared for grouping: without the wordings of a
    /// suggestion (建议, 关于…的建议, 希望, 恳请…) and without a place's name (two characters
    /// and an estate's ending: 幸福小区, 东湖花园), so that one idea for many estates is
    /// one group and many ideas for one estate are not.
    public static func content(_ title: String) -> String {
        var text = Array(LikenessKeys.fold(title))
        for phrase in boilerplate { text = removing(Array(phrase), from: text, before: 0) }
        for ending in placeEndings { text = removing(Array(ending), from: text, before: 2) }
        let kept = String(text)
        return kept.isEmpty ? title : kept
    }

    /// `text` without each `phrase` and up to `before` Han characters before it.
    static func removing(_ phrase: [Character], from text: [Character], before: Int) -> [Character] {
        var out: [Character] = []
        var index = 0
        while index < text.count {
            if index + phrase.count <= text.count, Array(text[index..<index + phrase.count]) == phrase {
                var dropped = 0
                while dropped < before, let last = out.last, last.unicodeScalars.allSatisfy({ (0x4E00...0x9FFF).contains($0.value) }) {
                    out.removeLast()
                    dropped += 1
                }
                index += phrase.count
            } else {
                out.append(text[index])
                index += 1
            }
        }
        return out
    }

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

    /// The groups of `items` (sorted by number): first those a person grouped (one group
    /// per lead's number), then each other suggestion joins the group whose leader's idea
    /// is likest its own, when at least `threshold` alike, or leads a new one. Compared with
    /// leaders only, never member to member, so that unlike ideas never chain into one
    /// group through ones between them.
    static func groups(_ items: [SummaryItem], threshold: Double) -> [SummaryGroup] {
        let grams = items.map { LikenessKeys.grams(content($0.title)) }
        var leaders: [Int] = []
        var members: [[Int]] = []
        var groupOfKey: [String: Int] = [:]
        let byNumber = Dictionary(items.enumerated().map { ($0.element.number, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var placed = Array(repeating: false, count: items.count)
        for (index, item) in items.enumerated() {
            guard let key = item.groupKey else { continue }
            if let group = groupOfKey[key] {
                members[group].append(index)
            } else {
                groupOfKey[key] = members.count
                leaders.append(byNumber[key] ?? index)
                members.append([index])
            }
            placed[index] = true
        }
        // A lead named by others but not grouped itself joins its group.
        for (key, group) in groupOfKey {
            if let lead = byNumber[key], !placed[lead] {
                members[group].append(lead)
                placed[lead] = true
            }
        }
        for index in items.indices where !placed[index] {
            var best: (group: Int, likeness: Double)?
            for (group, leader) in leaders.enumerated() {
                let likeness = LikenessKeys.dice(grams[index], grams[leader])
                if likeness >= threshold, likeness > (best?.likeness ?? 0) { best = (group, likeness) }
            }
            if let best {
                members[best.group].append(index)
            } else {
                leaders.append(index)
                members.append([index])
            }
        }
        let groups = members.map { indices -> SummaryGroup in
            let likeness = { (a: Int) in indices.reduce(0.0) { $0 + LikenessKeys.dice(grams[a], grams[$1]) } }
            let lead = indices.max { a, b in
                let (sa, sb) = (likeness(a), likeness(b))
                return sa != sb ? sa < sb : items[a].number > items[b].number
            }!
            var offices: [String: Int] = [:]
            for index in indices { offices[items[index].community, default: 0] += 1 }
            return SummaryGroup(
                representative: items[lead].number, representativeTitle: items[lead].title, count: indices.count,
                offices: offices.map { SummaryGroup.OfficeCount(office: $0.key, count: $0.value) }
                    .sorted { $0.count != $1.count ? $0.count > $1.count : $0.office < $1.office },
                numbers: indices.sorted().map { items[$0].number })
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
