import ArgumentParser
import Foundation
import SyncCore
import SyncProtocol
import TestSupport

/// `rain-bench core`: the in-memory sync core on W1/W1c, beside raw SQLite.
struct CoreBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "Merge W1 in memory with SyncCore and compare with raw SQLite replaying the same writes.",
        discussion: """
            Phases (medians over --runs): capture (every replica's local writes with change
            capture), encode/decode (canonical wire form, bytes on the wire), central merge,
            pull build ("what does replica 0 lack"), pull apply, and W1c (20-way conflicts on
            400 fields, all detected and listed). Changes/s = logical changes ÷ seconds.
            """
    )

    @Option(help: "A TSV dump from `python3 ../shared/bench/workload.py --dump FILE`; without it, W1-shaped data are generated.")
    var data: String?

    @Option(help: "How many times to run each phase (the median is printed).")
    var runs: Int = 5

    // Diagnostics for `perf record`: repeat one phase N times and print its fastest run.
    @Option(help: .hidden)
    var profileMerge: Int = 0

    @Option(help: .hidden)
    var profileDecode: Int = 0

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let data, !FileManager.default.fileExists(atPath: data) {
            throw ValidationError("no such file: \(data) (make one with: python3 ../shared/bench/workload.py --dump \(data))")
        }
    }

    func run() throws {
        let workload = try data.map { try W1Workload(dump: $0) } ?? W1Workload()
        let total = workload.changeCount
        if profileDecode > 0 {
            // For `perf record`: encode once, then only decode, many times.
            let batches = try capture(workload).produced.map { ChangeBatchV1.encode($0) }
            var times: [Double] = []
            for _ in 0..<profileDecode {
                times.append(try timed { for batch in batches { _ = try ChangeBatchV1.decode(batch) } }.1)
            }
            print("decode: fastest of \(profileDecode) \(format(times.min() ?? 0)) s")
            return
        }
        if profileMerge > 0 {
            // For `perf record`: capture once, then only merge, many times.
            let produced = try capture(workload).produced
            let creates = produced.map { Array($0.prefix(workload.inserts[0].count)) }
            let updates = produced.map { Array($0.dropFirst(workload.inserts[0].count)) }
            var creating: [Double] = []
            var updating: [Double] = []
            for _ in 0..<profileMerge {
                var central = ReplicaState()
                creating.append(try timed { for changes in creates { _ = try central.apply(batch: changes) } }.1)
                updating.append(try timed { for changes in updates { _ = try central.apply(batch: changes) } }.1)
            }
            print(
                "merge, fastest of \(profileMerge): creates \(format(creating.min() ?? 0)) s, updates \(format(updating.min() ?? 0)) s;"
                    + " medians \(format(median(creating))) s, \(format(median(updating))) s")
            return
        }
        print("W1: \(workload.replicaCount) replicas, \(total) logical changes\(data.map { " from \($0)" } ?? " (generated, W1-shaped)")")

        var times: [String: [Double]] = [:]
        var wireBytes = 0
        var pullBytes = 0
        var conflictSummary = ""
        for _ in 0..<runs {
            let result = try runOnce(workload)
            for (phase, seconds) in result.times { times[phase, default: []].append(seconds) }
            wireBytes = result.wireBytes
            pullBytes = result.pullBytes
            conflictSummary = result.conflictSummary
        }

        var sqliteMemory: [Double] = []
        var sqliteFile: [Double] = []
        for _ in 0..<runs {
            let memory = try RawSQLite(path: ":memory:")
            let (rows, seconds) = try timed { try memory.replay(workload) }
            memory.close()
            guard rows == workload.inserts.reduce(0, { $0 + $1.count }) else {
                throw ValidationError("raw SQLite baseline wrote \(rows) rows")
            }
            sqliteMemory.append(seconds)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("rain-bench-\(UUID().uuidString).sqlite").path
            let file = try RawSQLite(path: path, untunedSynchronous: "NORMAL")
            sqliteFile.append(try timed { try file.replay(workload) }.1)
            let held = try file.rows()
            file.close()
            guard held == workload.expectedFinalRows else {
                throw ValidationError("raw SQLite's file replay holds \(held.count) rows, not W1's final state")
            }
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }

        let merge = median(times["merge"] ?? [])
        let rawMemory = median(sqliteMemory)
        let rows: [[String]] = [
            ["capture (20 replicas' local writes)", format(median(times["capture"] ?? [])), rate(total, median(times["capture"] ?? []))],
            ["encode to canonical wire form", format(median(times["encode"] ?? [])), rate(total, median(times["encode"] ?? []))],
            ["decode + validate wire form", format(median(times["decode"] ?? [])), rate(total, median(times["decode"] ?? []))],
            ["central merge (SyncCore, in memory)", format(merge), rate(total, merge)],
            [
                "pull build: what replica 0 lacks", format(median(times["pullBuild"] ?? [])),
                rate(Int(times["pullCount"]?.first ?? 0), median(times["pullBuild"] ?? [])),
            ],
            [
                "pull apply on replica 0", format(median(times["pullApply"] ?? [])),
                rate(Int(times["pullCount"]?.first ?? 0), median(times["pullApply"] ?? [])),
            ],
            ["W1c merge (8,000 concurrent writes)", format(median(times["w1cMerge"] ?? [])), rate(8000, median(times["w1cMerge"] ?? []))],
            ["raw SQLite replay, :memory:", format(rawMemory), rate(total, rawMemory)],
            [
                "raw SQLite replay, file (\(RawSQLite.settings); \(2 * workload.replicaCount) commits)", format(median(sqliteFile)),
                rate(total, median(sqliteFile)),
            ],
        ]
        print("")
        printTable(["phase (median of \(runs))", "seconds", "changes/s"], rows)
        print("")
        print("merge vs raw SQLite :memory: replay: \(format(rawMemory / merge, 2))× the rate")
        print("bytes on the wire: push \(wireBytes) (all 20 replicas), pull to replica 0 \(pullBytes)")
        print(conflictSummary)
        print("peak RSS: \(format(peakResidentMiB(), 1)) MiB")
    }

    struct RunResult {
        var times: [String: Double] = [:]
        var wireBytes = 0
        var pullBytes = 0
        var conflictSummary = ""
    }

    func runOnce(_ workload: W1Workload) throws -> RunResult {
        var result = RunResult()
        let replicaIDs = (0..<workload.replicaCount).map { ReplicaID(String(format: "replica-%02d", $0)) }
        let base: UInt64 = 1_717_372_800_000
        let fieldNames = W1Workload.fields

        // Capture: each replica's creates, then its single-field updates.
        let captured: (replicas: [ReplicaState], produced: [[Change]])
        (captured, result.times["capture"]) = try timed { try capture(workload) }
        var replicas = captured.replicas
        let produced = captured.produced

        // The wire: canonical batches of at most 10,000 changes, then strict decoding.
        var batches: [[UInt8]] = []
        (_, result.times["encode"]) = timed {
            for changes in produced {
                for start in stride(from: 0, to: changes.count, by: LimitsV1.maximumChangesPerBatch) {
                    batches.append(ChangeBatchV1.encode(changes[start..<min(start + LimitsV1.maximumChangesPerBatch, changes.count)]))
                }
            }
        }
        result.wireBytes = batches.reduce(0) { $0 + $1.count }
        var decoded: [[Change]] = []
        (_, result.times["decode"]) = try timed {
            for batch in batches { decoded.append(try ChangeBatchV1.decode(batch)) }
        }
        guard decoded.reduce(0, { $0 + $1.count }) == workload.changeCount else { throw ValidationError("decoding lost changes") }

        // Central merge of what arrived over the wire, replicas in order 0..19 — as the
        // server will do it.
        var central = ReplicaState()
        (_, result.times["merge"]) = try timed {
            for changes in decoded { _ = try central.apply(batch: changes) }
        }
        try verifyW1(central, workload)

        // Replica 0 pulls what it lacks.
        let (pull, pullBuild) = timed { central.missing(for: replicas[0].versionVector) }
        result.times["pullBuild"] = pullBuild
        result.times["pullCount"] = Double(pull.count)
        result.pullBytes = ChangeBatchV1.encode(pull).count
        (_, result.times["pullApply"]) = try timed { _ = try replicas[0].apply(batch: pull) }
        guard replicas[0] == central else { throw ValidationError("replica 0 differs from the central state after its pull") }

        // W1c: every replica, fully synced, writes status then title of the same cases.
        var concurrent: [[Change]] = []
        for r in replicas.indices {
            var state = central
            var clock = HybridLogicalClock(last: HLC(wall: base + 1_000_000))
            var changes: [Change] = []
            for (index, write) in workload.conflictWrites[r].enumerated() {
                // Later replicas write later, so last-writer-wins agrees with the dump's
                // replica-order reference (Y lines).
                let hlc = clock.tick(physical: base + 1_000_000 + UInt64(r) * 100_000 + UInt64(index))
                changes.append(
                    try state.write(
                        [fieldNames[write.field]: .text(write.value)], to: RecordKey(table: "cases", id: write.id), by: replicaIDs[r],
                        author: "员工", at: hlc))
            }
            concurrent.append(changes)
        }
        (_, result.times["w1cMerge"]) = try timed {
            for changes in concurrent { _ = try central.apply(batch: changes) }
        }
        let conflicts = central.conflicts()
        let siblings = conflicts.map(\.siblings.count)
        let fieldCount = Set(workload.conflictWrites.flatMap { $0.map { "\($0.id)/\($0.field)" } }).count
        guard conflicts.count == fieldCount, siblings.allSatisfy({ $0 == workload.replicaCount }) else {
            throw ValidationError(
                "W1c: \(conflicts.count) conflicts listed, expected \(fieldCount) with \(workload.replicaCount) siblings each")
        }
        let agree = try checkW1cWinners(conflicts.map { ($0.record.id, $0.field, $0.winner.value) }, workload)
        result.conflictSummary =
            "W1c: \(conflicts.count) fields in conflict, each with \(siblings.first ?? 0) siblings, all listed; winners equal "
            + (workload.conflictFinal.isEmpty ? "last-writer-wins in replica order" : "the dump's last-writer-wins reference")
            + " for \(agree)/\(conflicts.count)"
        return result
    }

    func capture(_ workload: W1Workload) throws -> (replicas: [ReplicaState], produced: [[Change]]) {
        try captureW1(workload)
    }
}

