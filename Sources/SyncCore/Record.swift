/// One record's merged state: a register per field, plus what the replica knows of the
/// record's history (its version vector).
public struct Record: Hashable, Sendable {
    /// The field registers, by field name.
    public private(set) var fields: [String: FieldRegister]
    /// Per writer, the counters of its changes applied to this record.
    private var chains: [ReplicaID: Chain]
    /// The record's version vector: per writer, the last change of an unbroken chain of
    /// its changes to this record (`Protocol/PROTOCOL.md` §3.4). This is the context of
    /// the next local write, and it never claims a change that has not been applied.
    public private(set) var versionVector: VersionVector

    /// A record with no field written yet.
    public init() {
        fields = [:]
        chains = [:]
        versionVector = VersionVector()
    }

    /// The winning value of `field` under `schema`'s rule, or `nil` if never written.
    public func value(of field: String, table: String, schema: Schema) -> Value? {
        fields[field]?.winner(under: schema.rule(table: table, field: field))?.value
    }

    /// True once any change to this record has been applied.
    public var exists: Bool { !fields.isEmpty }

    /// Applies `change` to the record; `schema` says which fields are workflows.
    ///
    /// - Complexity: O(f · (s + c)) for f fields written.
    mutating func apply(_ change: Change, schema: Schema) {
        for (name, value) in change.fields {
            let rule = schema.rule(table: change.record.table, field: name)
            var round: Int64 = 0
            if case .workflow(_, let roundField) = rule {
                round = change.fields[roundField]?.integer ?? 1
            }
            let sibling = Sibling(dot: change.dot, value: value, hlc: change.hlc, author: change.author, round: round)
            fields[name, default: FieldRegister()].apply(sibling, context: change.context)
        }
        let writer = change.dot.replica
        let complete = chains[writer, default: Chain()].add(change.dot.counter, previous: change.previousCounter)
        if complete != versionVector[writer] {
            // Set, not advance: a forged change naming a missing predecessor can shorten
            // the unbroken prefix, and the vector must stay a function of the applied set.
            versionVector.set(writer, to: complete)
        }
    }
}

/// The counters of one writer's changes to one record, and how far they form an
/// unbroken chain.
///
/// Each change names its predecessor (its context's entry for its own writer). The
/// chain is *complete* up to counter k when every applied change with counter ≤ k has
/// its predecessor applied. This is a function of the set of applied changes, not of
/// their order, so every replica computes the same vector.
struct Chain: Hashable, Sendable {
    /// Applied counters, ascending.
    private var counters: [UInt64] = []
    /// Applied changes whose predecessor is not applied: counter → predecessor.
    private var orphans: [UInt64: UInt64] = [:]
    /// The end of the unbroken prefix.
    private(set) var complete: UInt64 = 0

    /// Records an applied change and returns the new end of the unbroken prefix.
    mutating func add(_ counter: UInt64, previous: UInt64) -> UInt64 {
        if let last = counters.last, counter <= last {
            let index = insertionIndex(counter)
            if index < counters.count, counters[index] == counter { return complete }
            counters.insert(counter, at: index)
        } else {
            counters.append(counter)
        }
        if previous != 0, !contains(previous) { orphans[counter] = previous }
        if !orphans.isEmpty { orphans = orphans.filter { $0.value != counter } }
        if let firstOrphan = orphans.keys.min() {
            let index = insertionIndex(firstOrphan)
            complete = index == 0 ? 0 : counters[index - 1]
        } else {
            complete = counters[counters.count - 1]
        }
        return complete
    }

    private func contains(_ counter: UInt64) -> Bool {
        let index = insertionIndex(counter)
        return index < counters.count && counters[index] == counter
    }

    private func insertionIndex(_ counter: UInt64) -> Int {
        var low = 0
        var high = counters.count
        while low < high {
            let mid = (low + high) / 2
            if counters[mid] < counter { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
