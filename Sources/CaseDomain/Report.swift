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

/// The district's figures over the cases received in a period (README, "Report").
public struct CaseReport: Sendable, Equatable {
    public var received = 0
    public var byStatus: [CaseStatus: Int] = [:]
    public var byKind: [CaseKind: Int] = [:]
    public var byCategory: [String: Int] = [:]
    /// 办结率: closed ÷ received.
    public var completionRate: Double?
    /// 按时办结率: closed on time ÷ (closed + open and overdue).
    public var onTimeRate: Double?
    /// Handling time of closed cases, in working days after the day received.
    public var medianWorkingDays: Double?
    public var p90WorkingDays: Double?
    /// 满意率: ratings of 4–5 ÷ rated.
    public var satisfactionRate: Double?
    /// 小事不出社区率: closed at community level ÷ closed.
    public var communityRate: Double?

    public init() {}

    /// Computes the report over `cases` as of `today`.
    public static func compute(_ cases: [ReportCase], today: CivilDate, calendar: WorkCalendar) -> CaseReport {
        var report = CaseReport()
        report.received = cases.count
        var closed = 0
        var closedOnTime = 0
        var openOverdue = 0
        var days: [Int] = []
        var rated = 0
        var satisfied = 0
        var closedAtCommunity = 0
        for item in cases {
            report.byStatus[item.status, default: 0] += 1
            if let kind = item.kind { report.byKind[kind, default: 0] += 1 }
            report.byCategory[item.category, default: 0] += 1
            if item.status == .closed {
                closed += 1
                let end = item.closed ?? today
                if let due = item.due, end <= due { closedOnTime += 1 }
                days.append(calendar.workingDays(from: item.received, through: end))
                if item.level == .community { closedAtCommunity += 1 }
            } else if let due = item.due, today > due {
                openOverdue += 1
            }
            if let rating = item.rating {
                rated += 1
                if rating >= 4 { satisfied += 1 }
            }
        }
        func ratio(_ part: Int, _ whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }
        report.completionRate = ratio(closed, cases.count)
        report.onTimeRate = ratio(closedOnTime, closed + openOverdue)
        report.satisfactionRate = ratio(satisfied, rated)
        report.communityRate = ratio(closedAtCommunity, closed)
        days.sort()
        if !days.isEmpty {
            report.medianWorkingDays = percentile(days, 0.5)
            report.p90WorkingDays = percentile(days, 0.9)
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
