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
    public let kind: TableKind
    /// Rules by field name; a field not named here merges by last-writer-wins.
    public let rules: [String: FieldRule]

    public init(kind: TableKind, rules: [String: FieldRule] = [:]) {
        self.kind = kind
        self.rules = rules
    }
}

/// The merge rules of every table (`Protocol/PROTOCOL.md` §5.4).
///
/// A table not named here is mutable and merges every field by last-writer-wins, so an
/// older replica keeps and forwards data written by a newer one.
public struct Schema: Hashable, Sendable {
    public let tables: [String: TableSchema]

    public init(tables: [String: TableSchema]) {
        self.tables = tables
    }

    /// The rule for `field` of `table`.
    public func rule(table: String, field: String) -> FieldRule {
        tables[table]?.rules[field] ?? .lastWriterWins
    }

    /// The kind of `table`.
    public func kind(of table: String) -> TableKind {
        tables[table]?.kind ?? .mutable
    }

    /// The stages of a case, in workflow order.
    public static let caseStages = ["received", "verifying", "handling", "replied", "closed"]

    /// TimelyRain's schema, version 1: `cases.status` is a workflow with rounds in
    /// `cases.round`; `case_events` (notes, visits, escalations, ratings) are append-only.
    public static let timelyRain = Schema(tables: [
        "cases": TableSchema(
            kind: .mutable,
            rules: [
                "status": .workflow(stages: caseStages, roundField: "round"),
                "round": .maximum,
            ]
        ),
        "case_events": TableSchema(kind: .appendOnly),
    ])
}
