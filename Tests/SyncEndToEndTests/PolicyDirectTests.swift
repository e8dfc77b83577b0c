import Foundation
import GRDB
import PolicyDomain
import TestSupport
import Testing

/// Policy direct (政策直达) on one server: departments publish, streets keep the registry,
/// policies find enterprises, grants are one per policy, enterprise and period — each office
/// holding what its jurisdiction allows, on both backends.
@Suite(.serialized) struct PolicyDirectTests {
    /// A valid credit code (GB 32100-2015) numbered `n`.
    static func code(_ n: Int) -> String {
        let digits = String(n)
        return CreditCode.completing("91440300MA5F" + String(repeating: "0", count: 5 - digits.count) + digits)!.text
    }

    static let header = "name,credit_code,street,industry,size,founded,employees,revenue,tax_paid,tags,legal_rep,bank,account,contact"

    /// The tree of `Deployment` plus a second street and two departments.
    func deployment(_ backend: Backend) throws -> Deployment {
        let deployment = try Deployment(backend: backend)
        for office in [
            ["JD2", "--name", "东湖街道", "--level", "street", "--parent", "HSD"],
            ["JRB", "--name", "金融办", "--level", "department", "--parent", "HSD"],
            ["KJJ", "--name", "科技局", "--level", "department", "--parent", "HSD"],
        ] {
            let run = try deployment.server.admin(["office", "add"] + office)
            try #require(run.status == 0, "\(run.stderr)")
        }
        // A department sits under the district only.
        let wrong = try deployment.server.admin(["office", "add", "FGW", "--name", "发改局", "--level", "department", "--parent", "JD1"])
        #expect(wrong.status != 0 && wrong.stderr.contains("must be a district office"), "\(wrong.stderr)")
        return deployment
    }

