import CaseDomain
import CentralPostgres
import Foundation
import Logging
import ReplicaStore
import SyncCore
import SyncProtocol
import SyncServer
import TestSupport

extension SyncBenchmark {
    static func quietLogger() -> Logger {
        var logger = Logger(label: "rain-bench")
        logger.logLevel = .error
        return logger
    }

    /// The W1 figures on PostgreSQL beside SQLite's of the same runs.
    func printPostgres(_ figures: [SyncFigures], sqlite: [SyncFigures], changes: Int) {
        func figure(_ values: [Double]) -> String {
            guard values.count > 1 else { return format(median(values)) }
            return format(median(values)) + " (" + format(values.min() ?? 0) + "–" + format(values.max() ?? 0) + ")"
        }
        let total = { (f: SyncFigures) in f.push + f.pull }
        print("\nW1 over loopback HTTP against rain-server on PostgreSQL (same runs, each right after its SQLite run):")
        printTable(
            ["phase", "PostgreSQL s", "SQLite s", "PostgreSQL / SQLite"],
            [
                [
                    "push", figure(figures.map(\.push)), figure(sqlite.map(\.push)),
                    format(median(figures.map(\.push)) / median(sqlite.map(\.push)), 2),
                ],
                [
                    "pull", figure(figures.map(\.pull)), figure(sqlite.map(\.pull)),
                    format(median(figures.map(\.pull)) / median(sqlite.map(\.pull)), 2),
                ],
                [
                    "push + pull", figure(figures.map(total)), figure(sqlite.map(total)),
                    format(median(figures.map(total)) / median(sqlite.map(total)), 2),
                ],
                [
                    "W1c", figure(figures.map(\.w1c)), figure(sqlite.map(\.w1c)),
                    format(median(figures.map(\.w1c)) / median(sqlite.map(\.w1c)), 2),
                ],
            ])
        let ratio = median(figures.map(total)) / median(sqlite.map(total))
        print("W1 push + pull on PostgreSQL / on SQLite: \(format(ratio, 2)) (target ≤ 2)")
    }

    /// The server's merge alone on PostgreSQL (in process, no HTTP) beside raw PostgreSQL
    /// writing W1's change log and merged state, alternating, medians.
    func mergeOnPostgres(_ workload: W1Workload, produced: [[Change]], server: String) async throws {
        let decoded = try produced.map { own in
            try stride(from: 0, to: own.count, by: batch).map {
                let changes = try ChangeBatchV1.decode(ChangeBatchV1.encode(own[$0..<min($0 + batch, own.count)]))
                return (changes: changes, bodies: changes.map(ChangeV1.encode))
            }
        }
        let callers = produced.map { Caller(replica: $0[0].dot.replica, office: "HSD") }
        let log = decoded.map { batches in
            batches.flatMap { batch in
                zip(batch.changes, batch.bodies).map { (replica: $0.dot.replica.rawValue, counter: Int64($0.dot.counter), body: $1) }
            }
        }
        let merged = RawSQLite.mergedState(workload)
        var merges: [Double] = []
        var raws: [Double] = []
        for _ in 0..<runs {
            let url = try TestPostgres.createDatabase(on: server)
            guard case .postgres(let location) = try DatabaseLocation(parsing: url) else { return }
            let storage = try await PostgresCentralStorage.open(location, kinds: [CaseRecords.kind], logger: Self.quietLogger())
            _ = try await storage.addOffice(code: "HSD", name: "和盛区", level: .district, parent: nil, now: ReplicaStore.nowMillis())
            let start = ContinuousClock.now
            for (index, replicaBatches) in decoded.enumerated() {
                for batch in replicaBatches {
                    _ = try await storage.push(batch.changes, bodies: batch.bodies, from: callers[index], now: ReplicaStore.nowMillis())
                }
            }
            merges.append(seconds(ContinuousClock.now - start))
            await storage.close()
            let held = Int(try TestPostgres.query(url, "SELECT count(*) FROM changes")) ?? -1
            TestPostgres.dropDatabase(url)
            guard held == workload.changeCount else { throw RawPostgres.RawFailure("the merge holds \(held) changes") }

            let raw = try RawPostgres.fresh(on: server)
            let rawStart = ContinuousClock.now
            let written = try await raw.writeLogAndMergedState(log: log, rows: merged, fields: W1Workload.fields.count)
            raws.append(seconds(ContinuousClock.now - rawStart))
            raw.drop()
            guard written == workload.changeCount else { throw RawPostgres.RawFailure("raw PostgreSQL wrote \(written) changes") }
        }
        let changes = workload.changeCount
        print("\nThe server's merge alone on PostgreSQL (in process, no HTTP), median of \(runs) alternating runs:")
        printTable(
            ["", "seconds", "changes/s"],
            [
                ["rain-server storage on PostgreSQL: change log and merge state", format(median(merges)), rate(changes, median(merges))],
                [
                    "raw PostgreSQL: W1's change log and its merged state (unnest inserts, one transaction per replica)",
                    format(median(raws)), rate(changes, median(raws)),
                ],
            ])
        print("server merge rate on PostgreSQL / raw PostgreSQL rate: \(format(median(raws) / median(merges), 3))")
    }
}
