/// One sync of a replica with the server, as a state machine that never does I/O
/// (`Protocol/PROTOCOL.md` §9.3): it says what to do next — push the replica's own
/// changes after a counter, pull a page after a position, wait before a retry, or
/// stop — and is told what happened. The driver (HTTP, a test's in-memory network)
/// does the work.
///
/// Push comes first, then pull, so that a pull never returns a change that depends on
/// one the server has not yet seen from this replica. A sync with nothing to push
/// is one pull request: the replica remembers the highest own counter the server
/// acknowledged (`acked`).
///
/// Transient failures (the network, a 5xx, a 503 from a full disk) are retried after an
/// exponential backoff, at most ``Policy/attempts`` times in a row; the time comes from
/// `C`, so tests drive it with a manual clock.
public struct SyncSession<C: Clock>: Sendable where C.Duration == Duration {
    /// Bounds on retries.
    public struct Policy: Sendable, Hashable {
        /// Attempts of one step before giving up (the first try included).
        public var attempts: Int
        /// The wait before the first retry; each further retry doubles it.
        public var firstDelay: Duration
        /// The longest wait between two attempts.
        public var maximumDelay: Duration

        public init(attempts: Int = 5, firstDelay: Duration = .milliseconds(250), maximumDelay: Duration = .seconds(8)) {
            precondition(attempts >= 1, "a sync needs at least one attempt")
            self.attempts = attempts
            self.firstDelay = firstDelay
            self.maximumDelay = maximumDelay
        }
    }

    /// What the driver must do next.
    public enum Action: Sendable, Equatable {
        /// Send the replica's own changes with counters above `after`, in counter order
        /// (as many as fit one batch), then call ``pushed(accepted:holds:bytes:)``.
        case push(after: UInt64)
        /// Ask for the page after `after` (an opaque position; empty at the start), apply
        /// it and store its cursor in one transaction, then call ``pulled(changes:cursor:more:holds:bytes:)``.
        case pull(after: String)
        /// Sleep until `until`, then call ``resume(now:)``.
        case wait(until: C.Instant)
        /// The sync is complete.
        case finished(Summary)
        /// The sync stopped; the work done so far is kept and the next sync resumes it.
        case failed(Failure)
    }

    /// What a completed sync did.
    public struct Summary: Sendable, Hashable {
        /// Own changes the server accepted (not counting ones it already held).
        public var sent = 0
        /// Changes received and applied.
        public var received = 0
        /// Bytes of request and response bodies.
        public var bytesSent = 0
        public var bytesReceived = 0
        /// Requests made, retries included.
        public var requests = 0

        public init() {}
    }

    /// Why a step failed, as the driver reports it.
    public enum Problem: Sendable, Hashable {
        /// Worth retrying: the network, a timeout, a 5xx or 503.
        case transient(String)
        /// Retrying cannot help: refused credential, protocol too old, refused change.
        case permanent(String)
        /// The server holds every own change up to `holds` and wants the push to
        /// continue from there (a gap, or the server restored from a backup).
        case restartPush(holds: UInt64)
    }

    /// Why the session stopped.
    public struct Failure: Sendable, Hashable, Error {
        /// The last problem.
        public var problem: Problem
        /// Attempts made at the failing step.
        public var attempts: Int
        /// Whether the server holds own changes this replica does not (restored file).
        public var serverAhead: Bool

        public init(problem: Problem, attempts: Int, serverAhead: Bool) {
            self.problem = problem
            self.attempts = attempts
            self.serverAhead = serverAhead
        }
    }

    private enum Step: Sendable, Equatable {
        case push(after: UInt64)
        case pull(after: String)
    }

    private enum Phase: Sendable {
        case running(Step)
        case waiting(Step, until: C.Instant)
        case finished
        case failed(Failure)
    }

    public let policy: Policy
    /// The highest own counter in the replica.
    public private(set) var localHighest: UInt64
    /// The highest own counter the server is known to hold.
    public private(set) var acked: UInt64
    /// Whether this sync already pushed again what a restored server lost.
    private var pushedAgain = false
    /// The pull position.
    public private(set) var cursor: String
    /// Totals so far.
    public private(set) var summary = Summary()
    private var phase: Phase
    private var failures = 0

