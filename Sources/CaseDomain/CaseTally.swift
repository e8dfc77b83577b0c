/// What the report needs of a set of cases, added up: counts that sum, and the two
/// distributions a percentile or today's date needs (handling days; open cases by due
/// date). Tallies merge, so the server keeps one per community and day received and adds
/// them for any period and subtree (README, "The district's dashboard").
public struct CaseTally: Sendable, Equatable {
    /// Which tally a case is counted in: its community and the day it was received.
    public struct Group: Sendable, Hashable {
        public var community: String
        public var day: CivilDate

        public init(community: String, day: CivilDate) {
            self.community = community
            self.day = day
        }
    }

    public var received = 0
    public var byStatus: [CaseStatus: Int] = [:]
    public var byKind: [CaseKind: Int] = [:]
    public var byCategory: [String: Int] = [:]
    public var byChannel: [CaseChannel: Int] = [:]
    public var closed = 0
    /// Closed by their due date.
    public var closedOnTime = 0
    /// Closed while handled at community level.
    public var closedAtCommunity = 0
    /// Closed cases by working days from receipt to closing.
    public var handlingDays: [Int: Int] = [:]
    /// Open cases with a due date, by that date (days since the epoch).
    public var openDue: [Int: Int] = [:]
    /// Rated cases by score.
    public var ratings: [Int: Int] = [:]
    public var escalations = 0
    public var reopened = 0
    /// Replied at least once: replied or closed now, or reopened.
    public var replied = 0
    public var bySuggestionStage: [String: Int] = [:]

    public init() {}

    /// Counts `item`.
    public mutating func add(_ item: ReportCase, calendar: WorkCalendar) {
        received += 1
        byStatus[item.status, default: 0] += 1
        if let kind = item.kind { byKind[kind, default: 0] += 1 }
        byCategory[item.category, default: 0] += 1
        byChannel[item.channel, default: 0] += 1
        if item.status == .closed {
            closed += 1
            // A closed case always has its day; one without (a damaged record) counts as
            // closed the day received, so that the figure never depends on today.
            let end = item.closed ?? item.received
            if let due = item.due, end <= due { closedOnTime += 1 }
            handlingDays[calendar.workingDays(from: item.received, through: end), default: 0] += 1
            if item.level == .community { closedAtCommunity += 1 }
        } else if let due = item.due {
            openDue[due.daysSinceEpoch, default: 0] += 1
        }
        if let rating = item.rating { ratings[rating, default: 0] += 1 }
        if item.escalated { escalations += 1 }
        if item.round > 1 { reopened += 1 }
        if item.round > 1 || item.status >= .replied { replied += 1 }
        if let stage = item.suggestionStage { bySuggestionStage[stage, default: 0] += 1 }
    }

    /// Adds `other`'s counts to these.
    public mutating func merge(_ other: CaseTally) {
        received += other.received
        closed += other.closed
        closedOnTime += other.closedOnTime
        closedAtCommunity += other.closedAtCommunity
        escalations += other.escalations
        reopened += other.reopened
        replied += other.replied
        Self.add(other.byStatus, to: &byStatus)
        Self.add(other.byKind, to: &byKind)
        Self.add(other.byCategory, to: &byCategory)
        Self.add(other.byChannel, to: &byChannel)
        Self.add(other.handlingDays, to: &handlingDays)
        Self.add(other.openDue, to: &openDue)
        Self.add(other.ratings, to: &ratings)
        Self.add(other.bySuggestionStage, to: &bySuggestionStage)
    }

    private static func add<Key>(_ counts: [Key: Int], to total: inout [Key: Int]) {
        for (key, count) in counts { total[key, default: 0] += count }
    }
}
