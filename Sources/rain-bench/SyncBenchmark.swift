import ArgumentParser
import CaseDomain
import CaseStore
import CentralPostgres
import Foundation
import Logging
import ReplicaStore
import SyncClient
import SyncCore
import SyncProtocol
import SyncServer
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `rain-bench sync`: W1 over loopback HTTP against a real `rain-server` process.
struct SyncBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Measure W1 over loopback HTTP: 20 replicas push to a real rain-server, replica 0 pulls; then W1c.",
        discussion: """
            Needs the release rain-server beside rain-bench: swift build -c release --product rain-server.
            The server's merge is also measured in process (the same storage, no HTTP) and set
            beside raw SQLite writing the same rows (WAL, synchronous=FULL) in the same run.
            """
    )

    @Option(help: "A W1 dump from ../shared/bench/workload.py --dump (default: generate W1).") var data: String?
    @Option(help: "Changes per pushed batch (at most 10,000).") var batch = 5_000
    @Flag(help: "Only the server's merge in process beside raw SQLite (no HTTP), e.g. for a profiler.") var mergeOnly = false
    @Option(
        help:
            "Runs of the sync phases (fresh server and replica files each) and of the in-process merge beside raw SQLite, alternating (medians reported, with the range)."
    ) var runs = 1
    @Option(
        help: ArgumentHelp(
            "A PostgreSQL server (a superuser's postgres:// URL): every run also syncs W1 against a rain-server on a fresh database there, and the merge is measured in process on it beside raw PostgreSQL.",
            valueName: "url"))
    var db: String?

    func validate() throws {
        guard (1...LimitsV1.maximumChangesPerBatch).contains(batch) else { throw ValidationError("--batch must be from 1 to 10000") }
        guard (1...50).contains(runs) else { throw ValidationError("--runs must be from 1 to 50") }
    }

    func run() async throws {
        let serverPath = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rain-server")
            .path
        guard FileManager.default.isExecutableFile(atPath: serverPath) else {
            throw ValidationError("no rain-server beside rain-bench (\(serverPath)): swift build -c release --product rain-server")
        }
        let workload = try data.map { try W1Workload(dump: $0) } ?? W1Workload()
        let (_, produced) = try captureW1(workload)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-bench-sync-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer {
            if ProcessInfo.processInfo.environment["RAIN_BENCH_KEEP"] == nil {
                try? FileManager.default.removeItem(atPath: folder)
            } else {
                print("kept \(folder)")
            }
        }
        if mergeOnly {
            try mergeBesideRaw(workload, produced: produced, folder: folder)
            return
        }

        var figures: [SyncFigures] = []
        var onPostgres: [SyncFigures] = []
        var withoutReadModel: [SyncFigures] = []
        var onPostgresWithout: [SyncFigures] = []
        for run in 0..<runs {
            let runFolder = folder + "/run-\(run)"
            figures.append(try await syncOnce(workload, produced: produced, serverPath: serverPath, folder: runFolder))
            // The same run on a server that keeps no read model: what keeping it costs a push.
            withoutReadModel.append(
                try await syncOnce(workload, produced: produced, serverPath: serverPath, folder: runFolder + "-bare", readModel: false))
            if let db {
                // The same run on PostgreSQL, right after: both sides see the same machine.
                onPostgres.append(
                    try await syncOnce(workload, produced: produced, serverPath: serverPath, folder: runFolder + "-pg", postgres: db))
                onPostgresWithout.append(
                    try await syncOnce(
                        workload, produced: produced, serverPath: serverPath, folder: runFolder + "-pg-bare", postgres: db, readModel: false
                    ))
            }
            // A run's files are a few hundred MB: each goes once measured, unless kept.
            if ProcessInfo.processInfo.environment["RAIN_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: runFolder) }
        }
        // Medians, and the range when there are several runs (this machine is noisy).
        func figure(_ value: (SyncFigures) -> Double) -> String {
            let values = figures.map(value)
            guard values.count > 1 else { return format(median(values)) }
            return format(median(values)) + " (" + format(values.min() ?? 0) + "–" + format(values.max() ?? 0) + ")"
        }
        let first = figures[0]
        let changes = workload.changeCount
        print(
            "W1 over loopback HTTP: \(produced.count) replicas, \(changes) changes, batches of \(batch); "
                + (figures.count > 1 ? "median (range) of \(figures.count) runs on fresh files" : "one run"))
        printTable(
            ["phase", "seconds", "changes/s", "bytes on the wire"],
            [
                [
                    "push: \(produced.count) replicas at once", figure(\.push), rate(changes, median(figures.map(\.push))),
                    String(first.pushedBytes),
                ],
                [
                    "pull: replica 0 applies what it lacks", figure(\.pull), rate(first.received, median(figures.map(\.pull))),
                    String(first.pulledBytes),
                ],
                [
                    "push + pull", figure { $0.push + $0.pull }, rate(changes + first.received, median(figures.map { $0.push + $0.pull })),
                    String(first.pushedBytes + first.pulledBytes),
                ],
                ["after the sync: replica 0's search index takes the \(first.indexed) cases", figure(\.index), "", ""],
                ["  raw SQLite: the same trigram index over the same final rows", figure(\.rawIndex), "", ""],
                [
                    "W1c: \(first.conflictWrites) concurrent writes pushed, pulled by replica 0", figure(\.w1c),
                    rate(first.conflictWrites, median(figures.map(\.w1c))), "",
                ],
            ])
        print(
            "W1c: \(first.conflicts) fields in conflict at replica 0, each with \(first.siblings) siblings, all listed (received \(first.w1cReceived))"
        )
        let (kept, bare) = (median(figures.map(\.push)), median(withoutReadModel.map(\.push)))
        print(
            "W1 push with the read model (the server's case_view and case_event_view kept by every push): \(format(kept)) s; "
                + "without it, same runs: \(format(bare)) s; ratio \(format(kept / bare, 3))")
        let rss = figures.compactMap(\.rss).max()
        print("server peak RSS (highest of the runs): \(rss.map { String(format: "%.1f MiB", Double($0) / 1024) } ?? "unknown")")
        if !onPostgres.isEmpty {
            let (kept, bare) = (median(onPostgres.map(\.push)), median(onPostgresWithout.map(\.push)))
            print(
                "W1 push on PostgreSQL with the read model: \(format(kept)) s; without it, same runs: \(format(bare)) s; ratio \(format(kept / bare, 3))"
            )
            printPostgres(onPostgres, sqlite: figures, changes: changes)
        }
        try mergeBesideRaw(workload, produced: produced, folder: folder)
        if let db { try await mergeOnPostgres(workload, produced: produced, server: db) }
    }

    /// One run of the sync phases on fresh files in `folder`: a new server database and
    /// replica 0's file.
    func syncOnce(
        _ workload: W1Workload, produced: [[Change]], serverPath: String, folder: String, postgres: String? = nil, readModel: Bool = true
    ) async throws -> SyncFigures {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let replicaIDs = produced.map { $0[0].dot.replica }
        // Offices and one token per replica, written before the server starts: in a file,
        // or in a fresh database on the PostgreSQL server.
        let centralPath = try postgres.map { try TestPostgres.createDatabase(on: $0) } ?? folder + "/central.sqlite"
        defer { if postgres != nil { TestPostgres.dropDatabase(centralPath) } }
        let tokens = try await CentralDatabase.with(
            try DatabaseLocation(parsing: centralPath), kinds: [CaseRecords.kind], logger: Self.quietLogger()
        ) { admin in
            let now = ReplicaStore.nowMillis()
            _ = try await admin.addOffice(code: "HSD", name: "和盛区", level: .district, parent: nil, now: now)
            _ = try await admin.addOffice(code: "JD1", name: "和平街道", level: .street, parent: "HSD", now: now)
            _ = try await admin.addOffice(code: "HSM", name: "和盛社区", level: .community, parent: "JD1", now: now)
            // W1's replicas edit each other's cases: they are district replicas, whose
            // jurisdiction is everything (the merge is what is measured, not the filter).
            var tokens: [String] = []
            for _ in replicaIDs { tokens.append(try await admin.issueToken(office: "HSD", lifetime: 3_600_000, now: now).token) }
            return tokens
        }
        let server = try Self.startServer(
            serverPath, database: centralPath, folder: folder, arguments: readModel ? [] : ["--without-read-model"])
        defer {
            kill(server.process.processIdentifier, SIGTERM)
            server.process.waitUntilExit()
        }

        // Enrolment (not timed).
        var transports: [HTTPTransport] = []
        for (index, replica) in replicaIDs.enumerated() {
            let anonymous = try HTTPTransport(server: server.url, credential: nil)
            let answer = try await anonymous.enrol(EnrolRequestV1(token: tokens[index], replica: replica, staff: "员工"))
            await anonymous.shutdown()
            transports.append(try HTTPTransport(server: server.url, credential: answer.credential, timeoutSeconds: 600))
        }
        defer { for transport in transports { Task { await transport.shutdown() } } }

        // Replica 0's file holds its own changes, acknowledged, before it pulls.
        let replicaPath = folder + "/replica-00.sqlite"
        let replica0 = try ReplicaStore.create(at: replicaPath, office: "HSD", staff: "员工", replica: replicaIDs[0])
        try replica0.apply(batch: produced[0])
        try replica0.saveEnrolment(server: server.url, credential: "unused", officeName: "和盛社区", officeLevel: "community")

        // 1. Push: the 20 replicas at once, each in batches.
        let batches = produced.map { changes in
            stride(from: 0, to: changes.count, by: batch).map { ChangeBatchV1.encode(changes[$0..<min($0 + batch, changes.count)]) }
        }
        let pushedBytes = batches.joined().reduce(0) { $0 + $1.count }
        let pushStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, transport) in transports.enumerated() {
                let own = batches[index]
                group.addTask {
                    for body in own { _ = try await transport.push(body) }
                }
            }
            for try await _ in group {}
        }
        let push = seconds(ContinuousClock.now - pushStart)

        // 2. Pull: replica 0 takes what it lacks through the real client path.
        try replica0.acknowledge(upTo: UInt64(produced[0].count))
        var driver = SyncDriver(store: replica0, transport: transports[0])
        driver.trace = ProcessInfo.processInfo.environment["RAIN_BENCH_TRACE"] != nil
        let pullStart = ContinuousClock.now
        let report: SyncReport
        do {
            report = try await driver.run()
        } catch let failure as SyncFailure {
            throw ValidationError("replica 0's pull failed: \(failure.message)")
        }
        let pull = seconds(ContinuousClock.now - pullStart)
        // The search index catches up after the sync (as `rain sync` does), measured apart,
        // beside raw SQLite building the same index over the same final rows.
        let indexStart = ContinuousClock.now
        let indexed = try replica0.updateSearchIndex()
        let index = seconds(ContinuousClock.now - indexStart)
        let rawIndex: Double
        do {
            let raw = try RawSQLite(path: folder + "/raw-index.sqlite")
            _ = try raw.writeMergedState(RawSQLite.mergedState(workload))
            let start = ContinuousClock.now
            try raw.indexFullText()
            rawIndex = seconds(ContinuousClock.now - start)
            let rows = try raw.count("cases_fts")
            raw.close()
            guard rows == workload.expectedFinalRows.count else { throw ValidationError("raw SQLite indexed \(rows) rows") }
        }
        let expectedPull = workload.changeCount - produced[0].count
        guard report.received == expectedPull else {
            throw ValidationError("replica 0 received \(report.received), expected \(expectedPull)")
        }
        try check(replica0, against: workload)

        // 3. W1c: every replica, synced, writes status then title of the same cases; all
        // push, replica 0 pulls, every conflict must be listed there.
        var central = ReplicaState()
        for changes in produced { _ = try central.apply(batch: changes) }
        let conflictBatches = try conflictWrites(workload, central: central, replicas: replicaIDs)
        // Replica 0's own concurrent writes are in its file, and its sync pushes them.
        try replica0.apply(batch: conflictBatches[0])
        let w1cStart = ContinuousClock.now
        for (index, changes) in conflictBatches.enumerated() where index > 0 && !changes.isEmpty {
            _ = try await transports[index].push(ChangeBatchV1.encode(changes))
        }
        let w1cReport = try await driver.run()
        let w1c = seconds(ContinuousClock.now - w1cStart)
        let conflicts = try replica0.conflicts()
        let fieldCount = Set(workload.conflictWrites.flatMap { $0.map { "\($0.id)/\($0.field)" } }).count
        guard conflicts.count == fieldCount, conflicts.allSatisfy({ $0.siblings.count == replicaIDs.count }) else {
            throw ValidationError("W1c: \(conflicts.count) conflicts listed at replica 0, expected \(fieldCount)")
        }
        _ = try checkW1cWinners(conflicts.map { ($0.record.id, $0.field, $0.winner.value) }, workload)
        let rss = Self.peakRSS(of: server.process.processIdentifier)
        return SyncFigures(
            push: push, pull: pull, index: index, rawIndex: rawIndex, w1c: w1c, pushedBytes: pushedBytes,
            pulledBytes: report.bytesReceived, received: report.received, indexed: indexed,
            conflictWrites: conflictBatches.joined().count, conflicts: conflicts.count,
            siblings: conflicts.first?.siblings.count ?? 0, w1cReceived: w1cReport.received, rss: rss)
    }

    struct SyncFigures {
        var push, pull, index, rawIndex, w1c: Double
        var pushedBytes, pulledBytes, received, indexed, conflictWrites, conflicts, siblings, w1cReceived: Int
        var rss: Int?
    }

    /// The server's merge alone, in process (the same storage, no HTTP), beside raw SQLite
    /// writing the same rows.
    func mergeBesideRaw(_ workload: W1Workload, produced: [[Change]], folder: String) throws {
        let changes = workload.changeCount
        // As the HTTP handler does before the transaction: decode, and the canonical bodies.
        let decoded = try produced.map { own in
            try stride(from: 0, to: own.count, by: batch).map {
                let changes = try ChangeBatchV1.decode(ChangeBatchV1.encode(own[$0..<min($0 + batch, own.count)]))
                return (changes: changes, bodies: changes.map(ChangeV1.encode))
            }
        }
        let callers = produced.map { Caller(replica: $0[0].dot.replica, office: "HSD") }
        // Alternating runs on fresh files, so that a noisy neighbour slows both sides alike;
        // the medians and their ratio are what to compare.
        var merges: [Double] = []
        var bareMerges: [Double] = []
        var mergeCPU: [Double] = []
        var raws: [Double] = []
        var rawCPU: [Double] = []
        var finals: [Double] = []
        var floors: [Double] = []
        var logs: [Double] = []
        let merged = RawSQLite.mergedState(workload)
        let expected = workload.expectedFinalRows
        // Commits on each side, printed beside each ratio: the merge commits once per pushed
        // batch; the replay once per replica (its creates and updates together), like the
        // baselines writing the merged state and the log — or, untuned as before, twice.
        let mergeCommits = decoded.reduce(0) { $0 + $1.count }
        let rawReplayCommits = workload.replicaCount * (RawSQLite.untuned ? 2 : 1)
        // The change log as the server receives it: each replica's dots and canonical bodies.
        let log = decoded.map { batches in
            batches.flatMap { batch in
                zip(batch.changes, batch.bodies).map { (replica: $0.dot.replica.rawValue, counter: Int64($0.dot.counter), body: $1) }
            }
        }
        // One raw SQLite baseline on a fresh file: the time of `write` (closing untimed).
        func timeRaw(_ file: String, _ write: (RawSQLite) throws -> Void) throws -> Double {
            let raw = try RawSQLite(path: folder + "/\(file).sqlite")
            defer { raw.close() }
            let start = ContinuousClock.now
            try write(raw)
            return seconds(ContinuousClock.now - start)
        }
        // The same merge into a storage keeping no views: what the read model costs.
        let bareKinds = [CaseRecords.kind].map { RecordKind(name: $0.name, tables: $0.tables) }
        func merge(into path: String, kinds: [RecordKind]) throws -> (seconds: Double, cpu: Double) {
            let storage = try SQLiteCentralStorage.open(at: path, kinds: kinds)
            _ = try storage.addOffice(code: "HSD", name: "和盛区", level: .district, parent: nil, now: ReplicaStore.nowMillis())
            let start = ContinuousClock.now
            let cpuStart = Self.processCPU()
            for (index, replicaBatches) in decoded.enumerated() {
                for batch in replicaBatches {
                    _ = try storage.push(batch.changes, bodies: batch.bodies, from: callers[index], now: ReplicaStore.nowMillis())
                }
            }
            let timed = (seconds(ContinuousClock.now - start), Self.processCPU() - cpuStart)
            // Checked after the clock stops: every change held, every case's final value.
            try check(storage.store, against: workload, "the merge's store")
            storage.close()
            return timed
        }
        for run in 0..<runs {
            let timed = try merge(into: folder + "/merge-\(run).sqlite", kinds: [CaseRecords.kind])
            merges.append(timed.seconds)
            mergeCPU.append(timed.cpu)
            bareMerges.append(try merge(into: folder + "/bare-merge-\(run).sqlite", kinds: bareKinds).seconds)
            let raw = try RawSQLite(path: folder + "/raw-\(run).sqlite")
            let rawStart = ContinuousClock.now
            let rawCPUStart = Self.processCPU()
            _ = try raw.replay(workload, transactionsPerReplica: rawReplayCommits / workload.replicaCount)
            raws.append(seconds(ContinuousClock.now - rawStart))
            rawCPU.append(Self.processCPU() - rawCPUStart)
            let replayed = try raw.rows()
            raw.close()
            guard replayed == expected else {
                throw RawSQLite.Failure.sqlite("the replay holds \(replayed.count) rows, not W1's final state")
            }
            var written = 0
            finals.append(try timeRaw("final-\(run)") { written = try $0.writeMergedState(merged) })
            guard written == expected.count else { throw RawSQLite.Failure.sqlite("the merged state wrote \(written) rows") }
            var logged = 0
            floors.append(try timeRaw("floor-\(run)") { logged = try $0.writeLogAndMergedState(log: log, rows: merged) })
            guard logged == changes else { throw RawSQLite.Failure.sqlite("the change log floor wrote \(logged) of \(changes) changes") }
            logged = 0
            logs.append(try timeRaw("log-\(run)") { logged = try $0.writeLogAndMergedState(log: log, rows: merged.map { _ in [] }) })
            guard logged == changes else { throw RawSQLite.Failure.sqlite("the change log wrote \(logged) of \(changes) changes") }
        }
        let merge = median(merges)
        let rawTime = median(raws)
        print(
            "\nThe server's merge alone (in process, same storage, no HTTP: decoding and canonical bodies made beforehand, as the request's task does) against raw SQLite writing the same rows"
                + (runs > 1 ? ", median of \(runs) alternating runs:" : ":"))
        print("raw SQLite \(RawSQLite.settings); every result checked against W1's final state")
        let replicaCommits = "\(workload.replicaCount)"
        printTable(
            ["", "seconds", "changes/s", "commits"],
            [
                ["rain-server storage: change log, merge state and read model", format(merge), rate(changes, merge), "\(mergeCommits)"],
                [
                    "rain-server storage without the read model", format(median(bareMerges)), rate(changes, median(bareMerges)),
                    "\(mergeCommits)",
                ],
                [
                    "raw SQLite: every W1 write replayed on plain rows, no change log", format(rawTime), rate(changes, rawTime),
                    "\(rawReplayCommits)",
                ],
                [
                    "raw SQLite: only W1's merged state, 10,000 final rows", format(median(finals)), rate(changes, median(finals)),
                    replicaCommits,
                ],
                [
                    "raw SQLite: only W1's change log, the 50,000 bodies as rows, no index", format(median(logs)),
                    rate(changes, median(logs)), replicaCommits,
                ],
                [
                    "raw SQLite: W1's change log and its merged state", format(median(floors)), rate(changes, median(floors)),
                    replicaCommits,
                ],
            ])
        print("merge with the read model / without: \(format(merge / median(bareMerges), 3))")
        print(
            "server merge rate / raw SQLite replay rate: \(format(rawTime / merge, 3)) (target ≥ 0.5; commits \(mergeCommits) vs \(rawReplayCommits))"
        )
        print(
            "server merge rate / raw SQLite merged-state write rate: \(format(median(finals) / merge, 3)) (commits \(mergeCommits) vs \(replicaCommits))"
        )
        // What any design that keeps every change could reach on that second reading:
        // writing the log and the state, with no merging at all.
        print(
            "the best a design that logs every change could score on that reading, merging nothing: \(format(median(finals) / median(floors), 3)) with its merged state, \(format(median(finals) / median(logs), 3)) with none; server merge rate / raw change log + merged state rate: \(format(median(floors) / merge, 3))"
        )
        print(
            "CPU time (user + system, medians): merge \(format(median(mergeCPU))) s, raw SQLite \(format(median(rawCPU))) s; the rest of each is waiting (fsync)"
        )
    }

    struct Server {
        let process: Process
        let url: String
    }

    static func startServer(_ path: String, database: String, folder: String, arguments: [String] = []) throws -> Server {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        // RAIN_BENCH_SERVER_LOG=FILE keeps the server's request log (with each request's ms).
        let log = ProcessInfo.processInfo.environment["RAIN_BENCH_SERVER_LOG"]
        process.arguments = ["serve", "--db", database, "--port", "0", "--log-level", log == nil ? "warning" : "info"] + arguments
        let out = Pipe()
        process.standardOutput = out
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: log)
        } else {
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        }
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { throw ValidationError("rain-server did not start") }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let range = text.range(of: "listening on "), let end = text[range.upperBound...].firstIndex(of: " ") else {
            throw ValidationError("rain-server did not say where it listens")
        }
        return Server(process: process, url: String(text[range.upperBound..<end]))
    }

    /// This process's CPU time so far (user + system, every thread), in seconds.
    static func processCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// VmHWM of a process, in KiB.
    static func peakRSS(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    func conflictWrites(_ workload: W1Workload, central: ReplicaState, replicas: [ReplicaID]) throws -> [[Change]] {
        let base: UInt64 = 1_717_372_800_000
        return try replicas.indices.map { r in
            var state = central
            var clock = HybridLogicalClock(last: HLC(wall: base + 1_000_000))
            return try workload.conflictWrites[r].enumerated().map { index, write in
                try state.write(
                    [W1Workload.fields[write.field]: .text(write.value)], to: RecordKey(table: "cases", id: write.id), by: replicas[r],
                    author: "员工", at: clock.tick(physical: base + 1_000_000 + UInt64(r) * 100_000 + UInt64(index)))
            }
        }
    }
}
