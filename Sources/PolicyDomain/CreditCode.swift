public import CaseDomain

/// A unified social credit code (统一社会信用代码, GB 32100-2015), checked: 18 characters
/// of the code's 31-character alphabet — the registration authority (1), the type under
/// that authority (2), the administrative division (3–8, digits), the body's
/// identification code (9–17) and a check digit (18) computed over the first 17.
public struct CreditCode: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 18 characters, upper case.
    public let text: String

    /// The code's alphabet: digits and the capitals without I, O, S, V and Z, each worth
    /// its position (0…30).
    public static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    // Weights of positions 1…17: 3^(i-1) mod 31.
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// The registration authorities of GB 32100-2015 table 1, each with the type codes it issues.
    public static let authorities: [Character: (name: String, types: Set<Character>)] = [
        "1": ("机构编制", ["1", "2", "3", "9"]),
        "2": ("外交", ["1", "9"]),
        "3": ("司法行政", ["1", "2", "3", "4", "5", "9"]),
        "4": ("文化", ["1", "9"]),
        "5": ("民政", ["1", "2", "3", "9"]),
        "6": ("旅游", ["1", "2", "9"]),
        "7": ("宗教", ["1", "2", "9"]),
        "8": ("工会", ["1", "9"]),
        "9": ("工商", ["1", "2", "3"]),
        "A": ("中央军委改革和编制办公室", ["1", "9"]),
        "N": ("农业", ["1", "2", "3", "9"]),
        "Y": ("其他", ["1"]),
    ]

    /// Which rule a text breaks.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// Not 18 characters (the count found).
        case length(Int)
        /// A character outside the alphabet (its 1-based position).
        case character(position: Int)
        /// The first character names no registration authority.
        case authority(Character)
        /// The second character is not a type that authority issues.
        case type(authority: Character, type: Character)
        /// Positions 3–8 are not six digits.
        case division
        /// The last character is not the check digit of the first 17 (the expected one).
        case checkDigit(expected: Character)

        public var description: String { message(.en) }

        /// The message in `language`: which rule failed.
        public func message(_ language: Language) -> String {
            switch (self, language) {
            case (.length(let count), .zh): "统一社会信用代码无效：应为 18 位（收到 \(count) 位）"
            case (.length(let count), .en): "invalid credit code: it must be 18 characters (got \(count))"
            case (.character(let position), .zh):
                "统一社会信用代码无效：第 \(position) 位不是代码字符（数字或除 I、O、S、V、Z 外的大写字母）"
            case (.character(let position), .en):
                "invalid credit code: character \(position) is outside its alphabet (digits and capitals except I, O, S, V, Z)"
            case (.authority(let code), .zh): "统一社会信用代码无效：第 1 位登记管理部门代码 \(code) 不存在"
            case (.authority(let code), .en): "invalid credit code: \(code) (character 1) is no registration authority's code"
            case (.type(let authority, let type), .zh):
                "统一社会信用代码无效：第 2 位机构类别代码 \(type) 不属于登记管理部门 \(authority)"
            case (.type(let authority, let type), .en):
                "invalid credit code: \(type) (character 2) is not a type that authority \(authority) registers"
            case (.division, .zh): "统一社会信用代码无效：第 3–8 位行政区划码应为 6 位数字"
            case (.division, .en): "invalid credit code: characters 3–8 (the administrative division) must be six digits"
            case (.checkDigit(let expected), .zh): "统一社会信用代码无效：第 18 位校验码不符（应为 \(expected)）"
            case (.checkDigit(let expected), .en):
                "invalid credit code: the check digit (character 18) does not match (expected \(expected))"
            }
        }
    }

    /// Checks `text` (surrounding spaces ignored; lower-case letters read as capitals).
    public init(_ text: String) throws(Failure) {
        let characters = Array(text.trimmingSpaces.uppercased())
        guard characters.count == 18 else { throw .length(characters.count) }
        var values: [Int] = []
        for (index, character) in characters.enumerated() {
            guard let value = Self.alphabet.firstIndex(of: character) else { throw .character(position: index + 1) }
            values.append(value)
        }
        guard let authority = Self.authorities[characters[0]] else { throw .authority(characters[0]) }
        guard authority.types.contains(characters[1]) else { throw .type(authority: characters[0], type: characters[1]) }
        guard characters[2..<8].allSatisfy(\.isASCIIDigitCharacter) else { throw .division }
        let expected = Self.checkCharacter(values[0..<17])
        guard characters[17] == expected else { throw .checkDigit(expected: expected) }
        self.text = String(characters)
    }

    /// The check character of the 17 values before it.
    static func checkCharacter(_ values: ArraySlice<Int>) -> Character {
        let sum = zip(values, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return alphabet[(31 - sum % 31) % 31]
    }

    /// A valid code made from its first 17 characters (test data, generators).
    public static func completing(_ first17: String) -> CreditCode? {
        let characters = Array(first17)
        guard characters.count == 17 else { return nil }
        let values = characters.compactMap { alphabet.firstIndex(of: $0) }
        guard values.count == 17 else { return nil }
        return try? CreditCode(first17 + String(checkCharacter(values[...])))
    }

    /// The administrative division the code was issued in (characters 3–8).
    public var division: String { String(text.dropFirst(2).prefix(6)) }

    public var description: String { text }

    public static func < (lhs: CreditCode, rhs: CreditCode) -> Bool { lhs.text < rhs.text }
}
