public import ReplicaStore
public import SyncCore
import SyncProtocol

/// Progress of a running sync, for a terminal's progress line.
public struct SyncProgress: Sendable, Hashable {
    public var sent: Int
    public var received: Int
    public var bytes: Int
}

/// What a sync did.
public struct SyncReport: Sendable, Hashable {
    public var sent: Int
    public var received: Int
    /// Fields in conflict in the replica after the sync.
    public var conflicts: Int
    public var bytesSent: Int
    public var bytesReceived: Int
    public var requests: Int
    /// Own changes the server refused, so far, as outside the office's jurisdiction.
    public var withheld: Int
}

/// Why a sync stopped before its end. Everything applied before it is kept: the
/// next `rain sync` resumes after the last page applied and pushes what the server
/// has not acknowledged.
public struct SyncFailure: Error, Sendable, CustomStringConvertible {
    /// The last error.
    public var error: SyncClientError?
    public var attempts: Int
    /// The server holds own changes this replica does not (restored from a backup).
    public var serverAhead: Bool
    /// What had been done when it stopped.
    public var progress: SyncProgress
    public var message: String

    public var description: String { message }
}

/// Drives a ``SyncSession`` over HTTP against a replica file: each pushed batch is
/// acknowledged in the file when the server confirms it, each pulled page is applied
/// together with its cursor in one transaction (`Protocol/PROTOCOL.md` §9.3).
public struct SyncDriver: Sendable {
    public let store: ReplicaStore
    public let transport: HTTPTransport
    public var policy: SyncSession<ContinuousClock>.Policy
    /// A push batch's bounds: under the server's 10,000-change / 8 MiB caps.
    public var pushChanges = 2_000
    public var pushBytes = 2 * 1024 * 1024
    /// A pull page's bounds, as asked of the server: the largest it serves, since each
    /// page is one transaction here and the next is fetched while one is applied.
    public var pullChanges = LimitsV1.maximumChangesPerBatch
    public var pullBytes = TransportV1.maximumPageBytes
    public var trace = false

    public init(store: ReplicaStore, transport: HTTPTransport, policy: SyncSession<ContinuousClock>.Policy = .init()) {
        self.store = store
        self.transport = transport
        self.policy = policy
    }

