public import CaseDomain

/// Which cases a figure stands for: the page behind each figure's link
/// (`/dashboard/cases?…`) and the `cases` export list what matches.
public struct CaseFilter: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case all, open, closed, overdue
        /// Open and due within the horizon, not yet overdue.
        case atRisk = "at_risk"
        case escalated, reopened, rated, satisfied
    }

    public var state = State.all
    public var category: String?
    public var kind: CaseKind?
    public var channel: CaseChannel?
    /// The Monday of the week received, or the month received (`YYYY-MM`).
    public var week: String?
    public var month: String?
    /// Closed after this many working days.
    public var days: Int?
    public var rating: Int?
    /// A suggestion's pipeline stage.
    public var stage: String?

    public init() {}

    /// The query parameters this filter adds to a link.
    public var parameters: [(String, String)] {
        var out: [(String, String)] = []
        if state != .all { out.append(("state", state.rawValue)) }
        if let category { out.append(("category", category)) }
        if let kind { out.append(("kind", kind.rawValue)) }
        if let channel { out.append(("channel", channel.rawValue)) }
        if let week { out.append(("week", week)) }
        if let month { out.append(("month", month)) }
        if let days { out.append(("days", String(days))) }
        if let rating { out.append(("rating", String(rating))) }
        if let stage { out.append(("stage", stage)) }
        return out
    }

    /// Whether `line` is one of the cases, as of `today`; `riskLimit` is the last due day
    /// counted at risk.
    func matches(_ line: DistrictQuery.CaseLine, today: CivilDate, riskLimit: CivilDate, calendar: WorkCalendar) -> Bool {
        let item = line.report
        switch state {
        case .all: break
        case .open: if item.status == .closed { return false }
        case .closed: if item.status != .closed { return false }
        case .overdue: guard item.status != .closed, let due = item.due, today > due else { return false }
        case .atRisk: guard item.status != .closed, let due = item.due, due >= today, due <= riskLimit else { return false }
        case .escalated: if !item.escalated { return false }
        case .reopened: if item.round < 2 { return false }
        case .rated: if item.rating == nil { return false }
        case .satisfied: if (item.rating ?? 0) < 4 { return false }
        }
        if let category, item.category != category { return false }
        if let kind, item.kind != kind { return false }
        if let channel, item.channel != channel { return false }
        if let week, item.received.adding(days: 1 - item.received.weekday).description != week { return false }
        if let month, !item.received.description.hasPrefix(month + "-") { return false }
        if let rating, item.rating != rating { return false }
        if let stage, item.suggestionStage != stage { return false }
        if let days {
            guard item.status == .closed else { return false }
            if calendar.workingDays(from: item.received, through: item.closed ?? item.received) != days { return false }
        }
        return true
    }
}
