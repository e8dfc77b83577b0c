/// One immutable change: a replica set some fields of one record.
///
/// A change is identified by its ``dot``; delivering it again is harmless. Its
/// ``context`` is the writer's version vector *for this record* at the moment of the
/// write — every change the writer had seen of that record. Whatever the context
/// covers, this change supersedes (`Protocol/PROTOCOL.md` §2.3, §3).
///
/// A change is a value, stored behind one shared immutable reference: the change log
/// and every field value it wrote share it, so copying a change costs one retain.
public struct Change: Hashable, Sendable {
    final class Storage: Sendable {
        let dot: Dot
        let record: RecordKey
        let fields: [String: Value]
        let context: VersionVector
        let hlc: HLC
        let author: String

        init(dot: Dot, record: RecordKey, fields: [String: Value], context: VersionVector, hlc: HLC, author: String) {
            self.dot = dot
            self.record = record
            self.fields = fields
            self.context = context
            self.hlc = hlc
            self.author = author
        }
    }

    let storage: Storage

    /// The change's identity: writer replica and counter.
    public var dot: Dot { storage.dot }
    /// The record written.
    public var record: RecordKey { storage.record }
    /// The fields set, by name; at least one.
    public var fields: [String: Value] { storage.fields }
    /// The writer's causal context for ``record``; never covers ``dot`` itself.
    public var context: VersionVector { storage.context }
    /// The writer's hybrid logical clock at the write.
    public var hlc: HLC { storage.hlc }
    /// Who wrote it (a staff member's name).
    public var author: String { storage.author }

    public init(
        dot: Dot,
        record: RecordKey,
        fields: [String: Value],
        context: VersionVector,
        hlc: HLC,
        author: String
    ) {
        storage = Storage(dot: dot, record: record, fields: fields, context: context, hlc: hlc, author: author)
    }

    /// The previous change of the same writer to the same record, as a counter (0 if none).
    ///
    /// A writer always holds all of its own changes, so its context entry for itself is
    /// exactly its previous write to this record: per writer and record, changes form a
    /// chain (`Protocol/PROTOCOL.md` §3.4).
    public var previousCounter: UInt64 { storage.context[storage.dot.replica] }

    /// Checks what can be checked of the change alone: it sets a field, its context does
    /// not cover its own dot, and a change to an append-only table has an empty context.
    ///
    /// - Throws: ``SyncCoreError/noFields(_:)``, ``SyncCoreError/contextCoversOwnDot(_:)``,
    ///   ``SyncCoreError/appendOnlyModified(_:_:)``.
    public func validate(against schema: Schema) throws(SyncCoreError) {
        let storage = self.storage
        if storage.fields.isEmpty { throw .noFields(storage.dot) }
        if storage.context.covers(storage.dot) { throw .contextCoversOwnDot(storage.dot) }
        if !storage.context.isEmpty, schema.kind(of: storage.record.table) == .appendOnly {
            throw .appendOnlyModified(storage.dot, storage.record)
        }
    }

    public static func == (lhs: Change, rhs: Change) -> Bool {
        if lhs.storage === rhs.storage { return true }
        let a = lhs.storage
        let b = rhs.storage
        return a.dot == b.dot && a.hlc == b.hlc && a.record == b.record && a.context == b.context && a.author == b.author
            && a.fields == b.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.dot)
        hasher.combine(storage.hlc)
    }
}