    /// Runs one sync to its end.
    ///
    /// - Parameter progress: called after every request.
    /// - Throws: ``SyncFailure`` when the server refuses or stays unreachable past the
    ///   retry bounds; ``ReplicaStoreError`` when the replica file fails.
    public func run(progress: @Sendable (SyncProgress) -> Void = { _ in }) async throws -> SyncReport {
        let state = try store.syncState()
        var session = SyncSession<ContinuousClock>(
            localHighest: try store.highestOwnCounter(), acked: state.acked, cursor: state.cursor, policy: policy)
        var lastError: SyncClientError?
        func report() -> SyncProgress {
            SyncProgress(
                sent: session.summary.sent, received: session.summary.received,
                bytes: session.summary.bytesSent + session.summary.bytesReceived)
        }
        // The next page, asked for while this one is applied: fetching and decoding a page
        // takes about half as long as applying one, and the two use different cores.
        var prefetched: (after: String, task: Task<(page: PullResponseV1, bytes: Int, bodies: [[UInt8]]), any Error>)?
        defer { prefetched?.task.cancel() }
        while true {
            if let next = prefetched, session.action != .pull(after: next.after) {
                next.task.cancel()
                prefetched = nil
            }
            switch session.action {
            case .push(let after):
                let batch = try store.ownChanges(after: after, limit: pushChanges, maximumBytes: pushBytes)
                let body = ChangeBatchV1.encode(canonicalBodies: batch.map(\.body))
                Failpoint.hit("sync-before-push")
                let answer: PushResponseV1
                do {
                    answer = try await transport.push(body)
                } catch {
                    if case .outOfScope(_, let refused, let holds?) = error {
                        // Kept here, shown by `rain status`, never sent again; the rest goes on.
                        try store.withhold(refused.map { ($0.table, $0.record, $0.counter) })
                        if holds <= session.localHighest { try store.acknowledge(upTo: holds) }
                        session.failed(.restartPush(holds: holds), now: .now)
                        break
                    }
                    lastError = error
                    session.failed(Self.problem(error), now: .now)
                    break
                }
                Failpoint.hit("sync-after-push")
                if answer.holds <= session.localHighest { try store.acknowledge(upTo: answer.holds) }
                session.pushed(accepted: answer.accepted, holds: answer.holds, bytes: body.count)
            case .pull(let after):
                let page: PullResponseV1
                let bytes: Int
                var bodies: [[UInt8]]?
                let t0 = ContinuousClock.now
                defer { if trace { print("pull page: \(ContinuousClock.now - t0)") } }
                do {
                    if let next = prefetched, next.after == after {
                        prefetched = nil
                        do {
                            (page, bytes, bodies) = try await next.task.value
                        } catch let error as SyncClientError {
                            throw error
                        } catch {
                            throw SyncClientError.invalidResponse("the next page could not be read: \(error)")
                        }
                    } else {
                        (page, bytes) = try await transport.pull(after: after, limit: pullChanges, maximumBytes: pullBytes)
                    }
                    if trace { print("  fetched+decoded \(page.changes.count): \(ContinuousClock.now - t0)") }
                } catch let error as SyncClientError {
                    lastError = error
                    session.failed(Self.problem(error), now: .now)
                    break
                }
                Failpoint.hit("sync-after-pull")
                if page.holds > session.localHighest {
                    // The server holds own changes this file lacks (an older copy of itself,
                    // §9.8): stop before the cursor moves past them, so that the recovery's
                    // new identity pulls them back.
                    throw SyncFailure(
                        error: nil, attempts: 1, serverAhead: true, progress: report(),
                        message: "the server holds more of this replica's changes than this file")
                }
                if page.more {
                    let transport = transport
                    let (limit, maximumBytes) = (pullChanges, pullBytes)
                    let cursor = page.cursor
                    prefetched = (
                        cursor,
                        Task { () async throws -> (page: PullResponseV1, bytes: Int, bodies: [[UInt8]]) in
                            let (page, bytes) = try await transport.pull(after: cursor, limit: limit, maximumBytes: maximumBytes)
                            return (page, bytes, page.changes.map(ChangeV1.encode))
                        }
                    )
                }
                try store.applyPulled(page.changes, bodies: bodies, cursor: page.cursor, offices: page.offices, purge: page.purge)
                Failpoint.hit("sync-after-apply")
                if page.holds <= session.localHighest, page.holds > session.acked { try store.acknowledge(upTo: page.holds) }
                // Another `rain` process may have written meanwhile: push that too.
                session.wrote(upTo: try store.highestOwnCounter())
                session.pulled(changes: page.changes.count, cursor: page.cursor, more: page.more, holds: page.holds, bytes: bytes)
            case .wait(let until):
                try? await Task.sleep(until: until, clock: .continuous)
                session.resume(now: .now)
            case .finished(let summary):
                try store.finishSync()
                // Purged residents' data out of the search index's old segments and the
                // write-ahead log (§9.6). Not fatal: another process holding the file open
                // keeps it due, and the last `rain` process to close the file scrubs it.
                try? store.scrubPurged()
                return SyncReport(
                    sent: summary.sent, received: summary.received, conflicts: try store.conflicts().count, bytesSent: summary.bytesSent,
                    bytesReceived: summary.bytesReceived, requests: summary.requests, withheld: try store.withheldChanges().count)
            case .failed(let failure):
                throw SyncFailure(
                    error: lastError, attempts: failure.attempts, serverAhead: failure.serverAhead, progress: report(),
                    message: lastError?.description ?? "the sync stopped")
            }
            progress(report())
        }
    }

    static func problem(_ error: SyncClientError) -> SyncSession<ContinuousClock>.Problem {
        if case .refused(409, "gap", _, let holds?) = error { return .restartPush(holds: holds) }
        return error.isTransient ? .transient(error.description) : .permanent(error.description)
    }
}
