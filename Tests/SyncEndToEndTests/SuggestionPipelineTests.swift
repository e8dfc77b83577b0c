import Foundation
import GRDB
import NIOHTTP1
import TestSupport
import Testing

/// Suggestions (建言献策) through a real `rain-server` (both backends) and the built `rain`:
/// a campaign reaches every office, suggestions from two communities and one sent online
/// are found alike at the district, grouped, argued by a department that never holds the
/// residents' data, selected, published on `GET /ideas` and the public page, rewarded,
/// adopted — and each suggester follows every step through the residents' follow-up.
@Suite(.serialized) struct SuggestionPipelineTests {
    static let phone = "13812341234"
    static let name = "欧阳建国"

    func list(_ run: Run) -> [[String: Any]] { run.json as? [[String: Any]] ?? [] }

    func stage(_ number: String, _ db: String, _ deployment: Deployment) throws -> String? {
        list(try deployment.rain(["suggestion", "list", "--json"], db: db)).first { $0["number"] as? String == number }?["stage"] as? String
    }

    @Test(arguments: Backend.allCases) func aSuggestionGoesFromTheCounterToAPublishedRewardedGoldenIdea(_ backend: Backend) async throws {
        let deployment = try Deployment(backend: backend)
        #expect(
            try deployment.server.admin(["office", "add", "JTJ", "--name", "交通局", "--level", "department", "--parent", "HSD"]).status == 0)
        let hsd = try deployment.replica("hsd", office: "HSD", staff: "周八")
        let jd1 = try deployment.replica("jd1", office: "JD1", staff: "王五")
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        let xq = try deployment.replica("xq", office: "XQ", staff: "赵六")
        let jtj = try deployment.replica("jtj", office: "JTJ", staff: "郑九")
        let base = deployment.server.url

