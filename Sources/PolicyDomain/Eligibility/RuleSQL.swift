import CaseDomain

/// A rule as an SQL condition over a table with one column per attribute — the raw
/// baseline of the matching benchmark, and a second implementation the evaluator is
/// tested against (SQL's NULL is the same three-valued logic as `Truth`).
///
/// Columns: `industry`, `street` TEXT; `size` INTEGER (its rank, micro = 0);
/// `founded` TEXT (YYYY-MM-DD); `employees`, `revenue`, `tax_paid` INTEGER; `tags` TEXT
/// as `|a|b|` (NULL when not known).
public struct RuleSQL: Sendable {
    /// The condition, with `?` placeholders…
    public let condition: String
    /// …and their values in order (text or integers).
    public let arguments: [Argument]

    public enum Argument: Hashable, Sendable {
        case text(String)
        case integer(Int64)
    }

    public init(_ rule: EligibilityRule) {
        var arguments: [Argument] = []
        condition = Self.sql(rule.root, rule.clauses, &arguments)
        self.arguments = arguments
    }

    /// The table the conditions read, `e`: an `id`, then one column per attribute…
    public static let createTable = """
        CREATE TABLE e (id INTEGER PRIMARY KEY, industry TEXT, street TEXT, size INTEGER, founded TEXT,
        employees INTEGER, revenue INTEGER, tax_paid INTEGER, tags TEXT)
        """

    /// …the statement inserting one of its rows…
    public static let insertRow = "INSERT INTO e VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

    /// …and that row's values for `facts` (nil: not known).
    public static func row(id: Int, _ facts: EnterpriseFacts) -> [Argument?] {
        [
            .integer(Int64(id)), facts.industry.map(Argument.text), facts.street.map(Argument.text),
            facts.size.map { .integer(Int64($0.rank)) }, facts.founded.map { .text(PolicyDate.text($0)) },
            facts.employees.map(Argument.integer), facts.revenue.map(Argument.integer), facts.taxPaid.map(Argument.integer),
            tagsCell(facts.tags).map(Argument.text),
        ]
    }

    /// The tags cell of `tags` (`|a|b|`, sorted), or nil.
    public static func tagsCell(_ tags: Set<String>?) -> String? {
        tags.map { "|" + $0.sorted().joined(separator: "|") + "|" }
    }

    static func sql(_ node: EligibilityRule.Node, _ clauses: [EligibilityRule.Clause], _ arguments: inout [Argument]) -> String {
        switch node {
        case .and(let parts): return "(" + parts.map { sql($0, clauses, &arguments) }.joined(separator: " AND ") + ")"
        case .or(let parts): return "(" + parts.map { sql($0, clauses, &arguments) }.joined(separator: " OR ") + ")"
        case .not(let inner): return "(NOT " + sql(inner, clauses, &arguments) + ")"
        case .clause(let index):
            let clause = clauses[index]
            let column = clause.attribute.rawValue
            switch clause.op {
            case .contains:
                if case .text(let tag) = clause.values[0] { arguments.append(.text("|" + tag + "|")) }
                return "(instr(tags, ?) > 0)"
            case .in:
                for value in clause.values { arguments.append(argument(value)) }
                return "(\(column) IN (" + clause.values.map { _ in "?" }.joined(separator: ", ") + "))"
            default:
                arguments.append(argument(clause.values[0]))
                return "(\(column) \(clause.op.rawValue) ?)"
            }
        }
    }

    static func argument(_ value: RuleValue) -> Argument {
        switch value {
        case .text(let text): .text(text)
        case .number(let number): .integer(number)
        case .date(let date): .text(PolicyDate.text(date))
        case .size(let size): .integer(Int64(size.rank))
        case .tags(let tags): .text(tagsCell(tags) ?? "")
        }
    }
}
