/// A field whose concurrent writes left more than one value.
public struct Conflict: Hashable, Sendable {
    public let record: RecordKey
    public let field: String
    /// The rule that picks the displayed value.
    public let rule: FieldRule
    /// Every value, sorted by dot (the order `keep` numbers them, from 1).
    public let siblings: [Sibling]
    /// The value every replica displays until a person settles the conflict.
    public let winner: Sibling

    public init(record: RecordKey, field: String, rule: FieldRule, siblings: [Sibling], winner: Sibling) {
        self.record = record
        self.field = field
        self.rule = rule
        self.siblings = siblings
        self.winner = winner
    }
}

/// How a person settles a conflict.
public enum Resolution: Hashable, Sendable {
    /// Write this value.
    case value(Value)
    /// Keep the sibling with this number (1-based, in dot order as ``Conflict`` lists them).
    case keep(Int)
}

/// What applying a batch did.
public struct ApplySummary: Hashable, Sendable {
    /// Changes applied for the first time.
    public var applied: Int = 0
    /// Changes already known (re-delivery), ignored.
    public var duplicates: Int = 0

    public init(applied: Int = 0, duplicates: Int = 0) {
        self.applied = applied
        self.duplicates = duplicates
    }
}

/// A replica's whole state in memory: every record merged, every change it holds, and
/// its version vector. Pure: no clock, no I/O; timestamps are passed in.
///
/// Two replicas that have applied the same *set* of changes — in any order, any number
/// of times, in any batching — are equal (`==`), list the same conflicts and have the
/// same version vector (`Protocol/PROTOCOL.md` §3.5).
public struct ReplicaState: Hashable, Sendable {
    /// The merge rules in force.
    public let schema: Schema
    /// Merged records by key.
    public private(set) var records: [RecordKey: Record]
    /// Every change held, by writer.
    private var logs: [ReplicaID: OriginLog]
    /// Per writer, the highest counter n such that every change 1…n of that writer is
    /// held. What a peer compares against to find what it lacks.
    public private(set) var versionVector: VersionVector

    /// An empty replica.
    public init(schema: Schema = .timelyRain) {
        self.schema = schema
        records = [:]
        logs = [:]
        versionVector = VersionVector()
    }

    /// The number of changes held.
    public var changeCount: Int { logs.values.reduce(0) { $0 + $1.count } }

    /// The change with this dot, if held.
    public func change(_ dot: Dot) -> Change? {
        logs[dot.replica]?.change(dot.counter)
    }

    /// The highest counter held from `replica` (0 if none).
    public func highestCounter(of replica: ReplicaID) -> UInt64 {
        logs[replica]?.highest ?? 0
    }

    /// The winning value of `field` in `record`, or `nil` if never written.
    public func value(_ field: String, of record: RecordKey) -> Value? {
        records[record]?.value(of: field, table: record.table, schema: schema)
    }

    // MARK: Applying changes

    /// Checks that `change` may be applied, without applying it.
    ///
    /// - Returns: `true` if the change is new, `false` if it is already held.
    /// - Throws: ``SyncCoreError`` naming why the change is refused.
    public func check(_ change: Change) throws(SyncCoreError) -> Bool {
        try change.validate(against: schema)
        return try isNew(change)
    }

    /// Whether the change is new; throws if a different change with its dot is held.
    private func isNew(_ change: Change) throws(SyncCoreError) -> Bool {
        guard let known = self.change(change.dot) else { return true }
        if known != change { throw .conflictingDuplicate(change.dot) }
        return false
    }

    /// Applies one change (idempotent by dot).
    ///
    /// - Throws: ``SyncCoreError`` if the change is malformed or contradicts a held
    ///   change with the same dot; nothing is written then.
    /// - Complexity: O(f · (s + c)) for f fields, s siblings and c context entries.
    @discardableResult
    public mutating func apply(_ change: Change) throws(SyncCoreError) -> Bool {
        guard try check(change) else { return false }
        insert(change)
        return true
    }

