import Foundation
import Testing

/// The residents' mobile page in a real browser (Debian's chromium through chromedriver,
/// driven by Selenium from `Tests/Browser/residents_page.py`, 375 px wide), and a
/// third-party GeoReport v2 client library (civicbot, from PyPI) against the API, unchanged.
///
/// Python packages come from `.build/residents-venv` (`.ci/run` makes it; this suite makes
/// it when missing). Screenshots of each step go to `.build/screenshots/residents` (or
/// `$RAIN_SCREENSHOTS`): not committed. Without chromium, chromedriver or PyPI the tests
/// fail, saying what to install.
@Suite(.serialized) struct ResidentPageTests {
    static let packages = ["selenium==4.27.1", "civicbot==0.4.0"]

    static var packageRoot: String {
        var folder = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { folder.deleteLastPathComponent() }
        return folder.path
    }

    /// The venv's python, made when missing.
    static func python() throws -> String {
        let venv = packageRoot + "/.build/residents-venv"
        let python = venv + "/bin/python3"
        let probe = try? execute(python, ["-c", "import selenium, civicbot"], in: packageRoot)
        if probe?.status == 0 { return python }
        let install = try execute(
            "/bin/sh",
            ["-c", "python3 -m venv '\(venv)' && '\(venv)/bin/pip' install -q " + packages.map { "'\($0)'" }.joined(separator: " ")],
            in: packageRoot)
        try #require(
            install.status == 0,
            """
            cannot install \(packages.joined(separator: ", ")): \(install.stderr.suffix(2_000))
            install them with: python3 -m venv .build/residents-venv && .build/residents-venv/bin/pip install \(packages.joined(separator: " "))
            """)
        return python
    }

    static var screenshots: String {
        ProcessInfo.processInfo.environment["RAIN_SCREENSHOTS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? packageRoot + "/.build/screenshots/residents"
    }

    /// One step of the page script; its JSON line.
    func page(_ arguments: [String]) throws -> [String: Any] {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(
                FileManager.default.isExecutableFile(atPath: tool),
                "\(tool) is missing: apt-get install chromium chromium-driver fonts-wqy-microhei")
        }
        let run = try execute(try Self.python(), [Self.packageRoot + "/Tests/Browser/residents_page.py"] + arguments, in: Self.packageRoot)
        let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        try #require(
            run.status == 0 && object["ok"] as? Bool == true, "page step \(arguments.first ?? ""): \(line)\n\(run.stderr.suffix(3_000))")
        return object
    }

    @Test func aRequestSubmittedInThePageIsAnsweredAndRatedThroughTheOffice() throws {
        let deployment = try Deployment()
        let url = deployment.server.url
        let office = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        let out = Self.screenshots
        try? FileManager.default.removeItem(atPath: out)

        // 1–3: the home page, a wrong phone (the error, the text kept), then sent.
        let submitted = try page(["submit", url, out, "--community", "HSM", "--phone", "13712345678"])
        let number = try #require(submitted["number"] as? String)
        #expect(number.hasPrefix("HSM-"))
        #expect((submitted["error_shown"] as? String)?.contains("手机号") == true)
        #expect((submitted["kept_description"] as? String)?.contains("垃圾桶") == true)
        let facts = try #require(submitted["facts"] as? [String: Any])
        #expect(facts["scrollWidth"] as? Int ?? 999 <= 375, "the page is wider than a 375-px screen: \(facts)")
        #expect(facts["scripts"] as? Int == 0 && (facts["foreign"] as? [Any])?.isEmpty == true, "\(facts)")
        #expect((facts["unlabeled"] as? [Any])?.isEmpty == true, "fields without a label: \(facts)")
        #expect(facts["lang"] as? String == "zh-CN")

        // At the office after its sync; staff reply and close.
        _ = try deployment.sync(office)
        let online = try deployment.rain(["case", "list", "--source", "online", "--json"], db: office)
        #expect((online.json as? [[String: Any]])?.first?["number"] as? String == number)
        let answer = "已通知环卫，今天下午清运"
        for step in [["verify", number], ["handle", number], ["reply", number, "--answer", answer], ["close", number]] {
            #expect(try deployment.rain(["case"] + step, db: office).status == 0)
        }
        _ = try deployment.sync(office)

        // 4–5: the page shows the answer; the resident rates.
        let followed = try page(["follow", url, out, "--number", number, "--tail", "5678", "--answer", answer, "--score", "5"])
        #expect(followed["answer"] as? String == answer)
        #expect(followed["status"] as? String == "已办结")
        #expect((followed["timeline"] as? String)?.contains("答复") == true)
        #expect((followed["notice"] as? String)?.contains("谢谢") == true)
        #expect((followed["rating"] as? String)?.contains("5") == true)
        #expect(followed["rate_forms_after"] as? Int == 0, "rated once: the form is gone")

        // 6–7: English; a wrong phone tail.
        let checks = try page(["checks", url, out, "--number", number])
        let english = try #require(checks["english"] as? [String: Any])
        #expect(english["heading"] as? String == "Citizen Voice" && english["lang"] as? String == "en")
        #expect(
            (checks["wrong_tail"] as? String)?.contains("phone_tail") == true
                || (checks["wrong_tail"] as? String)?.contains("last four") == true)

        // The rating arrives at the office as if staff had recorded it.
        _ = try deployment.sync(office)
        let shown = try #require(try deployment.rain(["case", "show", number, "--json"], db: office).json as? [String: Any])
        #expect((shown["case"] as? [String: Any])?["rating"] as? Int == 5)
        let text = try deployment.rain(["case", "show", number], db: office).stdout
        #expect(text.contains("居民（网上）") && text.contains("处理很及时"))
        for name in ["1-home", "2-phone-error", "3-submitted", "4-answered", "5-rated", "6-english", "7-wrong-tail"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: out + "/\(name).png")[.size] as? Int) ?? 0
            #expect(size > 5_000, "screenshot \(name).png")
        }
        #expect(!deployment.server.log.contains("13712345678") && !deployment.server.log.contains("王芳"))
    }

    @Test func aThirdPartyGeoReportClientWorksUnchanged() throws {
        let deployment = try Deployment()
        let office = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        let run = try execute(
            try Self.python(),
            [Self.packageRoot + "/Tests/Browser/open311_client.py", deployment.server.url + "/open311/v2/", "HSM", "13898765432"],
            in: Self.packageRoot)
        let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        try #require(run.status == 0 && object["ok"] as? Bool == true, "civicbot: \(line)\n\(run.stderr.suffix(3_000))")
        let id = try #require(object["id"] as? String)
        #expect(object["services"] as? Int == 40)
        #expect((object["fetched"] as? [String: Any])?["service_request_id"] as? String == id)
        #expect(((object["several"] as? [[String: Any]])?.first)?["status"] as? String == "open")
        _ = try deployment.sync(office)
        let listed = try #require(try deployment.rain(["case", "list", "--json"], db: office).json as? [[String: Any]])
        #expect(listed.first?["number"] as? String == id && listed.first?["kind"] as? String == "help")
        #expect(try deployment.show(id, office, reveal: true).contains("13898765432"))
    }
}
