public import CaseDomain

/// An enterprise attribute a rule may test, and how its values compare.
public enum Attribute: String, CaseIterable, Hashable, Sendable {
    /// GB/T 4754 industry code, e.g. `C3911` (text; codes of a section sort together).
    case industry
    /// micro < small < medium < large.
    case size
    /// The registered street: its office code.
    case street
    /// The founding date.
    case founded
    /// Head count.
    case employees
    /// Revenue, whole 元.
    case revenue
    /// Tax paid, whole 元.
    case taxPaid = "tax_paid"
    /// A set of labels (新四板挂牌, 高新技术企业, 专精特新, …).
    case tags

    /// How an attribute's values compare.
    public enum Kind: Sendable {
        case text, number, date, size, tags
    }

    public var kind: Kind {
        switch self {
        case .industry, .street: .text
        case .size: .size
        case .founded: .date
        case .employees, .revenue, .taxPaid: .number
        case .tags: .tags
        }
    }

    /// The attribute's name in `language`.
    public func label(_ language: Language) -> String {
        guard language == .zh else { return rawValue }
        return switch self {
        case .industry: "行业"
        case .size: "规模"
        case .street: "街道"
        case .founded: "成立日期"
        case .employees: "从业人数"
        case .revenue: "营业收入"
        case .taxPaid: "纳税额"
        case .tags: "标签"
        }
    }
}

/// An enterprise's size class (大型、中型、小型、微型).
public enum EnterpriseSize: String, CaseIterable, Comparable, Hashable, Sendable {
    case micro, small, medium, large

    public static func < (lhs: EnterpriseSize, rhs: EnterpriseSize) -> Bool { lhs.rank < rhs.rank }

    /// micro 0 … large 3 (how rules and SQL compare sizes).
    public var rank: Int {
        switch self {
        case .micro: 0
        case .small: 1
        case .medium: 2
        case .large: 3
        }
    }

    public func label(_ language: Language) -> String {
        guard language == .zh else { return rawValue }
        return switch self {
        case .micro: "微型"
        case .small: "小型"
        case .medium: "中型"
        case .large: "大型"
        }
    }
}

/// What a rule is checked against: an enterprise's attributes (nil: not known, so a
/// clause on it is neither true nor false).
public struct EnterpriseFacts: Hashable, Sendable {
    public var industry: String?
    public var size: EnterpriseSize?
    public var street: String?
    public var founded: CivilDate?
    public var employees: Int64?
    public var revenue: Int64?
    public var taxPaid: Int64?
    public var tags: Set<String>?

    public init(
        industry: String? = nil, size: EnterpriseSize? = nil, street: String? = nil, founded: CivilDate? = nil,
        employees: Int64? = nil, revenue: Int64? = nil, taxPaid: Int64? = nil, tags: Set<String>? = nil
    ) {
        self.industry = industry
        self.size = size
        self.street = street
        self.founded = founded
        self.employees = employees
        self.revenue = revenue
        self.taxPaid = taxPaid
        self.tags = tags
    }

    /// The attribute's value, comparable to a rule's literals; nil when not known.
    func value(of attribute: Attribute) -> RuleValue? {
        switch attribute {
        case .industry: industry.map(RuleValue.text)
        case .street: street.map(RuleValue.text)
        case .size: size.map(RuleValue.size)
        case .founded: founded.map(RuleValue.date)
        case .employees: employees.map(RuleValue.number)
        case .revenue: revenue.map(RuleValue.number)
        case .taxPaid: taxPaid.map(RuleValue.number)
        case .tags: tags.map { RuleValue.tags($0) }
        }
    }
}

/// A value in a rule or of an attribute.
public enum RuleValue: Hashable, Sendable, CustomStringConvertible {
    case text(String)
    case number(Int64)
    case date(CivilDate)
    case size(EnterpriseSize)
    case tags(Set<String>)

    public var description: String {
        switch self {
        case .text(let text): "\"" + text + "\""
        case .number(let number): String(number)
        case .date(let date): date.description
        case .size(let size): size.rawValue
        case .tags(let tags): "[" + tags.sorted().map { "\"" + $0 + "\"" }.joined(separator: ", ") + "]"
        }
    }
}
