/// How two version vectors relate causally.
public enum CausalOrder: Sendable, Equatable {
    /// Both vectors hold exactly the same knowledge.
    case equal
    /// The left vector is strictly dominated by the right one.
    case before
    /// The left vector strictly dominates the right one.
    case after
    /// Each vector knows something the other does not.
    case concurrent
}

/// A version vector: for each replica, the highest counter known.
///
/// Entries with counter 0 are never stored, so two vectors holding the same knowledge
/// are equal (`==`) and encode to the same bytes. Entries are kept sorted by replica
/// id, which makes comparison and merge a single linear walk.
///
/// `covers(dot)` answers "is this change in the past described by this vector?" —
/// the question at the heart of the field merge (`Protocol/PROTOCOL.md` §3).
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    /// One replica's entry.
    public struct Entry: Hashable, Sendable {
        public let replica: ReplicaID
        public let counter: UInt64
    }

    // Most vectors on the merge path (a record's context written by one office) have a
    // single entry: it is kept inline, and only two or more entries use an array. This
    // saves an allocation per change and a cache miss per field merged.
    // Invariant: `many` is empty, or holds every entry (≥ 2) and `one` is nil.
    private var one: Entry?
    private var many: [Entry]

    /// The empty vector: knows nothing.
    public init() {
        one = nil
        many = []
    }

    /// Builds a vector from pairs; zero counters are dropped, duplicates keep the maximum.
    public init<S: Sequence>(_ pairs: S) where S.Element == (ReplicaID, UInt64) {
        self.init()
        for (replica, counter) in pairs { advance(replica, to: counter) }
    }

    /// Wraps entries already sorted by replica id, unique, every counter ≥ 1.
    init(sorted entries: [Entry]) {
        self.init()
        replaceEntries(entries)
    }

    /// Builds a vector from a dictionary literal, e.g. `["r1": 3, "r2": 1]`.
    public init(_ dictionary: [ReplicaID: UInt64]) {
        self.init(dictionary.map { ($0.key, $0.value) })
    }

    /// The entries, sorted by replica id, every counter ≥ 1.
    public var entries: [Entry] {
        if let one { return [one] }
        return many
    }

    /// Calls `body` with each entry, sorted by replica id, without building an array
    /// (`entries` allocates one for a single entry).
    public func forEachEntry(_ body: (Entry) throws -> Void) rethrows {
        if let one { return try body(one) }
        for entry in many { try body(entry) }
    }

    /// The number of entries.
    public var count: Int { one == nil ? many.count : 1 }

    /// True when the vector knows nothing.
    public var isEmpty: Bool { one == nil && many.isEmpty }

    @inline(__always)
    private func entry(_ index: Int) -> Entry {
        if let one { return one }
        return many[index]
    }

    private mutating func replaceEntries(_ entries: [Entry]) {
        if entries.count == 1 {
            one = entries[0]
            many = []
        } else {
            one = nil
            many = entries
        }
    }

    /// The counter for `replica`, or 0 when the vector has no entry for it.
    ///
    /// - Complexity: O(log n) in the number of entries.
    public subscript(replica: ReplicaID) -> UInt64 {
        if let one { return one.replica == replica ? one.counter : 0 }
        guard let index = index(of: replica) else { return 0 }
        return many[index].counter
    }

    /// True when `dot` lies in the past this vector describes (`counter ≤ self[replica]`).
    ///
    /// - Complexity: O(log n).
    @inline(__always)
    public func covers(_ dot: Dot) -> Bool {
        self[dot.replica] >= dot.counter
    }

    /// True when every entry of `other` is ≤ the same entry here.
    ///
    /// - Complexity: O(n + m).
    public func covers(_ other: VersionVector) -> Bool {
        let order = compare(other)
        return order == .equal || order == .after
    }

    /// Raises the entry of `replica` to `counter` if it is lower.
    ///
    /// - Complexity: O(n) worst case (insertion), O(log n) when the entry exists.
    public mutating func advance(_ replica: ReplicaID, to counter: UInt64) {
        guard counter > 0 else { return }
        if let existing = one {
            if existing.replica == replica {
                if existing.counter < counter { one = Entry(replica: replica, counter: counter) }
                return
            }
            many =
                existing.replica < replica
                ? [existing, Entry(replica: replica, counter: counter)] : [Entry(replica: replica, counter: counter), existing]
            one = nil
            return
        }
        if many.isEmpty {
            one = Entry(replica: replica, counter: counter)
            return
        }
        var low = 0
        var high = many.count
        while low < high {
            let mid = (low + high) / 2
            if many[mid].replica < replica { low = mid + 1 } else { high = mid }
        }
        if low < many.count, many[low].replica == replica {
            if many[low].counter < counter { many[low] = Entry(replica: replica, counter: counter) }
        } else {
            many.insert(Entry(replica: replica, counter: counter), at: low)
        }
    }

    /// Sets the entry of `replica` to exactly `counter` (0 removes it).
    public mutating func set(_ replica: ReplicaID, to counter: UInt64) {
        guard self[replica] != counter else { return }
        if counter > self[replica] {
            advance(replica, to: counter)
            return
        }
        var updated = entries
        if let index = updated.firstIndex(where: { $0.replica == replica }) {
            if counter == 0 { updated.remove(at: index) } else { updated[index] = Entry(replica: replica, counter: counter) }
        }
        replaceEntries(updated)
    }

    /// Raises the vector so that it covers `dot`.
    public mutating func add(_ dot: Dot) {
        advance(dot.replica, to: dot.counter)
    }

    /// Pointwise maximum: afterwards this vector covers everything `other` covers.
    ///
    /// - Complexity: O(n + m).
    public mutating func merge(_ other: VersionVector) {
        if other.isEmpty { return }
        // The usual cases on the merge path allocate nothing: one side covers the other.
        switch compare(other) {
        case .equal, .after: return
        case .before:
            self = other
            return
        case .concurrent: break
        }
        var merged: [Entry] = []
        merged.reserveCapacity(count + other.count)
        var i = 0
        var j = 0
        let n = count
        let m = other.count
        while i < n, j < m {
            let a = entry(i)
            let b = other.entry(j)
            if a.replica == b.replica {
                merged.append(a.counter >= b.counter ? a : b)
                i += 1
                j += 1
            } else if a.replica < b.replica {
                merged.append(a)
                i += 1
            } else {
                merged.append(b)
                j += 1
            }
        }
        while i < n {
            merged.append(entry(i))
            i += 1
        }
        while j < m {
            merged.append(other.entry(j))
            j += 1
        }
        replaceEntries(merged)
    }

    /// The pointwise maximum of two vectors.
    public func merging(_ other: VersionVector) -> VersionVector {
        var copy = self
        copy.merge(other)
        return copy
    }

    /// How this vector relates to `other`.
    ///
    /// - Complexity: O(n + m).
    public func compare(_ other: VersionVector) -> CausalOrder {
        // Single entries on both sides: the usual case, decided without a loop.
        if let a = one, let b = other.one {
            if a.replica != b.replica { return .concurrent }
            return a.counter == b.counter ? .equal : a.counter > b.counter ? .after : .before
        }
        var selfAhead = false
        var otherAhead = false
        var i = 0
        var j = 0
        let n = count
        let m = other.count
        while i < n || j < m {
            if i == n {
                otherAhead = true
                break
            }
            if j == m {
                selfAhead = true
                break
            }
            let a = entry(i)
            let b = other.entry(j)
            if a.replica == b.replica {
                if a.counter > b.counter { selfAhead = true } else if a.counter < b.counter { otherAhead = true }
                i += 1
                j += 1
            } else if a.replica < b.replica {
                selfAhead = true
                i += 1
            } else {
                otherAhead = true
                j += 1
            }
            if selfAhead && otherAhead { return .concurrent }
        }
        switch (selfAhead, otherAhead) {
        case (false, false): return .equal
        case (true, false): return .after
        case (false, true): return .before
        case (true, true): return .concurrent
        }
    }

    public var description: String {
        "{" + entries.map { "\($0.replica.rawValue):\($0.counter)" }.joined(separator: ",") + "}"
    }

    public static func == (lhs: VersionVector, rhs: VersionVector) -> Bool {
        lhs.one == rhs.one && lhs.many == rhs.many
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(one)
        hasher.combine(many)
    }

    private func index(of replica: ReplicaID) -> Int? {
        // Vectors are short (the replicas that touched one record); a linear scan beats
        // binary search below a handful of entries.
        if many.count <= 8 {
            for index in many.indices where many[index].replica == replica { return index }
            return nil
        }
        var low = 0
        var high = many.count
        while low < high {
            let mid = (low + high) / 2
            if many[mid].replica < replica { low = mid + 1 } else { high = mid }
        }
        return low < many.count && many[low].replica == replica ? low : nil
    }
}
