import CaseDomain
import CentralPostgres
import Foundation
import Logging
import ReplicaStore
import SyncCore
import SyncProtocol
import SyncServer
import Synchronization
import TestSupport
import Testing

/// Several servers on one PostgreSQL database, in process: each ``PostgresCentralStorage``
/// has its own connection pool, as each `rain-server` process has.
@Suite(.serialized) struct PostgresConcurrencyTests {
    static let now: Int64 = 1_795_651_200_000

    /// A database with the office tree HSD → JD1 → HSM, XQ, and `servers` storages on it.
    final class Cluster: @unchecked Sendable {
        let url: String
        let servers: [PostgresCentralStorage]

        init(servers count: Int) async throws {
            url = try TestPostgres.createDatabase()
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            guard case .postgres(let location) = try DatabaseLocation(parsing: url) else {
                throw TestPostgres.Unavailable(description: url)
            }
            var servers: [PostgresCentralStorage] = []
            for _ in 0..<count {
                servers.append(try await PostgresCentralStorage.open(location, kinds: [CaseRecords.kind], logger: logger))
            }
            self.servers = servers
            let first = servers[0]
            _ = try await first.addOffice(code: "HSD", name: "和盛区", level: .district, parent: nil, now: now)
            _ = try await first.addOffice(code: "JD1", name: "和平街道", level: .street, parent: "HSD", now: now)
            _ = try await first.addOffice(code: "HSM", name: "和盛社区", level: .community, parent: "JD1", now: now)
            _ = try await first.addOffice(code: "XQ", name: "新桥社区", level: .community, parent: "JD1", now: now)
        }

        /// Enrols a replica of `office` through server `index`.
        func enrol(_ office: String, through index: Int = 0) async throws -> Caller {
            let server = servers[index % servers.count]
            let token = try await server.issueToken(office: office, lifetime: 3_600_000, now: now)
            let replica = ReplicaStore.newReplicaID()
            let answer = try await server.enrol(EnrolRequestV1(token: token.token, replica: replica, staff: "张三"), now: now)
            return try await server.authenticate(credential: answer.credential, now: now)
        }

        func close() async {
            for server in servers { await server.close() }
            TestPostgres.dropDatabase(url)
        }
    }

    /// `writer`'s new case `id`, in community `office`.
    static func newCase(_ writer: ReplicaID, _ counter: UInt64, id: String, office: String = "HSM") -> Change {
        Change(
            dot: Dot(writer, counter), record: RecordKey(table: "cases", id: id),
            fields: ["community": .text(office), "office": .text(office), "title": .text("案件 \(id)")], context: VersionVector(),
            hlc: HLC(wall: UInt64(now) + counter), author: "李娜")
    }

    /// Waits until some transaction waits for a lock (a push queued behind another's).
    static func waitForALockWaiter(_ url: String) throws {
        for _ in 0..<600 {
            if try TestPostgres.query(url, "SELECT count(*) FROM pg_locks WHERE NOT granted") != "0" { return }
            usleep(50_000)
        }
        Issue.record("no transaction ever waited for a lock")
        throw TestPostgres.Unavailable(description: "no lock waiter")
    }

