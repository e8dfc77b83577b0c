/// How a field's single displayed value is chosen among concurrent siblings.
///
/// Every replica computes the same winner from the same siblings
/// (`Protocol/PROTOCOL.md` §5).
public enum FieldRule: Hashable, Sendable {
    /// Latest HLC wins, ties broken by replica id then counter. Siblings are listed
    /// as a conflict for a person to settle.
    case lastWriterWins
    /// A workflow status: the sibling in the highest round wins, then the furthest
    /// stage in `stages`, then last-writer-wins. The round of a sibling is the integer
    /// the same change wrote to `roundField` (1 when it wrote none). Unknown stage
    /// names rank below every known stage. Siblings are listed as a conflict.
    case workflow(stages: [String], roundField: String)
    /// The largest integer wins (non-integers rank below every integer), ties by
    /// last-writer-wins. Used for counters such as a workflow round, where concurrent
    /// writes agree on the outcome, so siblings are not listed as a conflict.
    case maximum

    /// Whether siblings under this rule are listed as a conflict for review.
    public var listsConflicts: Bool {
        if case .maximum = self { return false }
        return true
    }
}

/// What kind of records a table holds.
public enum TableKind: Hashable, Sendable {
    /// Records whose fields may be changed again and again.
    case mutable
    /// Records written once and never changed (notes, site visits, escalations,
    /// ratings): a change to such a record must have an empty context.
    case appendOnly
}

/// The merge rules of one table.
public struct TableSchema: Hashable, Sendable {
    // One shared immutable box: the merge looks a table up for every change, and
    // copying a single reference is cheaper than copying its collections.
    private final class Box: Sendable {
        let kind: TableKind
        let rules: [String: FieldRule]
        // The same rules as a short array: a linear scan of a few short names is
        // cheaper than hashing on the merge's hot path.
        let list: [(name: String, rule: FieldRule)]

        init(kind: TableKind, rules: [String: FieldRule]) {
            self.kind = kind
            self.rules = rules
            list = rules.sorted { utf8Precedes($0.key, $1.key) }.map { ($0.key, $0.value) }
        }
    }

    private let box: Box

    /// Mutable or append-only.
    public var kind: TableKind { box.kind }
    /// Rules by field name; a field not named here merges by last-writer-wins.
    public var rules: [String: FieldRule] { box.rules }

    public init(kind: TableKind, rules: [String: FieldRule] = [:]) {
        box = Box(kind: kind, rules: rules)
    }

    /// A mutable table whose every field merges by last-writer-wins.
    public static let lastWriterWins = TableSchema(kind: .mutable)

    /// True when some field has a rule other than last-writer-wins.
    var hasRules: Bool { !box.list.isEmpty }

    /// The rule for `field`, or `nil` when it merges by last-writer-wins.
    @inline(__always)
    func rule(for field: String) -> FieldRule? {
        if box.list.isEmpty { return nil }
        for entry in box.list where entry.name == field { return entry.rule }
        return nil
    }

    public static func == (lhs: TableSchema, rhs: TableSchema) -> Bool {
        lhs.box === rhs.box || (lhs.kind == rhs.kind && lhs.rules == rhs.rules)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(rules)
    }
}

/// The merge rules of every table (`Protocol/PROTOCOL.md` §5.4).
///
/// A table not named here is mutable and merges every field by last-writer-wins, so an
/// older replica keeps and forwards data written by a newer one.
public struct Schema: Hashable, Sendable {
    public let tables: [String: TableSchema]
    // Few tables with short names: a linear scan beats hashing on the hot path.
    private let list: [(name: String, table: TableSchema)]

    public init(tables: [String: TableSchema]) {
        self.tables = tables
        list = tables.sorted { utf8Precedes($0.key, $1.key) }.map { ($0.key, $0.value) }
    }

    public static func == (lhs: Schema, rhs: Schema) -> Bool { lhs.tables == rhs.tables }

    public func hash(into hasher: inout Hasher) { hasher.combine(tables) }

    /// The rule for `field` of `table`.
    public func rule(table: String, field: String) -> FieldRule {
        self.table(table).rule(for: field) ?? .lastWriterWins
    }

    /// The kind of `table`.
    public func kind(of table: String) -> TableKind {
        self.table(table).kind
    }

    /// The rules of `table` (last-writer-wins for a table not named).
    public func table(_ name: String) -> TableSchema {
        for entry in list where entry.name == name { return entry.table }
        return .lastWriterWins
    }

    /// The stages of a case, in workflow order.
    public static let caseStages = ["received", "verifying", "handling", "replied", "closed"]

    /// TimelyRain's schema, version 1: `cases.status` is a workflow with rounds in
    /// `cases.round`; `case_events` (notes, visits, escalations, ratings) and `audit_events`
    /// (reveals of personal data) are append-only; `policies.status` and `grants.stage`
    /// are workflows, `enterprise_reveals` append-only.
    public static let timelyRain = Schema(tables: [
        "cases": TableSchema(
            kind: .mutable,
            rules: [
                "status": .workflow(stages: caseStages, roundField: "round"),
                "round": .maximum,
            ]
        ),
        "case_events": TableSchema(kind: .appendOnly),
        // Each reveal of a case's personal data (who, when, which case): never edited.
        "audit_events": TableSchema(kind: .appendOnly),
        // Policy direct (政策直达, `Protocol/kinds/policy.json`): a policy's status and a
        // grant's stage are workflows; each reveal of an enterprise's account is never edited.
        "policies": TableSchema(
            kind: .mutable, rules: ["status": .workflow(stages: policyStages, roundField: "round"), "round": .maximum]),
        "grants": TableSchema(kind: .mutable, rules: ["stage": .workflow(stages: grantStages, roundField: "round"), "round": .maximum]),
        "enterprises": .lastWriterWins,
        "enterprise_accounts": .lastWriterWins,
        "enterprise_reveals": TableSchema(kind: .appendOnly),
        // Suggestions (建言献策, `Protocol/kinds/suggestions.json`): a suggestion's stage and
        // a campaign's status are workflows (a selection beats a concurrent rejection, both
        // listed); steps and reviews are append-only, so two reviewers' scores both count.
        "suggestions": TableSchema(
            kind: .mutable, rules: ["stage": .workflow(stages: suggestionStages, roundField: "round"), "round": .maximum]),
        "campaigns": TableSchema(
            kind: .mutable, rules: ["status": .workflow(stages: campaignStages, roundField: "round"), "round": .maximum]),
        "suggestion_steps": TableSchema(kind: .appendOnly),
        "suggestion_reviews": TableSchema(kind: .appendOnly),
        "case_links": .lastWriterWins,
    ])

    /// The stages of a suggestion, in workflow order: `not_selected` ranks below
    /// `selected`, so a concurrent selection wins over a rejection (and both stay listed).
    public static let suggestionStages = [
        "submitted", "grouped", "arguing", "not_selected", "selected", "published", "rewarded", "adopted", "implemented",
    ]
    /// The stages of a suggestion campaign.
    public static let campaignStages = ["open", "closed"]

    /// The stages of a policy, in workflow order.
    public static let policyStages = ["draft", "published", "closed"]
    /// The stages of a grant, in workflow order (matched by a rule, or applied for).
    public static let grantStages = ["matched", "applied", "confirmed", "approved", "paid"]
}
