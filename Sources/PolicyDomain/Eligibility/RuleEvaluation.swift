public import CaseDomain

/// A clause's or a rule's outcome for one enterprise: an attribute not known makes a
/// comparison `unknown` (Kleene's logic: `not unknown` is unknown), and only `true`
/// makes an enterprise eligible.
public enum Truth: String, Hashable, Sendable {
    case `true`, `false`, unknown

    static func and(_ parts: some Sequence<Truth>) -> Truth {
        var result = Truth.true
        for part in parts {
            if part == .false { return .false }
            if part == .unknown { result = .unknown }
        }
        return result
    }

    static func or(_ parts: some Sequence<Truth>) -> Truth {
        var result = Truth.false
        for part in parts {
            if part == .true { return .true }
            if part == .unknown { result = .unknown }
        }
        return result
    }

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

        /// e.g. `employees >= 10（50）`, `tags contains "专精特新" (unknown)`.
        public func reason(_ language: Language) -> String {
            language == .zh
                ? clause.text + "（" + (actual?.description ?? "未知") + "）" : clause.text + " (" + (actual?.description ?? "unknown") + ")"
        }
    }

    /// Whether `facts` satisfy the rule (the fast path: no reasons).
    public func holds(_ facts: EnterpriseFacts) -> Bool {
        evaluate(root) { clauses[$0].check(facts) } == .true
    }

    /// The rule checked against one enterprise with its reasons: every clause's outcome,
    /// and, when not eligible, the clauses that alone would make it so (its near misses).
    public struct Match: Hashable, Sendable {
        public let eligible: Bool
        public let outcomes: [Outcome]
        /// Clauses that failed (or were unknown) and that, had each alone held, would have
        /// made the enterprise eligible; empty when eligible or further away.
        public let nearMisses: [Outcome]

        /// The clauses that held.
        public var held: [Outcome] { outcomes.filter { $0.truth == .true } }
        /// The clauses that did not.
        public var failed: [Outcome] { outcomes.filter { $0.truth != .true } }
    }

    public func match(_ facts: EnterpriseFacts) -> Match {
        let outcomes = clauses.map { clause in
            Outcome(clause: clause, actual: facts.value(of: clause.attribute), truth: clause.check(facts))
        }
        let truths = outcomes.map(\.truth)
        let eligible = evaluate(root) { truths[$0] } == .true
        var nearMisses: [Outcome] = []
        if !eligible {
            for (index, outcome) in outcomes.enumerated() where outcome.truth != .true {
                if evaluate(root, { $0 == index ? .true : truths[$0] }) == .true { nearMisses.append(outcome) }
            }
        }
        return Match(eligible: eligible, outcomes: outcomes, nearMisses: nearMisses)
    }

    func evaluate(_ node: Node, _ truth: (Int) -> Truth) -> Truth {
        switch node {
        case .clause(let index): truth(index)
        case .and(let parts):
            // Stops at the first false, as the fast path should.
            withoutActuallyEscaping(truth) { truth in Truth.and(parts.lazy.map { evaluate($0, truth) }) }
        case .or(let parts): withoutActuallyEscaping(truth) { truth in Truth.or(parts.lazy.map { evaluate($0, truth) }) }
        case .not(let inner): evaluate(inner, truth).negated
        }
    }
}

extension EligibilityRule.Clause {
    func check(_ facts: EnterpriseFacts) -> Truth {
        guard let actual = facts.value(of: attribute) else { return .unknown }
        switch op {
        case .contains:
            guard case .tags(let tags) = actual, case .text(let wanted) = values[0] else { return .unknown }
            return tags.contains(wanted) ? .true : .false
        case .in:
            return values.contains { RuleValue.compare(actual, $0) == 0 } ? .true : .false
        default:
            guard let order = RuleValue.compare(actual, values[0]) else { return .unknown }
            let holds =
                switch op {
                case .equal: order == 0
                case .notEqual: order != 0
                case .less: order < 0
                case .lessOrEqual: order <= 0
                case .greater: order > 0
                case .greaterOrEqual: order >= 0
                case .in, .contains: false
                }
            return holds ? .true : .false
        }
    }
}
