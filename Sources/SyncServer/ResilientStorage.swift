public import SyncCore
public import SyncProtocol
import Synchronization

/// The embedded SQLite storage as the server runs it: its blocking work runs on a
/// dispatch queue, off the cooperative threads that answer requests, and it outlives
/// its database's bad days: it opens the database
/// when first needed, answers 503 (with the cause in the log) while it cannot — a
/// read-only or missing disk when the server starts — and opens it again after a
/// failure that reopening cures (the file turned read-only, vanished or failed with an
/// I/O error), so that service resumes by itself once the disk is back, without a
/// restart. A full disk needs no reopening: the next write after space returns
/// succeeds.
public final class ResilientStorage: CentralStorage {
    private let opener: @Sendable (_ create: Bool) throws(ServerError) -> SQLiteCentralStorage
    private let current = Mutex<(storage: SQLiteCentralStorage?, opened: Bool)>((nil, false))

    /// - Parameter open: opens the storage; `create` is true until it has opened once
    ///   (a database that was there must never be replaced by a new empty one).
    public init(open: @escaping @Sendable (_ create: Bool) throws(ServerError) -> SQLiteCentralStorage) {
        opener = open
    }

    /// Opens the storage now if it can (for a server starting up); the server serves
    /// either way.
    @discardableResult
    public func prepare() -> ServerError? {
        do {
            _ = try storage()
            return nil
        } catch {
            return error
        }
    }

    private func storage() throws(ServerError) -> SQLiteCentralStorage {
        let (known, opened) = current.withLock { ($0.storage, $0.opened) }
        if let known { return known }
        let fresh: SQLiteCentralStorage
        do {
            fresh = try opener(!opened)
        } catch {
            throw ServerError.unavailable(
                "the server's storage is unavailable: \(Self.why(error.cause ?? error.message)); try again later",
                cause: error.cause ?? error.message)
        }
        return current.withLock { state in
            if let raced = state.storage { return raced }
            state = (fresh, true)
            return fresh
        }
    }

    static func why(_ cause: String) -> String {
        switch StorageFailure(cause: cause) {
        case .full: "its disk is full"
        case .readOnly, .cannotOpen: "its database cannot be opened for writing (a read-only or missing disk?)"
        default: "its database cannot be opened"
        }
    }

    /// Runs `body` on the storage; after a failure that reopening may cure, the next call
    /// opens the database again.
    private func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteCentralStorage) throws(ServerError) -> T) async throws(ServerError)
        -> T
    {
        try await offload { () throws(ServerError) in try self.runNow(body) }
    }

    private func runNow<T>(_ body: (SQLiteCentralStorage) throws(ServerError) -> T) throws(ServerError) -> T {
        let storage = try storage()
        do {
            return try body(storage)
        } catch {
            if error.status == 503, let cause = error.cause, StorageFailure(cause: cause).curedByReopening {
                current.withLock { state in if state.storage === storage { state.storage = nil } }
            }
            throw error
        }
    }

    public func addOffice(code: String, name: String, level: OfficeLevel, parent: String?, now: Int64) async throws(ServerError) -> Office {
        try await run { storage throws(ServerError) in try storage.addOffice(code: code, name: name, level: level, parent: parent, now: now)
        }
    }

    public func moveOffice(code: String, parent: String, now: Int64) async throws(ServerError) -> Office {
        try await run { storage throws(ServerError) in try storage.moveOffice(code: code, parent: parent, now: now) }
    }

    public func retireOffice(code: String, now: Int64) async throws(ServerError) -> Office {
        try await run { storage throws(ServerError) in try storage.retireOffice(code: code, now: now) }
    }

    public func offices() async throws(ServerError) -> [Office] {
        try await run { storage throws(ServerError) in try storage.offices() }
    }

    public func issueToken(office: String, lifetime: Int64, now: Int64) async throws(ServerError) -> IssuedToken {
        try await run { storage throws(ServerError) in try storage.issueToken(office: office, lifetime: lifetime, now: now) }
    }

    public func replicas() async throws(ServerError) -> [EnrolledReplica] {
        try await run { storage throws(ServerError) in try storage.replicas() }
    }

    public func revoke(replica: ReplicaID, now: Int64) async throws(ServerError) -> EnrolledReplica {
        try await run { storage throws(ServerError) in try storage.revoke(replica: replica, now: now) }
    }

    public func enrol(_ request: EnrolRequestV1, now: Int64) async throws(ServerError) -> EnrolResponseV1 {
        try await run { storage throws(ServerError) in try storage.enrol(request, now: now) }
    }

    public func authenticate(credential: String?, now: Int64) async throws(ServerError) -> Caller {
        try await run { storage throws(ServerError) in try storage.authenticate(credential: credential, now: now) }
    }

    public func rekey(_ caller: Caller, now: Int64) async throws(ServerError) -> String {
        try await run { storage throws(ServerError) in try storage.rekey(caller, now: now) }
    }

    public func reissue(_ request: ReissueRequestV1, from caller: Caller, now: Int64) async throws(ServerError) -> ReissueResponseV1 {
        try await run { storage throws(ServerError) in try storage.reissue(request, from: caller, now: now) }
    }

    public func push(_ changes: [Change], bodies: [[UInt8]]?, from caller: Caller, now: Int64) async throws(ServerError) -> PushResponseV1 {
        try await run { storage throws(ServerError) in try storage.push(changes, bodies: bodies, from: caller, now: now) }
    }

    public func pull(for caller: Caller, after: String, limit: Int, maximumBytes: Int, now: Int64) async throws(ServerError) -> PullPage {
        try await run { storage throws(ServerError) in
            try storage.pull(for: caller, after: after, limit: limit, maximumBytes: maximumBytes, now: now)
        }
    }

    public func write(_ request: ServerWrite, now: Int64) async throws(ServerError) -> ServerWrite.Result {
        try await run { storage throws(ServerError) in try storage.write(request, now: now) }
    }

    public func viewRows(_ view: String, where column: String, in values: [Value], limit: Int) async throws(ServerError) -> [[String:
        Value]]
    {
        try await run { storage throws(ServerError) in try storage.viewRows(view, where: column, in: values, limit: limit) }
    }

    public func attempt(_ subject: String, correct: Bool, now: Int64, limit: Int, lockout: Int64) async throws(ServerError) -> Attempt {
        try await run { storage throws(ServerError) in
            try storage.attempt(subject, correct: correct, now: now, limit: limit, lockout: lockout)
        }
    }

    public func query(_ statement: ServerSQL, columns: [FieldDeclaration.ValueType]) async throws(ServerError) -> [[Value]] {
        try await run { storage throws(ServerError) in try storage.query(statement, columns: columns) }
    }

    public func execute(_ statements: [ServerSQL]) async throws(ServerError) -> [Int] {
        try await run { storage throws(ServerError) in try storage.execute(statements) }
    }

    public func checkHealth() async throws(ServerError) {
        try await run { storage throws(ServerError) in try storage.checkHealth() }
    }

    public func close() async {
        try? await offload { () throws(ServerError) in self.closeNow() }
    }

    /// ``close()`` on the caller's thread (for a caller outside any task).
    public func closeNow() {
        // Taken out under the lock, closed outside it (closing checkpoints: file I/O).
        let storage = current.withLock { state in
            defer { state.storage = nil }
            return state.storage
        }
        storage?.close()
    }
}
