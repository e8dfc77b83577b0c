import CaseStore
import Foundation
import GRDB
import ReplicaStore
import SyncCore
import TestSupport
import Testing

/// Which trigrams of `texts` the search index's shadow table (`cases_fts_data`) holds,
/// read from its blocks' bytes: what a purge must leave nowhere in the file.
func indexedTrigrams(of texts: [String], in path: String) throws -> [String] {
    let blocks = try DatabaseQueue(path: path).read { db in try Data.fetchAll(db, sql: "SELECT block FROM cases_fts_data") }
    let bytes = blocks.reduce(into: Data()) { $0.append($1) }
    return texts.flatMap(FileResidue.trigrams(of:)).filter { bytes.range(of: Data($0.utf8)) != nil }
}

/// Two streets, three communities and the district on one server: what each replica file
/// holds, and what each office may write.
@Suite(.serialized) struct JurisdictionTests {
    /// The tree of `Deployment` (HSD → JD1 → HSM, XQ) plus a second street with one community.
    func deployment(_ backend: Backend) throws -> Deployment {
        let deployment = try Deployment(backend: backend)
        try #require(
            deployment.server.admin(["office", "add", "JD2", "--name", "东湖街道", "--level", "street", "--parent", "HSD"]).status == 0)
        try #require(
            deployment.server.admin(["office", "add", "YY", "--name", "渔业社区", "--level", "community", "--parent", "JD2"]).status == 0)
        return deployment
    }

    @Test(arguments: Backend.allCases) func eachReplicaHoldsOnlyItsJurisdictionsCasesAndResidentsData(_ backend: Backend) throws {
        let deployment = try deployment(backend)
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "张三")
        let xq = try deployment.replica("xq", office: "XQ", staff: "李四")
        let yy = try deployment.replica("yy", office: "YY", staff: "孙七")
        let street = try deployment.replica("jd1", office: "JD1", staff: "王五")
        let district = try deployment.replica("hsd", office: "HSD", staff: "周八")
        let a = try deployment.newCase(hsm, title: "和盛的案件", extra: ["--citizen", "欧阳和盛", "--phone", "13911110001", "--address", "和盛路1号"])
        let b = try deployment.newCase(xq, title: "新桥的案件", extra: ["--citizen", "司马新桥", "--phone", "13911110002", "--address", "新桥路2号"])
        let c = try deployment.newCase(yy, title: "渔业的案件", extra: ["--citizen", "诸葛渔业", "--phone", "13911110003", "--address", "渔业路3号"])
        for db in [hsm, xq, yy, street, district, hsm, xq, yy] { try deployment.sync(db) }

        #expect(try deployment.numbers(hsm) == [a])
        #expect(try deployment.numbers(xq) == [b])
        #expect(try deployment.numbers(yy) == [c])
        #expect(try deployment.numbers(street) == [a, b].sorted())
        #expect(try deployment.numbers(district) == [a, b, c].sorted())
        // Read as raw bytes (the file, its log, anything beside it): no other community's
        // resident anywhere; each community's own residents found, which shows the scan works.
        let residents = [
            "HSM": ["欧阳和盛", "13911110001", "和盛路1号"], "XQ": ["司马新桥", "13911110002", "新桥路2号"],
            "YY": ["诸葛渔业", "13911110003", "渔业路3号"],
        ]
        for (path, own) in [(hsm, "HSM"), (xq, "XQ"), (yy, "YY")] {
            let text = try FileResidue(of: path)
            for (office, data) in residents where office != own {
                for item in data { #expect(!text.contains(item), "\(own)'s replica holds \(office)'s \(item)") }
            }
            for item in residents[own] ?? [] { #expect(text.contains(item)) }
        }
        let streetText = try FileResidue(of: street)
        for item in residents["YY"] ?? [] { #expect(!streetText.contains(item), "JD1's replica holds JD2's resident") }

        // An escalation to the street keeps the case where it was seen, with its history.
        #expect(try deployment.rain(["case", "verify", a], db: hsm).status == 0)
        #expect(try deployment.rain(["case", "escalate", a, "--reason", "需街道协调", "--to", "JD1"], db: hsm).status == 0)
        for db in [hsm, street, district, xq] { try deployment.sync(db) }
        let shown = try [hsm, street, district].map { try deployment.show(a, $0) }
        #expect(Set(shown).count == 1)
        #expect(shown[0].contains("\"street\""))
        #expect(try deployment.numbers(xq) == [b])
        // The street works the escalated case; the community sees its progress.
        #expect(try deployment.rain(["case", "handle", a], db: street).status == 0)
        try deployment.sync(street)
        try deployment.sync(hsm)
        #expect(try deployment.show(a, hsm).contains("\"handling\""))
    }

    @Test(arguments: Backend.allCases) func aChangeOutsideTheOfficesJurisdictionIsRefusedKeptAndShown(_ backend: Backend) throws {
        let deployment = try deployment(backend)
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "张三")
        let xq = try deployment.replica("xq", office: "XQ", staff: "李四")
        let b = try deployment.newCase(xq, title: "新桥的案件")
        try deployment.sync(xq)
        let caseID = try officeReplica(xq).findCase(b).id
        // A tampered or confused client writes to another community's case, between two
        // ordinary cases of its own.
        let before = try deployment.newCase(hsm, title: "和盛一")
        let store = try officeReplica(hsm)
        try store.write(["title": .text("越权修改")], to: RecordKey(table: "cases", id: caseID))
        let after = try deployment.newCase(hsm, title: "和盛二")
        let sync = try deployment.rain(["sync", "--json"], db: hsm)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.object["sent"] as? Int == 2, "the office's own work still gets through")
        let status = try deployment.rain(["status", "--json"], db: hsm).object
        #expect(status["withheld"] as? Int == 1 && status["unsynced"] as? Int == 0)
        let text = try deployment.rain(["status", "--lang", "en"], db: hsm).stdout
        #expect(text.contains("changes the server refused: 1") && text.contains("outside this office's jurisdiction"))
        // Nothing of it reached the server or the other community.
        let central = try count(
            deployment.server.db,
            backend == .postgres
                ? "SELECT count(*) FROM changes WHERE convert_from(body, 'UTF8') LIKE '%越权修改%'"
                : "SELECT count(*) FROM changes WHERE body LIKE '%越权修改%'")
        #expect(central == 0)
        try deployment.sync(xq)
        #expect(!(try deployment.show(b, xq)).contains("越权修改"))
        // Later syncs pass the refused change by, and its own cases reach the street.
        _ = try deployment.newCase(hsm, title: "和盛三")
        #expect(try deployment.sync(hsm)["sent"] as? Int == 1)
        let street = try deployment.replica("jd1", office: "JD1", staff: "王五")
        try deployment.sync(street)
        let held = try deployment.numbers(street)
        #expect(held.contains(before) && held.contains(after) && held.contains(b))
    }
}

