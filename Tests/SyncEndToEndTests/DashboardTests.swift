import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The district's dashboard through a real `rain-server` (both backends) and the built
/// `rain`: the server's `/stats` answers the document `rain report --json` computes on a
/// district replica synced with the same data — field by field, for the district, a
/// street's subtree and a period; staff accounts, sign-in, lock-out, CSRF, the audit,
/// the lists behind the figures and the exports.
@Suite(.serialized) struct DashboardTests {
    static let day: Int64 = 86_400_000
    static let resident = "欧阳建国"
    static let phone = "13812345678"

    /// A deployment with cases of every kind of figure: received long ago and overdue,
    /// closed and rated, escalated, reopened, a suggestion, one sent online, in three
    /// communities under two streets.
    func deployment(_ backend: Backend) async throws -> (Deployment, district: String) {
        let deployment = try Deployment(backend: backend)
        for office in [
            ["JD2", "--name", "西街道", "--level", "street", "--parent", "HSD"],
            ["NQ", "--name", "南桥社区", "--level", "community", "--parent", "JD2"],
        ] {
            #expect(try deployment.server.admin(["office", "add"] + office).status == 0)
        }
        let hsd = try deployment.replica("hsd", office: "HSD", staff: "周八")
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        let xq = try deployment.replica("xq", office: "XQ", staff: "赵六")
        let nq = try deployment.replica("nq", office: "NQ", staff: "钱七")
        func new(_ db: String, _ kind: String, _ category: String, _ title: String, daysAgo: Int64 = 0) throws -> String {
            let run = try deployment.rain(
                [
                    "case", "new", "--kind", kind, "--category", category, "--title", title, "--citizen", Self.resident, "--phone",
                    Self.phone, "--json",
                ],
                db: db, environment: ["RAIN_CLOCK_OFFSET_MS": String(-daysAgo * Self.day)])
            return try #require(run.object["number"] as? String, "\(run.stderr)")
        }
        func move(_ db: String, _ arguments: [String], daysAgo: Int64 = 0) throws {
            let run = try deployment.rain(["case"] + arguments, db: db, environment: ["RAIN_CLOCK_OFFSET_MS": String(-daysAgo * Self.day)])
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
        }
        _ = try new(hsm, "complaint", "环境卫生", "楼道堆物无人清理", daysAgo: 40)  // open, overdue
        let closed = try new(hsm, "help", "社会救助", "独居老人求助", daysAgo: 30)
        for step in [["verify", closed], ["handle", closed], ["reply", closed, "--answer", "已上门"]] { try move(hsm, step, daysAgo: 28) }
        try move(hsm, ["rate", closed, "--score", "5"], daysAgo: 27)
        try move(hsm, ["close", closed], daysAgo: 26)
        let escalated = try new(hsm, "consultation", "物业管理", "物业费争议", daysAgo: 3)
        try move(hsm, ["verify", escalated])
        try move(hsm, ["escalate", escalated, "--reason", "需街道协调"])
        let reopened = try new(xq, "complaint", "城市管理", "路灯不亮", daysAgo: 12)
        for step in [["verify", reopened], ["handle", reopened], ["reply", reopened, "--answer", "已修"]] { try move(xq, step, daysAgo: 10) }
        try move(xq, ["rate", reopened, "--score", "2"], daysAgo: 9)
        try move(xq, ["close", reopened], daysAgo: 9)
        try move(xq, ["reopen", reopened, "--reason", "又坏了"], daysAgo: 8)
        _ = try new(xq, "suggestion", "交通出行", "增设公交站", daysAgo: 2)
        let far = try new(nq, "help", "医疗卫生", "就医求助", daysAgo: 5)
        for step in [["verify", far], ["handle", far], ["reply", far, "--answer", "已联系"], ["close", far]] { try move(nq, step, daysAgo: 4) }
        let posted = try await PublicHTTP.send(
            .POST, deployment.server.url + "/open311/v2/requests.json", form: PublicHTTP.submission(phone: "13700002222"))
        #expect(posted.status == 201, "\(posted.text)")
        for db in [hsm, xq, nq, hsd] { try deployment.sync(db) }
        return (deployment, hsd)
    }

