public import SyncServer

/// The office tree as the dashboard reads it: who may see what, and which communities an
/// office's figures cover.
public struct OfficeTree: Sendable {
    public let offices: [String: Office]

    public init(_ offices: [Office]) {
        self.offices = Dictionary(offices.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The communities under `code` (itself when a community); every community for the
    /// district. Retired offices count: their cases stay in the figures.
    public func communities(under code: String) -> Set<String> {
        guard let office = offices[code] else { return [] }
        switch office.level {
        case .community: return [code]
        case .district: return Set(offices.values.filter { $0.level == .community }.map(\.code))
        case .street: return Set(offices.values.filter { $0.level == .community && $0.parent == code }.map(\.code))
        case .department: return []
        }
    }

    /// Whether staff of `viewer` may see `office`'s figures: the district sees everything,
    /// a street itself and its communities.
    public func may(_ viewer: String, see office: String) -> Bool {
        guard let seer = offices[viewer], let seen = offices[office] else { return false }
        switch seer.level {
        case .district: return true
        case .street: return office == viewer || (seen.level == .community && seen.parent == viewer)
        case .community, .department: return office == viewer
        }
    }

    /// The office's name, or its code when unknown.
    public func name(_ code: String) -> String { offices[code]?.name ?? code }
}
