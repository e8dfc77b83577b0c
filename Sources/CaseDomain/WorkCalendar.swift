/// A calendar date with no time zone (proleptic Gregorian), e.g. 2026-11-26.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A valid date, or `nil` (e.g. 2026-02-30).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` days after 1970-01-01 (negative before).
    public init(daysSinceEpoch days: Int) {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// The local date of an instant (milliseconds since the epoch) at a fixed UTC offset
    /// (China Standard Time is +480 minutes, with no daylight saving).
    public init(epochMillis: Int64, utcOffsetMinutes: Int = 480) {
        let local = epochMillis + Int64(utcOffsetMinutes) * 60_000
        let days = local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000
        self.init(daysSinceEpoch: Int(days))
    }

    /// Parses `YYYY-MM-DD`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var weekday: Int {
        let days = daysSinceEpoch
        // 1970-01-01 was a Thursday (4).
        return ((days % 7 + 7) % 7 + 3) % 7 + 1
    }

    /// The date `days` later (earlier when negative).
    public func adding(days: Int) -> CivilDate {
        CivilDate(daysSinceEpoch: daysSinceEpoch + days)
    }

    public var description: String {
        let y = String(year)
        let m = month < 10 ? "0\(month)" : "\(month)"
        let d = day < 10 ? "0\(day)" : "\(day)"
        return "\(y)-\(m)-\(d)"
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Working days: Monday to Friday, minus public holidays, plus make-up working days
/// (调休: a Saturday or Sunday worked in exchange for a bridge day off).
public struct WorkCalendar: Sendable, Equatable {
    /// Days off that would otherwise be working days.
    public private(set) var holidays: Set<CivilDate>
    /// Weekend days that are working days.
    public private(set) var workdays: Set<CivilDate>

    public init(holidays: Set<CivilDate> = [], workdays: Set<CivilDate> = []) {
        self.holidays = holidays
        self.workdays = workdays
    }

    /// Reads a holiday file: one date per line, `YYYY-MM-DD holiday [note]` or
    /// `YYYY-MM-DD workday [note]` (a make-up working day, 调休); `#` starts a comment.
    ///
    /// ```
    /// # 2026 National Day
    /// 2026-10-01 holiday 国庆节
    /// 2026-10-10 workday 调休
    /// ```
    ///
    /// - Throws: ``CaseDomainError/invalidCalendarLine(_:_:)`` naming the line.
    public init(parsing text: String) throws(CaseDomainError) {
        self.init()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingSpaces
            if line.isEmpty { continue }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2 else {
                throw .invalidCalendarLine(index + 1, "expected a date and 'holiday' or 'workday'")
            }
            guard let date = CivilDate(parsing: String(words[0])) else {
                throw .invalidCalendarLine(index + 1, "not a date of the form YYYY-MM-DD")
            }
            switch words[1].lowercased() {
            case "holiday", "假日", "休":
                holidays.insert(date)
                workdays.remove(date)
            case "workday", "调休", "班":
                workdays.insert(date)
                holidays.remove(date)
            default:
                throw .invalidCalendarLine(index + 1, "expected 'holiday' or 'workday' after the date")
            }
        }
    }

    /// Whether staff work on `date`.
    public func isWorkingDay(_ date: CivilDate) -> Bool {
        if workdays.contains(date) { return true }
        if holidays.contains(date) { return false }
        return date.weekday <= 5
    }

    /// The `count`-th working day after `date` (the day itself does not count).
    public func adding(workingDays count: Int, to date: CivilDate) -> CivilDate {
        var day = date
        var remaining = max(count, 0)
        while remaining > 0 {
            day = day.adding(days: 1)
            if isWorkingDay(day) { remaining -= 1 }
        }
        return day
    }

    /// Working days after `start` up to and including `end` (0 when `end ≤ start`).
    public func workingDays(from start: CivilDate, through end: CivilDate) -> Int {
        guard end > start else { return 0 }
        var count = 0
        var day = start.adding(days: 1)
        while day <= end {
            if isWorkingDay(day) { count += 1 }
            day = day.adding(days: 1)
        }
        return count
    }
}

/// How a case stands against its deadline.
public enum DeadlineState: String, Sendable {
    /// More than one working day left.
    case onTime = "on_time"
    /// Due today or on the next working day.
    case dueSoon = "due_soon"
    /// Past its due date and not closed.
    case overdue
    /// Closed (on time or not).
    case closed

    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.onTime, .zh): "正常"
        case (.dueSoon, .zh): "即将到期"
        case (.overdue, .zh): "已超期"
        case (.closed, .zh): "已办结"
        case (_, .en): rawValue.replacingUnderscores
        }
    }
}

/// Deadlines in working days, per kind (`CaseKind.defaultWorkingDays`, overridable).
public struct DeadlinePolicy: Sendable, Equatable {
    public var calendar: WorkCalendar
    public var workingDays: [CaseKind: Int]

    public init(calendar: WorkCalendar = WorkCalendar(), workingDays: [CaseKind: Int] = [:]) {
        self.calendar = calendar
        self.workingDays = workingDays
    }

    /// The last day to close a case of `kind` received on `received`.
    public func due(kind: CaseKind, received: CivilDate) -> CivilDate {
        calendar.adding(workingDays: workingDays[kind] ?? kind.defaultWorkingDays, to: received)
    }

    /// Where a case due on `due` stands on `today`.
    public func state(due: CivilDate, today: CivilDate, isClosed: Bool) -> DeadlineState {
        if isClosed { return .closed }
        if today > due { return .overdue }
        if calendar.workingDays(from: today, through: due) <= 1 { return .dueSoon }
        return .onTime
    }
}

extension String {
    package var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