        // A campaign: the district's; a community may not set one up.
        #expect(
            try deployment.rain(["campaign", "new", "X", "--theme", "t", "--from", "2026-01-01", "--to", "2030-12-31"], db: hsm).status == 2
        )
        let campaign = try deployment.rain(
            ["campaign", "new", "献策2026", "--theme", "我为雨花献一策", "--from", "2026-01-01", "--to", "2030-12-31", "--json"], db: hsd)
        #expect(campaign.status == 0 && campaign.object["status"] as? String == "open", "\(campaign.stderr)")
        for db in [hsd, hsm, xq, jtj] { try deployment.sync(db) }
        #expect(list(try deployment.rain(["campaign", "list", "--json"], db: xq)).map { $0["code"] as? String } == ["献策2026"])

        // Two communities record the same idea at the counter, in the campaign; one resident sends it online.
        let a = try #require(
            try deployment.rain(
                [
                    "case", "new", "--kind", "suggestion", "--category", "交通出行", "--title", "小区门口增设红绿灯", "--citizen", Self.name,
                    "--phone", Self.phone, "--address", "和平路88号3栋2单元501室", "--campaign", "献策2026",
                    "--description", "孩子上学过马路危险，建议在小区门口装红绿灯", "--json",
                ], db: hsm
            ).object["number"] as? String)
        let b = try #require(
            try deployment.rain(
                [
                    "case", "new", "--kind", "suggestion", "--category", "交通出行", "--title", "建议小区门口装红绿灯", "--phone", "13900001111",
                    "--address", "和平路88号三栋二单元五〇一", "--campaign", "献策2026", "--json",
                ], db: xq
            ).object["number"] as? String)
        let posted = try await PublicHTTP.send(
            .POST, base + "/open311/v2/requests.json",
            form: PublicHTTP.submission(
                phone: "13700002222", [("service_code", "suggestion-9"), ("description", "小区门口应该增设红绿灯"), ("address_string", "和平路90号")]))
        #expect(posted.status == 201, "\(posted.text)")
        let c = try #require(posted.first["service_request_id"] as? String)
        #expect(try stage(a, hsm, deployment) == "submitted")
        for db in [hsm, xq, jd1, hsd] { try deployment.sync(db) }
        // The online one, written by the server as a case only, is listed at stage submitted.
        #expect(try stage(c, hsd, deployment) == "submitted")

        // The district sees the three alike; a community sees only its own.
        let similar = list(try deployment.rain(["suggestion", "similar", a, "--json"], db: hsd))
        let reasons = Dictionary(uniqueKeysWithValues: similar.map { ($0["number"] as? String ?? "", $0["reasons"] as? [String] ?? []) })
        #expect(Set(reasons.keys) == [b, c], "\(similar)")
        #expect(reasons[b]?.contains("same_place") == true && reasons[b]?.contains("similar_text") == true, "\(reasons)")
        // HSM's replica holds its own two (the online one went to HSM), not XQ's.
        #expect(list(try deployment.rain(["case", "similar", a, "--json"], db: hsm)).compactMap { $0["number"] as? String } == [c])
        // A person links the duplicate: the link syncs to the other community; both cases stay.
        #expect(try deployment.rain(["case", "link", a, b], db: hsd).status == 0)
        for db in [hsd, xq] { try deployment.sync(db) }
        #expect(try count(xq, "SELECT count(*) FROM case_links WHERE state = 'linked'") == 1)
        #expect(try count(xq, "SELECT count(*) FROM cases") == 1)

        // Grouped and classified; sent to the traffic department for argument.
        let grouped = try deployment.rain(["suggestion", "group", "--theme", "交通安全", a, b, c, "--json"], db: hsd)
        #expect(grouped.status == 0 && list(grouped).allSatisfy { $0["stage"] as? String == "grouped" }, "\(grouped.stderr)")
        // Selecting before any argument is refused, naming the legal moves.
        let early = try deployment.rain(["suggestion", "select", a], db: hsd)
        #expect(early.status == 4 && early.stderr.contains("argue") && early.stderr.contains("reject"), "\(early.stderr)")
        #expect(try deployment.rain(["suggestion", "argue", a, "--department", "JTJ"], db: hsd).status == 0)
        for db in [hsd, jtj] { try deployment.sync(db) }
        // The department reads the suggestion — never the resident.
        #expect(try stage(a, jtj, deployment) == "arguing")
        #expect(try count(jtj, "SELECT count(*) FROM cases") == 0)
        let residue = try FileResidue(of: jtj)
        for item in [Self.phone, Self.name, "和平路88号"] { #expect(!residue.contains(item), "the department holds \(item)") }
        // Two reviewers score it offline; both opinions count.
        #expect(
            try deployment.rain(
                ["suggestion", "review", a, "--value", "5", "--feasibility", "4", "--cost", "3", "--text", "价值高，明年可实施"], db: jtj
            ).status == 0)
        #expect(
            try deployment.rain(["suggestion", "review", a, "--value", "3", "--feasibility", "4", "--cost", "5", "--text", "成本低"], db: hsd)
                .status == 0)
        // A community may not select: refused locally, before anything is written.
        let community = try deployment.rain(["suggestion", "select", a], db: hsm)
        #expect(community.status == 2 && community.stderr.contains("only the district"), "\(community.stderr)")
        for db in [jtj, hsd, hsm] { try deployment.sync(db) }
        let shown = try deployment.rain(["suggestion", "show", a, "--json"], db: hsd)
        #expect((shown.object["reviews"] as? [Any])?.count == 2, "\(shown.stdout)")
        #expect((shown.object["average"] as? [String: Any])?["value"] as? String == "4.0")

        // Nothing is public before publication.
        #expect(try await PublicHTTP.send(.GET, base + "/ideas").list.isEmpty)
        #expect(try deployment.rain(["suggestion", "select", a, "--note", "入选"], db: hsd).status == 0)
        #expect(try deployment.rain(["suggestion", "reject", b, "--reason", "已与同类建议合并办理"], db: hsd).status == 0)
        // A published text with personal data is refused.
        let leaky = try deployment.rain(["suggestion", "publish", a, "--title", "门口红绿灯", "--text", "由\(Self.name)提出"], db: hsd)
        #expect(leaky.status == 2 && !leaky.stderr.contains(Self.name), "\(leaky.stderr)")
        #expect(
            try deployment.rain(["suggestion", "publish", a, "--title", "小区门口增设红绿灯", "--text", "在小区出入口增设信号灯，保障学生过街安全"], db: hsd)
                .status == 0)
        try deployment.sync(hsd)
        var ideas = try await PublicHTTP.send(.GET, base + "/ideas")
        #expect(ideas.status == 200 && ideas.list.count == 1, "\(ideas.text)")
        #expect(ideas.first["title"] as? String == "小区门口增设红绿灯" && ideas.first["office"] as? String == "和盛社区")
        #expect(ideas.first["stage"] as? String == "published" && ideas.first["adopted"] as? Bool == false)
        // Nothing but what the district wrote: not the case's number (half the follow-up's key).
        for item in [Self.phone, Self.name, "和平路", "孩子上学", a, b, c] { #expect(!ideas.text.contains(item), "\(item) in /ideas") }
        #expect(try await PublicHTTP.send(.POST, base + "/ideas").status == 405)

        // Rewarded and adopted: the public list says so.
        #expect(
            try deployment.rain(["suggestion", "reward", a, "--kind", "money", "--fen", "50000", "--note", "金点子奖"], db: hsd).status == 0)
        #expect(try deployment.rain(["suggestion", "adopt", a, "--note", "纳入明年计划"], db: hsd).status == 0)
        try deployment.sync(hsd)
        ideas = try await PublicHTTP.send(.GET, base + "/ideas")
        #expect(ideas.first["reward_fen"] as? Int == 50000 && ideas.first["adopted"] as? Bool == true, "\(ideas.text)")
        let home = try await PublicHTTP.send(.GET, base + "/")
        #expect(home.text.contains("金点子公示") && home.text.contains("小区门口增设红绿灯") && home.text.contains("¥500.00"))

        // Each suggester hears every step: the selected one, the one not selected (with the reason).
        let followed = try await PublicHTTP.send(.GET, base + "/open311/v2/requests/\(a).json?phone_tail=1234")
        let progress = try #require(followed.first["suggestion"] as? [String: Any], "\(followed.text)")
        #expect(progress["stage"] as? String == "adopted")
        #expect(
            (progress["steps"] as? [[String: Any]])?.compactMap { $0["type"] as? String } == [
                "grouped", "arguing", "selected", "published", "rewarded", "adopted",
            ])
        #expect(progress["reward_fen"] as? Int == 50000)
        let anonymous = try await PublicHTTP.send(.GET, base + "/open311/v2/requests/\(a).json")
        #expect(anonymous.first["suggestion"] == nil, "only the suggester sees the progress")
        let other = try await PublicHTTP.send(.GET, base + "/open311/v2/requests/\(b).json?phone_tail=1111")
        let refused = try #require(other.first["suggestion"] as? [String: Any], "\(other.text)")
        #expect(refused["stage"] as? String == "not_selected" && refused["reason"] as? String == "已与同类建议合并办理")
        let page = try await PublicHTTP.send(.POST, base + "/follow", form: [("number", b), ("tail", "1111")])
        #expect(page.text.contains("未入选") && page.text.contains("已与同类建议合并办理"), "\(page.text)")
        // The community's own listing and show tell the same.
        for db in [hsm, xq] { try deployment.sync(db) }
        #expect(try stage(a, hsm, deployment) == "adopted")
        let told = try deployment.rain(["suggestion", "show", b, "--json"], db: xq)
        #expect((told.object["steps"] as? [[String: Any]])?.last?["text"] as? String == "已与同类建议合并办理")

        // The campaign's figures by office and theme.
        let figures = try deployment.rain(["campaign", "figures", "献策2026", "--json"], db: hsd)
        let total = try #require(figures.object["total"] as? [String: Any], "\(figures.stdout)")
        #expect(total["received"] as? Int == 2 && total["grouped"] as? Int == 2 && total["argued"] as? Int == 1)
        #expect(total["selected"] as? Int == 1 && total["rewarded"] as? Int == 1 && total["adopted"] as? Int == 1)
        #expect((figures.object["rows"] as? [[String: Any]])?.compactMap { $0["office"] as? String } == ["HSM", "XQ"])
    }

    @Test func aSelectionAndARejectionMadeOfflineStayAConflictUntilSettled() throws {
        let deployment = try Deployment(backend: .sqlite)
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        let first = try deployment.replica("hsd1", office: "HSD", staff: "周八")
        let second = try deployment.replica("hsd2", office: "HSD", staff: "吴九")
        let number = try #require(
            try deployment.rain(["case", "new", "--kind", "建议", "--category", "教育", "--title", "开设社区四点半课堂", "--json"], db: hsm)
                .object["number"] as? String)
        try deployment.sync(hsm)
        try deployment.sync(first)
        for arguments in [["group", "--theme", "教育", number], ["argue", number, "--department", "HSD"]] {
            #expect(try deployment.rain(["suggestion"] + arguments, db: first).status == 0)
        }
        #expect(
            try deployment.rain(
                ["suggestion", "review", number, "--value", "4", "--feasibility", "4", "--cost", "4", "--text", "可行"], db: first
            )
            .status == 0)
        try deployment.sync(first)
        try deployment.sync(second)
        // Offline, one selects and the other does not.
        #expect(try deployment.rain(["suggestion", "select", number], db: first).status == 0)
        #expect(try deployment.rain(["suggestion", "reject", number, "--reason", "已有同类项目"], db: second).status == 0)
        for db in [first, second, first] { try deployment.sync(db) }
        for db in [first, second] {
            let row = try #require(list(try deployment.rain(["suggestion", "list", "--json"], db: db)).first)
            #expect(row["stage"] as? String == "selected" && row["stage_conflict"] as? Bool == true, "\(db): \(row)")
        }
        // Nothing is published until a person settles it.
        let blocked = try deployment.rain(["suggestion", "publish", number, "--title", "四点半课堂", "--text", "放学后托管"], db: first)
        #expect(blocked.status == 4 && blocked.stderr.contains("rain resolve"), "\(blocked.stderr)")
        let conflicts = try deployment.rain(["conflicts", "--json"], db: first)
        #expect(conflicts.stdout.contains("stage"), "\(conflicts.stdout)")
        let settled = try deployment.rain(["resolve", number, "stage", "--value", "selected"], db: first)
        #expect(settled.status == 0, "\(settled.stderr)")
        #expect(try deployment.rain(["suggestion", "publish", number, "--title", "四点半课堂", "--text", "放学后托管"], db: first).status == 0)
        try deployment.sync(first)
        #expect(try deployment.rain(["suggestion", "list", "--stage", "published", "--json"], db: first).json as? [Any] != nil)
    }
}
