import Foundation
import GRDB
import Testing

/// Files an earlier release left — the server's database and two offices' replicas, with
/// cases, a conflict, a withheld change and a restore in them (`Fixtures/`, written by
/// `make-release-files.sh` with that release's binaries) — open with this release and
/// keep syncing.
@Suite(.serialized) struct UpgradeTests {
    static let release = "release-f431b28"

    static var fixtures: String {
        var folder = URL(fileURLWithPath: #filePath)
        folder.deleteLastPathComponent()
        return folder.appendingPathComponent("Fixtures/\(release)").path
    }

    func numbers(_ db: String, in scratch: Scratch) throws -> Set<String> {
        let run = try execute(Built.rain, ["case", "list", "--json", "--limit", "100", "--db", db], in: scratch.path)
        try #require(run.status == 0, "\(run.stderr)")
        return Set((run.json as? [[String: Any]] ?? []).compactMap { $0["number"] as? String })
    }

    func rain(_ arguments: [String], _ db: String, in scratch: Scratch) throws -> Run {
        try execute(Built.rain, arguments + ["--db", db], in: scratch.path)
    }

    @Test func casesAnEarlierReleaseRecordedAreFoundAlike() throws {
        let scratch = try Scratch()
        try FileManager.default.copyItem(atPath: Self.fixtures + "/hsm.sqlite", toPath: scratch.file("hsm.sqlite"))
        let hsm = scratch.file("hsm.sqlite")
        // The first command migrates the file: the likeness index is filled from the cases held.
        let listed = try rain(["suggestion", "list", "--json"], hsm, in: scratch)
        #expect(listed.status == 0 && (listed.json as? [Any])?.isEmpty == true, "\(listed.stderr)")
        #expect(try count(hsm, "SELECT count(*) FROM case_grams") > 0)
        let created = try rain(
            ["case", "new", "--kind", "complaint", "--category", "城市管理", "--title", "路灯坏了不亮", "--json"], hsm, in: scratch)
        let number = try #require(created.object["number"] as? String, "\(created.stderr)")
        let similar = try rain(["case", "similar", number, "--json"], hsm, in: scratch)
        let found = (similar.json as? [[String: Any]] ?? []).first { $0["title"] as? String == "路灯不亮" }
        #expect((found?["reasons"] as? [String])?.contains("similar_text") == true, "\(similar.stdout)")
    }

    @Test func filesAnEarlierReleaseLeftOpenAndKeepSyncing() throws {
        let scratch = try Scratch()
        for file in ["central.sqlite", "hsm.sqlite", "jd1.sqlite"] {
            try FileManager.default.copyItem(atPath: Self.fixtures + "/" + file, toPath: scratch.file(file))
        }
        let cases = try String(contentsOfFile: Self.fixtures + "/numbers.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        try #require(cases.count == 4)
        let (a, b, c, d) = (cases[0], cases[1], cases[2], cases[3])
        let (hsm, jd1) = (scratch.file("hsm.sqlite"), scratch.file("jd1.sqlite"))
        let server = try ServerProcess(folder: scratch.path, db: scratch.file("central.sqlite"))
        // The server came back on another port: the offices are told so.
        for db in [hsm, jd1] {
            try DatabaseQueue(path: db).write { try $0.execute(sql: "UPDATE sync_state SET server = ?", arguments: [server.url]) }
        }

        // Before any sync, this release shows what the earlier one recorded.
        let before = try rain(["status", "--json"], hsm, in: scratch)
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.object["conflicts"] as? Int == 1, "\(before.stdout)")
        #expect(before.object["withheld"] as? Int == 1, "\(before.stdout)")
        #expect((before.object["former_identities"] as? [Any])?.count == 1, "\(before.stdout)")
        #expect(try rain(["status", "--json"], jd1, in: scratch).object["conflicts"] as? Int == 1)
        #expect(try numbers(hsm, in: scratch) == [a, b, c, d])
        let shown = try rain(["case", "show", a, "--json", "--reveal"], hsm, in: scratch)
        #expect(shown.stdout.contains("张三") && shown.stdout.contains("已上门查看"), "\(shown.stdout)")

        // Both sync through the upgraded server, and new work goes both ways.
        for db in [hsm, jd1, hsm] {
            let run = try rain(["sync", "--json"], db, in: scratch)
            #expect(run.status == 0, "\(run.stderr)")
        }
        #expect(try numbers(jd1, in: scratch) == [a, b, c, d])
        let created = try rain(
            ["case", "new", "--kind", "help", "--category", "环境卫生", "--title", "升级后的案件", "--json"], hsm, in: scratch)
        let e = try #require(created.object["number"] as? String)
        let note = try rain(["case", "note", a, "升级后补记"], jd1, in: scratch)
        #expect(note.status == 0, "\(note.stderr)")
        for db in [hsm, jd1, hsm] { #expect(try rain(["sync"], db, in: scratch).status == 0) }
        #expect(try numbers(jd1, in: scratch) == [a, b, c, d, e])
        #expect(try rain(["case", "show", a, "--json"], hsm, in: scratch).stdout.contains("升级后补记"))
        // The conflict is still there to settle, and settles.
        let conflicts = try rain(["conflicts", "--json"], hsm, in: scratch)
        #expect(conflicts.stdout.contains("title"), "\(conflicts.stdout)")
        // The server's file was migrated, and a new community still sees none of HSM's.
        let migrated = try DatabaseQueue(path: scratch.file("central.sqlite")).read { db in
            (
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").last,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM scope_log WHERE office = 'HSM'") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM merge_state WHERE tbl = 'cases'") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM case_view WHERE number IS NOT NULL AND status IS NOT NULL") ?? -1
            )
        }
        #expect(migrated.0 == "central-v11-tallies")
        // The offices table was rebuilt for departments: every reference to it still holds,
        // and a department can be added beside the streets.
        let dangling = try DatabaseQueue(path: scratch.file("central.sqlite")).read { db in
            try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count
        }
        #expect(dangling == 0)
        let department = try server.admin(["office", "add", "JRB", "--name", "金融办", "--level", "department", "--parent", "HSD"])
        #expect(department.status == 0, "\(department.stderr)")
        #expect(migrated.1 > 0)
        // The read model was built from the merge state the earlier release left.
        #expect(migrated.2 > 0 && migrated.3 == migrated.2)
        let token = try #require(try server.admin(["office", "token", "XQ", "--json"]).object["token"] as? String)
        let xq = scratch.file("xq.sqlite")
        #expect(
            try rain(["init", "--office", "XQ", "--staff", "钱九", "--server", server.url, "--token", token], xq, in: scratch).status == 0)
        #expect(try rain(["sync"], xq, in: scratch).status == 0)
        #expect(try numbers(xq, in: scratch).isEmpty)
        server.stop()
    }
}
