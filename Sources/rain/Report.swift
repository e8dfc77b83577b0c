import ArgumentParser
import CaseDomain
import CaseStore
import ConsoleText
import Foundation
import ReplicaStore

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Figures over the cases received in a period.",
        discussion: """
            办结率 completion = closed ÷ received. 按时办结率 on time = closed by the due date ÷
            (closed + open and overdue). Handling time = working days from receipt to closing
            (median and p90). 满意率 satisfaction = ratings of 4–5 ÷ rated.
            小事不出社区率 = closed at community level ÷ closed.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "First day received (YYYY-MM-DD, inclusive).") var from: String?
    @Option(help: "Last day received (YYYY-MM-DD, inclusive).") var to: String?
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
                today: CivilDate(epochMillis: ReplicaStore.nowMillis()))
            let out = global.output
            func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
            func days(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "-" }
            if json {
                func rate(_ value: Double?) -> JSONOut.Node { value.map { .string(String(format: "%.4f", $0)) } ?? .string(nil) }
                print(
                    JSONOut.render(
                        .object([
                            ("received", .integer(Int64(report.received))),
                            ("by_status", .object(CaseStatus.allCases.map { ($0.rawValue, .integer(Int64(report.byStatus[$0] ?? 0))) })),
                            ("by_kind", .object(CaseKind.allCases.map { ($0.rawValue, .integer(Int64(report.byKind[$0] ?? 0))) })),
                            (
                                "by_category",
                                .object(report.byCategory.sorted { $0.key < $1.key }.map { ($0.key, .integer(Int64($0.value))) })
                            ),
                            ("completion_rate", rate(report.completionRate)), ("on_time_rate", rate(report.onTimeRate)),
                            ("median_working_days", rate(report.medianWorkingDays)), ("p90_working_days", rate(report.p90WorkingDays)),
                            ("satisfaction_rate", rate(report.satisfactionRate)), ("community_rate", rate(report.communityRate)),
                        ])))
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
                [out.text("指标", "measure"), out.text("数值", "value")],
                [
                    [out.text("办结率", "completion rate"), percent(report.completionRate)],
                    [out.text("按时办结率", "closed on time"), percent(report.onTimeRate)],
                    [out.text("办理时长中位数（工作日）", "median handling time (working days)"), days(report.medianWorkingDays)],
                    [out.text("办理时长 P90（工作日）", "p90 handling time (working days)"), days(report.p90WorkingDays)],
                    [out.text("满意率", "satisfaction rate"), percent(report.satisfactionRate)],
                    [out.text("小事不出社区率", "closed within the community"), percent(report.communityRate)],
                ])
        }
    }
}
