import CaseStore
import Foundation
import ReplicaStore
import SyncCore
import TestSupport
import Testing

/// Three `rain-server` processes on one PostgreSQL database behind a round-robin TCP
/// proxy (any load balancer, no sticky sessions), replicas syncing through it, and one
/// server SIGKILLed in the middle of a push — before its transaction commits, or after
/// it committed and before it answered. `rain` retries through the proxy onto another
/// server and everything converges: nothing lost, nothing held twice.
@Suite(.serialized) struct MultiServerTests {
    static func port(_ server: ServerProcess) -> UInt16 {
        UInt16(server.url.split(separator: ":").last.map(String.init) ?? "") ?? 0
    }

    @Test(arguments: ["before-commit", "server-after-commit"])
    func serversBehindARoundRobinProxyLoseNothingWhenOneIsKilledMidPush(_ point: String) throws {
        let deployment = try Deployment(backend: .postgres)
        let db = deployment.server.db
        let second = try ServerProcess(folder: deployment.scratch.path, db: db)
        // The third dies at the second push it is about to commit (or has committed).
        let third = try ServerProcess(folder: deployment.scratch.path, db: db, environment: ["RAIN_FAILPOINT": "\(point):2"])
        let servers = [deployment.server, second, third]
        let proxy = try FaultProxy(upstreamPorts: servers.map(Self.port))
        let a = try deployment.replica("a", office: "HSM", staff: "张三", server: proxy.url)
        let b = try deployment.replica("b", office: "HSM", staff: "李四", server: proxy.url)
        let c = try deployment.replica("c", office: "XQ", staff: "王五", server: proxy.url)
        let district = try deployment.replica("d", office: "HSD", staff: "赵六", server: proxy.url)
        // Small batches: a sync is many pushes, spread over the servers.
        let small = ["RAIN_SYNC_BATCH": "5", "RAIN_SYNC_PAGE": "7"]
        var written = 0
        var round = 0
        var failedSyncs: [String] = []
        while round < 12 {
            defer { round += 1 }
            for (index, replica) in [a, b, c].enumerated() {
                try writeCases(replica, count: 12, prefix: "R\(round)-\(index)")
                written += 12
            }
            for replica in [a, b, c, district] {
                let run = try deployment.rain(["sync", "--json"], db: replica, environment: small)
                if run.status != 0 { failedSyncs.append(run.stderr) }
            }
            if round >= 3, !third.process.isRunning { break }
        }
        #expect(third.waitForExit(seconds: 5), "the third server was never killed at \(point)")
        #expect(failedSyncs.isEmpty, "a sync gave up instead of retrying on another server: \(failedSyncs)")
        // Two quiet rounds: every replica has everything it may hold.
        for _ in 0..<2 {
            for replica in [a, b, c, district] { try deployment.sync(replica) }
        }
        let held = try count(db)
        #expect(held == written, "the server holds \(held) changes of \(written) written")
        #expect(try integrity(db) == "ok")
        let hsm = try deployment.numbers(a)
        #expect(try deployment.numbers(b) == hsm, "two replicas of one office differ")
        let (inA, inB) = (try count(a), try count(b))
        #expect(inA == inB)
        #expect(try deployment.numbers(district).count == written, "the district lacks cases")
        #expect(try count(district) == written, "the district holds a change twice or lacks one")
        #expect(Set(try deployment.numbers(c)).isDisjoint(with: hsm), "a community received another's cases")
        // The proxy spread the connections over every server.
        let served = proxy.served
        #expect(servers.allSatisfy { (served[Self.port($0)] ?? 0) > 0 }, "a server took no connection: \(served)")
        proxy.close()
        second.kill9()
    }
}

/// `rain-server migrate`: a running district moved from its SQLite file to PostgreSQL and
/// back, with live replicas that keep syncing afterwards with their credentials and
/// cursors unchanged.
@Suite(.serialized) struct DatabaseMoveTests {
    @Test func aDistrictMovesToPostgreSQLAndBackAndItsReplicasKeepSyncing() throws {
        let deployment = try Deployment()
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        let x = try deployment.replica("x", office: "XQ", staff: "王五")
        let district = try deployment.replica("d", office: "HSD", staff: "赵六")
        try writeCases(a, count: 40, prefix: "A")
        try writeCases(x, count: 25, prefix: "X")
        let first = try deployment.newCase(b, title: "楼道堆放杂物")
        #expect(try deployment.rain(["case", "note", first, "已联系物业"], db: b).status == 0)
        for replica in [a, b, x, district, a] { try deployment.sync(replica) }
        // A refusal and a revoked replica: kept across the move too.
        let revoked = try deployment.replica("r", office: "HSM", staff: "钱七")
        #expect(
            try deployment.server.admin(["replica", "revoke", try officeReplica(revoked).identity.replica.rawValue]).status == 0)
        let sqlite = deployment.server.db
        let before = try [
            "changes", "merge_state", "replicas", "offices", "enrolment_tokens", "scope_log",
        ].map { try count(sqlite, "SELECT count(*) FROM \($0)") }

