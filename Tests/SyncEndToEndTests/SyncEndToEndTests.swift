import CaseStore
import Foundation
import GRDB
import NIOHTTP1
import ReplicaStore
import SyncCore
import Testing

/// A real `rain-server` on a free loopback port, real replica files, the built `rain`.
@Suite(.serialized) struct SyncEndToEndTests {
    @Test func theExecutablesAreBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: Built.rain), "swift build --product rain")
        #expect(FileManager.default.isExecutableFile(atPath: Built.server), "swift build --product rain-server")
    }

    @Test(arguments: Backend.allCases) func offlineWorkOnThreeReplicasReachesEveryReplica(_ backend: Backend) throws {
        // Three laptops of one community: each holds every case of the community.
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        // The third works offline first and enrols later, keeping its work.
        let c = deployment.scratch.file("c.sqlite")
        try #require(deployment.rain(["init", "--office", "HSM", "--staff", "王五"], db: c).status == 0)
        var numbers: [String] = []
        for (db, title) in [(a, "楼道堆放杂物"), (a, "路灯不亮"), (b, "垃圾清运不及时"), (c, "独居老人需要助餐")] {
            numbers.append(try deployment.newCase(db, title: title, extra: ["--citizen", "赵六", "--phone", "13812345678"]))
        }
        let enrol = try deployment.rain(["enrol", "--server", deployment.server.url, "--token", try deployment.token("HSM")], db: c)
        #expect(enrol.status == 0, "\(enrol.stderr)")
        #expect(try deployment.sync(a)["sent"] as? Int == 2)
        #expect(try deployment.sync(b)["received"] as? Int == 2)
        let third = try deployment.sync(c)
        #expect(third["sent"] as? Int == 1 && third["received"] as? Int == 3)
        try deployment.sync(a)
        try deployment.sync(b)
        for db in [a, b, c] { #expect(try deployment.numbers(db) == numbers.sorted()) }
        for number in numbers {
            let shown = try [a, b, c].map { try deployment.show(number, $0) }
            #expect(Set(shown).count == 1, "case \(number) differs between replicas")
        }
        // `rain status` shows the server, the last sync and nothing left to send.
        let status = try deployment.rain(["status", "--json"], db: c).object
        #expect(status["server"] as? String == deployment.server.url)
        #expect(status["unsynced"] as? Int == 0 && status["conflicts"] as? Int == 0)
        #expect(status["last_sync"] is Int)
    }

    @Test(arguments: Backend.allCases) func concurrentEditsOfDifferentFieldsMergeWithoutConflict(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        let number = try deployment.newCase(a, title: "楼道堆放杂物")
        try deployment.sync(a)
        try deployment.sync(b)
        #expect(try deployment.rain(["case", "edit", number, "--title", "楼道堆放大量杂物"], db: a).status == 0)
        #expect(try deployment.rain(["case", "edit", number, "--address", "和平路88号3栋"], db: b).status == 0)
        #expect(try deployment.rain(["case", "verify", number], db: b).status == 0)
        for db in [a, b, a] { #expect(try deployment.sync(db)["conflicts"] as? Int == 0) }
        let shown = try deployment.show(number, a, reveal: true)
        #expect(shown == (try deployment.show(number, b, reveal: true)))
        #expect(shown.contains("楼道堆放大量杂物") && shown.contains("和平路88号3栋") && shown.contains("\"verifying\""))
    }

    @Test(arguments: Backend.allCases) func aConflictShowsTheSameWinnerEverywhereAndAResolutionSettlesItEverywhere(_ backend: Backend)
        throws
    {
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        // The street office handles its communities' cases too.
        let c = try deployment.replica("c", office: "JD1", staff: "王五")
        let number = try deployment.newCase(a, title: "楼道堆放杂物")
        for db in [a, b, c] { try deployment.sync(db) }
        #expect(try deployment.rain(["case", "edit", number, "--title", "标题甲"], db: a).status == 0)
        #expect(try deployment.rain(["case", "edit", number, "--title", "标题乙"], db: b).status == 0)
        for db in [a, b, c, a] { try deployment.sync(db) }
        let listed = try [a, b, c].map { try deployment.rain(["conflicts", "--json"], db: $0).stdout }
        #expect(Set(listed).count == 1, "the conflict differs between replicas: \(listed)")
        let conflicts = try #require(try JSONSerialization.jsonObject(with: Data(listed[0].utf8)) as? [[String: Any]])
        try #require(conflicts.count == 1)
        #expect(conflicts[0]["case"] as? String == number && conflicts[0]["field"] as? String == "title")
        let values = try #require(conflicts[0]["values"] as? [[String: Any]])
        #expect(Set(values.compactMap { $0["value"] as? String }) == ["标题甲", "标题乙"])
        #expect(Set(values.compactMap { $0["office"] as? String }) == ["HSM"])
        #expect(try deployment.rain(["status", "--json"], db: c).object["conflicts"] as? Int == 1)
        #expect(Set(values.compactMap { $0["author"] as? String }) == ["张三", "李四"])
        let shownBefore = try [a, b, c].map { try deployment.show(number, $0) }
        #expect(Set(shownBefore).count == 1, "the winner differs between replicas")

        // Settled on the third office's replica; after a sync, gone everywhere.
        let resolve = try deployment.rain(["resolve", number, "title", "--value", "楼道堆放杂物（已核实）"], db: c)
        #expect(resolve.status == 0, "\(resolve.stderr)")
        for db in [c, a, b] { try deployment.sync(db) }
        for db in [a, b, c] {
            #expect(try deployment.rain(["conflicts", "--json"], db: db).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }
        let shownAfter = try [a, b, c].map { try deployment.show(number, $0) }
        #expect(Set(shownAfter).count == 1)
        #expect(shownAfter[0].contains("楼道堆放杂物（已核实）"))

        // A second sync has nothing to do: one request, nothing sent or received.
        let before = deployment.server.log.components(separatedBy: "\n").filter { $0.contains("] request") }.count
        let again = try deployment.sync(a)
        #expect(again["sent"] as? Int == 0 && again["received"] as? Int == 0 && again["conflicts"] as? Int == 0)
        let after = deployment.server.log.components(separatedBy: "\n").filter { $0.contains("] request") }.count
        #expect(after - before == 1, "a sync with nothing to do costs one round trip")
    }

    @Test(arguments: Backend.allCases) func aSyncKilledDuringPushOrPullEndsExactlyAsAnUninterruptedOne(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        let reference = try deployment.replica("ref", office: "HSM", staff: "赵六")
        try writeCases(a, count: 1_500, prefix: "A")
        let small = ["RAIN_SYNC_BATCH": "100", "RAIN_SYNC_PAGE": "100"]

        // Killed twice while pushing, right after the server acknowledged a batch.
        for point in ["sync-after-push:3", "sync-after-push:2"] {
            let killed = try deployment.rain(["sync"], db: a, environment: small.merging(["RAIN_FAILPOINT": point]) { $1 })
            #expect(killed.signalled && killed.status == SIGKILL, "expected the failpoint to kill rain: \(killed.stderr)")
        }
        let pushed = try deployment.rain(["sync", "--json"], db: a, environment: small)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let replicas = try #require(try deployment.server.admin(["replica", "list", "--json"]).json as? [[String: Any]])
        let holds = replicas.first { ($0["staff"] as? String) == "张三" }?["holds"] as? Int
        #expect(holds == 1_500)
        #expect(try deployment.rain(["status", "--json"], db: a).object["unsynced"] as? Int == 0)

        // Killed twice while pulling, after a page arrived and before it was applied.
        for point in ["sync-after-pull:4", "sync-after-pull:6"] {
            let killed = try deployment.rain(["sync"], db: b, environment: small.merging(["RAIN_FAILPOINT": point]) { $1 })
            #expect(killed.signalled && killed.status == SIGKILL, "expected the failpoint to kill rain: \(killed.stderr)")
        }
        let pulled = try deployment.rain(["sync", "--json"], db: b, environment: small)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        // The uninterrupted reference pulls the same in one go.
        try deployment.sync(reference)
        let expected = try deployment.numbers(reference)
        #expect(expected.count == 1_500)
        #expect(try deployment.numbers(b) == expected)
        for db in [a, b, reference] { #expect(try integrity(db) == "ok") }
        // Nothing applied twice: each replica holds each change once.
        let count = { (path: String) throws -> Int in try officeReplica(path).changeCount() }
        #expect(try count(b) == 1_500 && count(reference) == 1_500 && count(a) == 1_500)
    }

    @Test(arguments: Backend.allCases) func theServerKilledMidPushLosesNothingItAcknowledged(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        try writeCases(a, count: 800, prefix: "K")
        deployment.server.kill9()
        // The server dies inside the transaction of the fourth batch it applies.
        try deployment.server.start(environment: ["RAIN_FAILPOINT": "before-commit:4"])
        let interrupted = try deployment.rain(
            ["sync", "--attempts", "2"], db: a, environment: ["RAIN_SYNC_BATCH": "100"])
        #expect(interrupted.status == 6, "expected the unreachable-server exit code: \(interrupted.stderr)")
        #expect(interrupted.stderr.contains("run rain sync again"))
        deployment.server.kill9()
        let acked = try officeReplica(a).syncState().acked
        #expect(acked == 300, "three batches were acknowledged before the server died")
        try deployment.server.start()
        let replicas = try #require(try deployment.server.admin(["replica", "list", "--json"]).json as? [[String: Any]])
        let holds = try #require(replicas.first?["holds"] as? Int)
        // Exactly: the fourth batch died with its transaction, none of it kept.
        #expect(holds == 300, "the server lost an acknowledged batch, or kept part of an unanswered one")
        let resumed = try deployment.rain(["sync", "--json"], db: a, environment: ["RAIN_SYNC_BATCH": "100"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.object["sent"] as? Int == 500, "the rest, once: \(resumed.stdout)")
        #expect(try count(deployment.server.db) == 800, "nothing applied twice")
        #expect(try integrity(deployment.server.db) == "ok")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try deployment.sync(b)
        #expect(try deployment.numbers(b).count == 800)
    }

    @Test func aServerStoppedWithSIGTERMDuringASyncLosesNothingItAcknowledged() throws {
        let deployment = try Deployment()
        // Through a proxy that delays every exchange (at least 0.1 s a batch, 10 s for the
        // hundred), so that the server is stopped mid-sync whatever the machine's load.
        let port = try #require(deployment.server.url.split(separator: ":").last.flatMap { UInt16($0) })
        let proxy = try FaultProxy(upstreamPort: port)
        defer { proxy.close() }
        let a = deployment.scratch.file("a.sqlite")
        let enrolled = try deployment.rain(
            ["init", "--office", "HSM", "--staff", "张三", "--server", proxy.url, "--token", try deployment.token("HSM")], db: a)
        try #require(enrolled.status == 0, "\(enrolled.stderr)")
        try writeCases(a, count: 2_000, prefix: "T")
        proxy.setStanding(.delay(milliseconds: 50))
        // A sync in flight, in small batches; the server is stopped gracefully under it.
        let sync = Process()
        sync.executableURL = URL(fileURLWithPath: Built.rain)
        sync.arguments = ["sync", "--attempts", "1", "--db", a]
        var environment = ProcessInfo.processInfo.environment
        environment["RAIN_SYNC_BATCH"] = "20"
        environment["RAIN_STATE_DIR"] = deployment.scratch.path + "/.state"
        environment["LANG"] = "en_US.UTF-8"
        environment.removeValue(forKey: "RAIN_FAILPOINT")
        sync.environment = environment
        let said = deployment.scratch.file("sync.stderr")
        FileManager.default.createFile(atPath: said, contents: nil)
        sync.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        sync.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: said))
        try sync.run()
        // Wait until the server has applied a batch of the hundred, then SIGTERM it.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !deployment.server.log.contains("] push") { usleep(5_000) }
        try #require(deployment.server.log.contains("] push"), "no batch reached the server within a minute")
        try #require(sync.isRunning, "the sync ended before the server was stopped")
        deployment.server.stop()
        sync.waitUntilExit()
        // The signal landed mid-sync: some batches were applied, not all, and rain saw the
        // server go away (exit 6) after them.
        let pushes = deployment.server.log.components(separatedBy: "\n").filter { $0.contains("] push") }.count
        #expect(pushes > 0 && pushes < 100, "\(pushes) of 100 batches pushed")
        #expect(sync.terminationReason == .exit && sync.terminationStatus == 6)
        let acked = try officeReplica(a).syncState().acked
        let message = try String(contentsOfFile: said, encoding: .utf8)
        #expect(message.contains("cannot reach the server") && message.contains("sent \(acked) and received 0 before that"), "\(message)")
        // Stopped gracefully: every batch it applied was answered, and its database closed
        // (no write-ahead log left beside it).
        #expect(acked == UInt64(pushes * 20), "\(pushes) batches applied, \(acked) changes acknowledged")
        #expect(deployment.server.log.contains("stopped"))
        #expect(!FileManager.default.fileExists(atPath: deployment.server.db + "-wal"), "the server left its write-ahead log")
        try deployment.server.start()
        proxy.setStanding(nil)
        let replicas = try #require(try deployment.server.admin(["replica", "list", "--json"]).json as? [[String: Any]])
        let holds = try #require(replicas.first?["holds"] as? Int)
        #expect(UInt64(holds) == acked, "the server lost an acknowledged batch, or applied one it did not answer, on SIGTERM")
        #expect(try integrity(deployment.server.db) == "ok")
        let resumed = try deployment.rain(["sync", "--json"], db: a)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try deployment.rain(["status", "--json"], db: a).object["unsynced"] as? Int == 0)
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try deployment.sync(b)
        #expect(try deployment.numbers(b).count == 2_000)
    }

    @Test(arguments: Backend.allCases) func aWrongTokenOrARevokedReplicaGetsAClearErrorAndWritesNothing(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let wrong = deployment.scratch.file("wrong.sqlite")
        let refused = try deployment.rain(
            [
                "init", "--office", "HSM", "--staff", "张三", "--server", deployment.server.url, "--token",
                "0123456789ab." + String(repeating: "0", count: 64),
            ],
            db: wrong)
        #expect(refused.status == 7)
        #expect(refused.stderr.contains("enrolment token is not valid"))
        #expect(!FileManager.default.fileExists(atPath: wrong), "a failed enrolment leaves no replica file")

        // A token works once.
        let token = try deployment.token("HSM")
        let first = deployment.scratch.file("first.sqlite")
        #expect(
            try deployment.rain(
                ["init", "--office", "HSM", "--staff", "张三", "--server", deployment.server.url, "--token", token], db: first
            ).status == 0)
        let second = try deployment.rain(
            ["init", "--office", "HSM", "--staff", "李四", "--server", deployment.server.url, "--token", token],
            db: deployment.scratch.file("second.sqlite"))
        #expect(second.status == 7)
        // A token for another office is refused by the client before anything is kept.
        let other = try deployment.rain(
            ["init", "--office", "XQ", "--staff", "李四", "--server", deployment.server.url, "--token", try deployment.token("HSM")],
            db: deployment.scratch.file("other.sqlite"))
        #expect(other.status == 7 && other.stderr.contains("token is for office HSM"))

        _ = try deployment.newCase(first, title: "楼道堆放杂物")
        let id = try officeReplica(first).identity.replica.rawValue
        let revoke = try deployment.server.admin(["replica", "revoke", id])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        let changesBefore = try count(deployment.server.db)
        let sync = try deployment.rain(["sync"], db: first)
        #expect(sync.status == 7)
        #expect(sync.stderr.contains("revoked") && sync.stderr.contains("your work is kept"))
        #expect(try count(deployment.server.db) == changesBefore)
        #expect(try deployment.rain(["status", "--json"], db: first).object["unsynced"] as? Int == 1, "the one new case, kept")
    }

    @Test func anUnreachableServerIsReportedWithWhatToDo() throws {
        let deployment = try Deployment()
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        _ = try deployment.newCase(a, title: "楼道堆放杂物")
        deployment.server.stop()
        let run = try deployment.rain(["sync", "--attempts", "2"], db: a)
        #expect(run.status == 6)
        #expect(run.stderr.contains("cannot reach the server") && run.stderr.contains("tried 2 times"))
        let zh = try deployment.rain(["sync", "--attempts", "1", "--lang", "zh"], db: a)
        #expect(zh.status == 6 && zh.stderr.contains("无法连接服务器"))
        try deployment.server.start()
        #expect(try deployment.sync(a)["sent"] as? Int == 1)
    }

    @Test func theDemoWalksThreeOfficesToOneStateAndStopsItsServer() throws {
        let scratch = try Scratch()
        let run = try execute(Built.rain, ["demo", "--lang", "en"], environment: ["TMPDIR": scratch.path], in: scratch.path)
        #expect(run.status == 0, "\(run.stderr)")
        for line in [
            "listening on http://127.0.0.1:", "$ rain sync --db wang.sqlite", "the three replicas show the case identically",
            "no conflicts",
        ] {
            #expect(run.stdout.contains(line), "the demo did not print \(line)")
        }
        #expect(run.stdout.contains("conflicts 1"), "the demo shows a conflict")
        // The temporary folder is gone, and so is the server.
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("rain-demo-") }
        #expect(left.isEmpty)
    }

    @Test func theServerLogNeverContainsResidentsData() throws {
        let deployment = try Deployment()
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        _ = try deployment.newCase(a, title: "楼道堆放杂物", extra: ["--citizen", "欧阳娜娜", "--phone", "13912345678", "--address", "和平路88号3栋"])
        try deployment.sync(a)
        let log = deployment.server.log
        #expect(log.contains("push"))
        for planted in ["欧阳娜娜", "13912345678", "12345678", "和平路88号", "楼道堆放杂物"] {
            #expect(!log.contains(planted), "the log holds \(planted)")
        }
        let credential = try #require(try officeReplica(a).syncState().credential)
        #expect(!log.contains(String(credential.split(separator: ".").last ?? "")), "the log holds the credential")
    }
}

