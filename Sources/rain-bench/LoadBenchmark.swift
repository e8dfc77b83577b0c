import ArgumentParser
import CaseDomain
import CaseStore
import CentralPostgres
import Foundation
import GRDB
import ReplicaStore
import SyncClient
import SyncCore
import SyncProtocol
import SyncServer
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `rain-bench load`: the 17:30 rush — every office syncing at once against one real
/// `rain-server` (SQLite) on loopback.
struct LoadBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Many replicas sync at once against one rain-server: errors, convergence, latency, throughput, RSS.",
        discussion: """
            Needs the release rain-server beside rain-bench: swift build -c release --product rain-server.
            The replicas belong to --communities community offices (two or more each); each
            writes --changes changes offline (new cases, then edits), then all sync at the same
            time through the real client (SyncDriver over HTTP). A second round lets every
            replica pull what its partners pushed during the first. Every sync must succeed,
            the server must hold every change, and the replicas of each community must end
            with the same changes as each other. Reports p50/p99/max sync latency per round,
            throughput (changes pushed per second of the first round) and the server's peak
            RSS. Bounded: the counts are fixed and each sync has a timeout.
            """
    )

    @Option(help: "Replicas syncing at once (1 to 500).") var replicas = 100
    @Option(help: "Changes each replica writes before the rush (1 to 100,000).") var changes = 1_000
    @Option(help: "Community offices the replicas belong to (replicas ÷ communities each).") var communities = 50
    @Option(
        help: ArgumentHelp(
            "A PostgreSQL server (a superuser's postgres:// URL): the servers share a fresh database there instead of an SQLite file.",
            valueName: "url"))
    var db: String?
    @Option(help: "rain-server processes on the one database (1 to 3; more than one needs --db); replica i syncs with server i mod N.")
    var servers = 1

    func validate() throws {
        guard (1...500).contains(replicas) else { throw ValidationError("--replicas must be from 1 to 500") }
        guard (1...100_000).contains(changes) else { throw ValidationError("--changes must be from 1 to 100000") }
        guard (1...replicas).contains(communities) else { throw ValidationError("--communities must be from 1 to --replicas") }
        guard (1...3).contains(servers) else { throw ValidationError("--servers must be from 1 to 3") }
        guard servers == 1 || db != nil else { throw ValidationError("several --servers share one database: give --db postgres://…") }
    }

    func run() async throws {
        let serverPath = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rain-server")
            .path
        guard FileManager.default.isExecutableFile(atPath: serverPath) else {
            throw ValidationError("no rain-server beside rain-bench (\(serverPath)): swift build -c release --product rain-server")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-bench-load-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // Offices, and a token for each replica, before the servers start.
        let centralPath = try db.map { try TestPostgres.createDatabase(on: $0) } ?? folder + "/central.sqlite"
        defer { if db != nil { TestPostgres.dropDatabase(centralPath) } }
        let (replicas, communities) = (replicas, communities)
        let office = { (index: Int) in "C\(index % communities)" }
        let tokens = try await CentralDatabase.with(
            try DatabaseLocation(parsing: centralPath), kinds: [CaseRecords.kind], logger: SyncBenchmark.quietLogger()
        ) { admin in
            let now = ReplicaStore.nowMillis()
            _ = try await admin.addOffice(code: "HSD", name: "和盛区", level: .district, parent: nil, now: now)
            _ = try await admin.addOffice(code: "JD1", name: "和平街道", level: .street, parent: "HSD", now: now)
            for community in 0..<communities {
                _ = try await admin.addOffice(code: "C\(community)", name: "社区\(community)", level: .community, parent: "JD1", now: now)
            }
            var tokens: [String] = []
            for index in 0..<replicas {
                tokens.append(try await admin.issueToken(office: office(index), lifetime: 3_600_000, now: now).token)
            }
            return tokens
        }
        var running: [SyncBenchmark.Server] = []
        for _ in 0..<servers { running.append(try SyncBenchmark.startServer(serverPath, database: centralPath, folder: folder)) }
        defer {
            for server in running {
                kill(server.process.processIdentifier, SIGTERM)
                server.process.waitUntilExit()
            }
        }
        let server = running[0]

        // Replicas: created, enrolled, and their offline day written (not timed).
        print("preparing \(replicas) replicas × \(changes) changes in \(communities) communities…")
        var stores: [ReplicaStore] = []
        var transports: [HTTPTransport] = []
        for index in 0..<replicas {
            let store = try ReplicaStore.create(at: folder + "/replica-\(index).sqlite", office: office(index), staff: "员工\(index)")
            let url = running[index % servers].url
            let anonymous = try HTTPTransport(server: url, credential: nil)
            let answer = try await anonymous.enrol(
                EnrolRequestV1(token: tokens[index], replica: store.identity.replica, staff: "员工\(index)"))
            await anonymous.shutdown()
            try store.saveEnrolment(server: url, credential: answer.credential, officeName: answer.officeName, officeLevel: answer.level)
            try Self.writeDay(store, changes: changes, tag: "r\(index)")
            stores.append(store)
            transports.append(try HTTPTransport(server: url, credential: answer.credential, timeoutSeconds: 300))
        }
        defer { for transport in transports { Task { await transport.shutdown() } } }

        var rounds: [[Double]] = []
        var firstRoundSeconds = 0.0
        var errors: [String] = []
        for round in 1...2 {
            let started = ContinuousClock.now
            let latencies = await withTaskGroup(of: (Double, String?).self) { group in
                for index in 0..<replicas {
                    let store = stores[index]
                    let transport = transports[index]
                    group.addTask {
                        let begin = ContinuousClock.now
                        var driver = SyncDriver(store: store, transport: transport, policy: .init(attempts: 5))
                        driver.pushChanges = 1_000
                        do {
                            _ = try await driver.run()
                            return (seconds(ContinuousClock.now - begin), nil)
                        } catch {
                            return (seconds(ContinuousClock.now - begin), "replica \(index): \(error)")
                        }
                    }
                }
                var result: [Double] = []
                for await (latency, error) in group {
                    result.append(latency)
                    if let error { errors.append(error) }
                }
                return result
            }
            if round == 1 { firstRoundSeconds = seconds(ContinuousClock.now - started) }
            rounds.append(latencies)
            print("round \(round): \(latencies.count) syncs in \(format(seconds(ContinuousClock.now - started), 2)) s")
        }
        let rss = running.compactMap { SyncBenchmark.peakRSS(of: $0.process.processIdentifier) }.max()
        _ = server

        let (held, diverged) = try Self.convergence(
            central: centralPath, stores: stores, office: office, perCommunity: replicas / communities * changes)
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }
        printTable(
            ["round", "syncs", "p50 s", "p99 s", "max s"],
            rounds.enumerated().map { index, latencies in
                [
                    "\(index + 1)", "\(latencies.count)", format(percentile(latencies, 0.5), 2), format(percentile(latencies, 0.99), 2),
                    format(latencies.max() ?? 0, 2),
                ]
            })
        let pushed = replicas * changes
        print("changes pushed: \(pushed) in \(format(firstRoundSeconds, 2)) s → \(rate(pushed, firstRoundSeconds)) changes/s (round 1)")
        print(
            "\(servers) server(s) on \(db == nil ? "SQLite" : "PostgreSQL"); they hold \(held) changes; server peak RSS \(rss.map { format(Double($0) / 1024, 1) } ?? "?") MiB"
        )
        print("errors: \(errors.count)\(errors.isEmpty ? "" : " — " + errors.prefix(5).joined(separator: "; "))")
        print("converged: \(diverged.isEmpty ? "yes" : "NO — " + diverged.prefix(5).joined(separator: ", "))")
        if !errors.isEmpty || !diverged.isEmpty || held != pushed { throw ExitCode(1) }
    }

    /// Convergence: how many changes the server holds, and what diverged — each
    /// community's replicas must hold the same changes, at least all of the community's.
    static func convergence(central path: String, stores: [ReplicaStore], office: (Int) -> String, perCommunity: Int) throws
        -> (held: Int, diverged: [String])
    {
        let held =
            path.hasPrefix("postgres")
            ? Int(try TestPostgres.query(path, "SELECT count(*) FROM changes")) ?? 0
            : try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM changes") ?? 0 }
        var diverged: [String] = []
        var byCommunity: [String: Set<String>] = [:]
        for (index, store) in stores.enumerated() {
            let dots = try Set(
                DatabaseQueue(path: store.path).read { db in
                    try String.fetchAll(db, sql: "SELECT replica || ':' || counter FROM changes")
                })
            if let other = byCommunity[office(index)] {
                if other != dots { diverged.append("replica \(index)") }
            } else {
                byCommunity[office(index)] = dots
            }
        }
        for (community, dots) in byCommunity where dots.count < perCommunity {
            diverged.append("\(community) holds \(dots.count) of \(perCommunity)")
        }
        return (held, diverged)
    }

    /// A replica's offline day: a fifth of the changes create cases, the rest edit them.
    static func writeDay(_ store: ReplicaStore, changes: Int, tag: String) throws {
        let creates = max(1, changes / 5)
        var writes: [(fields: [String: Value], record: RecordKey)] = []
        for index in 0..<changes {
            if index < creates {
                writes.append(
                    (
                        [
                            "number": .text("\(tag)-\(index)"), "kind": .text("help"), "category": .text("社会救助"),
                            "title": .text("案件 \(tag) \(index)"), "status": .text("received"), "created_at": .timestamp(1_795_651_200_000),
                            "office": .text(store.identity.office), "community": .text(store.identity.office),
                        ], RecordKey(table: "cases", id: "\(tag)-\(index)")
                    ))
            } else {
                writes.append(
                    (["description": .text("进展 \(index)")], RecordKey(table: "cases", id: "\(tag)-\((index * 7) % creates)")))
            }
        }
        try store.write(batch: writes)
    }
}