    /// The classic hole of log-based pulls: push A takes lower log positions and is held
    /// before its commit; push B, through another server, would take higher ones; a pull
    /// runs in between. Under the write lock B waits for A, so the pull sees neither, and
    /// the next pull from its cursor gets every change of both, once.
    @Test func aPullNeverPassesAChangeThatCommitsLate() async throws {
        let cluster = try await Cluster(servers: 2)
        let (a, b) = (cluster.servers[0], cluster.servers[1])
        let writerA = try await cluster.enrol("HSM")
        let writerB = try await cluster.enrol("XQ", through: 1)
        let district = try await cluster.enrol("HSD")

        // Hold A's push after it wrote its changes, before it commits.
        let (reached, reachedNow) = AsyncStream<Void>.makeStream()
        let (release, releaseNow) = AsyncStream<Void>.makeStream()
        a.beforeCommit.withLock {
            $0 = {
                reachedNow.yield()
                for await _ in release { break }
            }
        }
        let changesA = (1...5).map { Self.newCase(writerA.replica, $0, id: "a\($0)") }
        let changesB = (1...3).map { Self.newCase(writerB.replica, $0, id: "b\($0)", office: "XQ") }
        let pushA = Task { try await a.push(changesA, from: writerA, now: Self.now) }
        for await _ in reached { break }
        a.beforeCommit.withLock { $0 = nil }
        let pushB = Task { try await b.push(changesB, from: writerB, now: Self.now) }
        try Self.waitForALockWaiter(cluster.url)

        // In between: through either server, nothing of A or B, and a cursor that has
        // passed neither.
        let early = try await b.pull(for: district, after: "", limit: 1_000, maximumBytes: 1 << 24, now: Self.now)
        let earlyA = try await a.pull(for: district, after: "", limit: 1_000, maximumBytes: 1 << 24, now: Self.now)
        #expect(early.bodies.isEmpty && earlyA.bodies.isEmpty, "a pull saw uncommitted or later changes")

        releaseNow.yield()
        let answerA = try await pushA.value
        let answerB = try await pushB.value
        #expect(answerA.accepted == 5 && answerB.accepted == 3)

        let late = try await b.pull(for: district, after: early.cursor, limit: 1_000, maximumBytes: 1 << 24, now: Self.now)
        let dots = try late.bodies.map { try ChangeV1.decode(try JSONParser.parse($0), at: "", schema: .timelyRain).dot }
        #expect(Set(dots) == Set((changesA + changesB).map(\.dot)), "the pull after the late commit lacks a change")
        #expect(dots.count == 8, "a change was sent twice")
        // A's changes come first: their positions are lower, and they committed first.
        #expect(dots.prefix(5).allSatisfy { $0.replica == writerA.replica })
        await cluster.close()
    }

