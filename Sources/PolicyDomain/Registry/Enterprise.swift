public import CaseDomain

/// An enterprise of the registry, checked. Bank account, legal representative and
/// contact are personal data (masked in listings, reveals audited).
public struct Enterprise: Hashable, Sendable {
    public var name: String
    public var creditCode: CreditCode
    /// The registered street: a street office's code (its jurisdiction).
    public var street: String
    public var industry: String?
    public var size: EnterpriseSize?
    public var founded: CivilDate?
    public var employees: Int64?
    /// Whole 元.
    public var revenue: Int64?
    /// Whole 元.
    public var taxPaid: Int64?
    public var tags: [String] = []
    public var legalRep: String?
    public var bank: String?
    public var account: String?
    public var contact: String?

    public init(name: String, creditCode: CreditCode, street: String) {
        self.name = name
        self.creditCode = creditCode
        self.street = street
    }

    /// What eligibility rules are checked against.
    public var facts: EnterpriseFacts {
        EnterpriseFacts(
            industry: industry, size: size, street: street, founded: founded, employees: employees, revenue: revenue,
            taxPaid: taxPaid, tags: Set(tags))
    }
}

/// The registry's CSV columns and how each cell is checked (`rain enterprise import`).
public enum EnterpriseColumns {
    public static let required = ["name", "credit_code", "street"]
    public static let all = [
        "name", "credit_code", "street", "industry", "size", "founded", "employees", "revenue", "tax_paid", "tags", "legal_rep",
        "bank", "account", "contact",
    ]

    /// Why a row was rejected (the column it names, and why), in both languages.
    public struct Rejection: Error, Hashable, Sendable {
        public let zh: String
        public let en: String

        public init(zh: String, en: String) {
            self.zh = zh
            self.en = en
        }

        public func message(_ language: Language) -> String { language == .zh ? zh : en }
    }

    /// The enterprise a row describes; `cell(column)` gives a column's trimmed text (nil:
    /// absent or empty).
    public static func enterprise(_ cell: (String) -> String?) throws(Rejection) -> Enterprise {
        guard let name = cell("name") else { throw Rejection(zh: "缺少企业名称（name）", en: "name is empty") }
        guard name.count <= 100, !name.contains(where: \.isNewline) else {
            throw Rejection(zh: "企业名称应为一行、不超过 100 字（name）", en: "name must be one line of at most 100 characters")
        }
        guard let codeText = cell("credit_code") else {
            throw Rejection(zh: "缺少统一社会信用代码（credit_code）", en: "credit_code is empty")
        }
        let code: CreditCode
        do { code = try CreditCode(codeText) } catch {
            throw Rejection(zh: error.message(.zh) + "（credit_code）", en: error.message(.en) + " (credit_code)")
        }
        guard let street = cell("street") else { throw Rejection(zh: "缺少所属街道代码（street）", en: "street is empty (a street office's code)") }
        var enterprise = Enterprise(name: name, creditCode: code, street: street)
        if let industry = cell("industry") {
            let upper = industry.uppercased()
            guard Self.isIndustryCode(upper) else {
                throw Rejection(
                    zh: "行业代码应为 GB/T 4754 代码，如 C 或 C3911（industry）",
                    en: "industry must be a GB/T 4754 code such as C or C3911")
            }
            enterprise.industry = upper
        }
        if let size = cell("size") {
            guard let known = EnterpriseSize(rawValue: size.lowercased()) ?? EnterpriseSize.allCases.first(where: { $0.label(.zh) == size })
            else {
                throw Rejection(zh: "企业规模应为 micro、small、medium、large 或 微型、小型、中型、大型（size）", en: "size must be micro, small, medium or large")
            }
            enterprise.size = known
        }
        if let founded = cell("founded") {
            guard let date = PolicyDate.parse(founded) else {
                throw Rejection(
                    zh: "成立日期应为 YYYY-MM-DD 的有效日期，1900 至 2199 年（founded）", en: "founded must be a valid date, YYYY-MM-DD (1900 to 2199)")
            }
            enterprise.founded = date
        }
        enterprise.employees = try whole(cell("employees"), "employees", "从业人数")
        enterprise.revenue = try whole(cell("revenue"), "revenue", "营业收入")
        enterprise.taxPaid = try whole(cell("tax_paid"), "tax_paid", "纳税额")
        if let tags = cell("tags") {
            enterprise.tags = tags.split(whereSeparator: { $0 == ";" || $0 == "；" }).map { String(String($0).trimmingSpaces) }
                .filter { !$0.isEmpty }
            guard !enterprise.tags.contains(where: { $0.contains("|") }) else {
                throw Rejection(zh: "标签中不能有 |（tags）", en: "a tag cannot contain | (tags)")
            }
        }
        enterprise.legalRep = cell("legal_rep")
        enterprise.bank = cell("bank")
        if let account = cell("account") {
            let digits = account.filter { $0 != " " && $0 != "-" }
            guard (8...32).contains(digits.count), digits.allSatisfy(\.isASCIIDigitCharacter) else {
                throw Rejection(zh: "银行账号应为 8 到 32 位数字（account）", en: "account must be 8 to 32 digits")
            }
            enterprise.account = digits
        }
        enterprise.contact = cell("contact")
        return enterprise
    }

    /// A GB/T 4754 code: a section letter A–T, optionally its 2-, 3- or 4-digit division,
    /// group or class.
    static func isIndustryCode(_ text: String) -> Bool {
        let characters = Array(text)
        guard let section = characters.first, ("A"..."T").contains(section) else { return false }
        let digits = characters.dropFirst()
        return [0, 2, 3, 4].contains(digits.count) && digits.allSatisfy(\.isASCIIDigitCharacter)
    }

    /// A whole, non-negative number; `1,234`, `1234.00` are read as 1234, a fraction is refused.
    static func whole(_ text: String?, _ column: String, _ label: String) throws(Rejection) -> Int64? {
        guard let text else { return nil }
        var digits = text.filter { $0 != "," && $0 != "，" }
        if let dot = digits.firstIndex(of: ".") {
            guard digits[digits.index(after: dot)...].allSatisfy({ $0 == "0" }) else {
                throw Rejection(zh: "\(label)应为整数（\(column)）", en: "\(column) must be a whole number")
            }
            digits = String(digits[..<dot])
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigitCharacter), let number = Int64(digits) else {
            throw Rejection(zh: "\(label)应为不小于 0 的整数（\(column)）", en: "\(column) must be a whole number, 0 or more")
        }
        return number
    }
}