/// Every `--reveal` is an audit event that syncs to the district.
@Suite(.serialized) struct RevealAuditTests {
    @Test(arguments: Backend.allCases) func aRevealIsRecordedAndReachesTheDistrictButNotOtherCommunities(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "张三")
        let xq = try deployment.replica("xq", office: "XQ", staff: "李四")
        let district = try deployment.replica("hsd", office: "HSD", staff: "周八")
        let number = try deployment.newCase(hsm, title: "和盛的案件", extra: ["--citizen", "欧阳和盛", "--phone", "13911110001"])
        try deployment.sync(hsm)
        // Masked views record nothing.
        _ = try deployment.show(number, hsm)
        #expect(try deployment.rain(["case", "list", "--json"], db: hsm).status == 0)
        #expect(try deployment.rain(["status", "--json"], db: hsm).object["unsynced"] as? Int == 0)
        // Each unmasked view is one audit event per case shown.
        let shown = try deployment.show(number, hsm, reveal: true)
        #expect(shown.contains("欧阳和盛") && shown.contains("13911110001"))
        #expect(try deployment.rain(["case", "find", "和盛", "--reveal"], db: hsm).status == 0)
        #expect(try deployment.rain(["status", "--json"], db: hsm).object["unsynced"] as? Int == 2)
        #expect(try deployment.sync(hsm)["sent"] as? Int == 2)
        for db in [district, xq] { try deployment.sync(db) }
        let id = try officeReplica(hsm).findCase(number).id
        let reveals = try officeReplica(district).reveals(ofCase: id)
        #expect(reveals.map(\.command) == ["case show", "case find"])
        #expect(reveals.allSatisfy { $0.author == "张三" && $0.replica == (try? officeReplica(hsm).identity.replica.rawValue) })
        #expect(try officeReplica(xq).reveals(ofCase: id).isEmpty)
        // An audit event cannot be edited: append-only.
        let store = try officeReplica(hsm)
        let audit = try #require(
            try store.history(of: RecordKey(table: "cases", id: id)).isEmpty
                ? nil : try store.ownChanges(after: 0, limit: 100, maximumBytes: 1 << 20).last)
        #expect(String(decoding: audit.body, as: UTF8.self).contains("\"audit_events\""))
    }
}

/// Cases moving between jurisdictions: history in, residents' data out.
@Suite(.serialized) struct ScopeMoveTests {

