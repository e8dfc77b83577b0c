/// The pure rules of a local write (`Protocol/PROTOCOL.md` §3.3, §5.5), shared by the
/// in-memory ``ReplicaState`` and the SQLite replica store: given the record as this
/// replica holds it, the change to write.
public enum LocalWrite {
    /// The largest counter the protocol carries: 2^53 (exact in every JSON parser).
    public static let maximumCounter: UInt64 = 1 << 53

    /// The change that writes `fields` of `record`: dot `(replica, counter)` — `counter`
    /// being one above the highest the replica holds of its own — and, as context, the
    /// record's version vector (empty for a new record).
    ///
    /// - Throws: ``SyncCoreError/noFields(_:)``, ``SyncCoreError/appendOnlyModified(_:_:)``
    ///   when the record is append-only and exists, ``SyncCoreError/counterExhausted(_:)``.
    public static func change(
        _ fields: [String: Value],
        to record: RecordKey,
        current: Record?,
        schema: Schema,
        by replica: ReplicaID,
        counter: UInt64,
        author: String,
        at hlc: HLC
    ) throws(SyncCoreError) -> Change {
        guard counter >= 1, counter <= maximumCounter else { throw .counterExhausted(replica) }
        let dot = Dot(replica, counter)
        if fields.isEmpty { throw .noFields(dot) }
        if schema.kind(of: record.table) == .appendOnly, current?.exists == true {
            throw .appendOnlyModified(dot, record)
        }
        let context = current?.versionVector ?? VersionVector()
        return Change(dot: dot, record: record, fields: fields, context: context, hlc: hlc, author: author)
    }

    /// The change that settles `field` of `record`: its context covers the record's
    /// vector and every sibling of the field. For a workflow field it also writes the
    /// round field (the kept sibling's round, or the highest sibling round).
    ///
    /// - Throws: ``SyncCoreError/unknownRecord(_:)``, ``SyncCoreError/unknownField(_:_:)``,
    ///   ``SyncCoreError/noSuchSibling(_:_:_:)``, ``SyncCoreError/counterExhausted(_:)``.
    public static func resolution(
        _ field: String,
        of record: RecordKey,
        current: Record?,
        with resolution: Resolution,
        schema: Schema,
        by replica: ReplicaID,
        counter: UInt64,
        author: String,
        at hlc: HLC
    ) throws(SyncCoreError) -> Change {
        guard let current else { throw .unknownRecord(record) }
        guard let register = current.register(field) else { throw .unknownField(record, field) }
        guard counter >= 1, counter <= maximumCounter else { throw .counterExhausted(replica) }
        var context = current.versionVector
        let siblings = register.siblings
        for sibling in siblings { context.add(sibling.dot) }
        var fields: [String: Value] = [:]
        var round = siblings.map(\.round).max() ?? 1
        switch resolution {
        case .value(let value):
            fields[field] = value
        case .keep(let number):
            guard number >= 1, number <= siblings.count else { throw .noSuchSibling(record, field, number) }
            fields[field] = siblings[number - 1].value
            round = siblings[number - 1].round
        }
        if case .workflow(_, let roundField) = schema.rule(table: record.table, field: field) {
            fields[roundField] = .integer(max(round, 1))
        }
        return Change(dot: Dot(replica, counter), record: record, fields: fields, context: context, hlc: hlc, author: author)
    }
}
