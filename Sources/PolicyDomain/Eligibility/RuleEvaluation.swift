public import CaseDomain

/// A clause's or a rule's outcome for one enterprise: an attribute not known makes a
/// comparison `unknown` (Kleene's logic: `not unknown` is unknown), and only `true`
/// makes an enterprise eligible.
public enum Truth: String, Hashable, Sendable {
    case `true`, `false`, unknown

    var negated: Truth {
        switch self {
        case .true: .false
        case .false: .true
        case .unknown: .unknown
        }
    }
}

extension EligibilityRule {
    /// One clause checked against one enterprise: the clause, the enterprise's value of its
    /// attribute (nil: not known) and the outcome.
    public struct Outcome: Hashable, Sendable {
        public let clause: Clause
        public let actual: RuleValue?
        public let truth: Truth

        /// Whether the clause went the rule's way: held, or — under an odd number of
        /// `not`s — did not hold.
        public var helps: Bool { truth == (clause.helpsWhenTrue ? .true : .false) }

        /// e.g. `employees >= 10（50）`, `tags contains "专精特新" (unknown)`.
        public func reason(_ language: Language) -> String {
            language == .zh
                ? clause.text + "（" + (actual?.description ?? "未知") + "）" : clause.text + " (" + (actual?.description ?? "unknown") + ")"
        }
    }

    /// Whether `facts` satisfy the rule (the fast path: no reasons, no values built, and
    /// `and`/`or` stop at the first part that decides).
    public func holds(_ facts: EnterpriseFacts) -> Bool {
        evaluate(root, Checked(clauses: clauses, facts: facts)) == .true
    }

    /// The rule checked against one enterprise with its reasons: every clause's outcome,
    /// and, when not eligible, the clauses that alone would make it so (its near misses).
    public struct Match: Hashable, Sendable {
        public let eligible: Bool
        public let outcomes: [Outcome]
        /// Clauses that failed (or were unknown) and that, had each alone held, would have
        /// made the enterprise eligible; empty when eligible or further away.
        public let nearMisses: [Outcome]

        /// The clauses that went the rule's way (held, or under `not` did not hold).
        public var held: [Outcome] { outcomes.filter(\.helps) }
        /// The clauses that did not (or were unknown).
        public var failed: [Outcome] { outcomes.filter { !$0.helps } }
    }

    public func match(_ facts: EnterpriseFacts) -> Match {
        let outcomes = clauses.map { clause in
            Outcome(clause: clause, actual: facts.value(of: clause.attribute), truth: clause.check(facts))
        }
        let truths = outcomes.map(\.truth)
        let eligible = evaluate(root, Known(truths: truths)) == .true
        var nearMisses: [Outcome] = []
        if !eligible {
            // A clause that did not go the rule's way, given the value that would have.
            for (index, outcome) in outcomes.enumerated() where !outcome.helps {
                let helpful: Truth = outcome.clause.helpsWhenTrue ? .true : .false
                if evaluate(root, Known(truths: truths, forced: (index, helpful))) == .true { nearMisses.append(outcome) }
            }
        }
        return Match(eligible: eligible, outcomes: outcomes, nearMisses: nearMisses)
    }

    /// The rule's truth from its clauses' truths (`leaves`), stopping at the part of an `and` or
    /// an `or` that decides. Generic rather than a closure, so each use is specialised:
    /// the check of every policy against every enterprise runs through it.
    func evaluate<Leaves: ClauseTruths>(_ node: Node, _ leaves: Leaves) -> Truth {
        switch node {
        case .clause(let index): return leaves.truth(ofClause: index)
        case .and(let parts):
            var result = Truth.true
            for part in parts {
                let value = evaluate(part, leaves)
                if value == .false { return .false }
                if value == .unknown { result = .unknown }
            }
            return result
        case .or(let parts):
            var result = Truth.false
            for part in parts {
                let value = evaluate(part, leaves)
                if value == .true { return .true }
                if value == .unknown { result = .unknown }
            }
            return result
        case .not(let inner): return evaluate(inner, leaves).negated
        }
    }
}

