import CaseDomain
import CaseStore
import CentralPostgres
import Foundation
import GRDB
import Logging
import ReplicaStore
import SyncCore
import SyncProtocol
import SyncServer
import TestSupport
import Testing

/// Random schedules over three servers on one PostgreSQL database and an office tree of
/// replicas: case creation, edits, escalations and reassignments, and syncs of one to
/// three replicas at once, each through a server drawn at random (so pushes and pulls
/// of different servers run at the same moment).
///
/// After everyone has synced twice: every replica holds exactly the cases its
/// jurisdiction covers, each as the server's merge says; and the server's merge is
/// exactly the one a single embedded server makes of the same changes in the same
/// arrival order — every record's merge state, scope and parent byte for byte.
/// `RAIN_MULTI_SEED` replays one schedule; `RAIN_MULTI_SCHEDULES` sets how many run
/// (default 6).
@Suite(.serialized) struct MultiServerPropertyTests {
    typealias Scoped = ScopedConvergencePropertyTests

    final class Replica: @unchecked Sendable {
        let store: ReplicaStore
        let caller: Caller
        init(store: ReplicaStore, caller: Caller) {
            self.store = store
            self.caller = caller
        }
    }

    /// One sync of `replica` through `central`, as `SyncDriver` does it, without HTTP.
    static func sync(_ replica: Replica, _ central: any CentralStorage) async throws {
        let store = replica.store
        for _ in 0..<100 {
            let acked = try store.syncState().acked
            let own = try store.ownChanges(after: acked, limit: 500, maximumBytes: 1 << 22)
            guard !own.isEmpty else { break }
            let changes = try own.map { try ChangeV1.decode(try JSONParser.parse($0.body), at: "", schema: .timelyRain) }
            do {
                let answer = try await central.push(changes, from: replica.caller, now: ReplicaStore.nowMillis())
                try store.acknowledge(upTo: answer.holds)
            } catch let error as ServerError where error.code == "out_of_scope" {
                try store.withhold(error.refused.map { ($0.table, $0.record, $0.counter) })
                try store.acknowledge(upTo: error.holds ?? acked)
            }
        }
        var cursor = try store.syncState().cursor
        while true {
            let page = try await central.pull(
                for: replica.caller, after: cursor, limit: 50, maximumBytes: 1 << 20, now: ReplicaStore.nowMillis())
            let changes = try page.bodies.map { try ChangeV1.decode(try JSONParser.parse($0), at: "", schema: .timelyRain) }
            try store.applyPulled(changes, cursor: page.cursor, offices: page.offices, purge: page.purge)
            cursor = page.cursor
            if !page.more { break }
        }
        try store.scrubPurged()
    }

    @Test func severalServersMergeAsOneAndEveryReplicaConverges() async throws {
        let environment = ProcessInfo.processInfo.environment
        let schedules = environment["RAIN_MULTI_SCHEDULES"].flatMap(Int.init) ?? 6
        let fixed = environment["RAIN_MULTI_SEED"].flatMap(UInt64.init)
        var seeds = SeededRandom(seed: fixed ?? UInt64.random(in: 1...UInt64.max))
        var concurrent = 0
        for _ in 0..<(fixed == nil ? schedules : 1) {
            let seed = fixed ?? seeds.next()
            do {
                concurrent += try await run(seed: seed)
            } catch {
                Issue.record("schedule \(seed) failed: \(error); replay: RAIN_MULTI_SEED=\(seed) swift test --filter MultiServerProperty")
                return
            }
        }
        #expect(concurrent > 0, "no two syncs ever ran at once")
    }

