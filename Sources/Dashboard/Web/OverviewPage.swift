import CaseDomain
import DistrictStats
import PolicyDomain
import SuggestionDomain
import SyncServer

/// The overview: both platforms' headline figures, the charts, the league table and the
/// lists that need action today. Every figure links to the cases behind it.
struct OverviewPage {
    let scope: DashboardScope
    let report: CaseReport
    let policy: PolicyStats
    /// The action list's size and its first cases.
    let action: (count: Int, first: [DistrictQuery.CaseLine])
    let conflicts: [DistrictQuery.Conflict]
    let quiet: [EnrolledReplica]
    let unpaid: [DistrictQuery.UnpaidGrant]

    func render(path: String) -> String {
        let t = scope.text
        let tables = DashboardTables(scope: scope, report: report)
        var body = DashboardPage.chooser(scope, path: "/dashboard")
        body +=
            "<section id=\"headline\"><h2>\(t("民声直达", "Citizen voice")) · \(HTML.escape(scope.tree.name(scope.office)))</h2><div class=\"cards\">"
        let percent = { (value: Double?) in value.map { StatsDocument.fixed($0 * 100, decimals: 1) + "%" } ?? "-" }
        let days = { (value: Double?) in value.map { StatsDocument.fixed($0, decimals: 1) } ?? "-" }
        body += DashboardPage.card("received", t("受理", "received"), String(report.received), link: scope.casesLink(CaseFilter()))
        body += DashboardPage.card("closed", t("办结", "closed"), String(report.closed), link: scope.casesLink { $0.state = .closed })
        body += DashboardPage.card(
            "completion_rate", t("办结率", "completion rate"), percent(report.completionRate), link: scope.casesLink { $0.state = .closed })
        body += DashboardPage.card(
            "on_time_rate", t("按时办结率", "closed on time"), percent(report.onTimeRate), link: scope.casesLink { $0.state = .overdue })
        body += DashboardPage.card(
            "median_working_days", t("办理时长中位数（工作日）", "median handling days"), days(report.medianWorkingDays), link: nil)
        body += DashboardPage.card("p90_working_days", t("办理时长 P90（工作日）", "p90 handling days"), days(report.p90WorkingDays), link: nil)
        body += DashboardPage.card(
            "satisfaction_rate", t("满意率", "satisfaction"), percent(report.satisfactionRate), link: scope.casesLink { $0.state = .rated })
        body += DashboardPage.card("community_rate", t("小事不出社区率", "closed within the community"), percent(report.communityRate), link: nil)
        body += DashboardPage.card(
            "escalations", t("上报升级", "escalated"), String(report.escalations), link: scope.casesLink { $0.state = .escalated })
        body += DashboardPage.card(
            "reopen_rate", t("重办率", "reopen rate"), percent(report.reopenRate), link: scope.casesLink { $0.state = .reopened })
        body += DashboardPage.card(
            "overdue", t("超期未办结", "open and overdue"), String(report.overdue), link: scope.casesLink { $0.state = .overdue })
        body += "</div></section>"
        body += "<section id=\"policy\"><h2>\(t("政策直达", "Policy direct"))</h2><div class=\"cards\">"
        body += DashboardPage.card("policies", t("已发布政策", "policies published"), String(policy.policies), link: nil)
        body += DashboardPage.card("departments", t("发布部门", "departments"), String(policy.departments), link: nil)
        body += DashboardPage.card("enterprises", t("惠及企业", "enterprises benefited"), String(policy.enterprises), link: nil)
        body += DashboardPage.card("enterprise_times", t("企业人次", "enterprise-times"), String(policy.enterpriseTimes), link: nil)
        body += DashboardPage.card("paid", t("兑现金额", "paid"), Fen.yuanSign(policy.paidFen), link: nil)
        body += "</div></section>"
        body += "<section id=\"charts\"><div class=\"charts\">"
        let received = SVGChart.Series(name: t("受理", "received"), color: "#3a7bd5")
        let closed = SVGChart.Series(name: t("办结", "closed"), color: "#2e9e5b")
        body += SVGChart.columns(
            report.byWeek.sorted { $0.key < $1.key }.map { week, trend in
                SVGChart.Bar(
                    label: String(week.dropFirst(5)), values: [trend.received, trend.closed], link: scope.casesLink { $0.week = week })
            }, series: [received, closed], title: t("每周受理与办结", "Received and closed by week"))
        body += SVGChart.rows(
            report.byCategory.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(12).map { name, count in
                SVGChart.Bar(label: name, values: [count], link: scope.casesLink { $0.category = name })
            }, series: received, title: t("类别", "Categories"))
        body += SVGChart.columns(
            report.handlingDays.sorted { $0.key < $1.key }.map { days, count in
                SVGChart.Bar(label: String(days), values: [count], link: scope.casesLink { $0.days = days })
            }, series: [closed], title: t("办理时长分布（工作日）", "Handling time (working days)"))
        body += SVGChart.columns(
            (1...5).map { score in
                SVGChart.Bar(label: "\(score)★", values: [report.ratings[score] ?? 0], link: scope.casesLink { $0.rating = score })
            }, series: [SVGChart.Series(name: t("评价", "ratings"), color: "#e0a100")], title: t("评价分布", "Ratings"))
        body += SVGChart.rows(
            report.byOffice.sorted { ($0.value.onTimeRate ?? -1, $1.key) > ($1.value.onTimeRate ?? -1, $0.key) }.prefix(20).map {
                code, figures in
                SVGChart.Bar(
                    label: scope.tree.name(code), values: [Int(((figures.onTimeRate ?? 0) * 100).rounded())],
                    link: scope.casesLink(CaseFilter(), office: code))
            }, series: SVGChart.Series(name: "%", color: "#7b5ea7"), title: t("按时办结率排行（%）", "On time, by office (%)"))
        body += SVGChart.columns(
            SuggestionStage.allCases.map { stage in
                SVGChart.Bar(
                    label: stage.label(scope.language), values: [report.bySuggestionStage[stage.rawValue] ?? 0],
                    link: scope.casesLink { $0.stage = stage.rawValue })
            }, series: [SVGChart.Series(name: t("建议", "suggestions"), color: "#c0504d")], title: t("建议进度", "Suggestions by stage"))
        body += "</div></section>"
        body += DashboardPage.table(
            DashboardTables.cases(action.first, scope: scope, name: "action", title: ("今日待办：超期与临期案件", "Today: overdue and at-risk cases")),
            scope: scope, total: action.count)
        body += DashboardPage.table(DashboardTables.conflicts(conflicts, scope: scope), scope: scope, limit: 50)
        body += DashboardPage.table(DashboardTables.replicas(quiet, scope: scope), scope: scope, limit: 50)
        body += DashboardPage.table(DashboardTables.grants(unpaid, scope: scope), scope: scope, limit: 50)
        body += DashboardPage.table(tables.offices(), scope: scope)
        for table in [tables.categories(), tables.kinds(), tables.channels(), tables.weeks(), tables.months(), tables.suggestions()] {
            body += DashboardPage.table(table, scope: scope)
        }
        for table in DashboardTables.policy(policy, scope: scope) { body += DashboardPage.table(table, scope: scope) }
        return DashboardPage.layout(t("区级数据看板", "District dashboard"), body, scope: scope, language: scope.language, path: path)
    }
}