    /// Starts a sync.
    ///
    /// - Parameters:
    ///   - localHighest: the highest counter this replica has written.
    ///   - acked: the highest own counter the server acknowledged in an earlier sync.
    ///   - cursor: the pull position stored by the last applied page (empty at first).
    public init(localHighest: UInt64, acked: UInt64, cursor: String, policy: Policy = Policy()) {
        self.policy = policy
        self.localHighest = localHighest
        self.acked = min(acked, localHighest)
        self.cursor = cursor
        phase = .running(localHighest > self.acked ? .push(after: self.acked) : .pull(after: cursor))
    }

    /// The action to take now.
    public var action: Action {
        switch phase {
        case .running(.push(let after)): .push(after: after)
        case .running(.pull(let after)): .pull(after: after)
        case .waiting(_, let until): .wait(until: until)
        case .finished: .finished(summary)
        case .failed(let failure): .failed(failure)
        }
    }

    /// A push was answered: the server now holds every own change up to `holds`.
    public mutating func pushed(accepted: Int, holds: UInt64, bytes: Int) {
        guard case .running(.push) = phase else { return }
        summary.requests += 1
        summary.sent += accepted
        summary.bytesSent += bytes
        failures = 0
        if holds > localHighest {
            phase = .failed(Failure(problem: .restartPush(holds: holds), attempts: 1, serverAhead: true))
            return
        }
        acked = max(acked, holds)
        phase = .running(acked < localHighest ? .push(after: acked) : .pull(after: cursor))
    }

    /// A page was pulled, applied and its cursor stored.
    public mutating func pulled(changes: Int, cursor: String, more: Bool, holds: UInt64, bytes: Int) {
        guard case .running(.pull) = phase else { return }
        summary.requests += 1
        summary.received += changes
        summary.bytesReceived += bytes
        failures = 0
        self.cursor = cursor
        if holds > localHighest {
            phase = .failed(Failure(problem: .restartPush(holds: holds), attempts: 1, serverAhead: true))
            return
        }
        if holds < acked, !pushedAgain {
            // The server lost own changes it had confirmed (its database was restored from a
            // backup, §9.3): push them again from what it holds, once per sync.
            pushedAgain = true
            acked = holds
            phase = .running(.push(after: holds))
            return
        }
        acked = max(acked, holds)
        if acked < localHighest {
            // Written locally while this sync ran (another `rain` process): push it too.
            phase = .running(.push(after: acked))
        } else {
            phase = more ? .running(.pull(after: cursor)) : .finished
        }
    }

    /// New own changes were written while the sync ran.
    public mutating func wrote(upTo counter: UInt64) {
        localHighest = max(localHighest, counter)
    }

    /// The current step failed at `now`.
    public mutating func failed(_ problem: Problem, now: C.Instant) {
        let step: Step
        switch phase {
        case .running(let current): step = current
        case .waiting, .finished, .failed: return
        }
        summary.requests += 1
        failures += 1
        switch problem {
        case .permanent:
            phase = .failed(Failure(problem: problem, attempts: failures, serverAhead: false))
        case .restartPush(let holds):
            if holds > localHighest {
                phase = .failed(Failure(problem: problem, attempts: failures, serverAhead: true))
            } else if holds > acked {
                // Progress (refused changes passed by): not a failure.
                failures = 0
                acked = holds
                phase = .running(holds < localHighest ? .push(after: holds) : .pull(after: cursor))
            } else if failures >= policy.attempts {
                phase = .failed(Failure(problem: problem, attempts: failures, serverAhead: false))
            } else {
                // The server's word is the truth about what it holds, even below `acked`
                // (it may have been restored from a backup): push again from there.
                acked = holds
                phase = .running(holds < localHighest ? .push(after: holds) : .pull(after: cursor))
            }
        case .transient:
            if failures >= policy.attempts {
                phase = .failed(Failure(problem: problem, attempts: failures, serverAhead: false))
            } else {
                phase = .waiting(step, until: now.advanced(by: delay(before: failures + 1)))
            }
        }
    }

    /// The wait is over (the driver slept until the instant ``action`` named).
    public mutating func resume(now: C.Instant) {
        guard case .waiting(let step, let until) = phase else { return }
        if now < until { return }
        phase = .running(step)
    }

    /// The wait before attempt `attempt` (2, 3, …): `firstDelay · 2^(attempt−2)`, capped.
    public func delay(before attempt: Int) -> Duration {
        var delay = policy.firstDelay
        var remaining = attempt - 2
        while remaining > 0, delay < policy.maximumDelay {
            delay *= 2
            remaining -= 1
        }
        return min(delay, policy.maximumDelay)
    }
}
