import CaseStore
import Foundation
import GRDB
import ReplicaStore
import SyncCore
import SyncProtocol
import TestSupport
import Testing

/// The crash matrix: `rain sync` killed with SIGKILL at every kind of point — before a
/// batch is sent, after the server acknowledged it, after a page arrived, inside the
/// transaction applying it, after it committed — and `rain-server` killed inside a push
/// transaction and after committing one but before answering; then everything restarts
/// and syncs again. At the end every replica holds the same changes as the server, byte
/// for byte, every change any replica wrote is there once, and every file passes
/// `PRAGMA integrity_check`.
///
/// `RAIN_CRASH_KILLS` sets how many real SIGKILLs a run makes (default 50: points drawn
/// at random that a sync does not reach are drawn again, up to twice as many points);
/// `RAIN_CRASH_SEED` replays a schedule. `scripts/crash-matrix.sh` makes 200.
@Suite(.serialized) struct CrashMatrixTests {
    /// Where a process is killed.
    struct KillPoint: CustomStringConvertible {
        var server: Bool
        var name: String
        var hit: Int
        var description: String { (server ? "rain-server " : "rain sync ") + "\(name):\(hit)" }
    }

    static let clientPoints = ["sync-before-push", "sync-after-push", "sync-after-pull", "before-commit", "sync-after-apply"]
    static let serverPoints = ["before-commit", "server-after-commit"]

    /// Writes `count` changes on `path` as its staff would: new cases and edits of
    /// cases the replica holds (some of them other replicas' — concurrent edits). Returns
    /// what it wrote, dot → SHA-256 of the canonical body (as ``changes(_:)`` reads them).
    static func work(_ path: String, count: Int, tag: String, random: inout SeededRandom) throws -> [String: String] {
        let store = try officeReplica(path)
        let known = try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT id FROM cases ORDER BY id") }
        var batch: [(fields: [String: Value], record: RecordKey)] = []
        for index in 0..<count {
            if known.isEmpty || random.next() % 3 == 0 {
                let id = "\(tag)-\(index)"
                batch.append(
                    (
                        [
                            "number": .text("N-\(id)"), "kind": .text("help"), "category": .text("社会救助"), "title": .text("案件 \(id)"),
                            "status": .text("received"), "created_at": .timestamp(1_795_651_200_000), "office": .text("HSM"),
                            "community": .text("HSM"),
                        ], RecordKey(table: "cases", id: id)
                    ))
            } else {
                let id = known[Int(random.next() % UInt64(known.count))]
                let field = random.next() % 2 == 0 ? "title" : "description"
                batch.append((["\(field)": .text("\(tag) \(index)")], RecordKey(table: "cases", id: id)))
            }
        }
        var written: [String: String] = [:]
        for change in try store.write(batch: batch) {
            written["\(change.dot.replica.rawValue):\(change.dot.counter)"] = SHA256Hex.digest(ChangeV1.encode(change))
        }
        return written
    }

