public import SyncCore

/// Where a record belongs (`Protocol/PROTOCOL.md` §9.6): the office codes its kind's
/// ``ScopeRule`` gives, in the order of the rule's fields (a case: its community, then
/// its handling office). The first is the record's home. A child record (a case event)
/// carries its parent's.
public struct RecordScope: Hashable, Sendable {
    /// The codes by position; nil where the field was never written.
    public var offices: [String?]

    public init(_ offices: [String?]) {
        self.offices = offices
    }

    /// `scope` with every one of `count` positions written (a field never written takes
    /// the first written), unchanged — without a copy — when it already is.
    init(whole scope: RecordScope, count: Int) {
        guard scope.offices.count < count || scope.offices.contains(where: { $0 == nil }),
            let first = scope.offices.first(where: { $0 != nil }) ?? nil
        else {
            self = scope
            return
        }
        let padded = scope.offices + Array(repeating: nil, count: max(count - scope.offices.count, 0))
        self.init(padded.map { $0 ?? first })
    }

    /// The first office: the record's home (a case's community).
    public var home: String? { offices.first ?? nil }

    /// The codes written.
    public var codes: [String] { offices.compactMap { $0 } }

    /// The stored form: the codes by position, separated by commas, empty where unwritten.
    /// (Office codes are letters and digits.)
    public var encoded: String { offices.map { $0 ?? "" }.joined(separator: ",") }

    /// A stored form read back; nil for nil.
    public init?(encoded: String?) {
        guard let encoded else { return nil }
        // One array, built in place: a push reads one for every record it touches.
        var offices: [String?] = []
        offices.reserveCapacity(2)
        var start = encoded.utf8.startIndex
        for index in encoded.utf8.indices where encoded.utf8[index] == UInt8(ascii: ",") {
            offices.append(start == index ? nil : String(encoded[start..<index]))
            start = encoded.utf8.index(after: index)
        }
        offices.append(start == encoded.utf8.endIndex ? nil : String(encoded[start...]))
        self.offices = offices
    }

    /// The scope a change gives its record under `rule`, from the record's scope before it
    /// (nil for a record the server has not seen, or one without a scope) and, for a child
    /// record, its parent's scope by id. Nil: the record has no scope (the district's only).
    public static func after(_ change: Change, rule: ScopeRule, before: RecordScope?, parent: (String) -> RecordScope?) -> RecordScope? {
        switch rule {
        case .fields(let names):
            // The usual case, a change naming no scope field, builds nothing: a stored
            // scope is already whole (every position filled).
            var values: [String?]?
            for (position, name) in names.enumerated() {
                guard case .text(let code)? = change.fields[name] else { continue }
                if values == nil {
                    if let before, before.offices.count >= names.count {
                        values = before.offices
                    } else {
                        var fresh = [String?](repeating: nil, count: names.count)
                        for (position, code) in (before?.offices ?? []).enumerated() { fresh[position] = code }
                        values = fresh
                    }
                }
                values![position] = code
            }
            guard var values else { return before.map { RecordScope(whole: $0, count: names.count) } }
            // A field never written takes the first written among the others (in place:
            // this runs for every new record of a batch).
            guard let first = values.first(where: { $0 != nil }) ?? nil else { return before }
            for position in values.indices where values[position] == nil { values[position] = first }
            return RecordScope(values)
        case .parent(_, let field):
            if let before { return before }
            if case .text(let id)? = change.fields[field] { return parent(id) }
            return nil
        case .district:
            return before
        case .sharedFields(let names, let publication):
            // The fields' scope, then the marker: `*` once readable by all, else the home
            // (a code listed twice is listed once).
            let own = before.map { RecordScope(Array($0.offices.prefix(names.count))) }
            guard let scope = after(change, rule: .fields(names), before: own, parent: parent) else { return nil }
            var shared =
                publication == nil || before.map { $0.offices.count > names.count && $0.offices[names.count] == ScopeRule.everyone } == true
            if !shared, let publication, case .text(let value)? = change.fields[publication.field] {
                shared = publication.values.contains(value)
            }
            let whole = RecordScope(whole: scope, count: names.count)
            return RecordScope(whole.offices + [shared ? ScopeRule.everyone : whole.home])
        }
    }

