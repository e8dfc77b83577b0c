import Foundation
import Testing

/// The dashboard in a real browser (headless Chromium from Debian, driven by Selenium from
/// `Tests/Browser/dashboard.py`): a staff member signs in, reads the overview, follows the
/// overdue figure to its cases and downloads the league table as CSV. The figures shown
/// are those `rain report --json` computes on the district's replica synced with the same
/// data. Screenshots go to `.build/screenshots/dashboard` (or `$RAIN_SCREENSHOTS`).
@Suite(.serialized) struct DashboardBrowserTests {
    static var screenshots: String {
        ProcessInfo.processInfo.environment["RAIN_SCREENSHOTS"].flatMap { $0.isEmpty ? nil : $0 + "/dashboard" }
            ?? ResidentPageTests.packageRoot + "/.build/screenshots/dashboard"
    }

    /// A rate of the document as the page shows it (`0.6667` → `66.7%`).
    func percent(_ value: Any?) -> String {
        guard let text = value as? String, let rate = Double(text) else { return "-" }
        return String(format: "%.1f%%", rate * 100)
    }

    func days(_ value: Any?) -> String {
        guard let text = value as? String, let days = Double(text) else { return "-" }
        return String(format: "%.1f", days)
    }

    @Test func staffSignInReadTheFiguresFollowOneToItsCasesAndDownloadACSV() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(
                FileManager.default.isExecutableFile(atPath: tool),
                "\(tool) is missing: apt-get install chromium chromium-driver fonts-wqy-microhei")
        }
        let (deployment, hsd) = try await DashboardTests().deployment(.sqlite)
        _ = try DashboardTests().staff(deployment, "wang", office: "HSD", password: "correct horse battery")
        let report = try #require(try deployment.rain(["report", "--json"], db: hsd).json as? [String: Any])
        let run = try execute(
            try ResidentPageTests.python(),
            [
                ResidentPageTests.packageRoot + "/Tests/Browser/dashboard.py", deployment.server.url, Self.screenshots, "--name", "wang",
                "--password", "correct horse battery",
            ], in: ResidentPageTests.packageRoot)
        let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let page = try #require(
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any], "\(line)\n\(run.stderr.suffix(3_000))")
        #expect(run.status == 0, "\(run.stderr.suffix(3_000))")
        #expect((page["signin_url"] as? String)?.hasSuffix("/dashboard/signin") == true)
        #expect((page["overview_url"] as? String)?.hasSuffix("/dashboard") == true)
        #expect(page["title"] as? String == "区级数据看板" && page["overflow"] as? Bool == false)
        #expect((page["charts"] as? Int ?? 0) >= 5)

        // The figures shown are rain report's.
        let shown = try #require(page["figures"] as? [String: String])
        for key in ["received", "closed", "overdue", "escalations"] {
            #expect(shown[key] == String(report[key] as? Int ?? -1), "\(key)")
        }
        for key in ["completion_rate", "on_time_rate", "satisfaction_rate", "community_rate", "reopen_rate"] {
            #expect(shown[key] == percent(report[key]), "\(key): \(shown[key] ?? "") vs \(report[key] ?? "")")
        }
        for key in ["median_working_days", "p90_working_days"] { #expect(shown[key] == days(report[key]), "\(key)") }
        #expect(shown["paid"] == "¥0.00" && shown["policies"] == "0")

        // The overdue figure's cases: one, masked (no resident's name or phone).
        #expect(page["overdue_cases"] as? String == "共 \(report["overdue"] as? Int ?? -1) 件")
        #expect(page["overdue_rows"] as? Int == report["overdue"] as? Int)
        let cases = page["cases_text"] as? String ?? ""
        #expect(cases.contains("环境卫生") && !cases.contains(DashboardTests.resident) && !cases.contains(DashboardTests.phone))

        // The CSV downloaded: a byte-order mark, Chinese headings, one line per community.
        #expect(page["csv_bom"] as? Bool == true, "\(page["csv_file"] ?? "no file")")
        let csv = page["csv"] as? String ?? ""
        #expect(csv.hasPrefix("社区代码,社区,受理,办结"))
        #expect(csv.split(separator: "\r\n").count == 4, "\(csv)")
        #expect(page["english_label"] as? String == "Citizen voice · 和盛区")
        #expect(page["print_hides_forms"] as? Bool == true)
        for case let path as String in page["screenshots"] as? [Any] ?? [] {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(size > 5_000, "screenshot \(path)")
        }
    }
}