    @Test(arguments: Backend.allCases) func aReassignedCaseArrivesWithItsHistoryAndLeavesNoResidentsDataBehind(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "张三")
        let xq = try deployment.replica("xq", office: "XQ", staff: "李四")
        let street = try deployment.replica("jd1", office: "JD1", staff: "王五")
        let number = try deployment.newCase(
            hsm, title: "楼道堆放杂物", extra: ["--citizen", "欧阳和盛", "--phone", "13911110001", "--address", "和盛路1号"])
        #expect(try deployment.rain(["case", "note", number, "已电话联系欧阳和盛"], db: hsm).status == 0)
        for db in [hsm, street, xq] { try deployment.sync(db) }
        #expect(try deployment.numbers(xq).isEmpty)

        // A community cannot hand its case to another community: refused and kept.
        #expect(try deployment.rain(["case", "reassign", number, "--to", "XQ", "--reason", "不属本社区"], db: hsm).status == 0)
        try deployment.sync(hsm)
        // The move itself is refused; its note, an event of a case still HSM's, is not.
        #expect(try deployment.rain(["status", "--json"], db: hsm).object["withheld"] as? Int == 1)
        try deployment.sync(xq)
        #expect(try deployment.numbers(xq).isEmpty)

        // The street can.
        let reassign = try deployment.rain(["case", "reassign", number, "--to", "XQ", "--reason", "属新桥社区"], db: street)
        #expect(reassign.status == 0, "\(reassign.stderr)")
        try deployment.sync(street)
        let received = try deployment.sync(xq)
        #expect(
            received["received"] as? Int == 5,
            "the case, its note, HSM's refused reassignment's event, the street's reassignment and its event: \(received)")
        #expect(try deployment.numbers(xq) == [number])
        let shown = try deployment.show(number, xq, reveal: true)
        #expect(shown.contains("欧阳和盛") && shown.contains("13911110001") && shown.contains("\"XQ\""))
        #expect(shown.contains("已电话联系欧阳和盛"), "the history came along: the note")
        #expect(try deployment.rain(["case", "note", number, "新桥已接手"], db: xq).status == 0)
        #expect(try deployment.sync(xq)["sent"] as? Int == 2, "the note and the reveal's audit event")

        // The old community keeps the number and status, and no resident's data: in no
        // table, and in no byte of its file, its write-ahead log or anything beside it.
        // First what the scan must find while HSM still holds the case: every value, and
        // the search index's trigrams of the title and address (its shadow tables).
        let planted = ["欧阳和盛", "13911110001", "和盛路1号", "楼道堆放杂物", "已电话联系欧阳和盛"]
        let held = try FileResidue(of: hsm)
        #expect(held.found(planted) == planted, "the byte scan finds what HSM holds")
        let indexed = try indexedTrigrams(of: ["和盛路1号", "楼道堆放杂物"], in: hsm)
        #expect(indexed.count >= 2, "the search index held the case's trigrams: \(indexed)")
        try deployment.sync(hsm)
        let left = try FileResidue(of: hsm)
        #expect(left.files == ["hsm.sqlite"], "no write-ahead log or other file left once rain exited: \(left.files)")
        #expect(left.found(planted + indexed + ["新桥已接手"]).isEmpty, "HSM's file still holds \(left.found(planted + indexed))")
        let list = try #require(try deployment.rain(["case", "list", "--json"], db: hsm).json as? [[String: Any]])
        #expect(list.count == 1 && list.first?["number"] as? String == number)
        let moved = try DatabaseQueue(path: hsm).read { db in try Int64.fetchOne(db, sql: "SELECT moved_at FROM cases") }
        #expect(moved != nil)
        // The street, whose scope covers both, still holds everything.
        try deployment.sync(street)
        #expect(try deployment.show(number, street, reveal: true).contains("新桥已接手"))
        // HSM writes on: its counter never goes back, though its own changes were purged.
        _ = try deployment.newCase(hsm, title: "和盛的新案件")
        #expect(try deployment.sync(hsm)["sent"] as? Int == 1)
    }

    @Test(arguments: Backend.allCases) func aCaseEscalatedToAnotherStreetArrivesThereWithItsHistory(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        try #require(
            deployment.server.admin(["office", "add", "JD2", "--name", "东湖街道", "--level", "street", "--parent", "HSD"]).status == 0)
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "张三")
        let other = try deployment.replica("jd2", office: "JD2", staff: "钱九")
        let number = try deployment.newCase(hsm, title: "跨街道的案件", extra: ["--citizen", "欧阳和盛"])
        #expect(try deployment.rain(["case", "verify", number, "--note", "已核实"], db: hsm).status == 0)
        for db in [hsm, other] { try deployment.sync(db) }
        #expect(try deployment.numbers(other).isEmpty)
        #expect(try deployment.rain(["case", "escalate", number, "--reason", "需东湖街道协调", "--to", "JD2"], db: hsm).status == 0)
        try deployment.sync(hsm)
        try deployment.sync(other)
        #expect(try deployment.numbers(other) == [number])
        let there = try deployment.show(number, other, reveal: true)
        #expect(there.contains("欧阳和盛") && there.contains("已核实") && there.contains("需东湖街道协调"))
        try deployment.sync(hsm)
        #expect(there == (try deployment.show(number, hsm, reveal: true)))
    }
}

