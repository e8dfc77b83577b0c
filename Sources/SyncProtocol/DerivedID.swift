/// A record id derived from what identifies the record.
public enum DerivedID {
    /// A version-8 UUID of the SHA-256 of `parts` separated by NUL.
    public static func make(_ parts: [String]) -> String {
        let digest = SHA256Hex.digest(Array(parts.joined(separator: "\u{0}").utf8))
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
