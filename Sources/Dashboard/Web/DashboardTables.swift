import CaseDomain
import ConsoleText
import PolicyDomain
import SuggestionDomain
import SyncCore
import SyncServer

/// What one dashboard request shows: whose, which office's subtree, which period, in
/// which language — and the links that keep them.
struct DashboardScope: Sendable {
    var session: StaffSession
    var tree: OfficeTree
    var office: String
    var period: DistrictQuery.Period
    var language: Language
    var today: CivilDate
    /// Working days ahead a case counts as at risk.
    var horizon: Int
    var deadlines: DeadlinePolicy

    var communities: Set<String> { tree.communities(under: office) }
    /// The district sees records of no community (policies' conflicts) and every street.
    var isDistrict: Bool { tree.offices[office]?.level == .district }
    var streets: Set<String>? {
        switch tree.offices[office]?.level {
        case .district?: nil
        case .street?: [office]
        default: [tree.offices[office]?.parent ?? office]
        }
    }

    func text(_ zh: String, _ en: String) -> String { language == .zh ? zh : en }

    /// The query string that keeps this scope, plus `extra`.
    func query(_ extra: [(String, String)] = []) -> String {
        var parameters: [(String, String)] = [("office", office)]
        if let from = period.from { parameters.append(("from", from.description)) }
        if let to = period.to { parameters.append(("to", to.description)) }
        if language == .en { parameters.append(("lang", "en")) }
        if horizon != DashboardRoutes.defaultHorizon { parameters.append(("horizon", String(horizon))) }
        parameters += extra
        return parameters.map { FormEncoding.encode($0.0) + "=" + FormEncoding.encode($0.1) }.joined(separator: "&")
    }

    /// The cases page for `filter`.
    func casesLink(_ filter: CaseFilter, office: String? = nil) -> String {
        var scope = self
        if let office { scope.office = office }
        return "/dashboard/cases?" + scope.query(filter.parameters)
    }

    func casesLink(_ configure: (inout CaseFilter) -> Void) -> String {
        var filter = CaseFilter()
        configure(&filter)
        return casesLink(filter)
    }
}

/// The tables of the overview (each also an export), built from the figures.
struct DashboardTables {
    let scope: DashboardScope
    let report: CaseReport

    func offices() -> StatsTable {
        StatsTable(
            name: "offices", title: ("社区排行", "Offices"),
            columns: [
                .init("office", "社区代码", "office"), .init("name", "社区", "name"), .init("received", "受理", "received"),
                .init("closed", "办结", "closed"), .init("overdue", "超期", "overdue"), .init("completion_rate", "办结率", "completion"),
                .init("on_time_rate", "按时办结率", "on time"), .init("median_working_days", "时长中位数", "median days"),
                .init("satisfaction_rate", "满意率", "satisfaction"), .init("community_rate", "小事不出社区率", "within community"),
                .init("escalations", "上报", "escalated"), .init("reopen_rate", "重办率", "reopen rate"),
            ],
            rows: report.byOffice.sorted { league($0.value, $1.value, $0.key, $1.key) }.map { code, figures in
                [
                    .text(code), .text(scope.tree.name(code), link: scope.casesLink(CaseFilter(), office: code)),
                    .count(figures.received, link: scope.casesLink(CaseFilter(), office: code)),
                    .count(figures.closed, link: scope.casesLink(filter(.closed), office: code)),
                    .count(figures.overdue, link: scope.casesLink(filter(.overdue), office: code)), .rate(figures.completionRate),
                    .rate(figures.onTimeRate), .days(figures.medianWorkingDays), .rate(figures.satisfactionRate),
                    .rate(figures.communityRate), .count(figures.escalations, link: scope.casesLink(filter(.escalated), office: code)),
                    .rate(figures.reopenRate),
                ]
            })
    }

    /// The league's order: on-time rate, then completion, then code.
    private func league(_ a: CaseReport, _ b: CaseReport, _ codeA: String, _ codeB: String) -> Bool {
        let left = (a.onTimeRate ?? -1, a.completionRate ?? -1)
        let right = (b.onTimeRate ?? -1, b.completionRate ?? -1)
        return left != right ? left > right : codeA < codeB
    }