    /// Applies a batch as one unit: either every change is valid and the batch is
    /// applied, or nothing is written.
    ///
    /// - Throws: the first ``SyncCoreError`` found, before anything is applied.
    /// - Complexity: O(n) changes applied, plus O(n log n) when one writer's changes are
    ///   not in ascending counter order within the batch.
    public mutating func apply<S: Sequence>(batch changes: S) throws(SyncCoreError) -> ApplySummary
    where S.Element == Change {
        var fresh: [Change] = []
        fresh.reserveCapacity(changes.underestimatedCount)
        var summary = ApplySummary()
        // A batch in which every writer's counters ascend cannot hold a dot twice; only
        // otherwise is a set of dots needed to find repeats within the batch.
        var lastWriter: ReplicaID?
        var lastCounter: UInt64 = 0
        var earlierRuns: [ReplicaID: UInt64] = [:]
        var ascending = true
        // A change above the highest counter held from its writer is new without a
        // lookup; the writer's highest counter is read once per run of its changes.
        var highestHeld: UInt64 = 0
        for change in changes {
            try change.validate(against: schema)
            let dot = change.dot
            if dot.replica == lastWriter {
                if dot.counter <= lastCounter { ascending = false }
            } else {
                if let lastWriter { earlierRuns[lastWriter] = max(earlierRuns[lastWriter] ?? 0, lastCounter) }
                if let earlier = earlierRuns[dot.replica], earlier >= dot.counter { ascending = false }
                lastWriter = dot.replica
                highestHeld = highestCounter(of: dot.replica)
            }
            lastCounter = dot.counter
            var new = dot.counter > highestHeld
            if !new { new = try isNew(change) }
            if new { fresh.append(change) } else { summary.duplicates += 1 }
        }
        if !ascending {
            var seen: [Dot: Change] = [:]
            var unique: [Change] = []
            for change in fresh {
                if let earlier = seen[change.dot] {
                    if earlier != change { throw .conflictingDuplicate(change.dot) }
                    summary.duplicates += 1
                } else {
                    seen[change.dot] = change
                    unique.append(change)
                }
            }
            fresh = unique
        }
        // The log first: runs of one writer's changes update its log and vector entry once.
        var index = 0
        while index < fresh.count {
            let writer = fresh[index].dot.replica
            var log = logs.removeValue(forKey: writer) ?? OriginLog()
            while index < fresh.count, fresh[index].dot.replica == writer {
                log.insert(fresh[index])
                index += 1
            }
            if log.contiguous != versionVector[writer] { versionVector.advance(writer, to: log.contiguous) }
            logs[writer] = log
        }
        // Then the records, grouped by record: each record is looked up once and stays in
        // cache for its changes. The merge does not depend on order (§3.5), so grouping
        // is free; within a record the batch order is kept.
        var keyed: [(fingerprint: UInt64, index: Int)] = []
        keyed.reserveCapacity(fresh.count)
        for (index, change) in fresh.enumerated() { keyed.append((change.record.fingerprint, index)) }
        keyed.sort { $0.fingerprint != $1.fingerprint ? $0.fingerprint < $1.fingerprint : $0.index < $1.index }
        let order = keyed.map(\.index)
        // At most one new record per group: growing the table once beats rehashing
        // (a no-op when the capacity suffices).
        var groups = 0
        var previous: UInt64?
        for entry in keyed where entry.fingerprint != previous {
            groups += 1
            previous = entry.fingerprint
        }
        records.reserveCapacity(records.count + groups)
        var position = 0
        let logs = self.logs
        while position < order.count {
            let key = fresh[order[position]].record
            let table = schema.table(key.table)
            records[key, default: Record()].apply(with: table) { record in
                while position < order.count, fresh[order[position]].record == key {
                    record.apply(fresh[order[position]], table: table, logs: logs)
                    position += 1
                }
            }
        }
        summary.applied = fresh.count
        return summary
    }

    private mutating func insert(_ change: Change) {
        let writer = change.dot.replica
        let contiguous = logs[writer, default: OriginLog()].insert(change)
        if contiguous != versionVector[writer] { versionVector.advance(writer, to: contiguous) }
        records[change.record, default: Record()].apply(change, table: schema.table(change.record.table), logs: logs)
    }

    // MARK: Local writes

