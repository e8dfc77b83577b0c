import ArgumentParser
import AsyncHTTPClient
import CaseDomain
import CentralPostgres
import Foundation
import NIOCore
import NIOHTTP1
import ReplicaStore
import SyncCore
import SyncServer
import TestSupport

/// `rain-bench public`: the residents' API against a release `rain-server` holding many
/// cases — status queries and submissions per second, p50 and p99 — beside the server's
/// own `/healthz` in the same run (the floor of any request: routing, HTTP, loopback).
struct PublicBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public",
        abstract: "Measure the residents' Open311 API (status queries, submissions) beside /healthz on a server holding many cases.",
        discussion: """
            Needs the release rain-server beside rain-bench: swift build -c release --product rain-server.
            The cases are written in process before the server starts (not timed); the server runs
            with its public rate limits raised so that the requests reach the handlers.
            """)

    @Option(help: "Cases the server holds.") var cases = 100_000
    @Option(help: "Requests per read phase (/healthz, status, status with phone tail).") var requests = 20_000
    @Option(help: "Submissions.") var submissions = 2_000
    @Option(help: "Requests in flight at once.") var concurrency = 16
    @Option(help: ArgumentHelp("A PostgreSQL server (a superuser's postgres:// URL): run on a fresh database there.", valueName: "url"))
    var db: String?

    func validate() throws {
        guard cases >= 1, requests >= 1, submissions >= 1, (1...256).contains(concurrency) else {
            throw ValidationError("--cases, --requests and --submissions must be at least 1, --concurrency from 1 to 256")
        }
    }

    func run() async throws {
        let serverPath = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rain-server")
            .path
        guard FileManager.default.isExecutableFile(atPath: serverPath) else {
            throw ValidationError("no rain-server beside rain-bench (\(serverPath)): swift build -c release --product rain-server")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-bench-public-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = try db.map { try TestPostgres.createDatabase(on: $0) } ?? folder + "/central.sqlite"
        defer { if db != nil { TestPostgres.dropDatabase(database) } }

        let (numbers, seeding) = try await seed(database)
        print("\(cases) cases written in process in \(format(seeding, 1)) s (\(db == nil ? "SQLite" : "PostgreSQL"), not timed below)")
        // Public limits raised so that the requests reach the handlers.
        let server = try SyncBenchmark.startServer(
            serverPath, database: database, folder: folder,
            arguments: [
                "--public-reads-per-minute", "100000000", "--public-writes-per-minute", "100000000", "--submissions-per-phone", "1000",
            ])
        defer {
            kill(server.process.processIdentifier, SIGTERM)
            server.process.waitUntilExit()
        }
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)))
        do {
            try await measure(client, base: server.url, numbers: numbers)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func measure(_ client: HTTPClient, base: String, numbers: [String]) async throws {
        var random = SeededRandom(seed: 20_261_206)
        let picks = (0..<requests).map { _ in numbers[Int(random.next() % UInt64(numbers.count))] }

        var rows: [[String]] = []
        let health = try await phase(client, count: requests) { _ in (.GET, base + "/healthz", nil) }
        rows.append(row("GET /healthz (the floor)", health))
        let status = try await phase(client, count: requests) { index in (.GET, base + "/open311/v2/requests/\(picks[index]).json", nil) }
        rows.append(row("GET requests/{id}.json (status)", status))
        let several = try await phase(client, count: requests) { index in
            let ids = (0..<5).map { picks[(index + $0 * 7) % picks.count] }.joined(separator: ",")
            return (.GET, base + "/open311/v2/requests.json?service_request_id=\(ids)", nil)
        }
        rows.append(row("GET requests.json, 5 ids", several))
        let proved = try await phase(client, count: requests) { index in
            (.GET, base + "/open311/v2/requests/\(picks[index]).json?phone_tail=\(Self.tail(of: picks[index]))", nil)
        }
        rows.append(row("GET requests/{id}.json?phone_tail (answer, timeline)", proved))
        let submitted = try await phase(client, count: submissions) { index in
            let body =
                "jurisdiction_id=HSM&service_code=complaint-2&description=bench+\(index)&address_string=x&phone=137\(String(format: "%08d", index))"
            return (.POST, base + "/open311/v2/requests.json", body)
        }
        rows.append(row("POST requests.json (a submission, written as the server)", submitted))
        print(
            "\nrain-server (release) on \(db == nil ? "SQLite" : "PostgreSQL"), \(cases) cases, \(concurrency) requests in flight, loopback HTTP:"
        )
        printTable(["request", "count", "req/s", "p50 ms", "p99 ms", "errors"], rows)
        print(
            "status / healthz rate: \(format(status.rate / health.rate, 2)); submissions / healthz rate: \(format(submitted.rate / health.rate, 3))"
        )
        let failed = [health, status, several, proved, submitted].reduce(0) { $0 + $1.errors }
        if failed > 0 { throw ValidationError("\(failed) requests did not get the expected answer") }
    }

    // MARK: Phases

    struct Phase {
        var count: Int
        var seconds: Double
        var latencies: [Double]
        var errors: Int
        var rate: Double { Double(count) / seconds }

        func percentile(_ p: Double) -> Double {
            let sorted = latencies.sorted()
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }
    }

    func row(_ name: String, _ phase: Phase) -> [String] {
        [
            name, String(phase.count), format(phase.rate, 0), format(phase.percentile(0.5) * 1000, 2),
            format(phase.percentile(0.99) * 1000, 2), String(phase.errors),
        ]
    }

    /// `count` requests, `concurrency` at a time; each answer must be 2xx.
    func phase(_ client: HTTPClient, count: Int, _ request: @escaping @Sendable (Int) -> (HTTPMethod, String, String?)) async throws
        -> Phase
    {
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: [(Double, Bool)].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var mine: [(Double, Bool)] = []
                    var index = worker
                    while index < count {
                        let (method, url, body) = request(index)
                        var outgoing = HTTPClientRequest(url: url)
                        outgoing.method = method
                        if let body {
                            outgoing.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                            outgoing.body = .bytes(ByteBuffer(string: body))
                        }
                        let sent = ContinuousClock.now
                        let response = try await client.execute(outgoing, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        mine.append((seconds(ContinuousClock.now - sent), (200..<300).contains(Int(response.status.code))))
                        index += concurrency
                    }
                    return mine
                }
            }
            var all: [(Double, Bool)] = []
            for try await part in group { all += part }
            return all
        }
        return Phase(
            count: count, seconds: seconds(ContinuousClock.now - start), latencies: results.map(\.0), errors: results.filter { !$0.1 }.count
        )
    }

    // MARK: Setup

    /// The n-th case's number: valid, distinct, HSM's.
    static func number(_ index: Int) -> String {
        let minute = index % 1440
        let time = String(format: "%02d%02d", minute / 60, minute % 60)
        return "HSM-20261101-\(time)-K7Q-\(index / 1440 + 2)"
    }

    static func tail(of number: String) -> String {
        let index = Int(number.split(separator: "-").last ?? "") ?? 0
        return String(format: "%04d", index % 10_000)
    }

    /// Writes the offices and `cases` cases (each with a reply event) as a district replica
    /// would push them; answers the numbers and the seconds it took.
    func seed(_ database: String) async throws -> ([String], Double) {
        let start = ContinuousClock.now
        let replica = ReplicaStore.newReplicaID()
        let caller = Caller(replica: replica, office: "HSD")
        let total = cases
        let numbers = try await CentralDatabase.with(
            try DatabaseLocation(parsing: database), kinds: [CaseRecords.kind], logger: SyncBenchmark.quietLogger()
        ) {
            storage in
            let now = ReplicaStore.nowMillis()
            _ = try await storage.addOffice(code: "HSD", name: "和盛区", level: .district, parent: nil, now: now)
            _ = try await storage.addOffice(code: "JD1", name: "和平街道", level: .street, parent: "HSD", now: now)
            _ = try await storage.addOffice(code: "HSM", name: "和盛社区", level: .community, parent: "JD1", now: now)
            var numbers: [String] = []
            numbers.reserveCapacity(total)
            var counter: UInt64 = 0
            var batch: [Change] = []
            for index in 0..<total {
                let number = Self.number(index)
                numbers.append(number)
                let id = "bench-\(index)"
                counter += 1
                batch.append(
                    Change(
                        dot: Dot(replica, counter), record: RecordKey(table: "cases", id: id),
                        fields: [
                            "number": .text(number), "kind": .text("complaint"), "category": .text("环境卫生"), "title": .text("楼道堆物 \(index)"),
                            "phone": .text("1391234" + Self.tail(of: number)), "status": .text(index % 3 == 0 ? "replied" : "handling"),
                            "round": .integer(1), "level": .text("community"), "office": .text("HSM"), "community": .text("HSM"),
                            "created_at": .timestamp(now - Int64(index) * 1000), "answer": .text("已处理"),
                        ], context: VersionVector(), hlc: HLC(wall: UInt64(now) + counter), author: "李娜"))
                counter += 1
                batch.append(
                    Change(
                        dot: Dot(replica, counter), record: RecordKey(table: "case_events", id: "e-\(index)"),
                        fields: ["case_id": .text(id), "type": .text("reply"), "text": .text("已处理"), "at": .timestamp(now)],
                        context: VersionVector(), hlc: HLC(wall: UInt64(now) + counter), author: "李娜"))
                if batch.count >= 5_000 {
                    _ = try await storage.push(batch, from: caller, now: now)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { _ = try await storage.push(batch, from: caller, now: now) }
            return numbers
        }
        return (numbers, seconds(ContinuousClock.now - start))
    }
}
