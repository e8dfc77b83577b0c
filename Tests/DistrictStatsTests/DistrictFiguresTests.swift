import CaseDomain
import ConsoleText
import Foundation
import PolicyDomain
import SyncCore
import SyncServer
import Testing

@testable import Dashboard
@testable import DistrictStats

/// The figures' definitions (README, "The district's dashboard"), pure: what `rain report`
/// and the server's `/stats` both compute with.
@Suite struct DistrictFiguresTests {
    func date(_ text: String) -> CivilDate { CivilDate(parsing: text)! }

    func item(
        _ status: CaseStatus, received: String, closed: String? = nil, kind: CaseKind = .help, community: String = "HSM",
        channel: CaseChannel = .counter, round: Int = 1, escalated: Bool = false, rating: Int? = nil, stage: String? = nil
    ) -> ReportCase {
        let day = date(received)
        var item = ReportCase(
            status: status, kind: kind, category: "环境卫生", level: .community, received: day, closed: closed.map(date),
            due: DeadlinePolicy().due(kind: kind, received: day), rating: rating)
        item.community = community
        item.channel = channel
        item.round = round
        item.escalated = escalated
        item.suggestionStage = stage
        return item
    }

    @Test func escalationsReopeningsChannelsTrendsAndOfficesFollowTheirDefinitions() {
        let cases = [
            item(.closed, received: "2026-11-02", closed: "2026-11-04", rating: 5),  // Monday; 2 working days
            item(.handling, received: "2026-11-03", round: 2, escalated: true),  // reopened once, escalated
            item(.replied, received: "2026-11-10", community: "XQ", channel: .online),  // the next week
            item(.received, received: "2026-11-25", kind: .suggestion, community: "XQ", channel: .enterprise, stage: "grouped"),
            item(.received, received: "2026-12-01", kind: .suggestion, stage: "submitted"),
        ]
        let report = CaseReport.compute(cases, today: date("2026-12-02"), calendar: WorkCalendar())
        #expect(report.received == 5 && report.closed == 1)
        #expect(report.escalations == 1 && report.reopened == 1)
        // Reopen rate: reopened ÷ replied at least once (closed, replied, or reopened) = 1 of 3.
        #expect(report.reopenRate == 1.0 / 3.0)
        #expect(report.byChannel == [.counter: 3, .online: 1, .enterprise: 1])
        #expect(report.bySuggestionStage == ["grouped": 1, "submitted": 1])
        #expect(report.byWeek["2026-11-02"] == CaseReport.Trend(received: 2, closed: 1))
        #expect(report.byWeek["2026-11-09"] == CaseReport.Trend(received: 1, closed: 0))
        #expect(
            report.byMonth == ["2026-11": CaseReport.Trend(received: 4, closed: 1), "2026-12": CaseReport.Trend(received: 1, closed: 0)])
        #expect(report.handlingDays == [2: 1] && report.ratings == [5: 1])
        // The handling case (help, 5 working days from 2026-11-03) and the replied one are overdue on 2026-12-02.
        #expect(report.overdue == 2)
        #expect(report.byOffice.keys.sorted() == ["HSM", "XQ"])
        #expect(report.byOffice["XQ"]?.received == 2 && report.byOffice["XQ"]?.byOffice.isEmpty == true)
        // A figure of an office is the same computation over its cases alone.
        let xq = CaseReport.compute(
            cases.filter { $0.community == "XQ" }, today: date("2026-12-02"), calendar: WorkCalendar(), breakdowns: false)
        #expect(report.byOffice["XQ"] == xq)
    }

    @Test func theDocumentHasEveryKeyAndFourDecimalRates() throws {
        let report = CaseReport.compute(
            [item(.closed, received: "2026-11-02", closed: "2026-11-05", rating: 4), item(.received, received: "2026-11-03")],
            today: date("2026-11-04"), calendar: WorkCalendar())
        let text = JSONOut.render(StatsDocument.json(report))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        for key in [
            "received", "closed", "overdue", "escalations", "reopened", "completion_rate", "on_time_rate", "median_working_days",
            "p90_working_days", "satisfaction_rate", "community_rate", "reopen_rate", "by_status", "by_kind", "by_category", "by_channel",
            "ratings", "handling_days", "suggestions_by_stage", "by_week", "by_month", "by_office",
        ] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(object["completion_rate"] as? String == "0.5000")
        #expect(object["median_working_days"] as? String == "3.0000")
        #expect(object["reopen_rate"] as? String == "0.0000")
        #expect(StatsDocument.fixed(2.0 / 3.0, decimals: 4) == "0.6667" && StatsDocument.fixed(0.00005, decimals: 4) == "0.0001")
        #expect(StatsDocument.fixed(12.5, decimals: 1) == "12.5" && StatsDocument.fixed(0, decimals: 0) == "0")
    }

    @Test func csvExportsHaveAByteOrderMarkAndNeutraliseFormulas() {
        let table = StatsTable(
            name: "t", title: ("表", "table"), columns: [.init("a", "甲", "a"), .init("b", "乙", "b"), .init("r", "率", "rate")],
            rows: [[.text("=HYPERLINK(\"x\")"), .text("a,b"), .rate(0.5)], [.text("-1"), .count(3), .rate(nil)]])
        let csv = table.csv(.zh)
        #expect(Array(csv.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: csv.dropFirst(3), as: UTF8.self)
        #expect(text == "甲,乙,率\r\n\"'=HYPERLINK(\"\"x\"\")\",\"a,b\",0.5000\r\n'-1,3,\r\n")
        #expect(String(decoding: table.csv(.en).dropFirst(3), as: UTF8.self).hasPrefix("a,b,rate\r\n"))
        #expect(table.json() == "[{\"a\":\"=HYPERLINK(\\\"x\\\")\",\"b\":\"a,b\",\"r\":\"0.5000\"},{\"a\":\"-1\",\"b\":3,\"r\":null}]")
    }

    @Test func passwordsAreScryptHashesWithTheirParameters() throws {
        let hash = try PasswordHash.make("correct horse battery", logN: 10)
        #expect(hash.hasPrefix("scrypt$10$8$1$"))
        #expect(PasswordHash.verify("correct horse battery", against: hash))
        #expect(!PasswordHash.verify("correct horse batterY", against: hash))
        #expect(try PasswordHash.make("correct horse battery", logN: 10) != hash)  // a fresh salt each time
        #expect(!PasswordHash.verify("anything", against: PasswordHash.decoy))
        #expect(!PasswordHash.verify("x", against: "plain") && !PasswordHash.verify("x", against: "scrypt$40$8$1$AA==$AA=="))
    }

    @Test func aStreetSeesItselfAndItsCommunitiesTheDistrictEverything() {
        let tree = OfficeTree([
            .init(code: "D", name: "区", level: .district, parent: nil, createdAt: 0),
            .init(code: "S1", name: "东", level: .street, parent: "D", createdAt: 0),
            .init(code: "S2", name: "西", level: .street, parent: "D", createdAt: 0),
            .init(code: "C1", name: "一", level: .community, parent: "S1", createdAt: 0),
            .init(code: "C2", name: "二", level: .community, parent: "S2", createdAt: 0),
            .init(code: "B", name: "局", level: .department, parent: "D", createdAt: 0),
        ])
        #expect(tree.communities(under: "D") == ["C1", "C2"] && tree.communities(under: "S1") == ["C1"])
        #expect(tree.communities(under: "C2") == ["C2"] && tree.communities(under: "B").isEmpty && tree.communities(under: "X").isEmpty)
        #expect(tree.may("D", see: "C2") && tree.may("S1", see: "C1") && tree.may("S1", see: "S1"))
        #expect(!tree.may("S1", see: "C2") && !tree.may("S1", see: "S2") && !tree.may("S1", see: "D") && !tree.may("S1", see: "nope"))
    }

    @Test func aFigureLinksToExactlyItsCases() {
        let calendar = WorkCalendar()
        func line(_ item: ReportCase) -> DistrictQuery.CaseLine {
            DistrictQuery.CaseLine(
                id: "x", number: "N", kind: item.kind, category: item.category, status: item.status, community: item.community,
                channel: item.channel, received: item.received, due: item.due, closed: item.closed, report: item)
        }
        let today = date("2026-12-02")
        let limit = calendar.adding(workingDays: 3, to: today)
        var filter = CaseFilter()
        filter.state = .overdue
        #expect(filter.matches(line(item(.handling, received: "2026-11-03")), today: today, riskLimit: limit, calendar: calendar))
        #expect(
            !filter.matches(
                line(item(.closed, received: "2026-11-03", closed: "2026-11-30")), today: today, riskLimit: limit, calendar: calendar))
        filter.state = .atRisk  // help: due 5 working days later; 2026-11-27 + 5 = 2026-12-04, within 3 working days of the 2nd
        #expect(filter.matches(line(item(.received, received: "2026-11-27")), today: today, riskLimit: limit, calendar: calendar))
        #expect(!filter.matches(line(item(.received, received: "2026-12-01")), today: today, riskLimit: limit, calendar: calendar))
        filter = CaseFilter()
        filter.days = 2
        #expect(
            filter.matches(
                line(item(.closed, received: "2026-11-02", closed: "2026-11-04")), today: today, riskLimit: limit, calendar: calendar))
        filter.week = "2026-11-02"
        #expect(
            filter.matches(
                line(item(.closed, received: "2026-11-06", closed: "2026-11-10")), today: today, riskLimit: limit, calendar: calendar))
        #expect(filter.parameters.map(\.0) == ["week", "days"])
    }

    @Test func chartsEscapeWhatTheyShow() {
        let svg = SVGChart.rows(
            [.init(label: "<script>", values: [3], link: "/dashboard/cases?category=a&b")], series: .init(name: "n", color: "#000"),
            title: "t")
        #expect(!svg.contains("<script>") && svg.contains("&lt;script&gt;") && svg.contains("category=a&amp;b"))
    }
}