    private func filter(_ state: CaseFilter.State) -> CaseFilter {
        var filter = CaseFilter()
        filter.state = state
        return filter
    }

    func categories() -> StatsTable {
        StatsTable(
            name: "categories", title: ("类别", "Categories"),
            columns: [.init("category", "类别", "category"), .init("received", "受理", "received")],
            rows: report.byCategory.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { name, count in
                [.text(name), .count(count, link: scope.casesLink { $0.category = name })]
            })
    }

    func kinds() -> StatsTable {
        StatsTable(
            name: "kinds", title: ("类型", "Kinds"), columns: [.init("kind", "类型", "kind"), .init("received", "受理", "received")],
            rows: CaseKind.allCases.map { kind in
                [.text(kind.label(scope.language)), .count(report.byKind[kind] ?? 0, link: scope.casesLink { $0.kind = kind })]
            })
    }

    func channels() -> StatsTable {
        StatsTable(
            name: "channels", title: ("渠道", "Channels"),
            columns: [.init("channel", "渠道", "channel"), .init("received", "受理", "received")],
            rows: CaseChannel.allCases.map { channel in
                [
                    .text(channel.label(scope.language)),
                    .count(report.byChannel[channel] ?? 0, link: scope.casesLink { $0.channel = channel }),
                ]
            })
    }

    func weeks() -> StatsTable { trend(report.byWeek, name: "weeks", title: ("按周", "By week"), key: ("week", "周（周一）", "week of")) }
    func months() -> StatsTable { trend(report.byMonth, name: "months", title: ("按月", "By month"), key: ("month", "月份", "month")) }

    private func trend(
        _ trends: [String: CaseReport.Trend], name: String, title: (zh: String, en: String), key: (String, String, String)
    ) -> StatsTable {
        StatsTable(
            name: name, title: title,
            columns: [.init(key.0, key.1, key.2), .init("received", "受理", "received"), .init("closed", "办结", "closed")],
            rows: trends.sorted { $0.key < $1.key }.map { period, trend in
                let link: (CaseFilter.State) -> String = { state in
                    scope.casesLink { filter in
                        filter.state = state
                        if name == "weeks" { filter.week = period } else { filter.month = period }
                    }
                }
                return [.text(period), .count(trend.received, link: link(.all)), .count(trend.closed, link: link(.closed))]
            })
    }

    func handlingDays() -> StatsTable {
        StatsTable(
            name: "handling_days", title: ("办理时长分布（工作日）", "Handling time (working days)"),
            columns: [.init("days", "工作日", "working days"), .init("cases", "件数", "cases")],
            rows: report.handlingDays.sorted { $0.key < $1.key }.map { days, count in
                [.count(days), .count(count, link: scope.casesLink { $0.days = days })]
            })
    }

    func ratings() -> StatsTable {
        StatsTable(
            name: "ratings", title: ("评价", "Ratings"), columns: [.init("score", "分数", "score"), .init("cases", "件数", "cases")],
            rows: (1...5).map { score in [.count(score), .count(report.ratings[score] ?? 0, link: scope.casesLink { $0.rating = score })] })
    }

    func suggestions() -> StatsTable {
        StatsTable(
            name: "suggestions", title: ("建议进度", "Suggestions by stage"),
            columns: [.init("stage", "阶段", "stage"), .init("suggestions", "条数", "suggestions")],
            rows: SuggestionStage.allCases.map { stage in
                [
                    .text(stage.label(scope.language)),
                    .count(report.bySuggestionStage[stage.rawValue] ?? 0, link: scope.casesLink { $0.stage = stage.rawValue }),
                ]
            })
    }

