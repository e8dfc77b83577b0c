/// How a record's scope — the offices whose subtree may read and write it — follows from
/// the record's own fields (`Protocol/PROTOCOL.md` §9.6, DESIGN §8).
///
/// A rule is data, not code: the server applies it to kinds it was not built with, and a
/// client written from `Protocol/` alone can tell where a record will belong.
public enum ScopeRule: Hashable, Sendable {
    /// The record's scope is the values of these text fields, each an office code, in this
    /// order; the first is the record's **home** (a case: `community`, then `office`). A
    /// field a change leaves out keeps its value; a field never written takes the first
    /// written value among the others (a case recorded before `community` existed belongs
    /// to the office that recorded it).
    case fields([String])
    /// The record belongs where its parent does: the record of `table` whose id is this
    /// record's `field` (a case event: its case, named by `case_id`). Fixed when the record
    /// is created; it follows its parent when the parent moves.
    case parent(table: String, field: String)
    /// No scope of its own: only the district reads and writes it (a table no kind
    /// declares).
    case district
    /// Like ``fields(_:)``, and besides readable — never writable — by every office: at
    /// once when `once` is nil (an enterprise in the registry), otherwise from the first
    /// change that writes one of the publication's values to its field (a policy once
    /// published). A record never becomes private again. The scope carries one more
    /// position after the fields': ``ScopeRule/everyone`` when readable by all.
    case sharedFields([String], once: Publication?)

    /// The code a shared record's scope lists it under for every office (no office code
    /// has a `*`).
    public static let everyone = "*"

    /// When a ``sharedFields(_:once:)`` record becomes readable by every office: a change
    /// writes one of `values` to `field` (a policy's `status`: published or closed).
    public struct Publication: Hashable, Sendable {
        public let field: String
        public let values: [String]

        public init(field: String, values: [String]) {
            self.field = field
            self.values = values
        }
    }
}

/// Who may write a field, beyond holding the record in its jurisdiction
/// (`Protocol/PROTOCOL.md` §9.6): the server refuses the others' changes.
public enum FieldWriters: Hashable, Sendable {
    /// Any office whose jurisdiction holds the record.
    case anyone
    /// Only an office whose jurisdiction holds the record's home (its first scope code: a
    /// grant's department) or the district; another office may write only one of
    /// `except` (a street entering an application: `applied`).
    case home(except: [String])
    /// Only the server's own writer (a payment batch's reservation).
    case server
    /// Only the district (or the server); another office may write only one of `except`
    /// (a suggestion's stage: a community groups or sends it to argument, only the
    /// district selects, publishes or rewards it).
    case district(except: [String])
}

/// One field of a record kind's table, as `Protocol/` describes it.
public struct FieldDeclaration: Hashable, Sendable {
    /// The JSON value type a writer gives the field (`Protocol/PROTOCOL.md` §2.4).
    public enum ValueType: String, Hashable, Sendable {
        case text, integer, bool, timestamp
    }

    public let name: String
    public let type: ValueType
    /// Whether a change creating a record must write the field.
    public let required: Bool
    /// How concurrent values merge.
    public let rule: FieldRule
    /// Who may write it.
    public let writers: FieldWriters
    /// One line for `Protocol/`.
    public let summary: String

    public init(
        _ name: String, _ type: ValueType, required: Bool = false, rule: FieldRule = .lastWriterWins, writers: FieldWriters = .anyone,
        _ summary: String
    ) {
        self.name = name
        self.type = type
        self.required = required
        self.rule = rule
        self.writers = writers
        self.summary = summary
    }
}

/// One table of a record kind: what its records are, their fields and their scope.
public struct TableDeclaration: Hashable, Sendable {
    public let name: String
    public let kind: TableKind
    public let fields: [FieldDeclaration]
    public let scope: ScopeRule
    /// The levels of the offices that may write its records (`district`, `street`,
    /// `community`, `department`), nil for any: the enterprise registry is the streets'
    /// and the district's, whatever a record's scope names (`Protocol/PROTOCOL.md` §9.6).
    public let writerLevels: [String]?

    public init(_ name: String, kind: TableKind, scope: ScopeRule, writerLevels: [String]? = nil, fields: [FieldDeclaration]) {
        self.name = name
        self.kind = kind
        self.scope = scope
        self.writerLevels = writerLevels
        self.fields = fields
    }

    /// The table's merge rules: every field whose rule is not last-writer-wins.
    public var schema: TableSchema {
        TableSchema(
            kind: kind,
            rules: Dictionary(
                fields.filter { $0.rule != .lastWriterWins }.map { ($0.name, $0.rule) }, uniquingKeysWith: { first, _ in first }))
    }

    /// The fields that decide the scope.
    public var scopeFields: [String] {
        switch scope {
        case .fields(let names): names
        case .parent(_, let field): [field]
        case .district: []
        case .sharedFields(let names, _): names
        }
    }
}

/// A kind of record (cases, suggestions, policies, …): its tables, declared in one place
/// by the module that owns it. The generic store and the server know a kind only through
/// this declaration.
public struct RecordKind: Hashable, Sendable {
    /// The kind's name (`cases`).
    public let name: String
    public let tables: [TableDeclaration]
    /// What the central server keeps of the kind's records for reading (its read model).
    public let views: [ViewDeclaration]

    public init(name: String, tables: [TableDeclaration], views: [ViewDeclaration] = []) {
        self.name = name
        self.tables = tables
        self.views = views
    }
}

extension Schema {
    /// The merge rules of every table of `kinds`.
    public init(kinds: [RecordKind]) {
        self.init(tables: Dictionary(kinds.flatMap(\.tables).map { ($0.name, $0.schema) }, uniquingKeysWith: { first, _ in first }))
    }
}

/// The scope rules of a set of kinds, by table: what the server asks to decide who may
/// read and write a record.
public struct ScopeRules: Sendable {
    private let rules: [String: ScopeRule]
    private let writers: [String: [(field: String, writers: FieldWriters)]]
    private let levels: [String: [String]]

    public init(kinds: [RecordKind]) {
        rules = Dictionary(kinds.flatMap(\.tables).map { ($0.name, $0.scope) }, uniquingKeysWith: { first, _ in first })
        levels = Dictionary(
            kinds.flatMap(\.tables).compactMap { table in table.writerLevels.map { (table.name, $0) } },
            uniquingKeysWith: { first, _ in first })
        writers = Dictionary(
            kinds.flatMap(\.tables).compactMap { table in
                let restricted = table.fields.filter { $0.writers != .anyone }.map { (field: $0.name, writers: $0.writers) }
                return restricted.isEmpty ? nil : (table.name, restricted)
            }, uniquingKeysWith: { first, _ in first })
    }

    /// The levels of the offices that may write records of `table`; nil for any.
    public func writerLevels(of table: String) -> [String]? {
        levels[table]
    }

    /// The fields of `table` not every office holding a record may write.
    public func restrictedFields(of table: String) -> [(field: String, writers: FieldWriters)] {
        writers[table] ?? []
    }

    /// The rule of `table`: ``ScopeRule/district`` for a table no kind declares.
    public func rule(for table: String) -> ScopeRule {
        rules[table] ?? .district
    }

    /// The tables whose records belong where a record of `table` does.
    public func children(of table: String) -> [String] {
        rules.compactMap { name, rule in
            if case .parent(let parent, _) = rule, parent == table { return name }
            return nil
        }.sorted()
    }
}
