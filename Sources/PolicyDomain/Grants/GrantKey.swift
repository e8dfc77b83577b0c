import SyncProtocol

/// A grant's record id, the same on every replica: made from the policy, the enterprise's
/// credit code and the payout period, so two offices matching or entering the same grant
/// offline write to one record, never two (issue 18: "each exactly once").
public enum GrantKey {
    /// A version-8 UUID (RFC 9562: custom) of the SHA-256 of `grant`, policy, code and
    /// period, separated by NUL, e.g. `5d1c…-…-8…-[89ab]…`.
    public static func recordID(policy: String, creditCode: CreditCode, period: String) -> String {
        DerivedID.make(["grant", policy, creditCode.text, period])
    }
}

/// An enterprise's record ids, the same on every replica: two streets (or a street and
/// the district) importing the same enterprise write to one record.
public enum EnterpriseKey {
    /// The id of the enterprise's public attributes (`enterprises`).
    public static func recordID(_ code: CreditCode) -> String { DerivedID.make(["enterprise", code.text]) }
    /// The id of its account and contacts (`enterprise_accounts`).
    public static func accountID(_ code: CreditCode) -> String { DerivedID.make(["enterprise-account", code.text]) }
}