    /// Writes `fields` of `record` as a new local change of `replica` and applies it.
    ///
    /// The change gets the next dot of `replica` and, as context, the record's version
    /// vector — everything this replica has seen of the record (`Protocol/PROTOCOL.md` §3.3).
    ///
    /// - Throws: ``SyncCoreError/noFields(_:)`` for an empty write,
    ///   ``SyncCoreError/appendOnlyModified(_:_:)`` when the record is append-only and
    ///   exists, ``SyncCoreError/counterExhausted(_:)``.
    public mutating func write(
        _ fields: [String: Value],
        to record: RecordKey,
        by replica: ReplicaID,
        author: String,
        at hlc: HLC
    ) throws(SyncCoreError) -> Change {
        let change = try LocalWrite.change(
            fields, to: record, current: records[record], schema: schema,
            by: replica, counter: highestCounter(of: replica) + 1, author: author, at: hlc)
        try apply(change)
        return change
    }

    /// Settles a conflicted (or any) field of `record`: writes a new value whose context
    /// covers every current sibling, so that once synced the field has a single value
    /// everywhere (`Protocol/PROTOCOL.md` §5.5).
    ///
    /// For a workflow field the change also writes the round field: the kept sibling's
    /// round, or the highest sibling round for a new value.
    ///
    /// - Throws: ``SyncCoreError/unknownRecord(_:)``, ``SyncCoreError/unknownField(_:_:)``,
    ///   ``SyncCoreError/noSuchSibling(_:_:_:)``.
    public mutating func resolve(
        _ field: String,
        of record: RecordKey,
        with resolution: Resolution,
        by replica: ReplicaID,
        author: String,
        at hlc: HLC
    ) throws(SyncCoreError) -> Change {
        let change = try LocalWrite.resolution(
            field, of: record, current: records[record], with: resolution, schema: schema,
            by: replica, counter: highestCounter(of: replica) + 1, author: author, at: hlc)
        try apply(change)
        return change
    }

    /// The largest counter the protocol carries: 2^53 (exact in every JSON parser).
    public static let maximumCounter: UInt64 = LocalWrite.maximumCounter

    // MARK: Conflicts

    /// Every field with more than one value whose rule lists conflicts, sorted by record
    /// then field. Fields under ``FieldRule/maximum`` are not listed.
    ///
    /// - Complexity: O(records · fields).
    public func conflicts() -> [Conflict] {
        var result: [Conflict] = []
        for (key, record) in records {
            for (name, register) in record.materialized where register.isConflicted {
                let rule = schema.rule(table: key.table, field: name)
                guard rule.listsConflicts, let winner = register.winner(under: rule) else { continue }
                result.append(Conflict(record: key, field: name, rule: rule, siblings: register.siblings, winner: winner))
            }
        }
        return result.sorted { a, b in
            a.record != b.record ? a.record < b.record : utf8Precedes(a.field, b.field)
        }
    }

    // MARK: What a peer lacks

    /// Every change held that a peer whose version vector is `peer` lacks, in causal
    /// order: each writer's changes by ascending counter, and every change after the
    /// changes its context covers (`Protocol/PROTOCOL.md` §6.1).
    ///
    /// Changes the peer may already hold beyond its contiguous vector are included;
    /// re-delivery is harmless.
    ///
    /// - Complexity: O(n log n + n · c) for n changes sent with c context entries.
    public func missing(for peer: VersionVector) -> [Change] {
        Delta.causalMerge(logs.map { $0.value.changes(after: peer[$0.key]) })
    }

    /// Every change held, in causal order (what an empty peer lacks).
    public var allChanges: [Change] { missing(for: VersionVector()) }
}

/// The changes held from one writer: an array for the unbroken run 1…n (the usual
/// case), a dictionary for changes held beyond a gap.
struct OriginLog: Hashable, Sendable {
    /// Changes 1…dense.count, in counter order.
    private var dense: [Change] = []
    /// Changes above a gap, by counter.
    private var sparse: [UInt64: Change] = [:]
    private(set) var highest: UInt64 = 0

    /// Every counter 1…contiguous is held.
    var contiguous: UInt64 { UInt64(dense.count) }

    /// How many changes are held.
    var count: Int { dense.count + sparse.count }

