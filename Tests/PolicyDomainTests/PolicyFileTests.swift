import CaseDomain
import PolicyDomain
import Testing

struct PolicyFileTests {
    static let listing = """
        {"title": "新四板挂牌奖励", "department": "JRB", "document": "和盛金发〔2026〕3号", "mode": "automatic",
         "valid_from": "2026-01-01", "valid_to": "2026-12-31",
         "benefit": {"type": "fixed", "amount_fen": 10000000},
         "rule": "tags contains 新四板挂牌 and street in [JD1, JD2]"}
        """

    func read(_ text: String) throws(PolicyFile.Failure) -> PolicyFile { try PolicyFile(Array(text.utf8)) }

    func replacing(_ member: String, with json: String) -> String {
        // The listing with one member's value replaced (or added when absent).
        let members = [
            "title": "\"新四板挂牌奖励\"", "department": "\"JRB\"", "document": "\"和盛金发〔2026〕3号\"", "mode": "\"automatic\"",
            "valid_from": "\"2026-01-01\"", "valid_to": "\"2026-12-31\"", "benefit": "{\"type\": \"fixed\", \"amount_fen\": 10000000}",
            "rule": "\"tags contains 新四板挂牌\"",
        ].merging([member: json]) { $1 }
        return "{" + members.filter { $0.value != "" }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }

    @Test func aPolicyFileIsReadWithItsDefaults() throws {
        let policy = try read(Self.listing)
        #expect(policy.title == "新四板挂牌奖励" && policy.department == "JRB" && policy.mode == .automatic)
        #expect(policy.benefit == .fixed(amountFen: 10_000_000) && policy.period == "2026" && policy.summary == nil)
        #expect(policy.rule.clauses.map(\.text) == ["tags contains 新四板挂牌", "street in [JD1, JD2]"])
        #expect(policy.validTo == CivilDate(year: 2026, month: 12, day: 31))
        let percent = try read(replacing("benefit", with: #"{"type": "percent", "of": "tax_paid", "percent": 2.5, "cap_fen": 100000000}"#))
        #expect(percent.benefit == .percent(of: .taxPaid, basisPoints: 250, capFen: 100_000_000))
        let whole = try read(replacing("benefit", with: #"{"type": "percent", "of": "revenue", "percent": 3}"#))
        #expect(whole.benefit == .percent(of: .revenue, basisPoints: 300, capFen: nil))
        let perUnit = try read(replacing("benefit", with: #"{"type": "per_unit", "of": "employees", "amount_fen": 150000}"#))
        #expect(perUnit.benefit == .perUnit(of: .employees, amountFen: 150_000, capFen: nil))
        #expect(try read(replacing("period", with: "\"2026Q3\"")).period == "2026Q3")
    }

    @Test func eachMistakeIsNamed() {
        let cases: [(String, String)] = [
            ("not json", "cannot read the policy file: not JSON: "),
            ("[]", "cannot read the policy file: expected one JSON object, found an array"),
            (replacing("budget", with: "1"), "cannot read the policy file: unknown member budget"),
            (replacing("title", with: ""), "cannot read the policy file: title is missing"),
            (replacing("title", with: "7"), "cannot read the policy file: title must be a string, found a number"),
            (replacing("title", with: "\"  \""), "cannot read the policy file: title is empty"),
            (replacing("mode", with: "\"auto\""), "cannot read the policy file: mode must be automatic or application"),
            (replacing("valid_to", with: "\"2025-12-31\""), "cannot read the policy file: valid_to is before valid_from"),
            (replacing("valid_from", with: "\"2026-02-30\""), "cannot read the policy file: valid_from must be a valid date, YYYY-MM-DD"),
            (
                replacing("benefit", with: #"{"type": "fixed", "amount_fen": 100.5}"#),
                "cannot read the policy file: benefit.amount_fen must be a whole number of fen, more than 0 (no fractions)"
            ),
            (
                replacing("benefit", with: #"{"type": "fixed", "amount_fen": 1e5}"#),
                "cannot read the policy file: benefit.amount_fen must be a whole number of fen, more than 0 (no fractions)"
            ),
            (
                replacing("benefit", with: #"{"type": "fixed", "amount_fen": 0}"#),
                "cannot read the policy file: benefit.amount_fen must be a whole number of fen, more than 0 (no fractions)"
            ),
            (
                replacing("benefit", with: #"{"type": "fixed", "amount_fen": 5, "cap_fen": 9}"#),
                "cannot read the policy file: unknown member benefit.cap_fen for type fixed"
            ),
            (
                replacing("benefit", with: #"{"type": "percent", "of": "employees", "percent": 1}"#),
                "cannot read the policy file: benefit.of must be one of tax_paid, revenue"
            ),
            (
                replacing("benefit", with: #"{"type": "percent", "of": "revenue", "percent": 2.555}"#),
                "cannot read the policy file: benefit.percent must be more than 0 and at most 100, with at most two decimals"
            ),
            (
                replacing("benefit", with: #"{"type": "percent", "of": "revenue", "percent": 101}"#),
                "cannot read the policy file: benefit.percent must be more than 0 and at most 100, with at most two decimals"
            ),
            (
                replacing("benefit", with: #"{"type": "loan"}"#),
                "cannot read the policy file: benefit.type must be fixed, percent or per_unit"
            ),
            (
                replacing("rule", with: "\"employes > 5\""),
                "cannot read the policy file: rule: cannot read the eligibility rule: unknown attribute employes"
            ),
        ]
        for (text, prefix) in cases {
            do {
                _ = try read(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.message(.en).hasPrefix(prefix), "\(text)")
                #expect(error.message(.zh).hasPrefix("无法读取政策文件："))
            }
        }
    }
}
