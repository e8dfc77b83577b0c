/// What a resident brought: a complaint, a consultation, a help request or a suggestion.
public enum CaseKind: String, Sendable, CaseIterable, Codable {
    case complaint
    case consultation
    case help
    case suggestion

    /// The label shown to staff.
    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.complaint, .zh): "投诉"
        case (.consultation, .zh): "咨询"
        case (.help, .zh): "求助"
        case (.suggestion, .zh): "建议"
        case (_, .en): rawValue
        }
    }

    /// The kind named by `text`: its code (`complaint`) or its Chinese label (`投诉`).
    public init?(parsing text: String) {
        if let kind = CaseKind(rawValue: text.lowercased()) {
            self = kind
        } else if let kind = CaseKind.allCases.first(where: { $0.label(.zh) == text }) {
            self = kind
        } else {
            return nil
        }
    }

    /// The default time allowed, in working days: consultation 5, help 5, complaint 15,
    /// suggestion 20.
    public var defaultWorkingDays: Int {
        switch self {
        case .consultation, .help: 5
        case .complaint: 15
        case .suggestion: 20
        }
    }
}

/// The categories a case is filed under: a default list the district can extend.
public struct CategoryList: Sendable, Equatable {
    /// The default categories.
    public static let defaults = ["社会救助", "环境卫生", "物业管理", "城市管理", "市场监管", "劳动保障", "教育", "医疗卫生", "交通出行", "其他"]

    /// Every category, defaults first, then the district's additions in the order added.
    public private(set) var names: [String]

    public init(extra: [String] = []) {
        names = CategoryList.defaults
        for name in extra { try? add(name) }
    }

    /// Adds a category; adding an existing one changes nothing.
    ///
    /// - Throws: ``CaseDomainError/invalidCategoryName(_:)`` for an empty or over-long name.
    public mutating func add(_ name: String) throws(CaseDomainError) {
        let trimmed = name.trimmingSpaces
        guard !trimmed.isEmpty, trimmed.count <= 20, !trimmed.contains(where: \.isNewline) else {
            throw .invalidCategoryName(trimmed.count)
        }
        if !names.contains(trimmed) { names.append(trimmed) }
    }

    /// Whether `name` is a known category.
    public func contains(_ name: String) -> Bool { names.contains(name) }
}

extension String {
    /// The string without leading and trailing white space (spaces, tabs, line ends,
    /// no-break and ideographic spaces); shared with the other domain modules.
    package var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace }) ?? start
        return String(scalars[start...end])
    }
}