/// The session cookie's attributes, under plain HTTP and under TLS.
@Suite struct DashboardCookieTests {
    @Test func theSessionCookieIsHttpOnlySameSiteAndSecureUnderTLS() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-cookie-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storage = try SQLiteCentralStorage.open(at: folder + "/central.sqlite")
        defer { storage.close() }
        func handlers(secure: Bool) -> DashboardHandlers {
            DashboardHandlers(
                accounts: StaffAccounts(storage: storage), query: DistrictQuery(storage: storage, deadlines: DeadlinePolicy()),
                settings: DashboardSettings(secure: secure))
        }
        let plain = handlers(secure: false).cookie("rain_session", "v", path: "/", maxAge: 60)
        #expect(plain == "rain_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict")
        let tls = handlers(secure: true).cookie("rain_session", "v", path: "/", maxAge: 60)
        #expect(tls == "rain_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure")
    }
}

/// The action list of grants approved and unpaid, on a real server database's read model.
@Suite struct UnpaidGrantTests {
    @Test func approvedUnpaidGrantsAreListedByStreetAndNothingElse() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-grants-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storage = try SQLiteCentralStorage.open(at: folder + "/central.sqlite", kinds: [CaseRecords.kind, PolicyRecords.kind])
        defer { storage.close() }
        // As the merge leaves them: one approved and unpaid per street, one paid, one
        // rejected, one still at confirmation.
        let grants: [(String, String, String, Value, Value)] = [
            ("g1", "S1", "approved", .null, .null), ("g2", "S2", "approved", .null, .null), ("g3", "S1", "approved", .text("PAY-1"), .null),
            ("g4", "S1", "approved", .null, .text("不符合条件")), ("g5", "S1", "confirmed", .null, .null),
        ]
        _ = try storage.execute(
            grants.map { id, street, stage, payment, rejection in
                ServerSQL(
                    "INSERT INTO grant_view (id, updated_at, policy, department, street, stage, amount_fen, payment, rejection) VALUES (?, 0, 'P1', 'FGW', ?, ?, 500000, ?, ?)",
                    [.text(id), .text(street), .text(stage), payment, rejection])
            })
        let query = DistrictQuery(storage: storage, deadlines: DeadlinePolicy())
        #expect(try await query.unpaidGrants(streets: nil).map(\.id) == ["g1", "g2"])
        let s1 = try await query.unpaidGrants(streets: ["S1"])
        #expect(s1.map(\.id) == ["g1"] && s1.first?.amountFen == 500_000)
    }
}
