public import CaseDomain

/// Why a resident's request was refused: an HTTP status and a description, in Chinese and
/// English, that names the field at fault — never a value the resident sent (a name or a
/// phone number).
public struct ResidentError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var zh: String
    public var en: String
    /// For 429: seconds until a retry may succeed.
    public var retryAfter: Int?

    public init(_ status: Int, zh: String, en: String, retryAfter: Int? = nil) {
        self.status = status
        self.zh = zh
        self.en = en
        self.retryAfter = retryAfter
    }

    /// The description in `language`.
    public func message(_ language: Language) -> String { language == .zh ? zh : en }

    public var description: String { en }

    static func invalid(zh: String, en: String) -> ResidentError { ResidentError(400, zh: zh, en: en) }
}
