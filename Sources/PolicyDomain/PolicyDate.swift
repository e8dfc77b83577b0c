public import CaseDomain

/// Dates as policies and the registry write them: `YYYY-MM-DD`, four ASCII digits of year
/// from 1900 to 2199 (a typo such as `0999` or `+202` is refused, not read as an ancient
/// date), and written back the same way (what `RuleSQL` compares as text).
public enum PolicyDate {
    public static func parse(_ text: String) -> CivilDate? {
        guard text.utf8.count == 10, text.utf8.allSatisfy({ (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }),
            let date = CivilDate(parsing: text), (1900...2199).contains(date.year)
        else { return nil }
        return date
    }

    /// `date` as `YYYY-MM-DD`, the year zero-padded to four digits.
    public static func text(_ date: CivilDate) -> String {
        let year = String(date.year)
        return String(repeating: "0", count: max(0, 4 - year.count)) + year + String(date.description.drop { $0 != "-" })
    }
}
