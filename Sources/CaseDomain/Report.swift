/// One case as a report sees it.
public struct ReportCase: Sendable {
    public var status: CaseStatus
    public var kind: CaseKind?
    public var category: String
    public var level: HandlingLevel
    public var received: CivilDate
    public var closed: CivilDate?
    public var due: CivilDate?
    public var rating: Int?
    /// The community office the case belongs to (its home).
    public var community = ""
    /// How it came (the case's `source`).
    public var channel = CaseChannel.counter
    /// The workflow round: 1, and one more per reopening.
    public var round = 1
    /// Whether it was ever escalated (an `escalate` event).
    public var escalated = false
    /// A suggestion's pipeline stage (`submitted` while it has no pipeline record); nil for
    /// the other kinds.
    public var suggestionStage: String? = nil

    public init(
        status: CaseStatus, kind: CaseKind?, category: String, level: HandlingLevel, received: CivilDate, closed: CivilDate?,
        due: CivilDate?,
        rating: Int?
    ) {
        self.status = status
        self.kind = kind
        self.category = category
        self.level = level
        self.received = received
        self.closed = closed
        self.due = due
        self.rating = rating
    }
}

/// How a case reached the office: the case's `source` (absent: counter).
public enum CaseChannel: String, Sendable, CaseIterable, Hashable {
    /// Recorded by staff at the counter (窗口).
    case counter
    /// A resident's own submission on the page or the Open311 API.
    case online
    /// An enterprise's problem or suggestion (企业诉求).
    case enterprise

    /// The channel of a case's `source` field.
    public init(source: String?) {
        self = source.flatMap(CaseChannel.init(rawValue:)) ?? .counter
    }

    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.counter, .zh): "窗口"
        case (.online, .zh): "线上"
        case (.enterprise, .zh): "企业"
        case (_, .en): rawValue
        }
    }
}

/// The district's figures over the cases received in a period (README, "Report
/// definitions"): `rain report` computes them over a replica, the server's `/stats` over
/// its read model — the same function, so the same definitions.
public struct CaseReport: Sendable, Equatable {
    public var received = 0
    public var byStatus: [CaseStatus: Int] = [:]
    public var byKind: [CaseKind: Int] = [:]
    public var byCategory: [String: Int] = [:]
    public var byChannel: [CaseChannel: Int] = [:]
    /// Closed cases.
    public var closed = 0
    /// Open cases past their due date.
    public var overdue = 0
    /// Cases escalated at least once.
    public var escalations = 0
    /// Cases reopened at least once (round ≥ 2).
    public var reopened = 0
    /// 办结率: closed ÷ received.
    public var completionRate: Double?
    /// 按时办结率: closed on time ÷ (closed + open and overdue).
    public var onTimeRate: Double?
    /// Handling time of closed cases, in working days after the day received.
    public var medianWorkingDays: Double?
    public var p90WorkingDays: Double?
    /// Closed cases by handling time in working days.
    public var handlingDays: [Int: Int] = [:]
    /// 满意率: ratings of 4–5 ÷ rated.
    public var satisfactionRate: Double?
    /// Rated cases by score (1–5).
    public var ratings: [Int: Int] = [:]
    /// 小事不出社区率: closed at community level ÷ closed.
    public var communityRate: Double?
    /// 重办率: reopened ÷ cases replied at least once (replied or closed now, or reopened).
    public var reopenRate: Double?
    /// Suggestions by pipeline stage.
    public var bySuggestionStage: [String: Int] = [:]
    /// Received and closed by the week received (its Monday, `YYYY-MM-DD`)…
    public var byWeek: [String: Trend] = [:]
    /// …and by the month received (`YYYY-MM`).
    public var byMonth: [String: Trend] = [:]
    /// The same figures per community (their own breakdowns empty).
    public var byOffice: [String: CaseReport] = [:]

    /// Received and closed in one week or month.
    public struct Trend: Sendable, Equatable {
        public var received = 0
        public var closed = 0

        public init(received: Int = 0, closed: Int = 0) {
            self.received = received
            self.closed = closed
        }
    }

    public init() {}

    /// Computes the report over `cases` as of `today`; `breakdowns` adds the trends and the
    /// figures per community.
    public static func compute(_ cases: [ReportCase], today: CivilDate, calendar: WorkCalendar, breakdowns: Bool = true)
        -> CaseReport
    {
        var groups: [CaseTally.Group: CaseTally] = [:]
        for item in cases {
            groups[CaseTally.Group(community: item.community, day: item.received), default: CaseTally()].add(item, calendar: calendar)
        }
        return CaseReport(groups: groups, today: today, breakdowns: breakdowns)
    }

