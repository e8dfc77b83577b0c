import ArgumentParser
import CaseDomain
import CaseStore
import ConsoleText
import DistrictStats
import Foundation
import ReplicaStore

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Figures over the cases received in a period.",
        discussion: """
            办结率 completion = closed ÷ received. 按时办结率 on time = closed by the due date ÷
            (closed + open and overdue). Handling time = working days from receipt to closing
            (median and p90). 满意率 satisfaction = ratings of 4–5 ÷ rated.
            小事不出社区率 = closed at community level ÷ closed. 重办率 reopen rate = reopened ÷
            replied at least once. --json prints the statistics document the server's
            GET /stats answers (README, "The district's dashboard").
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "First day received (YYYY-MM-DD, inclusive).") var from: String?
    @Option(help: "Last day received (YYYY-MM-DD, inclusive).") var to: String?
    @Option(help: "Only cases of this community (repeatable; a street's subtree: its communities).") var community: [String] = []
    @Flag(help: "Print as JSON.") var json = false

    func validate() throws {
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, CivilDate(parsing: value) == nil {
                throw ValidationError("\(name) must be a date such as 2026-11-26, not '\(value)'")
            }
        }
    }

    func run() throws {
        try running(global) {
            let store = try global.open()
            let report = try store.report(
                from: from.flatMap(CivilDate.init(parsing:)), to: to.flatMap(CivilDate.init(parsing:)),
                communities: community.isEmpty ? nil : Set(community),
                today: CivilDate(epochMillis: ReplicaStore.nowMillis()))
            let out = global.output
            func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
            func days(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "-" }
            if json {
                print(JSONOut.render(StatsDocument.json(report)))
                return
            }
            print(out.bold(out.text("受理 \(report.received) 件", "\(report.received) cases received")))
            out.table(
                [out.text("状态", "status"), out.text("件数", "cases")],
                CaseStatus.allCases.map { [$0.label(out.language), String(report.byStatus[$0] ?? 0)] })
            print("")
            out.table(
                [out.text("类型", "kind"), out.text("件数", "cases")],
                CaseKind.allCases.map { [$0.label(out.language), String(report.byKind[$0] ?? 0)] })
            print("")
            out.table(
                [out.text("类别", "category"), out.text("件数", "cases")],
                report.byCategory.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map {
                    [$0.key, String($0.value)]
                })
            print("")
            out.table(
                [out.text("渠道", "channel"), out.text("件数", "cases")],
                CaseChannel.allCases.map { [$0.label(out.language), String(report.byChannel[$0] ?? 0)] })
            print("")
            out.table(
                [out.text("指标", "measure"), out.text("数值", "value")],
                [
                    [out.text("办结率", "completion rate"), percent(report.completionRate)],
                    [out.text("按时办结率", "closed on time"), percent(report.onTimeRate)],
                    [out.text("办理时长中位数（工作日）", "median handling time (working days)"), days(report.medianWorkingDays)],
                    [out.text("办理时长 P90（工作日）", "p90 handling time (working days)"), days(report.p90WorkingDays)],
                    [out.text("满意率", "satisfaction rate"), percent(report.satisfactionRate)],
                    [out.text("小事不出社区率", "closed within the community"), percent(report.communityRate)],
                    [out.text("超期未办结", "open and overdue"), String(report.overdue)],
                    [out.text("上报升级", "escalated"), String(report.escalations)],
                    [out.text("重办率", "reopen rate"), percent(report.reopenRate)],
                ])
        }
    }
}
