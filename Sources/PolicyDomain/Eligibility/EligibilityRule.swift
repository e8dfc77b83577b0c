import CaseDomain

/// A policy's eligibility rule: comparisons on an enterprise's attributes joined with
/// `and`, `or`, `not` and parentheses, e.g.
/// `size in [micro, small] and founded >= 2020-01-01 and (tags contains "专精特新" or revenue > 5000000)`.
///
/// Grammar (keywords in any case; `not` binds tighter than `and`, `and` than `or`):
///
///     rule       = or
///     or         = and { "or" and }
///     and        = not { "and" not }
///     not        = "not" not | "(" rule ")" | comparison
///     comparison = attribute ( "=" | "!=" | "<" | "<=" | ">" | ">=" ) value
///                | attribute "in" "[" value { "," value } "]"
///                | "tags" "contains" value
///     value      = "text" | 'text' | word | whole number | YYYY-MM-DD
///
/// Each comparison is checked against its attribute's kind when the rule is read: a rule
/// that does not parse, names an unknown attribute or compares with the wrong kind of
/// value is refused with the position and the reason.
public struct EligibilityRule: Hashable, Sendable, CustomStringConvertible {
    /// One comparison of the rule, with its source text (what a reason shows).
    public struct Clause: Hashable, Sendable {
        public enum Operator: String, Hashable, Sendable {
            case equal = "="
            case notEqual = "!="
            case less = "<"
            case lessOrEqual = "<="
            case greater = ">"
            case greaterOrEqual = ">="
            case `in`, contains
        }

        public let attribute: Attribute
        public let op: Operator
        public let values: [RuleValue]
        /// The clause as written, e.g. `employees >= 10`.
        public let text: String
        /// Whether the clause helps the rule by holding (false under an odd number of
        /// `not`s: `not street = JD1` helps when the street is not JD1).
        public let helpsWhenTrue: Bool
        /// The values as the check compares them (numbers, days, ranks), made once.
        let operands: Operands

        init(attribute: Attribute, op: Operator, values: [RuleValue], text: String, helpsWhenTrue: Bool) {
            self.attribute = attribute
            self.op = op
            self.values = values
            self.text = text
            self.helpsWhenTrue = helpsWhenTrue
            operands = Operands(values)
        }
    }

    indirect enum Node: Hashable, Sendable {
        case clause(Int)
        case and([Node])
        case or([Node])
        case not(Node)
    }

    /// The rule as written.
    public let source: String
    /// Its comparisons, in the order written.
    public let clauses: [Clause]
    let root: Node

    public var description: String { source }

    /// Reads `source`, or throws where and why it cannot.
    public init(_ source: String) throws(RuleError) {
        var parser = RuleParser(source: source, tokens: try RuleLexer.tokens(source))
        root = try parser.rule()
        clauses = parser.clauses
        self.source = source
    }
}

struct RuleParser {
    let source: [Character]
    let tokens: [RuleToken]
    var index = 0
    var clauses: [EligibilityRule.Clause] = []
    var depth = 0
    // Whether the clause being read is under an odd number of `not`s.
    var negated = false

    init(source: String, tokens: [RuleToken]) {
        self.source = Array(source)
        self.tokens = tokens
    }

    var current: RuleToken { tokens[index] }

    mutating func rule() throws(RuleError) -> EligibilityRule.Node {
        if current.kind == .end { throw RuleError(reason: .empty, position: 1) }
        let node = try or()
        guard current.kind == .end else {
            throw RuleError(reason: .expected("and, or or the end of the rule", found: current.shown), position: current.position)
        }
        return node
    }

    func isKeyword(_ word: String) -> Bool {
        if case .word(let text) = current.kind { return text.lowercased() == word }
        return false
    }

