import Foundation
import GRDB
import Testing

/// A replica file replaced by an older copy of itself (`Protocol/PROTOCOL.md` §9.8): the
/// work done on it since is re-issued under a fresh identity, the server's changes the
/// copy lacked come back, nothing is lost or merged into the wrong change, and no case
/// number is handed out twice.
@Suite(.serialized) struct RestoredReplicaTests {
    /// How the restore comes to light.
    enum Detection: String, CaseIterable, Sendable {
        /// This machine's high-water mark: noticed at the first command on the old copy.
        case local
        /// The server: the copy's new changes reuse dots it holds (409 `dot_reused`).
        case server
        /// The server: nothing new on the copy, but the server holds more of its changes.
        case serverAheadOnly
    }

    /// A copy of a replica file as a backup tool takes it (WAL included).
    static func backup(_ path: String, to copy: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
    }

    /// Puts `copy` back in place of `path`, as restoring a backup does.
    static func restore(_ copy: String, over path: String) throws {
        let manager = FileManager.default
        for suffix in ["", "-wal", "-shm"] { try? manager.removeItem(atPath: path + suffix) }
        try manager.copyItem(atPath: copy, toPath: path)
    }

    func events(_ deployment: Deployment, _ number: String, _ db: String) throws -> [String] {
        let run = try deployment.rain(["case", "show", number, "--json"], db: db)
        try #require(run.status == 0, "\(run.stderr)")
        return ((run.object["events"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }.sorted()
    }

    @Test(arguments: Detection.allCases, Backend.allCases)
    func aRestoredReplicaReissuesItsNewWorkAndGetsItsLostWorkBack(_ detection: Detection, _ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        let first = try deployment.newCase(a, title: "楼道堆放杂物")
        try #require(deployment.rain(["case", "note", first, "已联系物业"], db: a).status == 0)
        try deployment.sync(a)

        // Last night's backup.
        let copy = deployment.scratch.file("a-backup.sqlite")
        try Self.backup(a, to: copy)

        // This morning, before the disk dies: a new case, an edit, a note — all synced.
        let lost = try deployment.newCase(a, title: "路灯不亮")
        try #require(deployment.rain(["case", "edit", first, "--title", "楼道堆放杂物（三楼）"], db: a).status == 0)
        try #require(deployment.rain(["case", "note", first, "物业答应周五清理"], db: a).status == 0)
        try deployment.sync(a)
        let serverBefore = try deployment.server.admin(["replica", "list", "--json"]).json as? [[String: Any]]
        let oldID = try #require(serverBefore?.first { ($0["staff"] as? String) == "张三" }?["id"] as? String)

        // The laptop comes back from the backup.
        try Self.restore(copy, over: a)
        if detection != .local {
            // Restored on another machine: no high-water mark to compare with.
            try? FileManager.default.removeItem(atPath: deployment.scratch.path + "/.state")
        }
        let status = try deployment.rain(["status"], db: a)
        #expect(status.status == 0)
        #expect(
            status.stderr.contains("older than this machine last saw it") == (detection == .local),
            "local detection: \(status.stderr)")

        let marked = try deployment.rain(["status", "--json"], db: a)
        #expect(marked.object["restored"] as? Bool == (detection == .local))

        // Hours of offline work on the restored copy (restoring takes a while: the clock
        // is two hours on): its dots repeat the lost ones.
        let later = ["RAIN_CLOCK_OFFSET_MS": "7200000"]
        var fresh: String?
        if detection != .serverAheadOnly {
            let run = try deployment.rain(
                ["case", "new", "--kind", "help", "--category", "社会救助", "--title", "独居老人需要助餐", "--json"], db: a,
                environment: later)
            try #require(run.status == 0, "\(run.stderr)")
            fresh = run.object["number"] as? String
            try #require(
                deployment.rain(["case", "edit", first, "--title", "楼道杂物已部分清理"], db: a, environment: later).status == 0)
            try #require(deployment.rain(["case", "note", first, "上门核实：仍有杂物"], db: a, environment: later).status == 0)
            // A number once handed out is never handed out again.
            #expect(fresh != lost && fresh != first)
        }

        let run = try deployment.rain(["sync", "--json"], db: a, environment: later)
        try #require(run.status == 0, "sync after the restore failed: \(run.stderr)")
        let recovered = try #require(run.object["recovered"] as? [String: Any], "no recovery in \(run.stdout)")
        #expect(recovered["from"] as? String == oldID)
        let newID = try #require(recovered["replica"] as? String)
        #expect(newID != oldID)
        #expect(recovered["reissued"] as? Int == (detection == .serverAheadOnly ? 0 : 3))
        // Everything the file and the server had in common stays the old identity's.
        #expect(recovered["same"] as? Int == 2)
        try deployment.sync(a)
        try deployment.sync(b)
        let after = try deployment.rain(["status", "--json"], db: a).object
        #expect(after["replica"] as? String == newID && after["restored"] as? Bool == false)
        #expect((after["former_identities"] as? [[String: Any]])?.first?["replica"] as? String == oldID)

        // Every case, every note — the lost ones and the new ones — on both replicas.
        let expected = ([first, lost] + (fresh.map { [$0] } ?? [])).sorted()
        #expect(try deployment.numbers(a) == expected)
        #expect(try deployment.numbers(b) == expected)
        var notes = ["已联系物业", "物业答应周五清理"]
        if detection != .serverAheadOnly { notes.append("上门核实：仍有杂物") }
        #expect(try events(deployment, first, a) == notes.sorted())
        for number in expected {
            #expect(try deployment.show(number, a) == deployment.show(number, b), "case \(number) differs")
        }
        // Two titles written without seeing each other: a visible conflict, not a silent loss.
        let conflicts = try deployment.rain(["conflicts", "--json"], db: b)
        let fields = ((conflicts.json as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String }
        #expect(fields == (detection == .serverAheadOnly ? [] : ["title"]))
        // Nothing applied twice: 2 + 3 changes of the old identity, 3 of the new.
        let total = detection == .serverAheadOnly ? 5 : 8
        #expect(try count(a) == total && count(b) == total && count(deployment.server.db) == total)

        // The server knows the new identity as the old one's successor; the old one is retired.
        let listed = try #require(try deployment.server.admin(["replica", "list", "--json"]).json as? [[String: Any]])
        let old = try #require(listed.first { ($0["id"] as? String) == oldID })
        #expect(old["superseded_by"] as? String == newID)
        #expect(listed.contains { ($0["id"] as? String) == newID && ($0["office"] as? String) == "HSM" })

        // An even older copy, restored again, cannot sync under the retired identity.
        try Self.restore(copy, over: deployment.scratch.file("again.sqlite"))
        let again = try deployment.rain(["sync"], db: deployment.scratch.file("again.sqlite"))
        #expect(again.status == 7)
        #expect(again.stderr.contains("re-issued"), "\(again.stderr)")

        for db in [a, b] {
            #expect(try integrity(db) == "ok")
        }
    }

    @Test(arguments: Backend.allCases) func aRecoveryInterruptedAfterTheServerAnsweredResumes(_ backend: Backend) throws {
        // The client dies between the server's re-issue and its own transaction.
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        _ = try deployment.newCase(a, title: "楼道堆放杂物")
        try deployment.sync(a)
        let copy = deployment.scratch.file("a-backup.sqlite")
        try Self.backup(a, to: copy)
        _ = try deployment.newCase(a, title: "路灯不亮")
        try deployment.sync(a)
        try Self.restore(copy, over: a)
        let later = ["RAIN_CLOCK_OFFSET_MS": "7200000"]
        let created = try deployment.rain(
            ["case", "new", "--kind", "help", "--category", "社会救助", "--title", "独居老人需要助餐", "--json"], db: a, environment: later)
        let fresh = try #require(created.object["number"] as? String)

        let killed = try deployment.rain(
            ["sync"], db: a, environment: later.merging(["RAIN_FAILPOINT": "recover-before-commit"]) { $1 })
        #expect(killed.signalled)
        let run = try deployment.rain(["sync", "--json"], db: a, environment: later)
        try #require(run.status == 0, "\(run.stderr)")
        #expect((run.object["recovered"] as? [String: Any])?["reissued"] as? Int == 1)
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try deployment.sync(b)
        #expect(try deployment.numbers(b).contains(fresh))
        #expect(try deployment.numbers(b).count == 3)
        // One successor only: the retry asked for the same fresh id.
        let listed = try #require(try deployment.server.admin(["replica", "list", "--json"]).json as? [[String: Any]])
        #expect(listed.count == 3)
    }
}
