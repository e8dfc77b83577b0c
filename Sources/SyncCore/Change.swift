/// One immutable change: a replica set some fields of one record.
///
/// A change is identified by its ``dot``; delivering it again is harmless. Its
/// ``context`` is the writer's version vector *for this record* at the moment of the
/// write — every change the writer had seen of that record. Whatever the context
/// covers, this change supersedes (`Protocol/PROTOCOL.md` §2.3, §3).
public struct Change: Hashable, Sendable {
    /// The change's identity: writer replica and counter.
    public let dot: Dot
    /// The record written.
    public let record: RecordKey
    /// The fields set, by name; at least one.
    public let fields: [String: Value]
    /// The writer's causal context for ``record``; never covers ``dot`` itself.
    public let context: VersionVector
    /// The writer's hybrid logical clock at the write.
    public let hlc: HLC
    /// Who wrote it (a staff member's name).
    public let author: String

    public init(
        dot: Dot,
        record: RecordKey,
        fields: [String: Value],
        context: VersionVector,
        hlc: HLC,
        author: String
    ) {
        self.dot = dot
        self.record = record
        self.fields = fields
        self.context = context
        self.hlc = hlc
        self.author = author
    }

    /// The previous change of the same writer to the same record, as a counter (0 if none).
    ///
    /// A writer always holds all of its own changes, so its context entry for itself is
    /// exactly its previous write to this record: per writer and record, changes form a
    /// chain (`Protocol/PROTOCOL.md` §3.4).
    public var previousCounter: UInt64 { context[dot.replica] }
}
