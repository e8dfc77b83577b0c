import ReplicaStore
import SyncCore

/// A push's merge on the central server, pure: which changes are new (idempotence by
/// dot, `Protocol/PROTOCOL.md` §3.5), and their merge into the records' stored states by
/// `SyncCore` (§3.2, §3.4), exactly as `ReplicaStore`'s apply does for the embedded
/// storage. The storage loads what it names, and writes what it answers.
struct CentralMerge {
    /// A record's merge state as stored: nil record when no field is held.
    struct State {
        var record: SyncCore.Record?
        var arrivals: [Int64]
    }

    /// A record after the merge, in its stored form.
    struct Merged {
        var key: RecordKey
        var state: [UInt8]
        var conflicts: Int
        /// The record after the merge (its earlier values not loaded: format 2).
        var record: SyncCore.Record? = nil
    }

    /// The new changes of `changes`, with their bodies, and the number of duplicates:
    /// a change above both the highest counter `held` of its writer and every earlier
    /// one in the batch is new without a lookup; one at or below them is compared with
    /// the one earlier in the batch, or with the one held (`stored`, by dot; nil: not
    /// held). A different change under a known dot is refused, as is a change its table's
    /// schema does not allow.
    static func fresh(
        _ changes: [Change], bodies: [[UInt8]], schema: Schema, held: [ReplicaID: UInt64], stored: [Dot: Change]
    ) throws(SyncCoreError) -> (fresh: [(change: Change, body: [UInt8])], duplicates: Int) {
        var fresh: [(change: Change, body: [UInt8])] = []
        fresh.reserveCapacity(changes.count)
        var duplicates = 0
        var highest: [ReplicaID: UInt64] = [:]
        for (position, change) in changes.enumerated() {
            // Checked change by change, as the embedded storage does: the first refusal wins.
            try change.validate(against: schema)
            let replica = change.dot.replica
            let before = held[replica] ?? 0
            let inBatch = highest[replica] ?? 0
            if change.dot.counter > before, change.dot.counter > inBatch {
                highest[replica] = change.dot.counter
                fresh.append((change, bodies[position]))
                continue
            }
            if let earlier = fresh.first(where: { $0.change.dot == change.dot })?.change {
                guard earlier == change else { throw .conflictingDuplicate(change.dot) }
                duplicates += 1
                continue
            }
            if change.dot.counter <= before, let known = stored[change.dot] {
                guard known == change else { throw .conflictingDuplicate(change.dot) }
                duplicates += 1
                continue
            }
            // Refused before and sent again: below what is held, not stored.
            fresh.append((change, bodies[position]))
        }
        return (fresh, duplicates)
    }

    /// The records `fresh` touches after it is merged in, the changes numbered from
    /// `first` on, and the held changes the merge asked for and `known` lacks.
    struct Outcome {
        var merged: [Merged] = []
        /// Each change logged, in arrival order.
        var logged: [(arrived: Int64, record: RecordKey)] = []
        /// Dots the merge looked up that `known` did not answer: fetch them and merge again.
        var missing: Set<Dot> = []
    }

    /// Merges `fresh` into `states` (every touched record's stored state; a record
    /// missing from it is new). `known` answers a lookup of an earlier held change by
    /// dot (a writer's change arriving out of line rebuilds its chain), nil for a
    /// change known not to be held.
    static func merge(
        _ fresh: [Change], first: Int64, states: [RecordKey: State], schema: Schema, known: [Dot: Change?]
    ) -> Outcome {
        var outcome = Outcome()
        var byDot: [Dot: Change] = [:]
        var working: [RecordKey: State] = [:]
        var order: [RecordKey] = []
        var seen: Set<RecordKey> = []
        var arrived = first
        for change in fresh {
            let key = change.record
            var state = working.removeValue(forKey: key) ?? states[key] ?? State(record: nil, arrivals: [])
            if seen.insert(key).inserted { order.append(key) }
            state.arrivals.append(arrived)
            outcome.logged.append((arrived, key))
            arrived += 1
            var record = state.record ?? SyncCore.Record()
            state.record = nil
            record.apply(change, rules: schema.table(key.table)) { dot in
                if let earlier = byDot[dot] { return earlier }
                if let held = known[dot] { return held }
                outcome.missing.insert(dot)
                return nil
            }
            state.record = record
            working[key] = state
            byDot[change.dot] = change
        }
        for key in order {
            guard let state = working[key], let record = state.record else { continue }
            var conflicts = 0
            let bytes = MergeStateCodec.encode(record, arrivals: state.arrivals, conflicts: &conflicts, values: false) { name in
                schema.rule(table: key.table, field: name).listsConflicts
            }
            outcome.merged.append(Merged(key: key, state: bytes, conflicts: conflicts, record: record))
        }
        return outcome
    }

    /// A stored state, or nil when it does not decode.
    static func decode(_ bytes: [UInt8]) -> State? {
        guard let decoded = MergeStateCodec.decode(bytes) else { return nil }
        return State(record: decoded.record.fieldNames.isEmpty ? nil : decoded.record, arrivals: decoded.arrivals)
    }
}
