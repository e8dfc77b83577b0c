public import CaseDomain
import SyncProtocol

/// A policy as a department writes it for `rain policy publish FILE`: one JSON object,
/// read strictly — an unknown member, a wrong type, a fractional amount or a rule that
/// does not parse is refused, naming the member.
///
///     {
///       "title": "新四板挂牌奖励", "department": "JRB", "document": "和盛金发〔2026〕3号",
///       "mode": "automatic", "valid_from": "2026-01-01", "valid_to": "2026-12-31",
///       "benefit": {"type": "fixed", "amount_fen": 10000000},
///       "rule": "tags contains 新四板挂牌 and street in [JD1, JD2]",
///       "period": "2026", "summary": "…"
///     }
public struct PolicyFile: Hashable, Sendable {
    public enum Mode: String, Hashable, Sendable {
        /// 免申即享: a match becomes a grant with no application.
        case automatic
        /// Staff enter the enterprise's application.
        case application
    }

    public var title: String
    public var department: String
    public var document: String
    public var mode: Mode
    public var validFrom: CivilDate
    public var validTo: CivilDate
    public var benefit: Benefit
    public var rule: EligibilityRule
    /// The payout round a grant belongs to (part of its key): by default the year the
    /// policy takes effect.
    public var period: String
    public var summary: String?

    public init(
        title: String, department: String, document: String, mode: Mode, validFrom: CivilDate, validTo: CivilDate, benefit: Benefit,
        rule: EligibilityRule, period: String, summary: String? = nil
    ) {
        self.title = title
        self.department = department
        self.document = document
        self.mode = mode
        self.validFrom = validFrom
        self.validTo = validTo
        self.benefit = benefit
        self.rule = rule
        self.period = period
        self.summary = summary
    }

    /// Why a policy file was refused: the member and why.
    public struct Failure: Error, Hashable, Sendable {
        public let zh: String
        public let en: String

        public func message(_ language: Language) -> String {
            language == .zh ? "无法读取政策文件：" + zh : "cannot read the policy file: " + en
        }
    }

    static let members: Set<String> = [
        "title", "department", "document", "mode", "valid_from", "valid_to", "benefit", "rule", "period", "summary",
    ]
    /// The largest amount a policy may name: ¥100 billion in fen.
    static let maximumFen: Int64 = 10_000_000_000_000

    public init(_ bytes: [UInt8]) throws(Failure) {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch {
            throw Failure(zh: "不是有效的 JSON：\(error.reason)（第 \(error.offset) 字节）", en: "not JSON: \(error)")
        }
        guard case .object(let members) = json else {
            throw Failure(zh: "应为一个 JSON 对象", en: "expected one JSON object, found \(json.typeName)")
        }
        if let unknown = members.first(where: { !Self.members.contains($0.key) }) {
            throw Failure(zh: "未知字段 \(unknown.key)", en: "unknown member \(unknown.key)")
        }
        func text(_ key: String, limit: Int, required: Bool = true) throws(Failure) -> String? {
            guard let value = json[key] else {
                if required { throw Failure(zh: "缺少 \(key)", en: "\(key) is missing") }
                return nil
            }
            guard case .string(let raw) = value else {
                throw Failure(zh: "\(key) 应为文字", en: "\(key) must be a string, found \(value.typeName)")
            }
            let trimmed = String(raw.trimmingSpaces)
            guard !trimmed.isEmpty else { throw Failure(zh: "\(key) 为空", en: "\(key) is empty") }
            guard trimmed.count <= limit else {
                throw Failure(zh: "\(key) 超过 \(limit) 字", en: "\(key) is longer than \(limit) characters")
            }
            return trimmed
        }
        func date(_ key: String) throws(Failure) -> CivilDate {
            let raw = try text(key, limit: 10)!
            guard let date = PolicyDate.parse(raw) else {
                throw Failure(zh: "\(key) 应为 YYYY-MM-DD 的有效日期", en: "\(key) must be a valid date, YYYY-MM-DD")
            }
            return date
        }
        title = try text("title", limit: 200)!
        department = try text("department", limit: 32)!
        document = try text("document", limit: 100)!
        let modeText = try text("mode", limit: 20)!
        guard let mode = Mode(rawValue: modeText) else {
            throw Failure(zh: "mode 应为 automatic（免申即享）或 application（申报）", en: "mode must be automatic or application")
        }
        self.mode = mode
        validFrom = try date("valid_from")
        validTo = try date("valid_to")
        guard validFrom <= validTo else {
            throw Failure(zh: "valid_to 早于 valid_from", en: "valid_to is before valid_from")
        }
        guard let benefit = json["benefit"] else { throw Failure(zh: "缺少 benefit", en: "benefit is missing") }
        self.benefit = try Self.benefit(benefit)
        let ruleText = try text("rule", limit: 4000)!
        do { rule = try EligibilityRule(ruleText) } catch {
            throw Failure(zh: "rule：" + error.message(.zh), en: "rule: " + error.message(.en))
        }
        period = try text("period", limit: 20, required: false) ?? String(validFrom.year)
        summary = try text("summary", limit: 2000, required: false)
    }