    /// Adds a staff account (password on standard input) and answers its API token.
    func staff(_ deployment: Deployment, _ name: String, office: String, password: String = "一二三四五六七八九十") throws -> String {
        let added = try deployment.server.admin(["staff", "add", name, "--office", office], input: password + "\n")
        #expect(added.status == 0, "\(added.stderr)")
        let token = try deployment.server.admin(["staff", "token", name])
        #expect(token.status == 0, "\(token.stderr)")
        return token.lastLine
    }

    func stats(_ url: String, token: String?) async throws -> PublicHTTP.Answer {
        try await PublicHTTP.send(.GET, url, contentType: nil, headers: token.map { [("Authorization", "Bearer " + $0)] } ?? [])
    }

    /// Compares two statistics documents key by key (each key's value as sorted JSON).
    func expectSame(_ server: String, _ replica: String, _ what: String) throws {
        let a = try #require(try JSONSerialization.jsonObject(with: Data(server.utf8)) as? [String: Any], "\(what): \(server)")
        let b = try #require(try JSONSerialization.jsonObject(with: Data(replica.utf8)) as? [String: Any], "\(what): \(replica)")
        #expect(Set(a.keys) == Set(b.keys), "\(what): keys")
        func text(_ value: Any?) throws -> String {
            guard let value else { return "absent" }
            let data = try JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed])
            return String(decoding: data, as: UTF8.self)
        }
        for key in a.keys.sorted() { #expect(try text(a[key]) == text(b[key]), "\(what): \(key)") }
    }

    @Test(arguments: Backend.allCases) func theServersStatisticsAreRainReportsOverTheSameData(_ backend: Backend) async throws {
        let (deployment, hsd) = try await deployment(backend)
        let wang = try staff(deployment, "wang", office: "HSD")
        let li = try staff(deployment, "li", office: "JD1")
        let base = deployment.server.url

        // The district: everything.
        let server = try await stats(base + "/stats", token: wang)
        #expect(server.status == 200, "\(server.text)")
        let replica = try deployment.rain(["report", "--json"], db: hsd)
        try expectSame(server.text, replica.stdout, "district")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(server.text.utf8)) as? [String: Any])
        // The data behind the comparison holds every kind of figure (not a comparison of zeros).
        #expect(figures["received"] as? Int == 7)
        #expect(figures["overdue"] as? Int == 1 && figures["escalations"] as? Int == 1 && figures["reopened"] as? Int == 1)
        #expect((figures["by_channel"] as? [String: Int])?["online"] == 1)
        #expect((figures["suggestions_by_stage"] as? [String: Int])?["submitted"] == 1)
        #expect((figures["by_office"] as? [[String: Any]])?.compactMap { $0["office"] as? String } == ["HSM", "NQ", "XQ"])

        // The kept tallies catch up with later work: a case reassigned to another community,
        // a suggestion grouped, both written at the district — the same figures again.
        let listed = try deployment.rain(["case", "list", "--json"], db: hsd).json as? [[String: Any]] ?? []
        let waiting = try #require(
            listed.first { $0["kind"] as? String == "complaint" && $0["status"] as? String == "received" }?["number"] as? String)
        let idea = try #require(listed.first { $0["kind"] as? String == "suggestion" }?["number"] as? String)
        let reassigned = try deployment.rain(["case", "reassign", waiting, "--to", "NQ", "--reason", "属南桥社区"], db: hsd)
        #expect(reassigned.status == 0, "\(reassigned.stderr)")
        #expect(try deployment.rain(["suggestion", "group", idea, "--theme", "公交"], db: hsd).status == 0)
        try deployment.sync(hsd)
        let later = try await stats(base + "/stats", token: wang)
        try expectSame(later.text, try deployment.rain(["report", "--json"], db: hsd).stdout, "district, after a reassignment")
        let moved = try #require(try JSONSerialization.jsonObject(with: Data(later.text.utf8)) as? [String: Any])
        #expect((moved["suggestions_by_stage"] as? [String: Int])?["grouped"] == 1)
        #expect((moved["by_office"] as? [[String: Any]])?.first { $0["office"] as? String == "NQ" }?["received"] as? Int == 2)

        // A street's subtree, in a period: its own token, its communities.
        let period = try await stats(base + "/stats?office=JD1&from=\(date(-70))&to=\(date(0))", token: li)
        let street = try deployment.rain(
            ["report", "--json", "--community", "HSM", "--community", "XQ", "--from", date(-70), "--to", date(0)], db: hsd)
        #expect(period.status == 200, "\(period.text)")
        try expectSame(period.text, street.stdout, "JD1 in a period")
        let streetFigures = try #require(try JSONSerialization.jsonObject(with: Data(period.text.utf8)) as? [String: Any])
        #expect(streetFigures["received"] as? Int == 5)  // a full month, and the days either side of it

        // Without a credential 401; another street's office 403; a bad date 400.
        #expect(try await stats(base + "/stats", token: nil).status == 401)
        #expect(try await stats(base + "/stats", token: "rst_" + String(repeating: "0", count: 64)).status == 401)
        #expect(try await stats(base + "/stats?office=NQ", token: li).status == 403)
        #expect(try await stats(base + "/stats?office=JD2", token: li).status == 403)
        let bad = try await stats(base + "/stats?from=2026-02-30", token: wang)
        #expect(bad.status == 400 && bad.text.contains("from"), "\(bad.text)")
        #expect(try await stats(base + "/stats?colour=red", token: wang).status == 400)
        // The API's answers never carry the residents' data.
        #expect(!server.text.contains(Self.resident) && !server.text.contains(Self.phone))
    }

    /// The local date `days` from today, Beijing time.
    func date(_ days: Int64) -> String {
        let millis = Int64(Date().timeIntervalSince1970 * 1000) + days * Self.day + 8 * 3_600_000
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    @Test(arguments: Backend.allCases) func staffSignInWithLockOutCSRFAndAnAuditAndSeeTheCasesBehindEachFigure(_ backend: Backend)
        async throws
    {
        let (deployment, _) = try await deployment(backend)
        let server = deployment.server
        // Accounts: only the district's and the streets' staff; passwords of 10 characters or more.
        #expect(try server.admin(["staff", "add", "x", "--office", "HSM"], input: "long enough password\n").status == 2)
        #expect(try server.admin(["staff", "add", "x", "--office", "NOPE"], input: "long enough password\n").status == 3)
        #expect(try server.admin(["staff", "add", "x", "--office", "HSD"], input: "short\n").status == 2)
        #expect(try server.admin(["staff", "add", "x", "--office", "HSD"], input: "").status == 2)
        _ = try staff(deployment, "wang", office: "HSD", password: "correct horse battery")
        _ = try staff(deployment, "li", office: "JD1", password: "街道工作人员的登录密码")
        #expect(try server.admin(["staff", "add", "li", "--office", "JD1"], input: "another password\n").status == 4)
        let web = Web(base: server.url)

        // Not signed in: the sign-in page. Its form carries a token its cookie repeats.
        #expect(try await web.get("/dashboard").status == 303)
        var page = try await web.get("/dashboard/signin")
        let signInCookie = try #require(page.setCookies.first { $0.hasPrefix("rain_signin=") })
        #expect(signInCookie.contains("HttpOnly") && signInCookie.contains("SameSite=Strict"))
        // A form without the page's token (a cross-site post) is refused before any password check.
        #expect(try await web.post("/dashboard/signin", ["csrf": "forged", "name": "li", "password": "街道工作人员的登录密码"]).status == 403)
        // Five wrong passwords lock the account, even to the right one.
        for _ in 0..<4 {
            page = try await web.signIn("li", "wrong password!", from: "/dashboard/signin")
            #expect(page.status == 401 && page.text.contains("用户名或密码错误"))
        }
        _ = try await web.signIn("li", "wrong password!", from: "/dashboard/signin")
        page = try await web.signIn("li", "街道工作人员的登录密码", from: "/dashboard/signin")
        #expect(page.status == 429 && page.text.contains("锁定"), "\(page.status)")
        // Another account signs in: a session cookie, HttpOnly and SameSite (Secure only under TLS).
        page = try await web.signIn("wang", "correct horse battery", from: "/dashboard/signin")
        #expect(page.status == 303)
        let session = try #require(page.setCookies.first { $0.hasPrefix("rain_session=") })
        #expect(session.contains("HttpOnly") && session.contains("SameSite=Strict") && !session.contains("Secure"))

        // The overview: the figures are /stats's; each links to its cases.
        page = try await web.get("/dashboard")
        #expect(page.status == 200)
        let answered = try await web.get("/stats")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(answered.text.utf8)) as? [String: Any])
        #expect(page.text.contains("id=\"received\">\(figures["received"] as? Int ?? -1)<"))
        #expect(page.text.contains("id=\"overdue\">1<") && page.text.contains("<svg"))
        #expect(!page.text.contains(Self.resident) && !page.text.contains(Self.phone) && !page.text.contains("5678"))
        // The overdue figure's cases: the one received 40 days ago, masked.
        page = try await web.get("/dashboard/cases?office=HSD&state=overdue")
        #expect(page.status == 200 && page.text.contains("id=\"count\">共 1 件"), "\(page.text.prefix(300))")
        #expect(page.text.contains("环境卫生") && !page.text.contains(Self.phone) && !page.text.contains(Self.resident))
        #expect(try await web.get("/dashboard/cases?state=sideways").status == 400)

        // A reveal is a form: without the session's token it is refused; with it, audited.
        let number = try #require(page.text.firstMatch(of: /HSM-[0-9A-Z-]+/).map { String($0.0) })
        #expect(try await web.post("/dashboard/reveal", ["csrf": "x", "number": number]).status == 403)
        let overview = try await web.get("/dashboard")
        let csrf = try #require(overview.text.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) })
        page = try await web.post("/dashboard/reveal", ["csrf": csrf, "number": number])
        #expect(page.status == 200 && page.text.contains("*******5678"), "\(page.text.prefix(400))")

        // Today's action list (every day received): the overview's most urgent cases are the export's.
        let actionRows = try #require(
            try JSONSerialization.jsonObject(with: Data(try await web.get("/dashboard/export/action.json").text.utf8)) as? [[String: Any]])
        #expect(actionRows.first?["number"] as? String == number, "\(actionRows)")
        let shownAction = try await web.get("/dashboard")
        #expect(shownAction.text.contains(">\(number)<"))

        // Exports: CSV with a byte-order mark and Chinese headings; JSON keyed by column.
        let csv = try await web.get("/dashboard/export/offices.csv?office=HSD")
        #expect(csv.status == 200 && csv.bytes.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(csv.headers.first(name: "Content-Type") == "text/csv; charset=utf-8")
        #expect(String(decoding: csv.bytes.dropFirst(3), as: UTF8.self).hasPrefix("社区代码,社区,受理,办结"))
        let json = try await web.get("/dashboard/export/offices.json?office=HSD")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [[String: Any]])
        #expect(rows.compactMap { $0["office"] as? String }.sorted() == ["HSM", "NQ", "XQ"])
        #expect(try await web.get("/dashboard/export/secrets.csv").status == 404)
        let cases = try await web.get("/dashboard/export/cases.csv?office=JD1&state=overdue")
        #expect(String(decoding: cases.bytes, as: UTF8.self).contains(number))

        // A conflict waiting for a person: the same case's title changed at its community and
        // at the district before either synced.
        let hsm = deployment.scratch.file("hsm.sqlite")
        let hsd = deployment.scratch.file("hsd.sqlite")
        #expect(try deployment.rain(["case", "edit", number, "--title", "楼道堆物（社区核实）"], db: hsm).status == 0)
        #expect(try deployment.rain(["case", "edit", number, "--title", "楼道堆物（区里核实）"], db: hsd).status == 0)
        for db in [hsm, hsd] { try deployment.sync(db) }
        let conflicts = try await web.get("/dashboard/export/conflicts.json?office=HSD")
        let listed = try #require(
            try JSONSerialization.jsonObject(with: Data(conflicts.text.utf8)) as? [[String: Any]], "\(conflicts.text)")
        #expect(listed.contains { $0["number"] as? String == number && $0["table"] as? String == "cases" }, "\(listed)")
        // Replicas quiet for more than a day: the same server two days later lists all four.
        server.stop()
        try server.start(environment: ["RAIN_CLOCK_OFFSET_MS": String(2 * Self.day)])
        #expect(try await web.get("/dashboard").status == 303)  // the session lasted a working day
        #expect(try await web.signIn("wang", "correct horse battery", from: "/dashboard/signin").status == 303)
        let quiet = try await web.get("/dashboard/export/replicas.json")
        let replicas = try #require(try JSONSerialization.jsonObject(with: Data(quiet.text.utf8)) as? [[String: Any]], "\(quiet.text)")
        #expect(replicas.count == 4, "\(replicas)")
        let fresh = try await web.get("/dashboard")
        let freshToken = try #require(fresh.text.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) })

        // The audit: failures, the lock, the sign-in, the reveal, the exports — never a password.
        let audit = try server.admin(["staff", "audit", "--json"])
        let actions = (audit.json as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        for action in ["sign_in_failed", "sign_in_locked", "sign_in", "reveal", "export"] {
            #expect(actions.contains(action), "\(actions)")
        }
        #expect(!audit.stdout.contains("correct horse") && !audit.stdout.contains("wrong password"))

        // Signing out needs the form's token; after it the cookie opens nothing.
        #expect(try await web.post("/dashboard/signout", ["csrf": "x"]).status == 403)
        #expect(try await web.post("/dashboard/signout", ["csrf": csrf]).status == 403)  // the earlier session's token
        #expect(try await web.post("/dashboard/signout", ["csrf": freshToken]).status == 303)
        #expect(try await web.get("/dashboard").status == 303)
        // A removed account's token stops working at once.
        let token = try server.admin(["staff", "token", "wang"]).lastLine
        #expect(try await stats(server.url + "/stats", token: token).status == 200)
        #expect(try server.admin(["staff", "remove", "wang"]).status == 0)
        #expect(try await stats(server.url + "/stats", token: token).status == 401)
        #expect(try server.admin(["staff", "remove", "wang"]).status == 3)
    }
}

