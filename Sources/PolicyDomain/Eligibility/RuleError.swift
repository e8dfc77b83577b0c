public import CaseDomain

/// Why a rule was refused: the reason and where (the 1-based position of the character,
/// counted in characters, where reading stopped).
public struct RuleError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        case empty
        case unexpectedCharacter(Character)
        case unterminatedText
        case invalidNumber(String)
        case invalidDate(String)
        case expected(String, found: String)
        case unknownAttribute(String)
        /// A value of the wrong kind for the attribute (attribute, what it takes).
        case wrongValue(Attribute, String)
        /// An operator the attribute does not take (attribute, operator).
        case wrongOperator(Attribute, String)
        case unknownSize(String)
        case tooDeep
    }

    public let reason: Reason
    public let position: Int

    public init(reason: Reason, position: Int) {
        self.reason = reason
        self.position = position
    }

    public var description: String { message(.en) }

    /// "what failed: why (where)" in `language`.
    public func message(_ language: Language) -> String {
        let zh = language == .zh
        let why: String
        switch reason {
        case .empty: why = zh ? "规则为空" : "the rule is empty"
        case .unexpectedCharacter(let character):
            why = zh ? "无法识别的字符「\(character)」" : "unexpected character '\(character)'"
        case .unterminatedText: why = zh ? "文字缺少结束引号" : "a quoted text has no closing quote"
        case .invalidNumber(let text):
            why = zh ? "\(text) 不是整数（金额以元计，取整数）" : "\(text) is not a whole number (amounts are whole 元)"
        case .invalidDate(let text):
            why = zh ? "\(text) 不是有效日期（YYYY-MM-DD，1900 至 2199 年）" : "\(text) is not a valid date (YYYY-MM-DD, years 1900 to 2199)"
        case .expected(let what, let found): why = zh ? "此处应为\(what)，实为\(found)" : "expected \(what), found \(found)"
        case .unknownAttribute(let name):
            let known = Attribute.allCases.map(\.rawValue).joined(separator: ", ")
            why = zh ? "未知属性 \(name)（可用：\(known)）" : "unknown attribute \(name) (known: \(known))"
        case .wrongValue(let attribute, let takes):
            why = zh ? "\(attribute.rawValue) 只能与\(takes)比较" : "\(attribute.rawValue) compares only with \(takes)"
        case .wrongOperator(let attribute, let op):
            why = zh ? "\(attribute.rawValue) 不能使用 \(op)" : "\(attribute.rawValue) does not take \(op)"
        case .unknownSize(let text):
            why = zh ? "\(text) 不是企业规模（micro、small、medium、large）" : "\(text) is not a size (micro, small, medium, large)"
        case .tooDeep: why = zh ? "括号嵌套过深" : "parentheses nest too deep"
        }
        return zh ? "无法读取资格规则：\(why)（第 \(position) 个字符）" : "cannot read the eligibility rule: \(why) (character \(position))"
    }
}
