import CaseDomain
import Foundation
import PolicyDomain
import Testing

struct CreditCodeTests {
    @Test(arguments: [
        ("91350100M000100Y43", "350100"), ("91110000710925462X", "110000"), ("91440300708461136T", "440300"),
        (" 91350100m000100y43 ", "350100"),
    ])
    func publishedCodesAreAccepted(_ text: String, division: String) throws {
        let code = try CreditCode(text)
        #expect(code.text == text.trimmingCharacters(in: .whitespaces).uppercased())
        #expect(code.division == division)
    }

    @Test func eachRuleIsNamedWhenItFails() {
        let cases: [(String, CreditCode.Failure)] = [
            ("9135010", .length(7)),
            ("91350100M000100Y431", .length(19)),
            ("91350100M000I00Y43", .character(position: 13)),
            ("91350100M00010OY43", .character(position: 15)),
            ("913501００M000100Y43", .character(position: 7)),
            ("B1350100M000100Y43", .authority("B")),
            ("94350100M000100Y43", .type(authority: "9", type: "4")),
            ("Y2350100M000100Y43", .type(authority: "Y", type: "2")),
            ("9135A100M000100Y43", .division),
            ("91350100M000100Y44", .checkDigit(expected: "3")),
        ]
        for (text, failure) in cases {
            #expect(throws: failure, "\(text)") { try CreditCode(text) }
            // Both languages name the rule, never echo more than the offending character.
            #expect(failure.message(.zh).contains("统一社会信用代码无效"))
            #expect(failure.message(.en).hasPrefix("invalid credit code: "))
        }
    }

    /// The check digit catches every single wrong character and every swap of two
    /// different neighbours (the weights are distinct powers of 3 modulo the prime 31).
    @Test func everySubstitutionAndNeighbourSwapIsCaught() throws {
        var generator = SplitMix64(seed: 20_261_206)
        let alphabet = CreditCode.alphabet
        for _ in 0..<60 {
            let authority = ["1", "5", "9", "9", "9", "N", "Y"].randomElement(using: &generator)!
            let type = String(CreditCode.authorities[Character(authority)]!.types.sorted().randomElement(using: &generator)!)
            let division = String((0..<6).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            let body = String((0..<9).map { _ in alphabet.randomElement(using: &generator)! })
            let code = try #require(CreditCode.completing(authority + type + division + body))
            var characters = Array(code.text)
            for position in 8..<18 {
                let original = characters[position]
                for replacement in alphabet where replacement != original {
                    characters[position] = replacement
                    #expect(throws: CreditCode.Failure.self) { try CreditCode(String(characters)) }
                }
                characters[position] = original
            }
            for position in 8..<17 where characters[position] != characters[position + 1] {
                characters.swapAt(position, position + 1)
                #expect(throws: CreditCode.Failure.self) { try CreditCode(String(characters)) }
                characters.swapAt(position, position + 1)
            }
        }
    }
}
