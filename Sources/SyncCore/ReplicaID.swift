/// The identity of one replica: issued once (at enrolment or `rain init`) and never reused.
///
/// A reinstalled or restored client is a *new* replica (`Protocol/PROTOCOL.md` §2.1).
/// Replica ids order by their UTF-8 bytes, which is how every implementation breaks
/// ties between writes with equal hybrid timestamps.
public struct ReplicaID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The id as text, e.g. `r7f3a…` (1–64 characters of `[A-Za-z0-9_-]` on the wire).
    public let rawValue: String
    // FNV-1a of the bytes, computed once: the merge compares and hashes replica ids
    // constantly, and two different ids almost always differ here already.
    private let fingerprint: UInt64

    /// Wraps `rawValue` without validation; the wire layer validates untrusted ids.
    public init(_ rawValue: String) {
        self.rawValue = rawValue
        fingerprint = fnv1a(rawValue)
    }

    public var description: String { rawValue }

    /// Equality of ids (ASCII on the wire, so String equality is byte equality).
    @inline(__always)
    public static func == (lhs: ReplicaID, rhs: ReplicaID) -> Bool {
        lhs.fingerprint == rhs.fingerprint && lhs.rawValue == rhs.rawValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
    }

    /// Byte-wise (UTF-8) order, identical on every platform and in every language.
    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool {
        lhs.rawValue != rhs.rawValue && utf8Precedes(lhs.rawValue, rhs.rawValue)
    }
}

/// The identity of one change: the replica that wrote it and that replica's counter.
///
/// Counters start at 1 and grow by one with every change the replica writes, across
/// all records. A dot names exactly one change forever (`Protocol/PROTOCOL.md` §2.2).
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The replica that wrote the change.
    public let replica: ReplicaID
    /// The replica's counter for the change, ≥ 1.
    public let counter: UInt64

    /// Creates a dot; `counter` must be ≥ 1 (the wire layer validates untrusted input).
    public init(_ replica: ReplicaID, _ counter: UInt64) {
        precondition(counter >= 1, "a dot's counter starts at 1")
        self.replica = replica
        self.counter = counter
    }

    public var description: String { "\(replica.rawValue):\(counter)" }

    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        if lhs.replica != rhs.replica { return lhs.replica < rhs.replica }
        return lhs.counter < rhs.counter
    }
}

/// Names one record: its table and its id (minted offline, e.g. a UUIDv7).
public struct RecordKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The table, e.g. `cases` or `case_events`.
    public let table: String
    /// The record's id within the table.
    public let id: String
    // Computed once: every change looks its record up, and a dictionary that grows
    // rehashes every key; hashing 8 bytes beats reading a cold 36-byte id again.
    let fingerprint: UInt64

    public init(table: String, id: String) {
        self.table = table
        self.id = id
        fingerprint = fnv1a(id, seed: fnv1a(table))
    }

    public static func == (lhs: RecordKey, rhs: RecordKey) -> Bool {
        lhs.fingerprint == rhs.fingerprint && lhs.id == rhs.id && lhs.table == rhs.table
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
    }

    public var description: String { "\(table)/\(id)" }

    public static func < (lhs: RecordKey, rhs: RecordKey) -> Bool {
        if lhs.table != rhs.table { return utf8Precedes(lhs.table, rhs.table) }
        return utf8Precedes(lhs.id, rhs.id)
    }
}

/// FNV-1a (64-bit) of a string's UTF-8 bytes: a fingerprint for fast equality and
/// hashing of ids, fed to Swift's seeded `Hasher`, never used as a secure hash.
@inline(__always)
func fnv1a(_ text: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var hash = seed
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x100_0000_01b3
    }
    return hash
}

extension ReplicaID {
    /// Letters and digits that cannot be misread: 2–9 and A–Z without I, L, O.
    public static let tagAlphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")

    /// The replica's tag in the numbers it mints for people (a case's 受理编号): three
    /// characters of ``tagAlphabet`` derived from its id (FNV-1a), so that two replicas
    /// of one office mint different numbers without asking anyone.
    public var tag: String {
        var hash = fnv1a(rawValue)
        var tag = ""
        for _ in 0..<3 {
            tag.append(Self.tagAlphabet[Int(hash % UInt64(Self.tagAlphabet.count))])
            hash /= UInt64(Self.tagAlphabet.count)
        }
        return tag
    }
}