/// Credentials over time: rotation, revocation, and a revoked replica's unsynced work.
@Suite(.serialized) struct CredentialTests {
    @Test(arguments: Backend.allCases) func aRotatedCredentialReplacesTheOldOneOnceUsed(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let before = try #require(try officeReplica(a).syncState().credential)
        let rekey = try deployment.rain(["rekey"], db: a)
        #expect(rekey.status == 0, "\(rekey.stderr)")
        let after = try #require(try officeReplica(a).syncState().credential)
        #expect(after != before && after.hasPrefix(String(before.split(separator: ".")[0]) + "."))
        // The new one works; the old one stopped working once the new one was used.
        _ = try deployment.newCase(a, title: "楼道堆放杂物")
        #expect(try deployment.sync(a)["sent"] as? Int == 1)
        let store = try officeReplica(a)
        let state = try store.syncState()
        try store.saveEnrolment(
            server: try #require(state.server), credential: before, officeName: state.officeName ?? "", officeLevel: state.officeLevel ?? ""
        )
        let old = try deployment.rain(["sync"], db: a)
        #expect(old.status == 7 && old.stderr.contains("refused"), "\(old.stderr)")
        #expect(!deployment.server.log.contains(String(after.split(separator: ".")[1])), "the log holds the new credential")
    }

