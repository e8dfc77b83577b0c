/// Masks residents' personal data for display: listings show masked values unless
/// the user asks for `--reveal`.
public enum Masking {
    /// `张三` → `张*`, `欧阳娜娜` → `欧***`; a one-character name becomes `*`.
    public static func name(_ name: String) -> String {
        let characters = Array(name.trimmingSpaces)
        guard characters.count > 1 else { return characters.isEmpty ? "" : "*" }
        return String(characters[0]) + String(repeating: "*", count: characters.count - 1)
    }

    /// `13812341234` → `138****1234`; a landline `010-62345678` → `010****5678`; anything
    /// else keeps at most its last four digits.
    public static func phone(_ phone: String) -> String {
        let digits = phone.filter(\.isASCIIDigitCharacter)
        if digits.count >= 11 { return String(digits.prefix(3)) + "****" + String(digits.suffix(4)) }
        if digits.count > 4 { return String(repeating: "*", count: digits.count - 4) + String(digits.suffix(4)) }
        return String(repeating: "*", count: digits.count)
    }

    /// Keeps the street and hides the numbers: `和平路88号3栋2单元502室` → `和平路**号*栋*单元***室`.
    /// Every digit is hidden; the names of roads, streets and communities stay readable.
    public static func address(_ address: String) -> String {
        String(address.map { $0.isNumber ? "*" : $0 })
    }

    /// A resident identity number: `110105199001011234` → `110***********1234`.
    public static func idNumber(_ id: String) -> String {
        let characters = Array(id)
        guard characters.count > 7 else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(3)) + String(repeating: "*", count: characters.count - 7) + String(characters.suffix(4))
    }
}

/// Phone numbers accepted for a resident.
public enum PhoneNumber {
    /// The number with spaces and dashes removed, if it is a mainland mobile number
    /// (11 digits, `1[3-9]…`) or a landline with its area code (`0` + 9–11 digits,
    /// e.g. `010-62345678`, `0571-8765432`).
    ///
    /// - Throws: ``CaseDomainError/invalidPhone``.
    public static func normalize(_ text: String) throws(CaseDomainError) -> String {
        let kept = text.filter { $0 != " " && $0 != "-" }
        guard kept.allSatisfy(\.isASCIIDigitCharacter) else { throw .invalidPhone }
        let digits = Array(kept)
        if digits.count == 11, digits[0] == "1", ("3"..."9").contains(digits[1]) { return kept }
        if digits.first == "0", (10...12).contains(digits.count) { return kept }
        throw .invalidPhone
    }
}

extension Character {
    /// 0–9 and nothing else (no full-width or other scripts' digits).
    package var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) && isASCII }
}