    static func benefit(_ json: JSONValue) throws(Failure) -> Benefit {
        guard case .object(let members) = json else {
            throw Failure(zh: "benefit 应为对象", en: "benefit must be an object, found \(json.typeName)")
        }
        guard case .string(let type)? = json["type"] else {
            throw Failure(zh: "benefit.type 应为 fixed、percent 或 per_unit", en: "benefit.type must be fixed, percent or per_unit")
        }
        let allowed: Set<String>
        switch type {
        case "fixed": allowed = ["type", "amount_fen"]
        case "percent": allowed = ["type", "of", "percent", "cap_fen"]
        case "per_unit": allowed = ["type", "of", "amount_fen", "cap_fen"]
        default: throw Failure(zh: "benefit.type 应为 fixed、percent 或 per_unit", en: "benefit.type must be fixed, percent or per_unit")
        }
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            throw Failure(zh: "benefit 中未知字段 \(unknown.key)", en: "unknown member benefit.\(unknown.key) for type \(type)")
        }
        func fen(_ key: String, required: Bool) throws(Failure) -> Int64? {
            guard let value = json[key] else {
                if required { throw Failure(zh: "缺少 benefit.\(key)", en: "benefit.\(key) is missing") }
                return nil
            }
            guard case .number(let digits) = value, let amount = Int64(digits), amount > 0, amount <= maximumFen else {
                throw Failure(
                    zh: "benefit.\(key) 应为正整数（单位：分）", en: "benefit.\(key) must be a whole number of fen, more than 0 (no fractions)")
            }
            return amount
        }
        func base(_ allowed: [Attribute]) throws(Failure) -> Attribute {
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            guard case .string(let name)? = json["of"], let attribute = Attribute(rawValue: name), allowed.contains(attribute) else {
                throw Failure(zh: "benefit.of 应为 \(names) 之一", en: "benefit.of must be one of \(names)")
            }
            return attribute
        }
        switch type {
        case "fixed":
            return .fixed(amountFen: try fen("amount_fen", required: true)!)
        case "percent":
            let of = try base([.taxPaid, .revenue])
            guard case .number(let text)? = json["percent"], let points = basisPoints(text), points > 0, points <= 10_000 else {
                throw Failure(
                    zh: "benefit.percent 应为大于 0、不超过 100 的数，最多两位小数",
                    en: "benefit.percent must be more than 0 and at most 100, with at most two decimals")
            }
            return .percent(of: of, basisPoints: points, capFen: try fen("cap_fen", required: false))
        default:
            let of = try base([.employees])
            return .perUnit(of: of, amountFen: try fen("amount_fen", required: true)!, capFen: try fen("cap_fen", required: false))
        }
    }

    /// A JSON number's text as hundredths of a percent, exactly (no floating point):
    /// `2.5` → 250; nil for more than two decimals, exponents or signs.
    static func basisPoints(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int64(parts[0]), whole >= 0, !parts[0].hasPrefix("-") else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...2).contains(digits.count), digits.allSatisfy(\.isASCIIDigitCharacter), let value = Int64(digits) else { return nil }
            fraction = digits.count == 1 ? value * 10 : value
        }
        guard whole <= 100 else { return nil }
        return whole * 100 + fraction
    }
}
