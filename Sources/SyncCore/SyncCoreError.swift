/// Why the sync core refused a change or a request.
///
/// Messages name the problem and where it is, never a field's value: values may be a
/// resident's personal data.
public enum SyncCoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The change's context covers its own dot: a change cannot be in its own past.
    case contextCoversOwnDot(Dot)
    /// The change sets no field.
    case noFields(Dot)
    /// A change to an append-only record carried a non-empty context, i.e. it tried to
    /// modify a record that may only be created.
    case appendOnlyModified(Dot, RecordKey)
    /// A change with this dot is already known with different content.
    case conflictingDuplicate(Dot)
    /// The record does not exist in this replica.
    case unknownRecord(RecordKey)
    /// The record has no such field.
    case unknownField(RecordKey, String)
    /// The replica's counter would pass 2^53, the largest the protocol carries.
    case counterExhausted(ReplicaID)
    /// A `keep` choice named a sibling that does not exist.
    case noSuchSibling(RecordKey, String, Int)

    public var description: String {
        switch self {
        case .contextCoversOwnDot(let dot):
            "cannot apply change: its context covers its own dot (at change \(dot))"
        case .noFields(let dot):
            "cannot apply change: it sets no field (at change \(dot))"
        case .appendOnlyModified(let dot, let record):
            "cannot apply change: \(record.table) records are append-only and this change modifies one (at change \(dot), record \(record))"
        case .conflictingDuplicate(let dot):
            "cannot apply change: a different change with the same dot is already known (at change \(dot))"
        case .unknownRecord(let record):
            "cannot write: no such record (at \(record))"
        case .unknownField(let record, let field):
            "cannot resolve: the record has no field \(field) (at \(record))"
        case .counterExhausted(let replica):
            "cannot write: replica \(replica) has used every counter up to 2^53 (at replica \(replica))"
        case .noSuchSibling(let record, let field, let index):
            "cannot resolve: field \(field) has no value number \(index) (at \(record))"
        }
    }
}

/// An error a record kind's rules raise inside a store's transaction (an illegal move of a
/// case): the store passes it on whole, as `ReplicaStoreError.rule`, for the caller to
/// describe in its own words.
public protocol RecordRuleError: Error, CustomStringConvertible, Sendable {}
