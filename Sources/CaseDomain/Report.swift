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
    }

    public init() {}

    /// Computes the report over `cases` as of `today`; `breakdowns` adds the trends and the
    /// figures per community.
    public static func compute(_ cases: [ReportCase], today: CivilDate, calendar: WorkCalendar, breakdowns: Bool = true)
        -> CaseReport
    {
        var report = CaseReport()
        report.received = cases.count
        var closedOnTime = 0
        var days: [Int] = []
        var rated = 0
        var satisfied = 0
        var closedAtCommunity = 0
        var replied = 0
        var byOffice: [String: [ReportCase]] = [:]
        for item in cases {
            report.byStatus[item.status, default: 0] += 1
            if let kind = item.kind { report.byKind[kind, default: 0] += 1 }
            report.byCategory[item.category, default: 0] += 1
            report.byChannel[item.channel, default: 0] += 1
            if item.status == .closed {
                report.closed += 1
                // A closed case always has its day; one without (a damaged record) counts as
                // closed the day received, so that the figure never depends on today.
                let end = item.closed ?? item.received
                if let due = item.due, end <= due { closedOnTime += 1 }
                days.append(calendar.workingDays(from: item.received, through: end))
                if item.level == .community { closedAtCommunity += 1 }
            } else if let due = item.due, today > due {
                report.overdue += 1
            }
            if let rating = item.rating {
                rated += 1
                report.ratings[rating, default: 0] += 1
                if rating >= 4 { satisfied += 1 }
            }
            if item.escalated { report.escalations += 1 }
            if item.round > 1 { report.reopened += 1 }
            if item.round > 1 || item.status >= .replied { replied += 1 }
            if let stage = item.suggestionStage { report.bySuggestionStage[stage, default: 0] += 1 }
            if breakdowns {
                let monday = item.received.adding(days: 1 - item.received.weekday)
                report.byWeek[monday.description, default: Trend()].add(item)
                report.byMonth[String(item.received.description.prefix(7)), default: Trend()].add(item)
                byOffice[item.community, default: []].append(item)
            }
        }
        func ratio(_ part: Int, _ whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }
        report.completionRate = ratio(report.closed, cases.count)
        report.onTimeRate = ratio(closedOnTime, report.closed + report.overdue)
        report.satisfactionRate = ratio(satisfied, rated)
        report.communityRate = ratio(closedAtCommunity, report.closed)
        report.reopenRate = ratio(report.reopened, replied)
        days.sort()
        for day in days { report.handlingDays[day, default: 0] += 1 }
        if !days.isEmpty {
            report.medianWorkingDays = percentile(days, 0.5)
            report.p90WorkingDays = percentile(days, 0.9)
        }
        for (office, items) in byOffice {
            report.byOffice[office] = compute(items, today: today, calendar: calendar, breakdowns: false)
        }
        return report
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
    mutating func add(_ item: ReportCase) {
        received += 1
        if item.status == .closed { closed += 1 }
    }
}
