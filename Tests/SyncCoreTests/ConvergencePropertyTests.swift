import SyncCore
import TestSupport
import Testing

/// Convergence over random schedules (`Protocol/CORRECTNESS.md` §C).
///
/// Seeded: set `RAIN_PROPERTY_SEED` to replay, `RAIN_PROPERTY_SCHEDULES` for the count
/// (default 1,000). A failure prints the seed of the failing schedule, replayable alone
/// with `RAIN_PROPERTY_SEED=<seed> RAIN_PROPERTY_SCHEDULES=1 swift test --filter Convergence`.
@Suite struct ConvergencePropertyTests {
    static let masterSeed = TestEnvironment.unsigned("RAIN_PROPERTY_SEED", default: UInt64.random(in: 1...UInt64.max))
    static let scheduleCount = Int(TestEnvironment.unsigned("RAIN_PROPERTY_SCHEDULES", default: 1000))

    /// Schedule 0 uses the master seed itself, so a printed schedule seed replays alone.
    static func seed(ofSchedule index: Int) -> UInt64 {
        index == 0 ? masterSeed : SeededRandom(seed: masterSeed &+ UInt64(index)).seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index)
    }

    @Test func replicasConvergeAfterAFullExchange() throws {
        var totalChanges = 0
        for index in 0..<Self.scheduleCount {
            let seed = Self.seed(ofSchedule: index)
            var random = SeededRandom(seed: seed)
            var simulation = Simulation(seed: seed)
            let replay = "replay: RAIN_PROPERTY_SEED=\(seed) RAIN_PROPERTY_SCHEDULES=1 swift test --filter Convergence"
            do {
                try simulation.run(steps: Int.random(in: 5...60, using: &random))
                try simulation.exchangeAll()
            } catch {
                Issue.record("schedule \(index) threw \(error); \(replay)\n\(simulation.trace.joined(separator: "\n"))")
                return
            }
            totalChanges += simulation.written.count
            let failures = Self.divergences(in: simulation)
            if !failures.isEmpty {
                Issue.record(
                    "schedule \(index) diverged: \(failures.joined(separator: "; ")); \(replay)\n\(simulation.trace.joined(separator: "\n"))"
                )
                return
            }
        }
        // Guard against a generator that writes nothing.
        #expect(totalChanges > Self.scheduleCount * 5, "master seed \(Self.masterSeed)")
    }

    /// Everything that differs between the replicas or from the definition of the merge.
    static func divergences(in simulation: Simulation) -> [String] {
        var failures: [String] = []
        let first = simulation.replicas[0]
        for (index, replica) in simulation.replicas.enumerated() {
            let name = simulation.ids[index]
            if replica.changeCount != simulation.written.count {
                failures.append("\(name) holds \(replica.changeCount) of \(simulation.written.count) changes (lost)")
            }
            if replica != first {
                failures.append("\(name) state differs from r0")
                for (key, record) in replica.records where record != first.records[key] {
                    for (field, register) in record.fields where register != first.records[key]?.fields[field] {
                        failures.append(
                            "\(name) \(key).\(field): \(register) vs r0 \(String(describing: first.records[key]?.fields[field]))")
                    }
                    if record.versionVector != first.records[key]?.versionVector { failures.append("\(name) \(key) vector") }
                }
            }
            if replica.conflicts() != first.conflicts() { failures.append("\(name) conflicts differ from r0") }
            if replica.versionVector != first.versionVector { failures.append("\(name) version vector differs from r0") }
        }
        // The oracle: siblings are exactly the writes of the field that no other write of
        // the field supersedes (PROTOCOL.md §3.2), computed from the set of all changes.
        var writes: [RecordKey: [String: [Change]]] = [:]
        for change in simulation.written {
            for field in change.fields.keys { writes[change.record, default: [:]][field, default: []].append(change) }
        }
        for (key, fields) in writes {
            for (field, changes) in fields {
                let expected = changes.filter { candidate in
                    !changes.contains { $0.dot != candidate.dot && $0.context.covers(candidate.dot) }
                }.map(\.dot).sorted()
                let actual = first.records[key]?.fields[field]?.siblings.map(\.dot) ?? []
                if actual != expected { failures.append("\(key).\(field): siblings \(actual), definition says \(expected)") }
            }
        }
        // With every change held, each writer's chain on each record is complete.
        for (key, record) in first.records {
            var expected = VersionVector()
            for change in simulation.written where change.record == key { expected.add(change.dot) }
            if record.versionVector != expected { failures.append("\(key): version vector \(record.versionVector), expected \(expected)") }
        }
        return failures
    }

    @Test func mergeIsCommutativeAssociativeAndIdempotent() throws {
        for index in 0..<max(Self.scheduleCount / 5, 1) {
            let seed = Self.seed(ofSchedule: index) ^ 0xA5A5
            var simulation = Simulation(seed: seed, replicaCount: 3)
            try simulation.run(steps: 40)
            let (a, b, c) = (simulation.replicas[0], simulation.replicas[1], simulation.replicas[2])
            let context = "seed \(seed)"
            #expect(try merge(a, b) == merge(b, a), "commutative, \(context)")
            #expect(try merge(merge(a, b), c) == merge(a, merge(b, c)), "associative, \(context)")
            #expect(try merge(a, a) == a, "idempotent, \(context)")
            #expect(try merge(merge(a, b), b) == merge(a, b), "idempotent after merge, \(context)")
            // `merge` sends only what the left side lacks, so the two lines above re-apply
            // nothing: deliver everything again, shuffled, to the state that holds it.
            var random = SeededRandom(seed: seed)
            var again = a
            let everything = a.missing(for: VersionVector())
            #expect(!everything.isEmpty, "\(context)")
            #expect(try again.apply(batch: everything.shuffled(using: &random)) == ApplySummary(applied: 0, duplicates: everything.count))
            #expect(again == a, "idempotent on redelivery, \(context)")
            var both = try merge(a, b)
            let before = both
            let fromB = b.missing(for: VersionVector())
            #expect(try both.apply(batch: fromB.shuffled(using: &random)) == ApplySummary(applied: 0, duplicates: fromB.count))
            #expect(both == before, "idempotent after merge on redelivery, \(context)")
        }
    }

    private func merge(_ left: ReplicaState, _ right: ReplicaState) throws -> ReplicaState {
        var result = left
        _ = try result.apply(batch: right.missing(for: left.versionVector))
        return result
    }

    @Test func versionVectorsFormAPartialOrderWithMergeAsJoin() {
        var random = SeededRandom(seed: Self.masterSeed)
        let replicas = ["a", "b", "c", "d"].map(ReplicaID.init)
        func vector() -> VersionVector {
            VersionVector(replicas.map { ($0, UInt64.random(in: 0...3, using: &random)) })
        }
        for _ in 0..<Self.scheduleCount {
            let (x, y, z) = (vector(), vector(), vector())
            let seed = "seed \(Self.masterSeed)"
            #expect(x.compare(x) == .equal && x.covers(x), "reflexive, \(seed)")
            if x.covers(y) && y.covers(x) { #expect(x == y, "antisymmetric, \(seed)") }
            if x.covers(y) && y.covers(z) { #expect(x.covers(z), "transitive, \(seed)") }
            let join = x.merging(y)
            #expect(join.covers(x) && join.covers(y), "merge is an upper bound, \(seed)")
            if z.covers(x) && z.covers(y) { #expect(z.covers(join), "merge is the least upper bound, \(seed)") }
            #expect(x.merging(y) == y.merging(x) && x.merging(x) == x, "merge commutes and is idempotent, \(seed)")
            let expected: CausalOrder =
                x == y ? .equal : x.covers(y) ? .after : y.covers(x) ? .before : .concurrent
            #expect(x.compare(y) == expected)
            for replica in replicas {
                for counter in UInt64(1)...4 {
                    let dot = Dot(replica, counter)
                    #expect(x.covers(dot) == (x[replica] >= counter))
                }
            }
        }
    }
}