        deployment.server.stop()
        let postgres = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(postgres) }
        let moved = try execute(Built.server, ["migrate", "--from", sqlite, "--to", postgres, "--json"], in: deployment.scratch.path)
        #expect(moved.status == 0, "\(moved.stderr)")
        let tables = (moved.json as? [[String: Any]]) ?? []
        #expect(tables.count == 10 && (tables.first { $0["table"] as? String == "changes" }?["rows"] as? Int) == before[0])
        let after = try [
            "changes", "merge_state", "replicas", "offices", "enrolment_tokens", "scope_log",
        ].map { try count(postgres, "SELECT count(*) FROM \($0)") }
        #expect(after == before, "row counts differ after the move")
        // Into a database that is not empty: refused, nothing written.
        let again = try execute(Built.server, ["migrate", "--from", sqlite, "--to", postgres], in: deployment.scratch.path)
        #expect(again.status == 4 && again.stderr.contains("already holds"))

        try deployment.server.moveTo(postgres)
        // Nothing new: a sync sends and receives nothing (the cursors still hold).
        let quiet = try deployment.sync(a)
        #expect(quiet["sent"] as? Int == 0 && quiet["received"] as? Int == 0, "\(quiet)")
        // New work flows through the moved server.
        try writeCases(b, count: 10, prefix: "B")
        try deployment.sync(b)
        let pulled = try deployment.sync(a)
        #expect(pulled["received"] as? Int == 10, "only the new changes: \(pulled)")
        try deployment.sync(district)
        #expect(try deployment.numbers(a) == deployment.numbers(b))
        #expect(try deployment.numbers(district).count == 40 + 25 + 1 + 10)
        let refusedSync = try deployment.rain(["sync"], db: revoked)
        #expect(refusedSync.status != 0, "the revoked replica stays revoked")

        // And back to a new SQLite file, still serving the same replicas.
        deployment.server.stop()
        let back = deployment.scratch.file("back.sqlite")
        let returned = try execute(Built.server, ["migrate", "--from", postgres, "--to", back], in: deployment.scratch.path)
        #expect(returned.status == 0, "\(returned.stderr)")
        try deployment.server.moveTo(back)
        try writeCases(x, count: 3, prefix: "Y")
        try deployment.sync(x)
        #expect(try deployment.sync(district)["received"] as? Int == 3)
        #expect(try integrity(back) == "ok")
    }
}

/// A PostgreSQL database restored from a backup under live replicas: `rain-server
/// restored` makes every later number exceed every position a replica holds, so the
/// changes the restore lost come back from their writers and reach everyone.
@Suite(.serialized) struct PostgresRestoreTests {
    @Test func aRestoredDatabaseLosesNothingThatAReplicaStillHolds() throws {
        let deployment = try Deployment(backend: .postgres)
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        let district = try deployment.replica("d", office: "HSD", staff: "赵六")
        try writeCases(a, count: 10, prefix: "A")
        for replica in [a, b, district] { try deployment.sync(replica) }
        // The backup: a copy of the database (servers stopped, as for a consistent dump).
        let live = deployment.server.db
        deployment.server.stop()
        let backup = TestPostgres.url(
            live, database: "backup_" + UUID().uuidString.prefix(8).lowercased().replacingOccurrences(of: "-", with: ""))
        let name = String(backup.split(separator: "/").last?.split(separator: "?").first ?? "")
        _ = try TestPostgres.query(
            TestPostgres.url(live, database: "postgres"),
            "CREATE DATABASE \(name) TEMPLATE \(live.split(separator: "/").last?.split(separator: "?").first ?? "")")
        defer { TestPostgres.dropDatabase(backup) }
        try deployment.server.moveTo(live)
        // After the backup: a's work reaches the district; b works offline.
        try writeCases(a, count: 5, prefix: "B")
        try deployment.sync(a)
        try deployment.sync(district)
        try writeCases(b, count: 3, prefix: "C")

        // The restore, recorded before the server starts on it.
        deployment.server.stop()
        let restored = try execute(Built.server, ["restored", "--db", backup], in: deployment.scratch.path)
        #expect(restored.status == 0, "\(restored.stderr)")
        try deployment.server.moveTo(backup)
        // b pushes first (new to the district), then a pushes again what the restore lost.
        try deployment.sync(b)
        try deployment.sync(a)
        try deployment.sync(district)
        try deployment.sync(b)
        #expect(try deployment.numbers(district).count == 18, "the district lacks a change numbered below its old position")
        #expect(try deployment.numbers(b).count == 18 && deployment.numbers(a).count == 18)
        #expect(try count(backup) == 18)
    }
}
