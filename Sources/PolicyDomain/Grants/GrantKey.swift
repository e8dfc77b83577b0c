import SyncProtocol

/// A grant's record id, the same on every replica: made from the policy, the enterprise's
/// credit code and the payout period, so two offices matching or entering the same grant
/// offline write to one record, never two (issue 18: "each exactly once").
public enum GrantKey {
    /// A version-8 UUID (RFC 9562: custom) of the SHA-256 of `grant`, policy, code and
    /// period, separated by NUL, e.g. `5d1c…-…-8…-[89ab]…`.
    public static func recordID(policy: String, creditCode: CreditCode, period: String) -> String {
        let digest = SHA256Hex.digest(Array("grant\u{0}\(policy)\u{0}\(creditCode.text)\u{0}\(period)".utf8))
        var hex = Array(digest.prefix(32))
        // The version nibble (8) and the variant bits (10xx): a valid UUID of its own kind,
        // never equal to a replica's UUIDv7.
        hex[12] = "8"
        let variant = Int(String(hex[16]), radix: 16)! & 0x3 | 0x8
        hex[16] = Array("0123456789abcdef")[variant]
        let text = String(hex)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(text[text.index(text.startIndex, offsetBy: range.lowerBound)..<text.index(text.startIndex, offsetBy: range.upperBound)])
        }
        return parts.joined(separator: "-")
    }
}
