public import ReplicaStore
import SyncCore
import SyncProtocol

/// What recovering a restored replica did.
public struct RecoveryReport: Sendable, Hashable {
    public var result: RecoveryResult
    /// The highest counter of the old identity the server holds: the changes after
    /// ``RecoveryResult/same`` up to it come back with the next pull.
    public var holds: UInt64
    /// The file, opened again under its new identity.
    public var store: ReplicaStore
    /// The connection, authenticating as the new identity.
    public var transport: HTTPTransport

    public static func == (lhs: RecoveryReport, rhs: RecoveryReport) -> Bool {
        lhs.result == rhs.result && lhs.holds == rhs.holds
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(result)
        hasher.combine(holds)
    }
}

extension SyncFailure {
    /// A failure of one request outside a sync session (a recovery's re-issue).
    public init(_ error: SyncClientError) {
        self.init(
            error: error, attempts: 1, serverAhead: false, progress: SyncProgress(sent: 0, received: 0, bytes: 0),
            message: error.description)
    }

    /// Whether the server's answer shows that the file is an older copy of itself
    /// (`Protocol/PROTOCOL.md` §9.8): it holds more of this replica's changes than the
    /// file, or a different change under one of its dots, or the replica was already
    /// re-issued.
    public var restored: Bool {
        if serverAhead { return true }
        if case .refused(409, let code, _, _)? = error { return code == "dot_reused" || code == "replica_superseded" }
        return false
    }
}

extension SyncDriver {
    /// Recovers a replica whose file is an older copy of itself (`Protocol/PROTOCOL.md`
    /// §9.8): mints (or takes up again) a fresh replica id, asks the server to register
    /// it and to say up to where the file's own changes are the server's, then re-issues
    /// the rest under the fresh id in one transaction. The next sync pushes them and pulls
    /// the old identity's changes the file lacked.
    ///
    /// Safe to interrupt at any point: before the file's transaction commits, the file is
    /// unchanged and a retry asks for the same fresh id (the server then issues a new
    /// credential for it).
    public static func recover(store: ReplicaStore, transport: HTTPTransport) async throws -> RecoveryReport {
        let successor = try store.prepareRecovery()
        let acked = try store.syncState().acked
        let digests = try store.ownDigests(after: acked)
        guard digests.count <= ReissueRequestV1.maximumDigests else {
            throw SyncFailure(
                .invalidResponse(
                    "cannot recover: \(digests.count) unsynced changes are more than one re-issue compares (\(ReissueRequestV1.maximumDigests))"
                ))
        }
        let answer: ReissueResponseV1
        do {
            answer = try await transport.reissue(ReissueRequestV1(replica: successor, after: acked, digests: digests))
        } catch {
            throw SyncFailure(error)
        }
        guard answer.replica == successor, answer.credential.hasPrefix(successor.rawValue + ".") else {
            throw SyncFailure(.invalidResponse("the re-issue answer names another replica"))
        }
        Failpoint.hit("recover-before-commit")
        let result = try store.completeRecovery(successor: successor, credential: answer.credential, same: answer.same)
        return RecoveryReport(
            result: result, holds: answer.holds, store: try store.reopened(), transport: transport.with(credential: answer.credential))
    }
}
