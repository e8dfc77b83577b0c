public import SyncCore

/// Where a record belongs: the community it was recorded in, and the office handling it
/// now (the community, or the street or district it was escalated to). A case event or
/// an audit event belongs where its case does.
public struct RecordScope: Hashable, Sendable {
    public var community: String?
    public var handling: String?

    public init(community: String?, handling: String?) {
        self.community = community
        self.handling = handling
    }

    /// The scope a change gives its record, from the record's scope before it (nil for a
    /// record the server has not seen) and, for a case event, its case's scope.
    public static func after(_ change: Change, before: RecordScope?, caseScope: (String) -> RecordScope?) -> RecordScope? {
        switch change.record.table {
        case "cases":
            var scope = before ?? RecordScope(community: nil, handling: nil)
            if case .text(let office)? = change.fields["office"] { scope.handling = office }
            if case .text(let community)? = change.fields["community"] {
                scope.community = community
            } else if scope.community == nil {
                // Cases recorded before `community` existed: the office that recorded them.
                scope.community = scope.handling
            }
            if scope.handling == nil { scope.handling = scope.community }
            return scope
        case "case_events", "audit_events":
            if let before { return before }
            if case .text(let caseID)? = change.fields["case_id"] { return caseScope(caseID) }
            return nil
        default:
            return before
        }
    }
}

/// What one office may read and write (`Protocol/PROTOCOL.md` §9.6): a community its
/// own cases; a street its communities' cases and those escalated to it; the district
/// everything. Records with no scope (unknown tables) are the district's only.
public struct OfficeScope: Hashable, Sendable {
    public var office: String
    public var level: OfficeLevel
    /// For a street: the codes of its communities.
    public var communities: Set<String>

    public init(office: String, level: OfficeLevel, communities: Set<String> = []) {
        self.office = office
        self.level = level
        self.communities = communities
    }

    /// Whether a record with this scope is the office's to read and to write.
    public func covers(_ scope: RecordScope?) -> Bool {
        if level == .district { return true }
        guard let scope else { return false }
        if scope.handling == office || scope.community == office { return true }
        if level == .street, let community = scope.community { return communities.contains(community) }
        return false
    }

    /// ``covers(_:)`` with the street of the record's community given, rather than the
    /// office tree's now (for a move recorded when the tree was different).
    public func covers(_ scope: RecordScope, communityParent: String?) -> Bool {
        if level == .district { return true }
        if scope.handling == office || scope.community == office { return true }
        return level == .street && communityParent == office
    }

    /// Whether the office may write `change`, which moves its record from `before` to
    /// `after`: it must cover the record before (or, for a new record, after), and only a
    /// street or the district may move a case to another community, within its scope.
    public func mayWrite(_ change: Change, before: RecordScope?, after: RecordScope?) -> Bool {
        guard covers(before ?? after) else { return false }
        if let before, let after, before.community != after.community {
            return level != .community && covers(after)
        }
        return covers(after)
    }
}
