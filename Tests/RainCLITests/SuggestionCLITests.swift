import CaseDomain
import CaseStore
import Foundation
import GRDB
import ReplicaStore
import Testing

extension RainCLITests {
    func suggestion(_ title: String, category: String = "交通出行", extra: [String] = []) throws -> String {
        let result = try rain(["case", "new", "--kind", "suggestion", "--category", category, "--title", title, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(
            (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["number"] as? String, "\(result.stdout)")
    }

    func json(_ result: Result) -> Any? { try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) }

    func changeCount() throws -> Int { try DatabaseQueue(path: db).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM changes") ?? 0 } }

    @Test func badSuggestionInputIsRefusedByNameAndWritesNothing() throws {
        try initialise()
        let number = try suggestion("小区门口增设红绿灯")
        let before = try changeCount()
        func refused(_ arguments: [String], _ code: Int32, _ words: [String], lang: String = "en") throws {
            let result = try rain(arguments, lang: lang)
            #expect(result.status == code, "\(arguments): \(result.stderr)")
            for word in words { #expect(result.stderr.contains(word), "\(arguments): \(result.stderr)") }
        }
        try refused(["suggestion", "list", "--stage", "done"], 2, ["unknown stage", "not_selected"])
        // All or nothing: one unknown reference and nothing is grouped.
        try refused(["suggestion", "group", "--theme", "交通", number, "HSM-19990101-0000-XXX"], 3, ["no suggestion"])
        try refused(["suggestion", "reward", number, "--kind", "certificate", "--note", "证书"], 4, ["stage submitted", "group"])
        try refused(["suggestion", "reward", number, "--kind", "certificate", "--note", "证书"], 4, ["已提交", "group"], lang: "zh")
        try refused(["suggestion", "reward", number, "--kind", "medal", "--note", "x"], 2, ["certificate, money or other"])
        try refused(["suggestion", "argue", number, "--department", "J*B"], 2, ["not an office code"])
        try refused(["suggestion", "implement", number, "--office", "JTJ", "--on", "2026-13-40"], 2, ["YYYY-MM-DD"])
        try refused(["suggestion", "group", "--theme", " ", number], 2, ["theme is empty"])
        try refused(
            ["case", "new", "--kind", "complaint", "--category", "教育", "--title", "x", "--campaign", "A"], 2,
            ["--campaign is for suggestions"])
        try refused(["case", "new", "--kind", "suggestion", "--category", "教育", "--title", "x", "--campaign", "NONE"], 3, ["no campaign"])
        try refused(
            ["campaign", "new", "C1", "--theme", "t", "--from", "2026-12-31", "--to", "2026-01-01"], 2, ["ends", "before it starts"])
        try refused(["campaign", "new", "C1", "--theme", "t", "--from", "2026-02-30", "--to", "2026-03-01"], 2, ["YYYY-MM-DD"])
        try refused(["suggestion", "summary"], 2, ["--period"])
        try refused(["suggestion", "summary", "--period", "2026-13"], 2, ["YYYY-MM"])
        try refused(["suggestion", "summary", "--period", "2026-12", "--json", "--csv"], 2, ["not both"])
        try refused(["case", "similar", "HSM-19990101-0000-XXX"], 3, [])
        try refused(["case", "link", number, number], 2, ["the same case"])
        try refused(["suggestion", "show", "HSM-19990101"], 3, ["no suggestion"])
        #expect(try changeCount() == before, "a refused command writes nothing")
        let listed = try #require(json(try rain(["suggestion", "list", "--json"])) as? [[String: Any]])
        #expect(listed.map { $0["stage"] as? String } == ["submitted"])

        // A campaign: duplicate codes, closing, and a closed campaign takes nothing.
        #expect(try rain(["campaign", "new", "C1", "--theme", "献策", "--from", "2026-01-01", "--to", "2030-12-31"]).status == 0)
        try refused(["campaign", "new", "C1", "--theme", "又一个", "--from", "2026-01-01", "--to", "2030-12-31"], 2, ["exists"])
        _ = try suggestion("公交站增设候车亭", extra: ["--campaign", "C1"])
        #expect(try rain(["campaign", "close", "C1"]).status == 0)
        try refused(["campaign", "close", "C1"], 4, ["closed already"])
        try refused(["case", "new", "--kind", "suggestion", "--category", "教育", "--title", "x", "--campaign", "C1"], 2, ["closed"])
        let campaigns = try #require(json(try rain(["campaign", "list", "--json"])) as? [[String: Any]])
        #expect(campaigns.first?["status"] as? String == "closed")
        let figures = try #require(json(try rain(["campaign", "figures", "C1", "--json"])) as? [String: Any])
        #expect((figures["total"] as? [String: Any])?["received"] as? Int == 1)
    }

    @Test func theSummaryGroupsAPeriodAndSimilarListsReasons() throws {
        try initialise()
        let a = try suggestion("小区门口增设红绿灯", extra: ["--phone", "13812341234", "--address", "幸福小区3栋2单元501室"])
        let b = try suggestion("建议小区门口装红绿灯", extra: ["--address", "幸福小区三栋二单元五〇一"])
        let c = try suggestion("社区开设老年食堂", category: "社会救助")
        let complaint = try rain(
            ["case", "new", "--kind", "complaint", "--category", "环境卫生", "--title", "噪音扰民", "--phone", "138 1234 1234", "--json"])
        let d = try #require((json(complaint) as? [String: Any])?["number"] as? String)
        let month = String(ISO8601DateFormatter().string(from: Date(timeIntervalSinceNow: 8 * 3600)).prefix(7))

        let summary = try #require(json(try rain(["suggestion", "summary", "--period", month, "--json"])) as? [String: Any])
        #expect(summary["count"] as? Int == 3, "\(summary)")
        let themes = try #require(summary["themes"] as? [[String: Any]])
        #expect(themes.map { $0["theme"] as? String } == ["交通出行", "社会救助"])
        let groups = try #require(themes[0]["groups"] as? [[String: Any]])
        #expect(groups.count == 1 && groups[0]["count"] as? Int == 2 && Set(groups[0]["numbers"] as? [String] ?? []) == [a, b])
        let csv = try rain(["suggestion", "summary", "--period", month, "--csv"])
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first == "theme,representative,count,offices,title,numbers" && lines.count == 3, "\(csv.stdout)")
        #expect(lines.contains { $0.hasPrefix("社会救助,\(c),1,HSM:1,社区开设老年食堂,") })
        let text = try rain(["suggestion", "summary", "--from", "2000-01-01", "--to", "2000-01-31"])
        #expect(text.status == 0 && text.stdout.contains("共 0 条"), "\(text.stdout)")

        // A case's candidates name the rules that held; a suggestion's are suggestions only.
        let similar = try #require(json(try rain(["case", "similar", a, "--json"])) as? [[String: Any]])
        let reasons = Dictionary(uniqueKeysWithValues: similar.map { ($0["number"] as? String ?? "", $0["reasons"] as? [String] ?? []) })
        #expect(reasons[b] == ["same_place", "similar_text", "same_category_window"], "\(similar)")
        #expect(reasons[d] == ["same_phone"])
        #expect(reasons[c] == nil)
        let suggestions = try #require(json(try rain(["suggestion", "similar", a, "--json"])) as? [[String: Any]])
        #expect(suggestions.compactMap { $0["number"] as? String } == [b])
        // Linking: listed as linked, and taken back.
        #expect(try rain(["case", "link", a, b]).status == 0)
        let linked = try #require(json(try rain(["case", "similar", a, "--json"])) as? [[String: Any]])
        #expect(linked.first { $0["number"] as? String == b }?["linked"] as? Bool == true)
        #expect(try rain(["case", "link", a, b, "--undo"]).status == 0)
        #expect(try rain(["case", "link", a, b, "--undo"], lang: "en").stderr.contains("not linked"))
        let help = try rain(["case", "similar", "--help"], lang: "en")
        #expect(help.stdout.contains("3-2-501") && help.stdout.contains("Dice"), "\(help.stdout)")
    }

    @Test func aSuggestionCaseOfAnEarlierReleaseStartsThePipelineAtSubmitted() throws {
        try initialise()
        // What every earlier release recorded: a case of kind suggestion, no pipeline record.
        let store = try officeReplica(db)
        let (_, number) = try store.newCase(NewCase(kind: .suggestion, category: "教育", title: "开设四点半课堂", description: "放学后没人照看"))
        store.close()
        let listed = try #require(json(try rain(["suggestion", "list", "--json"])) as? [[String: Any]])
        #expect(listed.count == 1 && listed[0]["number"] as? String == number && listed[0]["stage"] as? String == "submitted")
        #expect(try DatabaseQueue(path: db).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM suggestions") } == 0)
        // Its first step writes the pipeline record from the case.
        let grouped = try rain(["suggestion", "group", "--theme", "教育", number], lang: "en")
        #expect(grouped.status == 0, "\(grouped.stderr)")
        let shown = try #require(json(try rain(["suggestion", "show", number, "--json"])) as? [String: Any])
        let row = try #require(shown["suggestion"] as? [String: Any])
        #expect(row["stage"] as? String == "grouped" && row["title"] as? String == "开设四点半课堂" && row["community"] as? String == "HSM")
        #expect((shown["steps"] as? [[String: Any]])?.map { $0["type"] as? String } == ["grouped"])
        // Its case keeps working as before.
        #expect(try rain(["case", "verify", number]).status == 0)
    }

    @Test func theDepartmentsTextHoldsNoPersonalDataAndAReassignedCaseTakesItsSuggestion() throws {
        try initialise()
        let clean = try suggestion("开设四点半课堂", extra: ["--description", "放学后孩子无人照看，建议社区开设课堂"])
        let personal = try suggestion(
            "增设红绿灯", extra: ["--citizen", "欧阳建国", "--description", "欧阳建国反映：门口车多，电话13812341234"])
        func text(_ number: String) throws -> String? {
            try DatabaseQueue(path: db).read {
                try String.fetchOne($0, sql: "SELECT text FROM suggestions WHERE number = ?", arguments: [number])
            }
        }
        #expect(try text(clean) == "放学后孩子无人照看，建议社区开设课堂")
        #expect(try text(personal) == nil, "the resident's words stay in the case")
        #expect(try rain(["suggestion", "group", "--theme", "交通", personal]).status == 0)
        let leaky = try rain(["suggestion", "argue", personal, "--department", "JTJ", "--text", "找欧阳建国了解"], lang: "en")
        #expect(leaky.status == 2 && leaky.stderr.contains("name") && !leaky.stderr.contains("欧阳"), "\(leaky.stderr)")
        let argued = try rain(["suggestion", "argue", personal, "--department", "JTJ", "--text", "路口车流量大，建议评估"], lang: "en")
        #expect(argued.status == 0, "\(argued.stderr)")
        #expect(try text(personal) == "路口车流量大，建议评估")

        // Handed to another community: the suggestion and the link follow, in one transaction.
        #expect(try rain(["case", "link", clean, personal]).status == 0)
        let moved = try rain(["case", "reassign", personal, "--to", "XQ", "--reason", "属新桥社区"])
        #expect(moved.status == 0, "\(moved.stderr)")
        let after = try DatabaseQueue(path: db).read { db in
            (
                try String.fetchOne(db, sql: "SELECT community FROM suggestions WHERE number = ?", arguments: [personal]),
                try String.fetchAll(db, sql: "SELECT community_a || '/' || community_b FROM case_links")
            )
        }
        #expect(after.0 == "XQ")
        #expect(after.1 == ["HSM/XQ"] || after.1 == ["XQ/HSM"], "\(after.1)")
    }
}