/// Where a rule's evaluation finds its clauses' truths.
protocol ClauseTruths {
    func truth(ofClause index: Int) -> Truth
}

/// Each clause checked when the evaluation reaches it (the fast path).
struct Checked: ClauseTruths {
    let clauses: [EligibilityRule.Clause]
    let facts: EnterpriseFacts

    func truth(ofClause index: Int) -> Truth { clauses[index].check(facts) }
}

/// Truths already known, one of them possibly forced (a near miss: the clause given the
/// value that would have gone the rule's way).
struct Known: ClauseTruths {
    let truths: [Truth]
    var forced: (index: Int, truth: Truth)? = nil

    func truth(ofClause index: Int) -> Truth { index == forced?.index ? forced!.truth : truths[index] }
}

/// A clause's values in the form its check compares: numbers, days since 1970, size
/// ranks, or text.
enum Operands: Hashable, Sendable {
    case numbers([Int64])
    case texts([Bytes])

    init(_ values: [RuleValue]) {
        var numbers: [Int64] = []
        var texts: [String] = []
        for value in values {
            switch value {
            case .number(let number): numbers.append(number)
            case .date(let date): numbers.append(Int64(date.daysSinceEpoch))
            case .size(let size): numbers.append(Int64(size.rank))
            case .text(let text): texts.append(text)
            case .tags(let tags): texts.append(contentsOf: tags.sorted())
            }
        }
        self = texts.isEmpty ? .numbers(numbers) : .texts(texts.map(Bytes.init))
    }
}

extension EligibilityRule.Clause {
    func check(_ facts: EnterpriseFacts) -> Truth {
        switch (attribute, operands) {
        case (.employees, .numbers(let operands)): return compare(facts.employees, operands)
        case (.revenue, .numbers(let operands)): return compare(facts.revenue, operands)
        case (.taxPaid, .numbers(let operands)): return compare(facts.taxPaid, operands)
        case (.founded, .numbers(let operands)): return compare(facts.founded.map { Int64($0.daysSinceEpoch) }, operands)
        case (.size, .numbers(let operands)): return compare(facts.size.map { Int64($0.rank) }, operands)
        // Text compares byte by byte (UTF-8), as SQLite does, not by canonical equivalence.
        case (.industry, .texts(let operands)): return compare(facts.industry.map(Bytes.init), operands)
        case (.street, .texts(let operands)): return compare(facts.street.map(Bytes.init), operands)
        case (.tags, .texts(let operands)):
            guard let tags = facts.tags else { return .unknown }
            return tags.contains { $0.utf8.elementsEqual(operands[0].text.utf8) } ? .true : .false
        default: return .unknown
        }
    }

    private func compare<T: Comparable>(_ actual: T?, _ operands: [T]) -> Truth {
        guard let actual else { return .unknown }
        let holds: Bool
        switch op {
        case .in: holds = operands.contains(actual)
        case .equal: holds = actual == operands[0]
        case .notEqual: holds = actual != operands[0]
        case .less: holds = actual < operands[0]
        case .lessOrEqual: holds = actual <= operands[0]
        case .greater: holds = actual > operands[0]
        case .greaterOrEqual: holds = actual >= operands[0]
        case .contains: holds = false
        }
        return holds ? .true : .false
    }
}

/// A text as its UTF-8 bytes, ordered byte by byte (SQLite's BINARY collation).
struct Bytes: Comparable, Hashable, Sendable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: Bytes, rhs: Bytes) -> Bool { lhs.text.utf8.elementsEqual(rhs.text.utf8) }
    func hash(into hasher: inout Hasher) {
        for byte in text.utf8 { hasher.combine(byte) }
    }
    static func < (lhs: Bytes, rhs: Bytes) -> Bool { lhs.text.utf8.lexicographicallyPrecedes(rhs.text.utf8) }
}