    /// Two replicas push to one record through two servers at the same moment, over and
    /// over: every push is accepted, the log has each change once, and counters stay
    /// gap-free.
    @Test func simultaneousPushesToOneRecordThroughTwoServersAreEachTakenOnce() async throws {
        let cluster = try await Cluster(servers: 2)
        let first = try await cluster.enrol("HSM")
        let second = try await cluster.enrol("HSM", through: 1)
        _ = try await cluster.servers[0].push([Self.newCase(first.replica, 1, id: "shared")], from: first, now: Self.now)
        var counters = (first: UInt64(1), second: UInt64(0))
        for round in 0..<20 {
            counters.first += 1
            counters.second += 1
            let one = Change(
                dot: Dot(first.replica, counters.first), record: RecordKey(table: "cases", id: "shared"),
                fields: ["title": .text("甲 \(round)")], context: VersionVector([first.replica: counters.first - 1]),
                hlc: HLC(wall: UInt64(Self.now) + 10 * UInt64(round)), author: "甲")
            let two = Change(
                dot: Dot(second.replica, counters.second), record: RecordKey(table: "cases", id: "shared"),
                fields: ["description": .text("乙 \(round)")],
                context: VersionVector([first.replica: 1, second.replica: counters.second - 1].filter { $0.value > 0 }),
                hlc: HLC(wall: UInt64(Self.now) + 10 * UInt64(round) + 1), author: "乙")
            async let left = cluster.servers[0].push([one], from: first, now: Self.now)
            async let right = cluster.servers[1].push([two], from: second, now: Self.now)
            let (l, r) = try await (left, right)
            #expect(l.accepted == 1 && r.accepted == 1 && l.holds == counters.first && r.holds == counters.second)
        }
        #expect(try TestPostgres.query(cluster.url, "SELECT count(*) FROM changes") == "41")
        #expect(
            try TestPostgres.query(cluster.url, "SELECT max(arrived) - min(arrived) + 1 FROM changes") == "41", "arrival numbers have a gap"
        )
        let replicas = try await cluster.servers[1].replicas()
        #expect(Set(replicas.map(\.holds)) == [21, 20])
        await cluster.close()
    }

    /// The same bad batches, pushed to the embedded storage and to PostgreSQL, get the same
    /// refusal — status, code and message — and write nothing on either.
    @Test func bothBackendsRefuseBadBatchesAlike() async throws {
        let cluster = try await Cluster(servers: 1)
        let postgres = cluster.servers[0]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-parity-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sqlite = try SQLiteCentralStorage.open(at: folder + "/central.sqlite")
        for (code, level, parent) in [
            ("HSD", OfficeLevel.district, nil), ("JD1", .street, "HSD"), ("HSM", .community, "JD1"), ("XQ", .community, "JD1"),
        ] {
            _ = try await sqlite.addOffice(code: code, name: code, level: level, parent: parent, now: Self.now)
        }
        let writer = Caller(replica: ReplicaID("0123456789abcdef0123456789abcdef"), office: "HSM")
        for storage in [sqlite as any CentralStorage, postgres] {
            let token = try await storage.issueToken(office: "HSM", lifetime: 3_600_000, now: Self.now)
            _ = try await storage.enrol(EnrolRequestV1(token: token.token, replica: writer.replica, staff: "张三"), now: Self.now)
            _ = try await storage.push([Self.newCase(writer.replica, 1, id: "c1")], from: writer, now: Self.now)
        }
        let reused = Change(
            dot: Dot(writer.replica, 1), record: RecordKey(table: "cases", id: "c1"), fields: ["title": .text("另一个")],
            context: VersionVector(), hlc: HLC(wall: UInt64(Self.now) + 9), author: "李娜")
        let badTable = Change(
            dot: Dot(writer.replica, 3), record: RecordKey(table: "no_such_table", id: "x"), fields: ["title": .text("x")],
            context: VersionVector(), hlc: HLC(wall: UInt64(Self.now) + 9), author: "李娜")
        let batches: [(String, [Change])] = [
            ("a reused dot before an invalid change", [reused, Self.newCase(writer.replica, 2, id: "c2"), badTable]),
            ("a gap", [Self.newCase(writer.replica, 5, id: "c5")]),
            ("another office's record", [Self.newCase(writer.replica, 2, id: "x2", office: "XQ")]),
            ("another replica's change", [Self.newCase(ReplicaID("ffffffffffffffffffffffffffffffff"), 2, id: "c2")]),
            ("an invalid change", [Self.newCase(writer.replica, 2, id: "c2"), badTable]),
        ]
        for (name, batch) in batches {
            var answers: [String] = []
            for storage in [sqlite as any CentralStorage, postgres] {
                do {
                    _ = try await storage.push(batch, from: writer, now: Self.now)
                    answers.append("accepted")
                } catch {
                    answers.append("\(error.status) \(error.code) \(error.message) holds \(error.holds.map(String.init) ?? "-")")
                }
            }
            #expect(answers[0] == answers[1], "\(name): SQLite \(answers[0]) / PostgreSQL \(answers[1])")
            #expect(answers[0] != "accepted", "\(name) was accepted")
        }
        let held = try await (sqlite.replicas().first?.holds, postgres.replicas().first?.holds)
        #expect(held.0 == 1 && held.1 == 1, "a refused batch wrote a change: \(String(describing: held))")
        sqlite.close()
        await cluster.close()
    }
}

