public import SyncCore

/// Why the replica store refused or failed. Messages never contain residents' data.
public enum ReplicaStoreError: Error, CustomStringConvertible, Sendable {
    /// No replica file at the path.
    case noReplica(path: String)
    /// A replica file already exists where `init` would create one.
    case alreadyExists(path: String)
    /// The file is not a replica (not SQLite, or not ours, or damaged).
    case notAReplica(path: String, reason: String)
    /// The file was written by a newer version of rain.
    case newerVersion(path: String)
    /// The replica's directory or file could not be created.
    case cannotCreate(path: String, reason: String)
    /// A change was refused by the sync core.
    case sync(SyncCoreError)
    /// A record kind's rule refused the operation (an illegal move of a case).
    case rule(any RecordRuleError)
    /// A stored value could not be read back (table, where).
    case corrupt(String)
    /// SQLite failed (what failed, SQLite's message).
    case database(String, String)

    public var description: String {
        switch self {
        case .noReplica(let path): "cannot open the replica: no replica file (\(path)); create one with `rain init`"
        case .alreadyExists(let path): "cannot create the replica: a replica file already exists (\(path))"
        case .notAReplica(let path, let reason): "cannot open the replica: \(reason) (\(path))"
        case .newerVersion(let path): "cannot open the replica: it was written by a newer version of rain; upgrade rain (\(path))"
        case .cannotCreate(let path, let reason): "cannot create the replica: \(reason) (\(path))"
        case .sync(let error): error.description
        case .rule(let error): error.description
        case .corrupt(let place): "cannot read the replica: stored data is damaged (\(place))"
        case .database(let what, let message): "\(what): \(message)"
        }
    }
}