    func write(_ text: String, _ name: String, in deployment: Deployment) throws -> String {
        let path = deployment.scratch.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func policyFile(_ document: String, department: String, mode: String, rule: String, benefit: String, in deployment: Deployment) throws
        -> String
    {
        try write(
            """
            {"title": "政策\(document)", "department": "\(department)", "document": "\(document)", "mode": "\(mode)",
             "valid_from": "2026-01-01", "valid_to": "2030-12-31", "benefit": \(benefit), "rule": "\(rule)"}
            """, document + ".json", in: deployment)
    }

    func list(_ run: Run) -> [[String: Any]] { run.json as? [[String: Any]] ?? [] }

    @Test(arguments: Backend.allCases) func eachOfficeHoldsWhatItsJurisdictionAllowsAndAGrantIsOne(_ backend: Backend) throws {
        let deployment = try deployment(backend)
        let hsd = try deployment.replica("hsd", office: "HSD", staff: "周八")
        let jd1 = try deployment.replica("jd1", office: "JD1", staff: "王五")
        let jd2 = try deployment.replica("jd2", office: "JD2", staff: "吴六")
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "张三")
        let jrb = try deployment.replica("jrb", office: "JRB", staff: "郑九")
        let kjj = try deployment.replica("kjj", office: "KJJ", staff: "冯十")

        // JD1's registry: a row of JD2's is outside its jurisdiction — the whole file is
        // refused, then imported without it under --partial.
        let jd1Rows = [
            "星河科技有限公司,\(Self.code(1)),JD1,C3911,small,2015-03-01,80,50000000,1200000,新四板挂牌;高新技术企业,欧阳星河,工商银行,6222020200112233,13800001111",
            "和盛精密（深圳）有限公司,\(Self.code(2)),JD1,C3480,medium,2010-01-01,300,300000000,9000000,专精特新,司马精密,农业银行,6228480011223344,",
            "东湖贸易有限公司,\(Self.code(3)),JD2,F5191,micro,2020-06-01,8,3000000,60000,新四板挂牌,诸葛东湖,建设银行,6227000011112222,",
        ]
        let mixed = try write(([Self.header] + jd1Rows).joined(separator: "\n") + "\n", "jd1.csv", in: deployment)
        let refused = try deployment.rain(["enterprise", "import", mixed, "--json"], db: jd1)
        #expect(refused.status == 2)
        #expect(refused.object["imported"] as? Int == 0)
        #expect((refused.object["rejected"] as? [[String: Any]])?.first?["line"] as? Int == 4, "\(refused.stdout)")
        #expect(try count(jd1, "SELECT count(*) FROM enterprises") == 0, "a refused file writes nothing")
        let partial = try deployment.rain(["enterprise", "import", mixed, "--partial", "--json"], db: jd1)
        #expect(partial.status == 0 && partial.object["imported"] as? Int == 2, "\(partial.stdout) \(partial.stderr)")
        let jd2File = try write(Self.header + "\n" + jd1Rows[2] + "\n", "jd2.csv", in: deployment)
        #expect(try deployment.rain(["enterprise", "import", jd2File], db: jd2).status == 0)
        // A department does not keep the registry.
        #expect(try deployment.rain(["enterprise", "import", jd2File], db: jrb).status == 2)

        // JRB publishes an automatic policy and keeps a draft; KJJ publishes its own.
        let listing = try policyFile(
            "金发3号", department: "JRB", mode: "automatic", rule: "tags contains 新四板挂牌",
            benefit: #"{"type": "fixed", "amount_fen": 10000000}"#,
            in: deployment)
        let published = try deployment.rain(["policy", "publish", listing, "--json"], db: jrb)
        let automatic = try #require(published.object["id"] as? String, "\(published.stderr)")
        let research = try policyFile(
            "金发4号", department: "JRB", mode: "application", rule: "size in [small, medium] and founded < 2019-01-01",
            benefit: #"{"type": "percent", "of": "tax_paid", "percent": 2.5, "cap_fen": 20000000}"#, in: deployment)
        let draft = try #require(
            try deployment.rain(["policy", "publish", research, "--draft", "--json"], db: jrb).object["id"] as? String)
        let other = try policyFile(
            "科发1号", department: "KJJ", mode: "application", rule: "employees >= 10", benefit: #"{"type": "fixed", "amount_fen": 500000}"#,
            in: deployment)
        #expect(try deployment.rain(["policy", "publish", other], db: kjj).status == 0)
        // Another department's policy is refused before anything is written.
        #expect(try deployment.rain(["policy", "publish", other], db: jrb).status == 2)

        for db in [jd1, jd2, jrb, kjj, hsd, jd1, jd2, hsm, jrb, kjj] { try deployment.sync(db) }
        func documents(_ db: String) throws -> Set<String> {
            Set(list(try deployment.rain(["policy", "list", "--json"], db: db)).compactMap { $0["document"] as? String })
        }
        // Published policies reach every office; the draft stays with its department and the district.
        #expect(try documents(hsd) == ["金发3号", "金发4号", "科发1号"])
        #expect(try documents(jrb) == ["金发3号", "金发4号", "科发1号"])
        for db in [jd1, jd2, hsm, kjj] { #expect(try documents(db) == ["金发3号", "科发1号"], "\(db)") }
        // The registry reaches every office; the accounts stay with the street and the district.
        for db in [hsd, jd1, jd2, hsm, jrb, kjj] {
            #expect(try count(db, "SELECT count(*) FROM enterprises") == 3, "\(db)")
        }
        let accounts = ["6222020200112233", "6228480011223344", "欧阳星河", "司马精密"]
        for db in [jd2, hsm, jrb, kjj] {
            let residue = try FileResidue(of: db)
            for item in accounts { #expect(!residue.contains(item), "\(db) holds JD1's \(item)") }
        }
        for item in accounts { #expect(try FileResidue(of: jd1).contains(item) && FileResidue(of: hsd).contains(item)) }
        // Masked in listings; revealed on request, and the reveal is recorded.
        let masked = try deployment.rain(["enterprise", "find", "星河科技有限责任公司", "--json"], db: jd1)
        #expect(list(masked).first?["account"] as? String == "************2233", "\(masked.stdout)")
        #expect(!masked.stdout.contains("欧阳星河"))
        let revealed = try deployment.rain(["enterprise", "find", Self.code(1), "--reveal", "--json"], db: jd1)
        #expect(list(revealed).first?["account"] as? String == "6222020200112233")
        #expect(try count(jd1, "SELECT count(*) FROM enterprise_reveals") == 1)

        // Publishing the draft brings it, with its history, to every office.
        #expect(try deployment.rain(["policy", "publish", String(draft.suffix(8))], db: jrb).status == 0)
        for db in [jrb, jd1, jd2, hsm, kjj] { try deployment.sync(db) }
        for db in [jd1, jd2, hsm, kjj] { #expect(try documents(db).contains("金发4号"), "\(db)") }

        // The automatic policy finds its enterprises: one grant each, seen by the department
        // and each enterprise's street, by no one else.
        let matched = try deployment.rain(["policy", "match", "金发3号", "--json"], db: jrb)
        let eligible = list(matched).filter { $0["eligible"] as? Bool == true }
        #expect(Set(eligible.compactMap { $0["credit_code"] as? String }) == [Self.code(1), Self.code(3)], "\(matched.stdout)")
        #expect(list(matched).contains { $0["eligible"] as? Bool == false && $0["credit_code"] as? String == Self.code(2) }, "a near miss")
        for db in [jrb, jd1, jd2, hsm, kjj, hsd] { try deployment.sync(db) }
        func grants(_ db: String) throws -> [[String: Any]] { list(try deployment.rain(["grant", "list", "--json"], db: db)) }
        #expect(try grants(jrb).count == 2 && grants(hsd).count == 2)
        #expect(try grants(jd1).map { $0["credit_code"] as? String } == [Self.code(1)])
        #expect(try grants(jd2).map { $0["credit_code"] as? String } == [Self.code(3)])
        #expect(try grants(hsm).isEmpty && grants(kjj).isEmpty)

        // The street and the department enter the same application offline: one grant after sync.
        let a = try deployment.rain(["grant", "apply", "金发4号", "和盛精密(深圳)有限责任公司", "--json"], db: jd1)
        let b = try deployment.rain(["grant", "apply", "金发4号", Self.code(2), "--json"], db: jrb)
        let id = try #require(a.object["id"] as? String, "\(a.stderr)")
        #expect(b.object["id"] as? String == id)
        #expect(a.object["amount_fen"] as? Int == 20_000_000)
        for db in [jd1, jrb, jd1, hsd] { try deployment.sync(db) }
        for db in [jd1, jrb, hsd] {
            #expect(try count(db, "SELECT count(*) FROM grants WHERE credit_code = '\(Self.code(2))'") == 1, "\(db)")
        }
        // Only the department moves it on; the workflow's order holds.
        #expect(try deployment.rain(["grant", "confirm", id], db: jd1).status == 2)
        #expect(try deployment.rain(["grant", "approve", id], db: jrb).status == 4)
        #expect(try deployment.rain(["grant", "confirm", id], db: jrb).status == 0)
        let approved = try deployment.rain(["grant", "approve", id, "--json"], db: jrb)
        #expect(approved.object["stage"] as? String == "approved")
        try deployment.sync(jrb)
        try deployment.sync(jd1)
        #expect(try grants(jd1).first { $0["id"] as? String == id }?["stage"] as? String == "approved")

        // An enterprise's problem reaches the case pipeline: a kind and a channel.
        let raised = try deployment.rain(
            [
                "case", "new", "--kind", "suggestion", "--category", "环境卫生", "--title", "园区路灯不足", "--enterprise", "星河科技有限公司",
                "--json",
            ], db: jd1)
        let number = try #require(raised.object["number"] as? String, "\(raised.stderr)")
        #expect(
            try deployment.rain(["case", "new", "--kind", "help", "--category", "环境卫生", "--title", "x", "--enterprise", "没有这家"], db: jd1)
                .status == 3)
        try deployment.sync(jd1)
        try deployment.sync(hsd)
        for db in [jd1, hsd] {
            let listed = list(try deployment.rain(["case", "list", "--source", "enterprise", "--json"], db: db))
            #expect(listed.map { $0["number"] as? String } == [number], "\(db)")
            #expect(listed.first?["credit_code"] as? String == Self.code(1))
        }
        #expect(list(try deployment.rain(["case", "list", "--source", "counter", "--json"], db: jd1)).isEmpty)
    }

    /// A policy grants nothing outside its validity period.
    @Test func aPolicyOutOfForceGrantsNothing() throws {
        let deployment = try deployment(.sqlite)
        let hsd = try deployment.replica("hsd", office: "HSD", staff: "周八")
        let csv = try write(
            Self.header + "\n星河科技有限公司,\(Self.code(1)),JD1,C3911,small,2015-03-01,80,0,0,新四板挂牌,,,,\n", "r.csv", in: deployment)
        #expect(try deployment.rain(["enterprise", "import", csv], db: hsd).status == 0)
        for (document, mode) in [("旧1号", "automatic"), ("旧2号", "application")] {
            let file = try write(
                """
                {"title": "已过期", "department": "JRB", "document": "\(document)", "mode": "\(mode)", "valid_from": "2020-01-01",
                 "valid_to": "2020-12-31", "benefit": {"type": "fixed", "amount_fen": 100}, "rule": "employees > 0"}
                """, document + ".json", in: deployment)
            #expect(try deployment.rain(["policy", "publish", file], db: hsd).status == 0)
        }
        let matched = try deployment.rain(["policy", "match", "旧1号", "--json"], db: hsd)
        #expect(list(matched).first?["eligible"] as? Bool == true && list(matched).first?["grant"] is NSNull, "\(matched.stdout)")
        let applied = try deployment.rain(["grant", "apply", "旧2号", Self.code(1)], db: hsd)
        #expect(applied.status == 4 && applied.stderr.contains("not in force"), "\(applied.stderr)")
        #expect(try count(hsd, "SELECT count(*) FROM grants") == 0)
    }

    /// The server enforces the scopes whatever a client does: a street replica that ignores
    /// its level (its file edited) and writes a department's policy is refused.
    @Test(arguments: Backend.allCases) func theServerRefusesAStreetWritingADepartmentsPolicy(_ backend: Backend) throws {
        let deployment = try deployment(backend)
        let jd2 = try deployment.replica("jd2", office: "JD2", staff: "吴六")
        try DatabaseQueue(path: jd2).write { db in try db.execute(sql: "UPDATE sync_state SET office_level = NULL") }
        let file = try policyFile(
            "金发9号", department: "JRB", mode: "automatic", rule: "employees > 0", benefit: #"{"type": "fixed", "amount_fen": 100}"#,
            in: deployment)
        #expect(try deployment.rain(["policy", "publish", file], db: jd2).status == 0, "the client no longer checks")
        let sync = try deployment.rain(["sync", "--json"], db: jd2)
        #expect(sync.status == 0 && sync.object["withheld"] as? Int == 1, "\(sync.stdout) \(sync.stderr)")
        let jrb = try deployment.replica("jrb", office: "JRB", staff: "郑九")
        try deployment.sync(jrb)
        #expect(try count(jrb, "SELECT count(*) FROM policies") == 0)
    }
}
