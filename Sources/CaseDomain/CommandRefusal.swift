/// Why a command of a record kind's store refused (a policy, a grant, a suggestion, a
/// campaign…), in both languages ("what failed: why (where)"). `PolicyStoreError` and
/// `SuggestionError` are this type.
public struct CommandRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of refusal: it decides `rain`'s exit code (README, "Exit codes").
    public enum Kind: Hashable, Sendable {
        /// Bad input: a file, a value, an enterprise the policy does not fit (exit 2).
        case input
        /// No such record, or an ambiguous reference (exit 3).
        case notFound
        /// A move the workflow or pipeline does not allow (exit 4).
        case illegalMove
        /// Outside this office's jurisdiction or role (exit 2).
        case jurisdiction
    }

    public let kind: Kind
    public let zh: String
    public let en: String

    public init(_ kind: Kind, zh: String, en: String) {
        self.kind = kind
        self.zh = zh
        self.en = en
    }

    public func message(_ language: Language) -> String { language == .zh ? zh : en }
    public var description: String { en }
}