    mutating func or() throws(RuleError) -> EligibilityRule.Node {
        var parts = [try and()]
        while isKeyword("or") {
            index += 1
            parts.append(try and())
        }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    mutating func and() throws(RuleError) -> EligibilityRule.Node {
        var parts = [try not()]
        while isKeyword("and") {
            index += 1
            parts.append(try not())
        }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    mutating func not() throws(RuleError) -> EligibilityRule.Node {
        // Deep nesting is refused rather than risking the stack on a hostile file.
        guard depth < 64 else { throw RuleError(reason: .tooDeep, position: current.position) }
        depth += 1
        defer { depth -= 1 }
        if isKeyword("not") {
            index += 1
            negated.toggle()
            defer { negated.toggle() }
            return .not(try not())
        }
        if current.kind == .symbol("(") {
            index += 1
            let inner = try or()
            guard current.kind == .symbol(")") else {
                throw RuleError(reason: .expected("')'", found: current.shown), position: current.position)
            }
            index += 1
            return inner
        }
        return try comparison()
    }

    mutating func comparison() throws(RuleError) -> EligibilityRule.Node {
        let start = current
        guard case .word(let name) = start.kind, !["and", "or", "not", "in", "contains"].contains(name.lowercased()) else {
            throw RuleError(reason: .expected("an attribute or '('", found: start.shown), position: start.position)
        }
        guard let attribute = Attribute(rawValue: name.lowercased()) else {
            throw RuleError(reason: .unknownAttribute(name), position: start.position)
        }
        index += 1
        let opToken = current
        let op: EligibilityRule.Clause.Operator
        switch opToken.kind {
        case .symbol(let symbol):
            guard let known = EligibilityRule.Clause.Operator(rawValue: symbol), known != .in, known != .contains else {
                throw RuleError(
                    reason: .expected("a comparison (= != < <= > >= in contains)", found: opToken.shown), position: opToken.position)
            }
            op = known
        case .word(let word) where word.lowercased() == "in": op = .in
        case .word(let word) where word.lowercased() == "contains": op = .contains
        default:
            throw RuleError(
                reason: .expected("a comparison (= != < <= > >= in contains)", found: opToken.shown), position: opToken.position)
        }
        index += 1
        switch (attribute.kind, op) {
        case (.tags, .contains): break
        case (.tags, _):
            throw RuleError(reason: .wrongOperator(attribute, op.rawValue + " (tags take contains)"), position: opToken.position)
        case (_, .contains): throw RuleError(reason: .wrongOperator(attribute, "contains (only tags take it)"), position: opToken.position)
        default: break
        }
        var values: [RuleValue] = []
        if op == .in {
            guard current.kind == .symbol("[") else {
                throw RuleError(reason: .expected("'[' after in", found: current.shown), position: current.position)
            }
            index += 1
            values.append(try value(for: attribute))
            while current.kind == .symbol(",") {
                index += 1
                values.append(try value(for: attribute))
            }
            guard current.kind == .symbol("]") else {
                throw RuleError(reason: .expected("',' or ']'", found: current.shown), position: current.position)
            }
            index += 1
        } else {
            values.append(try value(for: attribute))
        }
        let end = tokens[index].position - 1
        let text = String(source[(start.position - 1)..<min(end, source.count)]).trimmingSpaces
        clauses.append(.init(attribute: attribute, op: op, values: values, text: String(text), helpsWhenTrue: !negated))
        return .clause(clauses.count - 1)
    }

    mutating func value(for attribute: Attribute) throws(RuleError) -> RuleValue {
        let token = current
        index += 1
        let literal: String
        switch token.kind {
        case .text(let text), .word(let text): literal = text
        case .number(let text), .date(let text): literal = text
        case .symbol, .end: throw RuleError(reason: .expected("a value", found: token.shown), position: token.position)
        }
        switch attribute.kind {
        case .text:
            // Industry codes are capitals (the import reads them so).
            return .text(attribute == .industry ? literal.uppercased() : literal)
        case .tags:
            // A tag is a non-empty label without `|` (what the registry keeps; `RuleSQL`
            // encodes tag sets as `|a|b|`).
            guard !literal.isEmpty, !literal.contains("|") else {
                throw RuleError(reason: .wrongValue(attribute, "a label, not empty and without |"), position: token.position)
            }
            return .text(literal)
        case .number:
            guard case .number(let text) = token.kind else {
                throw RuleError(reason: .wrongValue(attribute, "a whole number"), position: token.position)
            }
            guard let number = Int64(text.replacingUnderscores) else {
                throw RuleError(reason: .invalidNumber(text), position: token.position)
            }
            return .number(number)
        case .date:
            guard let date = PolicyDate.parse(literal) else {
                if case .date = token.kind { throw RuleError(reason: .invalidDate(literal), position: token.position) }
                throw RuleError(reason: .wrongValue(attribute, "a date (YYYY-MM-DD)"), position: token.position)
            }
            return .date(date)
        case .size:
            guard let size = EnterpriseSize(rawValue: literal.lowercased()) else {
                throw RuleError(reason: .unknownSize(literal), position: token.position)
            }
            return .size(size)
        }
    }
}

extension String {
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