    @Test func aRotationAskedAgainWithTheOldCredentialKeepsTheOldOneWorking() async throws {
        // The answer of a rotation was lost: the client still holds the old credential and
        // asks again. The old one must keep working until the newest is used (PROTOCOL §9.2).
        let deployment = try Deployment()
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let old = try #require(try officeReplica(a).syncState().credential)
        let url = deployment.server.url
        let lost = try await ServerHTTPTests.send(.POST, url + "/rekey", credential: old)
        #expect(lost.status == 200)
        let second = try await ServerHTTPTests.send(.POST, url + "/rekey", credential: old)
        #expect(second.status == 200, "a second rotation with the old credential: \(second.status)")
        #expect(try await ServerHTTPTests.send(.GET, url + "/changes", credential: old).status == 200)
        let newest = try #require(second.body["credential"] as? String)
        let unused = try #require(lost.body["credential"] as? String)
        #expect(try await ServerHTTPTests.send(.GET, url + "/changes", credential: unused).status == 401)
        #expect(try await ServerHTTPTests.send(.GET, url + "/changes", credential: newest).status == 200)
        // Once the newest is used, the old one stops working.
        #expect(try await ServerHTTPTests.send(.GET, url + "/changes", credential: old).status == 401)
    }

    @Test(arguments: Backend.allCases) func aRevokedReplicasWorkIsExportedAndImportedNeverDropped(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        _ = try deployment.newCase(a, title: "已同步的案件")
        try deployment.sync(a)
        let numbers = [try deployment.newCase(a, title: "未同步一"), try deployment.newCase(a, title: "未同步二")]
        let id = try officeReplica(a).identity.replica.rawValue
        #expect(try deployment.server.admin(["replica", "revoke", id]).status == 0)
        let refused = try deployment.rain(["sync"], db: a)
        #expect(refused.status == 7 && refused.stderr.contains("rain export --pending"), "\(refused.stderr)")
        // Rotation is refused too once revoked.
        #expect(try deployment.rain(["rekey"], db: a).status == 7)

        let file = deployment.scratch.file("pending.json")
        let export = try deployment.rain(["export", "--pending", file, "--json"], db: a)
        #expect(export.status == 0 && export.object["changes"] as? Int == 2, "\(export.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try deployment.rain(["export", "--pending", file], db: a).status == 1, "an export never overwrites a file")
        // The administrator applies it on the server; another replica then has the work.
        let imported = try deployment.server.admin(["import", file, "--json"])
        #expect(imported.status == 0 && imported.object["accepted"] as? Int == 2, "\(imported.stderr)")
        let again = try deployment.server.admin(["import", file, "--json"])
        #expect(again.status == 0 && again.object["accepted"] as? Int == 0 && again.object["duplicates"] as? Int == 2)
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try deployment.sync(b)
        let held = try deployment.numbers(b)
        for number in numbers { #expect(held.contains(number)) }
    }
}