    /// Runs one schedule; returns how many sync steps ran more than one sync at once.
    func run(seed: UInt64) async throws -> Int {
        var random = SeededRandom(seed: seed)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-multi-\(seed)-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let url = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(url) }
        guard case .postgres(let location) = try DatabaseLocation(parsing: url) else { throw Scoped.Divergence(description: url) }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        var servers: [PostgresCentralStorage] = []
        for _ in 0..<3 { servers.append(try await PostgresCentralStorage.open(location, kinds: [CaseRecords.kind], logger: logger)) }
        let now = ReplicaStore.nowMillis()
        for office in Scoped.offices {
            _ = try await servers[0].addOffice(code: office.code, name: office.code, level: office.level, parent: office.parent, now: now)
        }
        var replicas: [Replica] = []
        for office in Scoped.offices {
            for index in 0..<(random.chance(0.4) ? 2 : 1) {
                let token = try await servers[replicas.count % 3].issueToken(office: office.code, lifetime: 3_600_000, now: now)
                let store = try ReplicaStore.create(
                    at: folder + "/\(office.code)-\(index).sqlite", office: office.code, staff: "员工\(index)")
                _ = try await servers[index % 3].enrol(
                    EnrolRequestV1(token: token.token, replica: store.identity.replica, staff: "员工\(index)"), now: now)
                try store.saveEnrolment(server: "memory", credential: "unused", officeName: office.code, officeLevel: office.level.rawValue)
                replicas.append(Replica(store: store, caller: Caller(replica: store.identity.replica, office: office.code)))
            }
        }
        let communities = Scoped.offices.filter { $0.level == .community }.map(\.code)
        var together = 0
        for step in 0..<40 {
            let replica = replicas[Int(random.next() % UInt64(replicas.count))]
            let known = try replica.store.cases().filter { $0.title != nil }
            switch random.next() % 7 {
            case 0, 1:
                _ = try replica.store.newCase(
                    NewCase(
                        kind: .help, category: "社会救助", title: "案件\(step)", citizenName: "居民\(step)",
                        phone: "1391111\(String(format: "%04d", step))"))
            case 2 where !known.isEmpty:
                _ = try replica.store.editCase(known[Int(random.next() % UInt64(known.count))].id, fields: ["title": "改\(step)"])
            case 3 where !known.isEmpty && replica.caller.office.hasPrefix("JD"):
                let row = known[Int(random.next() % UInt64(known.count))]
                _ = try replica.store.reassign(row.id, to: communities[Int(random.next() % UInt64(communities.count))], reason: "调整")
            case 4 where !known.isEmpty:
                let row = known[Int(random.next() % UInt64(known.count))]
                _ = try? replica.store.move(row.id, .verify)
                _ = try? replica.store.move(row.id, .escalate, text: "上报", office: random.chance(0.5) ? "JD1" : "JD2")
            case 5:
                // Residents' submissions, written by two servers at the same moment as
                // themselves (one writer id, counters taken under the write lock).
                let draws = (0..<2).map { _ in
                    (servers[Int(random.next() % 3)], communities[Int(random.next() % UInt64(communities.count))])
                }
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    for (index, (server, community)) in draws.enumerated() {
                        tasks.addTask {
                            _ = try await server.write(Self.submission(id: "online-\(step)-\(index)", community: community), now: now)
                        }
                    }
                    try await tasks.waitForAll()
                }
            default:
                // One to three replicas sync at the same moment, each through a server of its own draw.
                var group = [replica]
                for _ in 0..<(random.next() % 3) {
                    let other = replicas[Int(random.next() % UInt64(replicas.count))]
                    if !group.contains(where: { $0 === other }) { group.append(other) }
                }
                if group.count > 1 { together += 1 }
                let draws = group.map { _ in servers[Int(random.next() % 3)] }
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    for (member, server) in zip(group, draws) { tasks.addTask { try await Self.sync(member, server) } }
                    try await tasks.waitForAll()
                }
            }
        }
        for round in 0..<2 {
            for (index, replica) in replicas.enumerated() { try await Self.sync(replica, servers[(index + round) % 3]) }
        }
        for server in servers { await server.close() }
        // The server's writes: one writer, consecutive counters from 1, none twice.
        let writerCounters = try TestPostgres.query(
            url, "SELECT counter FROM changes WHERE replica = (SELECT replica FROM server_writer) ORDER BY counter"
        ).split(separator: "\n").compactMap { Int($0) }
        guard writerCounters == Array(1..<(writerCounters.count + 1)) else {
            throw Scoped.Divergence(description: "the server writer's counters are not 1…n: \(writerCounters)")
        }
        let onlineNumbers = try TestPostgres.query(url, "SELECT number FROM case_view WHERE source = 'online'").split(separator: "\n")
        guard Set(onlineNumbers).count == onlineNumbers.count, onlineNumbers.count == writerCounters.count else {
            throw Scoped.Divergence(description: "\(onlineNumbers.count) online numbers for \(writerCounters.count) server writes")
        }

        // The same changes, in the same arrival order, through one embedded server.
        let reference = folder + "/reference.sqlite"
        try await Self.replay(url, into: reference, replicas: replicas)
        let pgStates = try TestPostgres.query(
            url,
            "SELECT tbl || '/' || record_id || ' ' || encode(state, 'hex') || ' ' || coalesce(scope, '-') || ' ' || coalesce(parent, '-') FROM merge_state ORDER BY tbl, record_id"
        )
        let sqliteStates: String = try await DatabaseQueue(path: reference).read { db -> String in
            try Row.fetchAll(db, sql: "SELECT tbl, record_id, state, scope, parent FROM merge_state ORDER BY tbl, record_id").map {
                row -> String in
                let state: Data = row["state"]
                let hex = state.map { String(format: "%02x", $0) }.joined()
                return
                    "\(row["tbl"] as String)/\(row["record_id"] as String) \(hex) \(row["scope"] as String? ?? "-") \(row["parent"] as String? ?? "-")"
            }.joined(separator: "\n")
        }
        guard pgStates == sqliteStates, !pgStates.isEmpty else {
            // The first record that differs, and how (its state, scope or parent).
            let (ours, theirs) = (pgStates.split(separator: "\n"), sqliteStates.split(separator: "\n"))
            let first = zip(ours, theirs).first { $0 != $1 }
            let what =
                first.map { pair -> String in
                    let (a, b) = (pair.0.split(separator: " "), pair.1.split(separator: " "))
                    let parts = ["record", "state", "scope", "parent"]
                    let differing = zip(parts, zip(a, b)).filter { $1.0 != $1.1 }.map(\.0)
                    return
                        "\(a.first ?? "") differs in \(differing.joined(separator: ", ")): \(a.dropFirst(2).joined(separator: " ")) vs \(b.dropFirst(2).joined(separator: " "))"
                } ?? "\(ours.count) records vs \(theirs.count)"
            try? pgStates.write(toFile: folder + "/../rain-multi-\(seed)-postgres.txt", atomically: true, encoding: .utf8)
            try? sqliteStates.write(toFile: folder + "/../rain-multi-\(seed)-sqlite.txt", atomically: true, encoding: .utf8)
            throw Scoped.Divergence(description: "the servers' merge differs from one server's: \(what)")
        }
        // The read model: the one the servers kept push by push is the one a single server
        // kept change by change, and the one built from scratch out of the merge state.
        let pgViews = try TestPostgres.query(url, Self.viewQuery).split(separator: "\n").sorted().joined(separator: "\n")
        let kept = try await DatabaseQueue(path: reference).read { db in try Self.views(db) }
        try await DatabaseQueue(path: reference).write { db in try db.execute(sql: "DELETE FROM record_views") }
        let rebuilt = try SQLiteCentralStorage.open(at: reference)
        rebuilt.close()
        let fresh = try await DatabaseQueue(path: reference).read { db in try Self.views(db) }
        guard pgViews == kept, kept == fresh, !kept.isEmpty else {
            let (a, b) = pgViews == kept ? (kept, fresh) : (pgViews, kept)
            let first = zip(a.split(separator: "\n"), b.split(separator: "\n")).first { $0 != $1 }
            throw Scoped.Divergence(
                description:
                    "the read models differ (\(pgViews == kept ? "kept vs rebuilt" : "PostgreSQL vs SQLite")): \(first.map { "\($0.0) vs \($0.1)" } ?? "row counts")"
            )
        }
        // Every replica holds exactly its jurisdiction's cases, each as the merge says.
        let server = try Scoped.serverCases(reference)
        for replica in replicas {
            guard let office = Scoped.offices.first(where: { $0.code == replica.caller.office }) else { continue }
            let children = Set(Scoped.offices.filter { $0.parent == office.code }.map(\.code))
            let scope = OfficeScope(office: office.code, level: office.level, children: children)
            let expected = server.filter { scope.covers(RecordScope([$0.value.community, $0.value.handling])) }
            let withheld = Set(try replica.store.withheldChanges().filter { $0.table == "cases" }.map(\.record))
            let held = try Scoped.replicaCases(replica.store.path)
            guard Set(held.keys).subtracting(withheld) == Set(expected.keys).subtracting(withheld) else {
                throw Scoped.Divergence(description: "\(office.code) holds \(held.count) cases, its jurisdiction \(expected.count)")
            }
            for (id, row) in held where !withheld.contains(id) && row != expected[id]?.row {
                throw Scoped.Divergence(description: "\(office.code) differs on \(id)")
            }
            replica.store.close()
        }
        return together
    }

    /// A resident's submission as the server writes it.
    static func submission(id: String, community: String) -> ServerWrite {
        ServerWrite(mint: community, author: "居民（网上）") { input in
            [
                ServerWrite.Edit(
                    RecordKey(table: "cases", id: id),
                    [
                        "number": .text(input.number ?? ""), "kind": .text("complaint"), "category": .text("环境卫生"),
                        "title": .text("网上 \(id)"),
                        "phone": .text("13900001234"), "status": .text("received"), "round": .integer(1), "level": .text("community"),
                        "office": .text(community), "community": .text(community), "created_at": .timestamp(input.now),
                        "source": .text("online"),
                    ])
            ]
        }
    }

    /// Every row of both views, without `updated_at` (a push's time, a rebuild's clock), as
    /// psql prints them (sorted by the caller: the backends' text orders differ).
    static let viewQuery = """
        SELECT 'c|' || id || '|' || concat_ws('|', coalesce(number, ''), coalesce(kind, ''), coalesce(category, ''), coalesce(status, ''),
            coalesce(round::text, ''), coalesce(level, ''), coalesce(office, ''), coalesce(community, ''), coalesce(answer, ''),
            coalesce(rating::text, ''), coalesce(created_at::text, ''), coalesce(closed_at::text, ''), coalesce(source, ''),
            coalesce(phone_tail, '')) FROM case_view
        UNION ALL
        SELECT 'e|' || id || '|' || concat_ws('|', coalesce(case_id, ''), coalesce(type, ''), coalesce(score::text, ''), coalesce(at::text, ''))
            FROM case_event_view
        """

    static func views(_ db: Database) throws -> String {
        let cases = try Row.fetchAll(db, sql: "SELECT * FROM case_view").map { row -> String in
            let columns =
                ["number", "kind", "category", "status", "round", "level", "office", "community", "answer", "rating"]
                + ["created_at", "closed_at", "source", "phone_tail"]
            return "c|\(row["id"] as String)|" + columns.map { (row[$0] as DatabaseValue).description(nullAs: "") }.joined(separator: "|")
        }
        let events = try Row.fetchAll(db, sql: "SELECT * FROM case_event_view").map { row -> String in
            "e|\(row["id"] as String)|"
                + ["case_id", "type", "score", "at"].map { (row[$0] as DatabaseValue).description(nullAs: "") }
                .joined(separator: "|")
        }
        return (cases + events).sorted().joined(separator: "\n")
    }

    /// Pushes the PostgreSQL log at `url`, in arrival order one change at a time, into a new
    /// embedded server at `path` that knows the same offices, replicas and refusals.
    static func replay(_ url: String, into path: String, replicas: [Replica]) async throws {
        let reference = try SQLiteCentralStorage.open(at: path)
        let now = ReplicaStore.nowMillis()
        for office in Scoped.offices {
            _ = try await reference.addOffice(code: office.code, name: office.code, level: office.level, parent: office.parent, now: now)
        }
        for replica in replicas {
            let token = try await reference.issueToken(office: replica.caller.office, lifetime: 3_600_000, now: now)
            _ = try await reference.enrol(EnrolRequestV1(token: token.token, replica: replica.caller.replica, staff: "x"), now: now)
        }
        let refused = try TestPostgres.query(url, "SELECT replica || ' ' || counter || ' ' || tbl || ' ' || record_id FROM refused_dots")
        try reference.store.write("refusals") { db in
            for line in refused.split(separator: "\n") {
                let parts = line.split(separator: " ").map(String.init)
                try db.execute(
                    sql: "INSERT INTO refused_dots (replica, counter, tbl, record_id, refused_at) VALUES (?, ?, ?, ?, 0)",
                    arguments: [parts[0], Int64(parts[1]), parts[2], parts[3]])
            }
        }
        var offices = Dictionary(uniqueKeysWithValues: replicas.map { ($0.caller.replica, $0.caller.office) })
        // The server's own writes go everywhere: replayed as the district's.
        let writer = try TestPostgres.query(url, "SELECT coalesce((SELECT replica FROM server_writer), '')")
        if !writer.isEmpty { offices[ReplicaID(writer)] = "HSD" }
        for body in try Self.bodies(url) {
            let change = try ChangeV1.decode(try JSONParser.parse(body), at: "", schema: .timelyRain)
            _ = try await reference.push(
                [change], from: Caller(replica: change.dot.replica, office: offices[change.dot.replica] ?? ""), now: now)
        }
        await reference.close()
    }

    /// Every change body of the log at `url`, in arrival order.
    static func bodies(_ url: String) throws -> [[UInt8]] {
        let hex = try TestPostgres.query(url, "SELECT encode(body, 'hex') FROM changes ORDER BY arrived")
        return hex.split(separator: "\n").map { line in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(line.utf8.count / 2)
            var index = line.startIndex
            while index < line.endIndex {
                let next = line.index(index, offsetBy: 2)
                bytes.append(UInt8(line[index..<next], radix: 16) ?? 0)
                index = next
            }
            return bytes
        }
    }
}

extension DatabaseValue {
    /// The value as psql prints it in unaligned output.
    func description(nullAs null: String) -> String {
        switch storage {
        case .null: null
        case .int64(let value): String(value)
        case .double(let value): String(value)
        case .string(let value): value
        case .blob(let value): value.map { String(format: "%02x", $0) }.joined()
        }
    }
}
