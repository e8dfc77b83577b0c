import CaseDomain
import PolicyDomain
import Testing

struct EligibilityRuleTests {
    let sample = EnterpriseFacts(
        industry: "C3911", size: .small, street: "JD1", founded: CivilDate(year: 2019, month: 3, day: 8), employees: 50,
        revenue: 12_000_000, taxPaid: 300_000, tags: ["高新技术企业", "专精特新"])

    func holds(_ rule: String, _ facts: EnterpriseFacts? = nil) throws -> Bool {
        try EligibilityRule(rule).holds(facts ?? sample)
    }

    @Test func everyOperatorOnEveryKindOfValue() throws {
        // Numbers.
        #expect(try holds("employees = 50") && holds("employees != 49") && holds("employees < 51") && holds("employees <= 50"))
        #expect(try holds("employees > 49") && holds("employees >= 50") && !holds("employees > 50"))
        #expect(try holds("revenue >= 10_000_000") && holds("tax_paid in [100000, 300000]"))
        // Dates, unquoted or quoted.
        #expect(try holds("founded >= 2019-01-01") && holds("founded < \"2020-01-01\"") && !holds("founded > 2019-03-08"))
        // Text (codes of one section sort together), words or quoted.
        #expect(try holds("industry >= \"C\" and industry < \"D\"") && holds("street = JD1") && holds("street in ['JD1', 'JD2']"))
        #expect(try !holds("street != JD1") && holds("industry = C3911"))
        // Sizes by rank.
        #expect(try holds("size <= medium") && holds("size > micro") && holds("size in [micro, small]") && !holds("size = large"))
        // Tag sets, with Chinese quotes or bare words.
        #expect(try holds("tags contains \"专精特新\"") && holds("tags contains 高新技术企业") && !holds("tags contains “新四板挂牌”"))
    }

    @Test func andOrNotAndParenthesesNestAsWritten() throws {
        #expect(try holds("size = small and employees > 10 or revenue < 0"))
        #expect(try holds("revenue < 0 or size = small and employees > 10"))
        #expect(try !holds("(revenue < 0 or size = small) and employees > 100"))
        #expect(try holds("not employees > 100 and NOT (tags contains 新四板挂牌)"))
        #expect(try !holds("not not employees > 100"))
        // Full-width brackets and commas, as an input method types them.
        #expect(try holds("（size in ［micro，small］） AND employees ＞＝ 50"))
    }

    @Test func anUnknownAttributeValueIsNeitherTrueNorFalse() throws {
        let unknown = EnterpriseFacts(size: .small)
        #expect(try !holds("employees > 10", unknown))
        #expect(try !holds("not employees > 10", unknown))
        #expect(try holds("size = small or employees > 10", unknown))
        #expect(try !holds("size = small and employees > 10", unknown))
        let match = try EligibilityRule("size = small and employees > 10").match(unknown)
        #expect(!match.eligible && match.failed.map(\.truth) == [.unknown])
        #expect(match.nearMisses.first?.reason(.en) == "employees > 10 (unknown)")
    }

    @Test func aMatchGivesTheReasonsAndTheNearMisses() throws {
        let rule = try EligibilityRule("size in [micro, small] and founded >= 2020-01-01 and (tags contains 专精特新 or revenue > 50000000)")
        let match = rule.match(sample)
        #expect(!match.eligible)
        #expect(match.held.map(\.clause.text) == ["size in [micro, small]", "tags contains 专精特新"])
        #expect(match.nearMisses.map { $0.reason(.zh) } == ["founded >= 2020-01-01（2019-03-08）"])
        // Two clauses short: no near miss.
        var older = sample
        older.size = .large
        #expect(rule.match(older).nearMisses.isEmpty)
        var young = sample
        young.founded = CivilDate(year: 2021, month: 1, day: 1)
        let eligible = rule.match(young)
        #expect(eligible.eligible && eligible.nearMisses.isEmpty && rule.holds(young))
        // The fast path and the explained one agree.
        #expect(rule.holds(sample) == match.eligible)
    }