    /// Whether every office may read the record (``ScopeRule/sharedFields(_:once:)``).
    public var isShared: Bool { offices.contains(ScopeRule.everyone) }
}

/// A record's scope with the parent office of each of its codes as the office tree had
/// it at one moment: a move recorded then is judged by the tree of then, not of now.
public struct PlacedScope: Hashable, Sendable {
    public var entries: [(code: String, parent: String?)]

    public init(_ scope: RecordScope, parent: (String) -> String?) {
        entries = scope.codes.map { ($0, parent($0)) }
    }

    /// The stored form: `code/parent` pairs separated by commas (`HSM/JD1,JD1/HSD`).
    public var encoded: String { entries.map { $0.code + "/" + ($0.parent ?? "") }.joined(separator: ",") }

    public init(encoded: String) {
        entries = encoded.split(separator: ",").map { pair in
            let parts = pair.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 && !parts[1].isEmpty ? String(parts[1]) : nil)
        }
    }

    public static func == (lhs: PlacedScope, rhs: PlacedScope) -> Bool { lhs.encoded == rhs.encoded }
    public func hash(into hasher: inout Hasher) { hasher.combine(encoded) }
}

/// What one office may read and write (`Protocol/PROTOCOL.md` §9.6): a record whose scope
/// names the office or one of its child offices (a community its own records; a street
/// its communities' and those sent to it); the district everything. Records with no
/// scope are the district's only.
public struct OfficeScope: Hashable, Sendable {
    public var office: String
    public var level: OfficeLevel
    /// The codes of the office's child offices (a street's communities).
    public var children: Set<String>

    public init(office: String, level: OfficeLevel, children: Set<String> = []) {
        self.office = office
        self.level = level
        self.children = children
    }

    /// The server's own writer (residents' requests): it writes wherever the request names.
    public static let server = OfficeScope(office: "server", level: .district)

    /// Whether the office may read a record with this scope: one it covers, or one shared
    /// with every office (a published policy, the enterprise registry).
    public func reads(_ scope: RecordScope?) -> Bool {
        covers(scope) || scope?.isShared == true
    }

    /// ``reads(_:)`` with each code's parent as the office tree had it then.
    public func reads(_ scope: PlacedScope) -> Bool {
        covers(scope) || scope.entries.contains { $0.code == ScopeRule.everyone }
    }

    /// Whether a record with this scope is the office's to read and to write.
    public func covers(_ scope: RecordScope?) -> Bool {
        if level == .district { return true }
        guard let scope else { return false }
        return scope.offices.contains { code in code == office || code.map(children.contains) == true }
    }

    /// ``covers(_:)`` with each code's parent as the office tree had it when `scope` was
    /// recorded.
    public func covers(_ scope: PlacedScope) -> Bool {
        if level == .district { return true }
        return scope.entries.contains { $0.code == office || $0.parent == office }
    }

    /// Whether the office may write a change that moves its record from `before` to
    /// `after`: it must cover the record before (or, for a new record, after) and after;
    /// and only an office above community level (a street, the district) may change a
    /// record's home (move a case to another community), within its scope.
    public func mayWrite(before: RecordScope?, after: RecordScope?) -> Bool {
        guard covers(before ?? after) else { return false }
        if let before, let after, before.home != after.home {
            return level != .community && covers(after)
        }
        return covers(after)
    }

    /// The listings this office reads (`ListingRuns`: a change is listed under each
    /// code of its record's scope): its own, its child offices', and the one of records
    /// shared with every office (`*`). A community reads its own listing; a street its own
    /// and its communities' (the district reads the whole log).
    public var listings: [String] { [office] + children.sorted() + [ScopeRule.everyone] }
}
