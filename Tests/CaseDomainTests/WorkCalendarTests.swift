import CaseDomain
import Testing

@Suite struct WorkCalendarTests {
    func date(_ text: String) -> CivilDate { CivilDate(parsing: text)! }

    @Test func civilDatesRoundTripAndKnowTheirWeekday() {
        #expect(date("2026-11-26").weekday == 4)  // a Thursday
        #expect(date("1970-01-01").weekday == 4)
        #expect(date("2024-02-29").daysSinceEpoch == 19_782)
        #expect(CivilDate(parsing: "2026-02-29") == nil)
        #expect(CivilDate(parsing: "2026-2-1") == nil)
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            #expect(CivilDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
        // 2026-11-25T16:30Z is already the 26th in Beijing.
        #expect(CivilDate(epochMillis: 1_795_624_200_000) == date("2026-11-26"))
        #expect(CivilDate(epochMillis: 1_795_624_200_000, utcOffsetMinutes: 0) == date("2026-11-25"))
    }

    @Test func workingDaysSkipWeekendsAndHolidaysAndCountMakeUpDays() throws {
        let calendar = try WorkCalendar(
            parsing: """
                # National Day 2026 (an example schedule)
                2026-10-01 holiday 国庆节
                2026-10-02 holiday
                2026-10-05 holiday
                2026-10-06 holiday
                2026-10-07 holiday
                2026-10-10 workday 调休

                """)
        #expect(!calendar.isWorkingDay(date("2026-10-01")))
        #expect(!calendar.isWorkingDay(date("2026-10-03")))  // a Saturday
        #expect(calendar.isWorkingDay(date("2026-10-10")))  // a Saturday made a working day
        #expect(calendar.isWorkingDay(date("2026-10-08")))
        // Received on Wednesday 30 September: the first working days after are 8, 9, 10 (Sat, 调休), 12 October.
        #expect(calendar.adding(workingDays: 1, to: date("2026-09-30")) == date("2026-10-08"))
        #expect(calendar.adding(workingDays: 3, to: date("2026-09-30")) == date("2026-10-10"))
        #expect(calendar.adding(workingDays: 4, to: date("2026-09-30")) == date("2026-10-12"))
        #expect(calendar.workingDays(from: date("2026-09-30"), through: date("2026-10-12")) == 4)
        #expect(WorkCalendar().adding(workingDays: 5, to: date("2026-11-26")) == date("2026-12-03"))
    }

    @Test func aBadHolidayFileNamesTheLine() {
        #expect(throws: CaseDomainError.invalidCalendarLine(2, "not a date of the form YYYY-MM-DD")) {
            try WorkCalendar(parsing: "2026-10-01 holiday\n2026-13-01 holiday\n")
        }
        #expect(throws: CaseDomainError.invalidCalendarLine(1, "expected 'holiday' or 'workday' after the date")) {
            try WorkCalendar(parsing: "2026-10-01 vacation")
        }
        let message = CaseDomainError.invalidCalendarLine(2, "not a date of the form YYYY-MM-DD").message(.en)
        #expect(message == "cannot read the holiday file: not a date of the form YYYY-MM-DD (line 2)")
    }

    @Test func deadlinesPerKindAndTheirState() {
        let policy = DeadlinePolicy()
        let received = date("2026-11-26")  // Thursday
        #expect(policy.due(kind: .consultation, received: received) == date("2026-12-03"))
        #expect(policy.due(kind: .complaint, received: received) == date("2026-12-17"))
        #expect(policy.due(kind: .suggestion, received: received) == date("2026-12-24"))
        let due = policy.due(kind: .help, received: received)
        #expect(policy.state(due: due, today: received, isClosed: false) == .onTime)
        #expect(policy.state(due: due, today: date("2026-12-02"), isClosed: false) == .dueSoon)
        #expect(policy.state(due: due, today: due, isClosed: false) == .dueSoon)
        #expect(policy.state(due: due, today: date("2026-12-04"), isClosed: false) == .overdue)
        #expect(policy.state(due: due, today: date("2026-12-04"), isClosed: true) == .closed)
        let custom = DeadlinePolicy(workingDays: [.help: 2])
        #expect(custom.due(kind: .help, received: received) == date("2026-11-30"))
    }
}

@Suite struct CaseReportTests {
    func date(_ text: String) -> CivilDate { CivilDate(parsing: text)! }

    @Test func ratesFollowTheirDefinitions() {
        let policy = DeadlinePolicy()
        func item(
            _ status: CaseStatus, received: String, closed: String? = nil, kind: CaseKind = .help, level: HandlingLevel = .community,
            rating: Int? = nil
        ) -> ReportCase {
            let receivedDate = date(received)
            return ReportCase(
                status: status, kind: kind, category: "环境卫生", level: level, received: receivedDate, closed: closed.map(date),
                due: policy.due(kind: kind, received: receivedDate), rating: rating)
        }
        // Help cases are due 5 working days after receipt: 2026-11-02 (Mon) → due 2026-11-09.
        let cases = [
            item(.closed, received: "2026-11-02", closed: "2026-11-04", rating: 5),  // 2 working days, on time
            item(.closed, received: "2026-11-02", closed: "2026-11-12", level: .street, rating: 3),  // 8 days, late
            item(.closed, received: "2026-11-02", closed: "2026-11-05", rating: 4),  // 3 days, on time
            item(.handling, received: "2026-11-02"),  // open, overdue on the 26th
            item(.received, received: "2026-11-25"),  // open, not yet due
        ]
        let report = CaseReport.compute(cases, today: date("2026-11-26"), calendar: WorkCalendar())
        #expect(report.received == 5)
        #expect(report.byStatus == [.closed: 3, .handling: 1, .received: 1])
        #expect(report.completionRate == 3.0 / 5.0)
        #expect(report.onTimeRate == 2.0 / 4.0)
        #expect(report.medianWorkingDays == 3)
        #expect(report.p90WorkingDays == 7)  // between 3 and 8 at rank 1.8
        #expect(report.satisfactionRate == 2.0 / 3.0)
        #expect(report.communityRate == 2.0 / 3.0)
        #expect(CaseReport.compute([], today: date("2026-11-26"), calendar: WorkCalendar()).completionRate == nil)
    }
}