/// The office tree changing under running replicas.
@Suite(.serialized) struct OfficeTreeTests {
    @Test(arguments: Backend.allCases) func aCommunityMovedToAnotherStreetTakesItsCasesAlong(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        try #require(
            deployment.server.admin(["office", "add", "JD2", "--name", "东湖街道", "--level", "street", "--parent", "HSD"]).status == 0)
        let xq = try deployment.replica("xq", office: "XQ", staff: "李四")
        let oldStreet = try deployment.replica("jd1", office: "JD1", staff: "王五")
        let newStreet = try deployment.replica("jd2", office: "JD2", staff: "钱九")
        let number = try deployment.newCase(xq, title: "新桥的案件", extra: ["--citizen", "司马新桥", "--phone", "13911110002"])
        #expect(try deployment.rain(["case", "note", number, "已上门"], db: xq).status == 0)
        for db in [xq, oldStreet, newStreet] { try deployment.sync(db) }
        #expect(try deployment.numbers(oldStreet) == [number] && deployment.numbers(newStreet).isEmpty)

        let move = try deployment.server.admin(["office", "move", "XQ", "--parent", "JD2"])
        #expect(move.status == 0, "\(move.stderr)")
        for db in [newStreet, oldStreet] { try deployment.sync(db) }
        #expect(try deployment.numbers(newStreet) == [number])
        let shown = try deployment.show(number, newStreet, reveal: true)
        #expect(shown.contains("司马新桥") && shown.contains("已上门"))
        // The old street's file, byte for byte (with its log and anything beside it); the
        // new street's, to show the scan finds them.
        let left = try FileResidue(of: oldStreet)
        #expect(left.found(["司马新桥", "13911110002", "已上门"]).isEmpty, "the old street keeps the resident: \(left.files)")
        #expect(try FileResidue(of: newStreet).found(["司马新桥", "13911110002", "已上门"]).count == 3)
        // The new street works the case; the community sees it.
        #expect(try deployment.rain(["case", "note", number, "东湖街道已知悉"], db: newStreet).status == 0)
        try deployment.sync(newStreet)
        try deployment.sync(xq)
        #expect(try deployment.show(number, xq).contains("东湖街道已知悉"))
    }

    @Test(arguments: Backend.allCases) func anOfficeIsRetiredOnlyWhenEmptyAndItsReplicasStop(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let xq = try deployment.replica("xq", office: "XQ", staff: "李四")
        let street = try deployment.replica("jd1", office: "JD1", staff: "王五")
        let number = try deployment.newCase(xq, title: "新桥的案件")
        try deployment.sync(xq)
        let unused = try deployment.token("XQ")
        let busy = try deployment.server.admin(["office", "retire", "XQ"])
        #expect(busy.status == 4 && busy.stderr.contains("reassign them first"), "\(busy.stderr)")
        #expect(try deployment.server.admin(["office", "retire", "JD1"]).status == 4, "a street with communities under it")
        // The street hands the case to HSM; then XQ can retire.
        try deployment.sync(street)
        #expect(try deployment.rain(["case", "reassign", number, "--to", "HSM", "--reason", "社区合并"], db: street).status == 0)
        try deployment.sync(street)
        let retire = try deployment.server.admin(["office", "retire", "XQ"])
        #expect(retire.status == 0, "\(retire.stderr)")
        let sync = try deployment.rain(["sync"], db: xq)
        #expect(sync.status == 7 && sync.stderr.contains("revoked"))
        let late = try deployment.rain(
            ["init", "--office", "XQ", "--staff", "新人", "--server", deployment.server.url, "--token", unused],
            db: deployment.scratch.file("late.sqlite"))
        #expect(late.status == 7, "a retired office's token no longer enrols")
        #expect(try deployment.server.admin(["office", "token", "XQ"]).status == 3)
        #expect(
            try deployment.server.admin(["office", "add", "XQ", "--name", "新桥", "--level", "community", "--parent", "JD1"]).status == 4)
        let list = try #require(try deployment.server.admin(["office", "list", "--json"]).json as? [[String: Any]])
        #expect(list.first { $0["code"] as? String == "XQ" }?["retired_at"] is Int)
    }
}