    func change(_ counter: UInt64) -> Change? {
        if counter >= 1, counter <= UInt64(dense.count) { return dense[Int(counter - 1)] }
        return sparse.isEmpty ? nil : sparse[counter]
    }

    /// The changes with counter above `floor`, ascending.
    ///
    /// - Complexity: O(delta) for the unbroken run, plus O(s log s) for s changes held
    ///   beyond a gap: proportional to what is sent, not to the log.
    func changes(after floor: UInt64) -> [Change] {
        guard highest > floor else { return [] }
        var result: [Change] = []
        if floor < UInt64(dense.count) { result.append(contentsOf: dense[Int(floor)...]) }
        if !sparse.isEmpty {
            result.append(contentsOf: sparse.values.filter { $0.dot.counter > floor }.sorted { $0.dot.counter < $1.dot.counter })
        }
        return result
    }

    /// Stores a new change and returns the new contiguous counter.
    @discardableResult
    mutating func insert(_ change: Change) -> UInt64 {
        let counter = change.dot.counter
        if counter > highest { highest = counter }
        if counter == UInt64(dense.count) + 1 {
            dense.append(change)
            // A gap just closed: move what followed it into the run.
            while !sparse.isEmpty, let next = sparse.removeValue(forKey: UInt64(dense.count) + 1) { dense.append(next) }
        } else {
            sparse[counter] = change
        }
        return contiguous
    }
}

/// "What does a peer lack?" as pure functions (`Protocol/PROTOCOL.md` §6.1), kept
/// apart from any state so that they can be table-tested.
public enum Delta {
    /// The changes in `held` that a peer whose version vector is `peer` lacks, in
    /// causal order (see ``causalMerge(_:)``).
    ///
    /// - Complexity: O(n log n + n · c) for n changes held with c context entries.
    public static func lacking(_ peer: VersionVector, from held: [Change]) -> [Change] {
        var byWriter: [ReplicaID: [Change]] = [:]
        for change in held where !peer.covers(change.dot) { byWriter[change.dot.replica, default: []].append(change) }
        return causalMerge(byWriter.map { $0.value.sorted { $0.dot.counter < $1.dot.counter } })
    }

    /// Merges per-writer queues (each sorted by counter, one queue per writer) into one
    /// causal order: a change comes after every queued change of writer q with counter
    /// ≤ its context's entry for q. Among ready writers the smallest replica id goes
    /// first, so the order is deterministic. Contexts only point to the past, so a ready
    /// writer always exists for honest input; for forged cyclic contexts the smallest
    /// pending dot is emitted to guarantee progress.
    ///
    /// - Complexity: O(n · c) plus O(w) per blocked pass, for n changes, c context
    ///   entries and w writers.
    public static func causalMerge(_ queues: [[Change]]) -> [Change] {
        let queues = queues.filter { !$0.isEmpty }.sorted { $0[0].dot.replica < $1[0].dot.replica }
        var heads = [Int](repeating: 0, count: queues.count)
        var position: [ReplicaID: Int] = [:]
        for (index, queue) in queues.enumerated() { position[queue[0].dot.replica] = index }
        var remaining = queues.reduce(0) { $0 + $1.count }
        var result: [Change] = []
        result.reserveCapacity(remaining)

        func isReady(_ change: Change) -> Bool {
            for entry in change.context.entries where entry.replica != change.dot.replica {
                guard let q = position[entry.replica] else { continue }
                let head = heads[q]
                if head < queues[q].count, queues[q][head].dot.counter <= entry.counter { return false }
            }
            return true
        }

        while remaining > 0 {
            var progressed = false
            for q in queues.indices {
                while heads[q] < queues[q].count, isReady(queues[q][heads[q]]) {
                    result.append(queues[q][heads[q]])
                    heads[q] += 1
                    remaining -= 1
                    progressed = true
                }
            }
            if !progressed {
                // Only forged contexts can form a cycle; break it deterministically.
                var pick = -1
                for q in queues.indices where heads[q] < queues[q].count {
                    if pick < 0 || queues[q][heads[q]].dot < queues[pick][heads[pick]].dot { pick = q }
                }
                result.append(queues[pick][heads[pick]])
                heads[pick] += 1
                remaining -= 1
            }
        }
        return result
    }
}