    /// Every change a file holds: dot → SHA-256 of its canonical body.
    static func changes(_ path: String) throws -> [String: String] {
        if path.hasPrefix("postgres") {
            var result: [String: String] = [:]
            let rows = try TestPostgres.query(path, "SELECT replica || ':' || counter || ' ' || encode(sha256(body), 'hex') FROM changes")
            for line in rows.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
            }
            return result
        }
        return try DatabaseQueue(path: path).read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT replica, counter, body FROM changes") {
                let replica: String = row["replica"]
                let counter: Int64 = row["counter"]
                let body: String = row["body"]
                result["\(replica):\(counter)"] = SHA256Hex.digest(Array(body.utf8))
            }
            return result
        }
    }

    @Test(arguments: Backend.allCases) func aSyncKilledAnywhereConvergesWithNothingLostOrAppliedTwice(_ backend: Backend) throws {
        // On PostgreSQL a subset (the same points, fewer kills): the matrix proves the
        // client and the merge; the backend adds its transaction and its restart.
        let wanted = Int(TestEnvironment.unsigned("RAIN_CRASH_KILLS", default: backend == .sqlite ? 50 : 20))
        let seed = TestEnvironment.unsigned("RAIN_CRASH_SEED", default: UInt64(UInt32.random(in: 0...UInt32.max)))
        var random = SeededRandom(seed: seed)
        let replay = "RAIN_CRASH_SEED=\(seed) RAIN_CRASH_KILLS=\(wanted) swift test --filter CrashMatrix"
        let deployment = try Deployment(backend: backend)
        let replicas = [
            try deployment.replica("a", office: "HSM", staff: "张三"), try deployment.replica("b", office: "HSM", staff: "李四"),
            try deployment.replica("c", office: "HSM", staff: "王五"),
        ]
        // Small batches and pages: a sync has many steps to be killed between.
        let small = ["RAIN_SYNC_BATCH": "4", "RAIN_SYNC_PAGE": "3"]
        // Every change any replica wrote (dot → digest of its body), and how many each wrote:
        // what the files must hold at the end, not what they say of themselves.
        var written: [String: String] = [:]
        var writtenBy: [String: Int] = [:]
        func record(_ changes: [String: String], by path: String) {
            written.merge(changes) { old, _ in old }
            writtenBy[path, default: 0] += changes.count
        }
        var kills: [String] = []
        var unreached: [String] = []
        var step = 0
        while kills.count < wanted, step < wanted * 2 {
            defer { step += 1 }
            let victim = replicas[step % replicas.count]
            let bystander = replicas[(step + 1) % replicas.count]
            // The bystander's work reaches the server, so the victim's sync has pages to pull.
            record(try Self.work(bystander, count: 5, tag: "s\(step)b", random: &random), by: bystander)
            try #require(deployment.rain(["sync"], db: bystander).status == 0, "\(replay)")
            record(try Self.work(victim, count: 6 + Int(random.next() % 10), tag: "s\(step)v", random: &random), by: victim)

            let onServer = random.next() % 4 == 0
            let names = onServer ? Self.serverPoints : Self.clientPoints
            let point = KillPoint(server: onServer, name: names[Int(random.next() % UInt64(names.count))], hit: 1 + Int(random.next() % 3))
            if point.server {
                deployment.server.stop()
                try deployment.server.start(environment: ["RAIN_FAILPOINT": "\(point.name):\(point.hit)"])
                let run = try deployment.rain(["sync", "--attempts", "1"], db: victim, environment: small)
                if deployment.server.waitForExit(seconds: 5) {
                    kills.append(point.description)
                    #expect(run.status != 0 || point.name == "server-after-commit", "a sync against a dead server succeeded: \(replay)")
                } else {
                    unreached.append(point.description)
                }
                deployment.server.stop()
                try deployment.server.start()
            } else {
                let run = try deployment.rain(
                    ["sync"], db: victim, environment: small.merging(["RAIN_FAILPOINT": "\(point.name):\(point.hit)"]) { $1 })
                if run.signalled { kills.append(point.description) } else { unreached.append(point.description) }
            }
            // Restarted, the next sync finishes the work.
            let again = try deployment.rain(["sync", "--json"], db: victim, environment: small)
            try #require(again.status == 0, "the sync after \(point) failed: \(again.stderr)\n\(replay)")
        }
        // Everyone syncs until quiet.
        for _ in 0..<2 { for replica in replicas { try #require(deployment.rain(["sync"], db: replica).status == 0) } }

        print("crash matrix: \(kills.count) kills (\(unreached.count) points not reached) — \(replay)")
        #expect(kills.count == wanted, "only \(kills.count) of \(wanted) kill points reached in \(step) tries")
        // Nothing lost, nothing extra: the server holds exactly what the replicas wrote,
        // byte for byte, one row each (nothing applied twice).
        let central = try Self.changes(deployment.server.db)
        #expect(central == written, "the server's changes differ from what was written: \(replay)")
        #expect(try count(deployment.server.db) == written.count, "a change held twice on the server: \(replay)")
        for replica in replicas {
            // Each file holds exactly the same, once; its own counter is what it wrote.
            #expect(try Self.changes(replica) == written, "replica \(replica) differs from what was written: \(replay)")
            #expect(try count(replica) == written.count, "a change held twice in \(replica): \(replay)")
            let own = try officeReplica(replica).highestOwnCounter()
            #expect(own == writtenBy[replica].map { UInt64($0) }, "\(replica) wrote \(writtenBy[replica] ?? 0), says \(own): \(replay)")
            #expect(try integrity(replica) == "ok")
        }
        let rows = try replicas.map { path in
            try DatabaseQueue(path: path).read { db in
                try Row.fetchAll(db, sql: "SELECT id, number, status, title, description, conflicts FROM cases ORDER BY id").map(
                    \.description)
            }
        }
        #expect(rows[0] == rows[1] && rows[1] == rows[2], "materialised cases differ: \(replay)")
        #expect(try integrity(deployment.server.db) == "ok")
    }
}