/// A client that keeps cookies and does not follow redirects, as a browser's first look.
final class Web: @unchecked Sendable {
    let base: String
    private var cookies: [String: String] = [:]

    init(base: String) { self.base = base }

    struct Page {
        let status: Int
        let bytes: [UInt8]
        let headers: HTTPHeaders
        var text: String { String(decoding: bytes, as: UTF8.self) }
        var setCookies: [String] { headers["Set-Cookie"] }
    }

    func get(_ path: String) async throws -> Page { try await send(.GET, path, body: nil) }

    func post(_ path: String, _ fields: KeyValuePairs<String, String>) async throws -> Page {
        try await send(.POST, path, body: PublicHTTP.form(fields.map { ($0.key, $0.value) }))
    }

    /// Opens the sign-in page (for its token) and posts the form.
    func signIn(_ name: String, _ password: String, from path: String) async throws -> Page {
        let form = try await get(path)
        let token = form.text.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) } ?? ""
        return try await post(path, ["csrf": token, "name": name, "password": password])
    }

    private func send(_ method: HTTPMethod, _ path: String, body: String?) async throws -> Page {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            if !cookies.isEmpty {
                request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
            }
            if let body {
                request.body = .bytes(ByteBuffer(string: body))
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            }
            let response = try await client.execute(request, timeout: .seconds(30))
            var buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
            try await client.shutdown()
            for header in response.headers["Set-Cookie"] {
                let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2 else { continue }
                if header.contains("Max-Age=0") { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
            }
            return Page(
                status: Int(response.status.code), bytes: buffer.readBytes(length: buffer.readableBytes) ?? [], headers: response.headers)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
