import ArgumentParser
import CaseStore
import Foundation
import ReplicaStore
import SyncCore
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `rain-bench store`: the office replica on disk, beside raw SQLite.
struct StoreBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Measure the replica store: W1 capture vs raw SQLite, `rain case new` as a process, list and find over many cases.",
        discussion: """
            Needs the release `rain` beside rain-bench: swift build -c release --product rain
            """
    )

    @Option(help: "How many times to run each phase (the median is printed).") var runs = 5
    @Option(help: "Cases in the replica for list and find.") var cases = 100_000
    @Option(help: "How many `rain case new` processes to time.") var processes = 30

    func validate() throws {
        guard runs >= 1, cases >= 1, processes >= 1 else { throw ValidationError("--runs, --cases and --processes must be at least 1") }
    }

    func run() throws {
        let workload = W1Workload(replicas: 1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-bench-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // 1. W1 capture: one replica's 500 creates (one transaction), then 2,000 updates (another).
        var store: [Double] = []
        var storeWithoutIndex: [Double] = []
        var raw: [Double] = []
        var rawFullText: [Double] = []
        for run in 0..<runs {
            let path = folder + "/capture-\(run).sqlite"
            let replica = try ReplicaStore.create(at: path, office: "HSM", staff: "员工")
            let creates = workload.inserts[0].map { row -> (fields: [String: Value], record: RecordKey) in
                var fields: [String: Value] = [:]
                for index in 1..<row.count { fields[W1Workload.fields[index]] = .text(row[index]) }
                return (fields, RecordKey(table: "cases", id: row[0]))
            }
            let updates = workload.updates[0].map {
                ([W1Workload.fields[$0.field]: Value.text($0.value)], RecordKey(table: "cases", id: $0.id))
            }
            // Capture alone (the search index is brought up to date later, v9-search-later),
            // then with the index update that follows it, to compare with raw SQLite
            // maintaining the same index in the same writes.
            let capture = try timed {
                try replica.write(batch: creates)
                try replica.write(batch: updates.map { (fields: $0.0, record: $0.1) })
            }.1
            storeWithoutIndex.append(capture)
            var indexedCases = 0
            store.append(capture + (try timed { indexedCases = try replica.updateSearchIndex() }.1))
            // Checked after the clock stops: the store's rows, its index, the baselines' rows.
            try check(replica, against: workload, "the capture's store")
            guard indexedCases == workload.inserts[0].count, try replica.search(String(workload.inserts[0][0][3].prefix(5))).count > 0
            else { throw ValidationError("the capture's search index holds \(indexedCases) cases") }
            replica.close()
            let baseline = try RawSQLite(path: folder + "/raw-\(run).sqlite")
            raw.append(try timed { _ = try baseline.replay(workload) }.1)
            let indexed = try RawSQLite(path: folder + "/raw-fts-\(run).sqlite", fullText: true)
            rawFullText.append(try timed { _ = try indexed.replay(workload) }.1)
            guard try baseline.rows() == workload.expectedFinalRows, try indexed.rows() == workload.expectedFinalRows,
                try indexed.count("cases_fts") == workload.inserts[0].count
            else { throw ValidationError("a raw SQLite baseline does not hold W1's final rows") }
            baseline.close()
            indexed.close()
        }
        let changes = workload.changeCount
        print(
            "W1 capture, one replica (\(changes) writes: 500 creates in one transaction, 2,000 updates in another; the store's index update one more; raw SQLite \(RawSQLite.settings)), median of \(runs):"
        )
        printTable(
            ["", "seconds", "writes/s"],
            [
                [
                    "ReplicaStore: change capture, merge state, rows, then the search index update", format(median(store)),
                    rate(changes, median(store)),
                ],
                [
                    "raw SQLite, same rows and the same trigram full-text index", format(median(rawFullText)),
                    rate(changes, median(rawFullText)),
                ],
                [
                    "ReplicaStore: the capture alone (search index updated later)", format(median(storeWithoutIndex)),
                    rate(changes, median(storeWithoutIndex)),
                ],
                ["raw SQLite, same rows, no index (WAL, synchronous=FULL)", format(median(raw)), rate(changes, median(raw))],
            ])
        print(
            "ratios: with the same full-text index \(format(median(store) / median(rawFullText), 2))×; without any index "
                + "\(format(median(storeWithoutIndex) / median(raw), 2))× (the store with its index against bare rows: "
                + "\(format(median(store) / median(raw), 2))×)\n")

        // 2. `rain case new` as a process.
        let rain = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rain").path
        if FileManager.default.isExecutableFile(atPath: rain) {
            let path = folder + "/process.sqlite"
            _ = try runProcess(rain, ["init", "--office", "HSM", "--staff", "员工", "--db", path])
            var times: [Double] = []
            for index in 0..<processes {
                times.append(
                    try timed {
                        _ = try runProcess(
                            rain,
                            [
                                "case", "new", "--db", path, "--kind", "help", "--category", "社会救助", "--title", "独居老人需要助餐 \(index)",
                                "--phone", "13812341234",
                            ])
                    }.1 * 1000)
            }
            print(
                "`rain case new` end to end (\(rain)), \(processes) processes: median \(format(median(times), 1)) ms, max \(format(times.max() ?? 0, 1)) ms\n"
            )
        } else {
            print("`rain case new`: skipped, no release rain at \(rain) (swift build -c release --product rain)\n")
        }

        // 3. list and find over many cases.
        let path = folder + "/many.sqlite"
        let many = try ReplicaStore.create(at: path, office: "HSM", staff: "员工")
        let generated = W1Workload(seed: 7, replicas: 1, creates: cases, updatesPerReplica: 0, conflictCases: 0)
        let (_, fill) = try timed {
            var batch: [(fields: [String: Value], record: RecordKey)] = []
            let base: Int64 = 1_795_651_200_000
            for (index, row) in generated.inserts[0].enumerated() {
                var fields: [String: Value] = [
                    "kind": .text(["complaint", "help", "consultation", "suggestion"][index % 4]), "status": .text("received"),
                ]
                for column in [2, 3, 4, 5, 6, 7] { fields[W1Workload.fields[column]] = .text(row[column]) }
                fields["created_at"] = .timestamp(base - Int64(index) * 60_000)
                fields["number"] = .text("HSM-\(index)")
                batch.append((fields, RecordKey(table: "cases", id: row[0])))
                if batch.count == 5_000 {
                    try many.write(batch: batch)
                    batch.removeAll()
                }
            }
            if !batch.isEmpty { try many.write(batch: batch) }
        }
        guard try many.caseCount() == cases else { throw ValidationError("the store holds \(try many.caseCount()) of \(cases) cases") }
        let probe = String(generated.inserts[0][cases / 2][3].prefix(4))
        // A phone tail some case has (the middle case's), so that the lookup must find it.
        let tail = String(generated.inserts[0][cases / 2][6].suffix(4))
        var list: [Double] = []
        var find: [Double] = []
        var phone: [Double] = []
        var found = 0
        var listed = 0
        var phones = 0
        for _ in 0..<runs {
            list.append(try timed { listed = try many.cases(CaseFilter(limit: 50)).count }.1 * 1000)
            find.append(try timed { found = try many.search(probe).count }.1 * 1000)
            phone.append(try timed { phones = try many.search(tail).count }.1 * 1000)
            // A fast answer must be a right one: every query found what it had to.
            guard listed == min(cases, 50), found > 0, phones > 0 else {
                throw ValidationError("list gave \(listed) cases, find \(found) hits for \(probe), the phone tail \(phones)")
            }
        }
        print("\(cases) cases written in \(format(fill, 1)) s (\(rate(cases, fill)) cases/s); file \(fileSize(path)) MiB")
        printTable(
            ["query (in process), median of \(runs)", "ms"],
            [
                ["list: newest 50", format(median(list), 2)],
                ["find: a 4-character Chinese substring (\(found) hits)", format(median(find), 2)],
                ["find: a phone tail (\(phones) hits)", format(median(phone), 2)],
            ])
        if FileManager.default.isExecutableFile(atPath: rain) {
            var listProcess: [Double] = []
            var findProcess: [Double] = []
            for _ in 0..<runs {
                listProcess.append(try timed { _ = try runProcess(rain, ["case", "list", "--db", path]) }.1 * 1000)
                findProcess.append(try timed { _ = try runProcess(rain, ["case", "find", probe, "--db", path]) }.1 * 1000)
            }
            print(
                "as processes: `rain case list` \(format(median(listProcess), 1)) ms, `rain case find` \(format(median(findProcess), 1)) ms"
            )
        }
    }

    /// Runs a process with posix_spawn and waitpid: Foundation's `Process` polls for
    /// exit and would add tens of milliseconds to every measurement.
    func runProcess(_ executable: String, _ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ValidationError("cannot start \(executable): error \(spawned)") }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let code = (status >> 8) & 0xFF
        guard status & 0x7F == 0, code == 0 else {
            throw ValidationError("\(arguments.prefix(2).joined(separator: " ")) failed (status \(status))")
        }
        return code
    }

    func fileSize(_ path: String) -> String {
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.doubleValue ?? 0
        let wal = ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.doubleValue ?? 0
        return format((bytes + wal) / 1_048_576, 1)
    }
}