extension PostgresConcurrencyTests {
    /// A value of another type than its view column's (the merge keeps whatever a writer
    /// sent) never fails a push: the read model reads it as a replica's rows do.
    @Test func oddlyTypedValuesReachTheReadModelAlikeOnBothBackends() async throws {
        let cluster = try await Cluster(servers: 1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-odd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sqlite = try SQLiteCentralStorage.open(at: folder + "/central.sqlite")
        for (code, level, parent) in [("HSD", OfficeLevel.district, nil), ("JD1", .street, "HSD"), ("HSM", .community, "JD1")] {
            _ = try await sqlite.addOffice(code: code, name: code, level: level, parent: parent, now: Self.now)
        }
        let writer = Caller(replica: ReplicaID("0123456789abcdef0123456789abcdef"), office: "HSM")
        let odd = Change(
            dot: Dot(writer.replica, 1), record: RecordKey(table: "cases", id: "c1"),
            fields: [
                "number": .integer(42), "community": .text("HSM"), "office": .text("HSM"), "created_at": .text("2026-12-06"),
                "round": .text("2"), "rating": .bool(true), "phone": .integer(13_812_345_678), "answer": .text("已\u{0}处理"),
            ], context: VersionVector(), hlc: HLC(wall: UInt64(Self.now)), author: "李娜")
        var answers: [[String: Value]] = []
        for storage in [sqlite as any CentralStorage, cluster.servers[0]] {
            _ = try await storage.push([odd], from: writer, now: Self.now)
            answers.append(try #require(try await storage.viewRows("case_view", where: "number", in: [.text("42")], limit: 1).first))
        }
        await cluster.close()
        for row in answers {
            #expect(row["number"] == .text("42") && row["round"] == .integer(2) && row["created_at"] == .null)
            #expect(row["rating"] == .integer(1) && row["phone_tail"] == .null)
            #expect(row["answer"] == .text("已处理"), "PostgreSQL's text holds no NUL: the view drops it, the log keeps it")
        }
        #expect(answers[0].filter { $0.key != "updated_at" } == answers[1].filter { $0.key != "updated_at" })
    }

    /// The server writer's id is its own: no replica may enrol or be re-issued under it, and
    /// after a PostgreSQL restore the server writes under a fresh one (its changes lost with
    /// the restore may be held by replicas: a dot is never reused).
    @Test func theServerWritersIdIsReservedAndRenewedByARestore() async throws {
        let cluster = try await Cluster(servers: 1)
        let postgres = cluster.servers[0]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-writer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sqlite = try SQLiteCentralStorage.open(at: folder + "/central.sqlite")
        for (code, level, parent) in [("HSD", OfficeLevel.district, nil), ("JD1", .street, "HSD"), ("HSM", .community, "JD1")] {
            _ = try await sqlite.addOffice(code: code, name: code, level: level, parent: parent, now: Self.now)
        }
        func submission(_ id: String) -> ServerWrite {
            ServerWrite(mint: "HSM", author: "居民（网上）") { input in
                [
                    ServerWrite.Edit(
                        RecordKey(table: "cases", id: id),
                        ["number": .text(input.number ?? ""), "community": .text("HSM"), "office": .text("HSM"), "title": .text("网上")])
                ]
            }
        }
        for storage in [sqlite as any CentralStorage, postgres] {
            let written = try await storage.write(submission("s1"), now: Self.now)
            let writer = try #require(written.changes.first?.dot.replica)
            #expect(written.changes.first?.dot.counter == 1)
            #expect(written.number?.split(separator: "-").dropFirst(3).first?.hasPrefix("0") == true, "the server's tag")
            let token = try await storage.issueToken(office: "HSM", lifetime: 3_600_000, now: Self.now)
            do {
                _ = try await storage.enrol(EnrolRequestV1(token: token.token, replica: writer, staff: "张三"), now: Self.now)
                Issue.record("a replica enrolled under the server writer's id")
            } catch {
                #expect(error.status == 409 && error.code == "replica_exists", "\(error.message)")
            }
        }
        let before = try await postgres.write(submission("s2"), now: Self.now)
        _ = try await postgres.markRestored(now: Self.now)
        let after = try await postgres.write(submission("s3"), now: Self.now)
        let (old, new) = (try #require(before.changes.first?.dot), try #require(after.changes.first?.dot))
        #expect(old.replica != new.replica && new.counter == 1)
        #expect(before.number != after.number)
        await cluster.close()
    }
}