    @Test func clausesUnderNotAreJudgedByWhatTheyDoForTheRule() throws {
        let rule = try EligibilityRule("not street = JD1 and employees > 10")
        let inJD1 = rule.match(sample)
        #expect(!inJD1.eligible && inJD1.failed.map(\.clause.text) == ["street = JD1"])
        #expect(inJD1.nearMisses.map(\.clause.text) == ["street = JD1"])
        var elsewhere = sample
        elsewhere.street = "JD2"
        let eligible = rule.match(elsewhere)
        #expect(eligible.eligible && eligible.failed.isEmpty && eligible.held.count == 2)
        #expect(try !EligibilityRule("not not street = JD2").match(sample).nearMisses.isEmpty)
    }

    @Test func valuesAreReadAsWrittenAndComparedAsBytes() throws {
        // Full-width brackets inside quotes are the value's own.
        var facts = sample
        facts.tags = ["小巨人（国家级）"]
        #expect(try holds("tags contains \"小巨人（国家级）\"", facts) && !holds("tags contains \"小巨人(国家级)\"", facts))
        // Industry codes and attribute names in any case.
        #expect(try holds("industry = c3911") && holds("Employees >= 50") && holds("TAX_PAID > 0"))
        // A compatibility ideograph is not its canonical twin (SQLite compares bytes too).
        facts.street = "\u{F92C}"
        #expect(try !holds("street = \u{90CE}", facts) && holds("street = \u{F92C}", facts))
        // An empty tag, a tag with |, an ancient or signed year are refused.
        #expect(throws: RuleError.self) { try EligibilityRule("tags contains \"\"") }
        #expect(throws: RuleError.self) { try EligibilityRule("tags contains \"a|b\"") }
        #expect(throws: RuleError(reason: .invalidDate("0999-12-31"), position: 11)) { try EligibilityRule("founded > 0999-12-31") }
    }

    @Test func aBadRuleIsRefusedWithThePositionAndTheReason() {
        let cases: [(String, RuleError.Reason, Int)] = [
            ("", .empty, 1),
            ("   ", .empty, 1),
            ("employes > 10", .unknownAttribute("employes"), 1),
            ("employees > ", .expected("a value", found: "the end of the rule"), 13),
            ("employees > 10 and", .expected("an attribute or '('", found: "the end of the rule"), 19),
            ("employees 10", .expected("a comparison (= != < <= > >= in contains)", found: "10"), 11),
            ("employees > \"ten\"", .wrongValue(.employees, "a whole number"), 13),
            ("employees > 1.5", .invalidNumber("1.5"), 13),
            ("founded > 2020-02-30", .invalidDate("2020-02-30"), 11),
            ("founded > JD1", .wrongValue(.founded, "a date (YYYY-MM-DD)"), 11),
            ("size = huge", .unknownSize("huge"), 8),
            ("tags = 专精特新", .wrongOperator(.tags, "= (tags take contains)"), 6),
            ("street contains JD1", .wrongOperator(.street, "contains (only tags take it)"), 8),
            ("street in JD1", .expected("'[' after in", found: "JD1"), 11),
            ("street in [JD1 JD2]", .expected("',' or ']'", found: "JD2"), 16),
            ("(size = small", .expected("')'", found: "the end of the rule"), 14),
            ("size = small)", .expected("and, or or the end of the rule", found: ")"), 13),
            ("street = \"JD1", .unterminatedText, 10),
            ("size = small & employees > 1", .unexpectedCharacter("&"), 14),
            ("! size = small", .unexpectedCharacter("!"), 1),
            (String(repeating: "(", count: 80) + "size = small" + String(repeating: ")", count: 80), .tooDeep, 65),
        ]
        for (source, reason, position) in cases {
            #expect(throws: RuleError(reason: reason, position: position), "\(source)") { try EligibilityRule(source) }
        }
        let error = RuleError(reason: .unknownAttribute("employes"), position: 1)
        #expect(error.message(.en).hasPrefix("cannot read the eligibility rule: unknown attribute employes"))
        #expect(error.message(.en).hasSuffix("(character 1)"))
        #expect(error.message(.zh).hasPrefix("无法读取资格规则：未知属性 employes") && error.message(.zh).hasSuffix("（第 1 个字符）"))
    }
}