    /// The report from the tallies of each community's cases received each day — how
    /// ``compute(_:today:calendar:breakdowns:)`` counts the cases.
    public init(groups: [CaseTally.Group: CaseTally], today: CivilDate, breakdowns: Bool = true) {
        var offices: [String: CaseTally] = [:]
        var days: [CivilDate: Trend] = [:]
        for (group, tally) in groups {
            offices[group.community, default: CaseTally()].merge(tally)
            days[group.day, default: Trend()].add(tally)
        }
        self.init(offices: offices, days: days, today: today, breakdowns: breakdowns)
    }

    /// The report from each community's tally and the cases received and closed by day
    /// received — what the server adds up from its kept tallies, and ``init(groups:today:breakdowns:)``
    /// from the cases': one definition of every figure.
    public init(offices: [String: CaseTally], days: [CivilDate: Trend], today: CivilDate, breakdowns: Bool = true) {
        var total = CaseTally()
        for tally in offices.values { total.merge(tally) }
        self.init(tally: total, today: today)
        guard breakdowns else { return }
        for (day, trend) in days {
            let monday = day.adding(days: 1 - day.weekday)
            byWeek[monday.description, default: Trend()].add(trend)
            byMonth[String(day.description.prefix(7)), default: Trend()].add(trend)
        }
        for (office, tally) in offices { byOffice[office] = CaseReport(tally: tally, today: today) }
    }

    /// The headline figures of one tally as of `today` (no breakdowns).
    public init(tally: CaseTally, today: CivilDate) {
        received = tally.received
        byStatus = tally.byStatus
        byKind = tally.byKind
        byCategory = tally.byCategory
        byChannel = tally.byChannel
        closed = tally.closed
        escalations = tally.escalations
        reopened = tally.reopened
        handlingDays = tally.handlingDays
        ratings = tally.ratings
        bySuggestionStage = tally.bySuggestionStage
        let today = today.daysSinceEpoch
        overdue = tally.openDue.reduce(0) { $0 + ($1.key < today ? $1.value : 0) }
        func ratio(_ part: Int, _ whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }
        completionRate = ratio(closed, received)
        onTimeRate = ratio(tally.closedOnTime, closed + overdue)
        let rated = tally.ratings.values.reduce(0, +)
        satisfactionRate = ratio((tally.ratings[4] ?? 0) + (tally.ratings[5] ?? 0), rated)
        communityRate = ratio(tally.closedAtCommunity, closed)
        reopenRate = ratio(reopened, tally.replied)
        medianWorkingDays = Self.percentile(histogram: handlingDays, 0.5)
        p90WorkingDays = Self.percentile(histogram: handlingDays, 0.9)
    }

    /// The `p`-th percentile of the values a histogram counts (value → how many), as
    /// ``percentile(_:_:)`` over the sorted values; nil when it counts none.
    static func percentile(histogram: [Int: Int], _ p: Double) -> Double? {
        let count = histogram.values.reduce(0, +)
        guard count > 0 else { return nil }
        let sorted = histogram.sorted { $0.key < $1.key }
        func value(at rank: Int) -> Double {
            var seen = 0
            for (value, times) in sorted {
                seen += times
                if rank < seen { return Double(value) }
            }
            return Double(sorted[sorted.count - 1].key)
        }
        let rank = p * Double(count - 1)
        let low = Int(rank.rounded(.down))
        let high = min(low + 1, count - 1)
        let lowValue = value(at: low)
        return lowValue + (rank - Double(low)) * (value(at: high) - lowValue)
    }

    /// The `p`-th percentile of sorted values, by linear interpolation between ranks.
    static func percentile(_ sorted: [Int], _ p: Double) -> Double {
        percentile(sorted.map(Double.init), p)
    }

    /// The `p`-th percentile of sorted values, by linear interpolation between ranks (also
    /// policy direct's days to payment).
    package static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        let rank = p * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return sorted[low] + (rank - Double(low)) * (sorted[high] - sorted[low])
    }
}

extension CaseReport.Trend {
    mutating func add(_ tally: CaseTally) {
        received += tally.received
        closed += tally.closed
    }

    /// Adds `other`'s counts.
    public mutating func add(_ other: CaseReport.Trend) {
        received += other.received
        closed += other.closed
    }
}
