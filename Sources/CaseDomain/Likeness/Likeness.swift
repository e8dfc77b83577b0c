/// One case or suggestion as duplicate detection sees it: its keys, never its texts.
public struct LikenessSubject: Sendable, Hashable {
    public var id: String
    public var number: String
    public var category: String
    /// When it was received, epoch milliseconds.
    public var createdAt: Int64
    public var community: String
    public var phone: String?
    public var place: String?
    /// ``LikenessKeys/grams(_:)`` of its title.
    public var grams: [Int64]

    public init(
        id: String, number: String, category: String, createdAt: Int64, community: String, phone: String?, place: String?,
        grams: [Int64]
    ) {
        self.id = id
        self.number = number
        self.category = category
        self.createdAt = createdAt
        self.community = community
        self.phone = phone
        self.place = place
        self.grams = grams
    }
}

/// Why two cases may be duplicates (README, "Similarity rules").
public enum LikenessReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// The same phone (``LikenessKeys/phone(_:)``).
    case samePhone = "same_phone"
    /// The same place (``LikenessKeys/place(_:)``).
    case samePlace = "same_place"
    /// Titles whose bigrams' Dice coefficient is at least ``LikenessRules/textThreshold``.
    case similarText = "similar_text"
    /// The same category, received within ``LikenessRules/windowDays`` of each other: on its
    /// own it would name every case of a busy category, so it makes a candidate only with a
    /// weaker text likeness (``LikenessRules/weakTextThreshold``), and otherwise supports
    /// another reason.
    case sameCategoryWindow = "same_category_window"

    /// How the reason reads to staff.
    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.samePhone, .zh): "同一电话"
        case (.samePlace, .zh): "同一地点"
        case (.similarText, .zh): "内容相似"
        case (.sameCategoryWindow, .zh): "同类且时间相近"
        case (_, .en): rawValue.replacingUnderscores
        }
    }
}

/// A candidate duplicate: the other case, the reasons that held and the titles' likeness.
public struct LikenessMatch: Sendable, Hashable {
    public var subject: LikenessSubject
    public var reasons: [LikenessReason]
    /// The titles' Dice coefficient, 0…1.
    public var similarity: Double
}

/// The thresholds of duplicate detection.
public struct LikenessRules: Sendable, Hashable {
    public var textThreshold: Double
    public var weakTextThreshold: Double
    public var windowDays: Int

    public init(textThreshold: Double = 0.5, weakTextThreshold: Double = 0.3, windowDays: Int = 14) {
        self.textThreshold = textThreshold
        self.weakTextThreshold = weakTextThreshold
        self.windowDays = windowDays
    }

    /// Whether `other` is a candidate duplicate of `subject`, and why: the same phone, the
    /// same place, similar titles, or the same category within the window together with a
    /// weaker text likeness. Never the subject itself.
    public func compare(_ subject: LikenessSubject, _ other: LikenessSubject) -> LikenessMatch? {
        compare(subject, other, similarity: LikenessKeys.dice(subject.grams, other.grams))
    }

    /// ``compare(_:_:)`` with the titles' likeness already known (from the replica's index).
    public func compare(_ subject: LikenessSubject, _ other: LikenessSubject, similarity: Double) -> LikenessMatch? {
        guard other.id != subject.id else { return nil }
        var reasons: [LikenessReason] = []
        if let phone = subject.phone, phone == other.phone { reasons.append(.samePhone) }
        if let place = subject.place, place == other.place { reasons.append(.samePlace) }
        if similarity >= textThreshold { reasons.append(.similarText) }
        let window = Int64(windowDays) * 86_400_000
        let near = subject.category == other.category && abs(subject.createdAt - other.createdAt) <= window
        if near, !reasons.isEmpty || similarity >= weakTextThreshold { reasons.append(.sameCategoryWindow) }
        guard !reasons.isEmpty else { return nil }
        return LikenessMatch(subject: other, reasons: reasons, similarity: similarity)
    }

    /// The candidates among `others`, strongest first: more reasons, then the likelier
    /// title, then the earlier number.
    public func candidates(for subject: LikenessSubject, among others: some Sequence<LikenessSubject>) -> [LikenessMatch] {
        others.compactMap { compare(subject, $0) }.sorted(by: Self.stronger)
    }

    /// The order candidates are listed in.
    public static func stronger(_ a: LikenessMatch, _ b: LikenessMatch) -> Bool {
        if a.reasons.count != b.reasons.count { return a.reasons.count > b.reasons.count }
        if a.similarity != b.similarity { return a.similarity > b.similarity }
        return a.subject.number < b.subject.number
    }
}
