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

    /// The entries, sorted by replica id, every counter ≥ 1.
    public private(set) var entries: [Entry]

    /// The empty vector: knows nothing.
    public init() {
        entries = []
    }

    /// Builds a vector from pairs; zero counters are dropped, duplicates keep the maximum.
    public init<S: Sequence>(_ pairs: S) where S.Element == (ReplicaID, UInt64) {
        entries = []
        for (replica, counter) in pairs { advance(replica, to: counter) }
    }

    /// Builds a vector from a dictionary literal, e.g. `["r1": 3, "r2": 1]`.
    public init(_ dictionary: [ReplicaID: UInt64]) {
        self.init(dictionary.map { ($0.key, $0.value) })
    }

    /// True when the vector knows nothing.
    public var isEmpty: Bool { entries.isEmpty }

    /// The counter for `replica`, or 0 when the vector has no entry for it.
    ///
    /// - Complexity: O(log n) in the number of entries.
    public subscript(replica: ReplicaID) -> UInt64 {
        guard let index = index(of: replica) else { return 0 }
        return entries[index].counter
    }

    /// True when `dot` lies in the past this vector describes (`counter ≤ self[replica]`).
    ///
    /// - Complexity: O(log n).
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
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].replica < replica { low = mid + 1 } else { high = mid }
        }
        if low < entries.count, entries[low].replica == replica {
            if entries[low].counter < counter { entries[low] = Entry(replica: replica, counter: counter) }
        } else {
            entries.insert(Entry(replica: replica, counter: counter), at: low)
        }
    }

    /// Sets the entry of `replica` to exactly `counter` (0 removes it).
    public mutating func set(_ replica: ReplicaID, to counter: UInt64) {
        if let index = index(of: replica) {
            if counter == 0 {
                entries.remove(at: index)
            } else {
                entries[index] = Entry(replica: replica, counter: counter)
            }
        } else {
            advance(replica, to: counter)
        }
    }

    /// Raises the vector so that it covers `dot`.
    public mutating func add(_ dot: Dot) {
        advance(dot.replica, to: dot.counter)
    }

    /// Pointwise maximum: afterwards this vector covers everything `other` covers.
    ///
    /// - Complexity: O(n + m).
    public mutating func merge(_ other: VersionVector) {
        if other.entries.isEmpty { return }
        if entries.isEmpty {
            entries = other.entries
            return
        }
        var merged: [Entry] = []
        merged.reserveCapacity(entries.count + other.entries.count)
        var i = 0
        var j = 0
        while i < entries.count, j < other.entries.count {
            let a = entries[i]
            let b = other.entries[j]
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
        merged.append(contentsOf: entries[i...])
        merged.append(contentsOf: other.entries[j...])
        entries = merged
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
        var selfAhead = false
        var otherAhead = false
        var i = 0
        var j = 0
        while i < entries.count || j < other.entries.count {
            if i == entries.count {
                otherAhead = true
                break
            }
            if j == other.entries.count {
                selfAhead = true
                break
            }
            let a = entries[i]
            let b = other.entries[j]
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

    private func index(of replica: ReplicaID) -> Int? {
        // Vectors are short (the replicas that touched one record); a linear scan beats
        // binary search below a handful of entries.
        if entries.count <= 8 {
            for index in entries.indices where entries[index].replica == replica { return index }
            return nil
        }
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].replica < replica { low = mid + 1 } else { high = mid }
        }
        return low < entries.count && entries[low].replica == replica ? low : nil
    }
}