extension ParsableCommand {
    /// Every replica's local writes: its creates, then its single-field updates.
    func captureW1(_ workload: W1Workload) throws -> (replicas: [ReplicaState], produced: [[Change]]) {
        let replicaIDs = (0..<workload.replicaCount).map { ReplicaID(String(format: "replica-%02d", $0)) }
        let base: UInt64 = 1_717_372_800_000
        let fieldNames = W1Workload.fields
        var replicas = Array(repeating: ReplicaState(), count: workload.replicaCount)
        var produced: [[Change]] = Array(repeating: [], count: workload.replicaCount)
        for r in replicas.indices {
            var clock = HybridLogicalClock()
            var tick: UInt64 = 0
            for row in workload.inserts[r] {
                var fields: [String: Value] = [:]
                for index in 1..<row.count { fields[fieldNames[index]] = .text(row[index]) }
                tick += 1
                produced[r].append(
                    try replicas[r].write(
                        fields, to: RecordKey(table: "cases", id: row[0]), by: replicaIDs[r], author: "员工",
                        at: clock.tick(physical: base + tick)))
            }
            for update in workload.updates[r] {
                tick += 1
                produced[r].append(
                    try replicas[r].write(
                        [fieldNames[update.field]: .text(update.value)], to: RecordKey(table: "cases", id: update.id), by: replicaIDs[r],
                        author: "员工", at: clock.tick(physical: base + tick)))
            }
        }
        return (replicas, produced)
    }
}
