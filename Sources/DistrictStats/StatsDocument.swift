public import CaseDomain
public import ConsoleText
import SuggestionDomain

/// The statistics document (`rain report --json` and the server's `GET /stats`): one
/// rendering of ``CaseReport`` so that both answer the same keys with the same values.
///
/// Rates are strings with four decimals (`"0.8125"`) so that two computations compare
/// exactly; an undefined rate (nothing to divide by) is `null`.
public enum StatsDocument {
    /// The document for `report`.
    public static func json(_ report: CaseReport) -> JSONOut.Node {
        var members = figures(report)
        members += [
            ("by_status", .object(CaseStatus.allCases.map { ($0.rawValue, count(report.byStatus[$0])) })),
            ("by_kind", .object(CaseKind.allCases.map { ($0.rawValue, count(report.byKind[$0])) })),
            ("by_category", .object(report.byCategory.sorted { $0.key < $1.key }.map { ($0.key, count($0.value)) })),
            ("by_channel", .object(CaseChannel.allCases.map { ($0.rawValue, count(report.byChannel[$0])) })),
            ("ratings", .object((1...5).map { (String($0), count(report.ratings[$0])) })),
            (
                "handling_days",
                .array(
                    report.handlingDays.sorted { $0.key < $1.key }.map { .object([("days", count($0.key)), ("cases", count($0.value))]) })
            ),
            ("suggestions_by_stage", .object(SuggestionStage.allCases.map { ($0.rawValue, count(report.bySuggestionStage[$0.rawValue])) })),
            ("by_week", trends(report.byWeek, key: "week")),
            ("by_month", trends(report.byMonth, key: "month")),
            (
                "by_office",
                .array(report.byOffice.sorted { $0.key < $1.key }.map { .object([("office", .string($0.key))] + figures($0.value)) })
            ),
        ]
        return .object(members)
    }

    /// The headline figures, also each office's.
    static func figures(_ report: CaseReport) -> [(String, JSONOut.Node)] {
        [
            ("received", count(report.received)), ("closed", count(report.closed)), ("overdue", count(report.overdue)),
            ("escalations", count(report.escalations)), ("reopened", count(report.reopened)),
            ("completion_rate", rate(report.completionRate)), ("on_time_rate", rate(report.onTimeRate)),
            ("median_working_days", rate(report.medianWorkingDays)), ("p90_working_days", rate(report.p90WorkingDays)),
            ("satisfaction_rate", rate(report.satisfactionRate)), ("community_rate", rate(report.communityRate)),
            ("reopen_rate", rate(report.reopenRate)),
        ]
    }

    static func trends(_ trends: [String: CaseReport.Trend], key: String) -> JSONOut.Node {
        .array(
            trends.sorted { $0.key < $1.key }.map {
                .object([(key, .string($0.key)), ("received", count($0.value.received)), ("closed", count($0.value.closed))])
            })
    }

    static func count(_ value: Int?) -> JSONOut.Node { .integer(Int64(value ?? 0)) }

    /// A rate or a number of days as the document writes it: four decimals.
    public static func rate(_ value: Double?) -> JSONOut.Node {
        guard let value else { return .string(nil) }
        return .string(fixed(value, decimals: 4))
    }

    /// `value` with `decimals` digits after the point, rounded half away from zero (no
    /// Foundation: the same text on every platform).
    public static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        fraction = String(repeating: "0", count: max(0, decimals - fraction.count)) + fraction
        return (value < 0 && scaled != 0 ? "-" : "") + String(whole) + (decimals > 0 ? "." + fraction : "")
    }
}