    /// Case lines (the cases behind a figure, the action list): no personal data.
    static func cases(_ lines: [DistrictQuery.CaseLine], scope: DashboardScope, name: String, title: (zh: String, en: String))
        -> StatsTable
    {
        StatsTable(
            name: name, title: title,
            columns: [
                .init("number", "编号", "number"), .init("community", "社区", "community"), .init("kind", "类型", "kind"),
                .init("category", "类别", "category"), .init("status", "状态", "status"), .init("channel", "渠道", "channel"),
                .init("received", "受理日期", "received"), .init("due", "办结期限", "due"), .init("closed", "办结日期", "closed"),
                .init("deadline", "时限状态", "deadline"),
            ],
            rows: lines.map { line in
                let state = line.due.map { scope.deadlines.state(due: $0, today: scope.today, isClosed: line.status == .closed) }
                return [
                    .text(line.number), .text(scope.tree.name(line.community)), .text(line.kind?.label(scope.language)),
                    .text(line.category), .text(line.status.label(scope.language)), .text(line.channel.label(scope.language)),
                    .text(line.received.description), .text(line.due?.description), .text(line.closed?.description),
                    .text(state?.label(scope.language)),
                ]
            })
    }

    static func conflicts(_ conflicts: [DistrictQuery.Conflict], scope: DashboardScope) -> StatsTable {
        StatsTable(
            name: "conflicts", title: ("待人工处理的冲突", "Conflicts waiting for a person"),
            columns: [
                .init("table", "表", "table"), .init("record", "记录", "record"), .init("number", "编号", "number"),
                .init("community", "社区", "community"), .init("fields", "冲突字段数", "fields"),
            ],
            rows: conflicts.map {
                [.text($0.table), .text($0.record), .text($0.number), .text($0.community.map(scope.tree.name)), .count($0.fields)]
            })
    }

    static func replicas(_ replicas: [EnrolledReplica], scope: DashboardScope) -> StatsTable {
        StatsTable(
            name: "replicas", title: ("超过一天未同步的副本", "Replicas quiet for over a day"),
            columns: [
                .init("replica", "副本", "replica"), .init("office", "单位", "office"), .init("last_seen", "最后同步", "last synced"),
            ],
            rows: replicas.map {
                [
                    .text($0.id.rawValue), .text(scope.tree.name($0.office)),
                    .text($0.lastSeenAt.map(LocalTime.format) ?? scope.text("从未同步", "never")),
                ]
            })
    }

    static func grants(_ grants: [DistrictQuery.UnpaidGrant], scope: DashboardScope) -> StatsTable {
        StatsTable(
            name: "unpaid_grants", title: ("已批准未兑现的奖补", "Grants approved, not paid"),
            columns: [
                .init("grant", "奖补", "grant"), .init("policy", "政策", "policy"), .init("department", "部门", "department"),
                .init("street", "街道", "street"), .init("amount_fen", "金额（分）", "amount (fen)"), .init("batch", "批次", "batch"),
            ],
            rows: grants.map {
                [
                    .text($0.id), .text($0.policy), .text(scope.tree.name($0.department)), .text(scope.tree.name($0.street)),
                    .fen($0.amountFen), .text($0.batch),
                ]
            })
    }

    static func policy(_ stats: PolicyStats, scope: DashboardScope) -> [StatsTable] {
        func table(_ name: String, _ title: (zh: String, en: String), _ key: (String, String, String), _ lines: [PolicyStats.Line])
            -> StatsTable
        {
            StatsTable(
                name: name, title: title,
                columns: [
                    .init(key.0, key.1, key.2), .init("enterprises", "惠及企业", "enterprises"),
                    .init("enterprise_times", "企业人次", "enterprise-times"), .init("paid_fen", "兑现金额（分）", "paid (fen)"),
                ],
                rows: lines.map {
                    [
                        .text(key.0 == "month" ? $0.key : scope.tree.name($0.key)), .count($0.enterprises), .count($0.enterpriseTimes),
                        .fen($0.paidFen),
                    ]
                })
        }
        return [
            table("policy_departments", ("按部门兑现", "Paid by department"), ("department", "部门", "department"), stats.byDepartment),
            table("policy_streets", ("按街道兑现", "Paid by street"), ("street", "街道", "street"), stats.byStreet),
            table("policy_months", ("按月兑现", "Paid by month"), ("month", "月份", "month"), stats.byMonth),
        ]
    }
}
