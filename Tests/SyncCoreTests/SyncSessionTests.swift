import SyncCore
import Testing

/// A clock the test moves by hand.
struct ManualClock: Clock {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    var now = Instant(offset: .zero)
    var minimumResolution: Duration { .nanoseconds(1) }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {}
}

@Suite struct SyncSessionTests {
    typealias Session = SyncSession<ManualClock>
    let start = ManualClock.Instant(offset: .zero)

    @Test func nothingToPushStartsWithOnePull() {
        let session = Session(localHighest: 7, acked: 7, cursor: "v1.40")
        #expect(session.action == .pull(after: "v1.40"))
    }

    @Test func aSyncWithNothingToDoIsOneRequest() {
        var session = Session(localHighest: 3, acked: 3, cursor: "v1.9")
        session.pulled(changes: 0, cursor: "v1.9", more: false, holds: 3, bytes: 80)
        guard case .finished(let summary) = session.action else {
            Issue.record("expected finished, got \(session.action)")
            return
        }
        #expect(summary.requests == 1 && summary.sent == 0 && summary.received == 0)
    }

    @Test func pushesInBatchesUntilAcknowledgedThenPullsEveryPage() {
        var session = Session(localHighest: 250, acked: 0, cursor: "")
        #expect(session.action == .push(after: 0))
        session.pushed(accepted: 100, holds: 100, bytes: 1000)
        #expect(session.action == .push(after: 100))
        session.pushed(accepted: 150, holds: 250, bytes: 1500)
        #expect(session.action == .pull(after: ""))
        session.pulled(changes: 500, cursor: "v1.500", more: true, holds: 250, bytes: 5000)
        #expect(session.action == .pull(after: "v1.500"))
        session.pulled(changes: 20, cursor: "v1.520", more: false, holds: 250, bytes: 200)
        guard case .finished(let summary) = session.action else {
            Issue.record("expected finished, got \(session.action)")
            return
        }
        #expect(summary.sent == 250 && summary.received == 520 && summary.requests == 4)
        #expect(summary.bytesSent == 2500 && summary.bytesReceived == 5200)
    }

    @Test func aServerThatLostConfirmedChangesGetsThemPushedAgainOnce() {
        // Acknowledged up to 15; the server, restored from a backup, holds 10.
        var session = Session(localHighest: 15, acked: 15, cursor: "v1.40")
        session.pulled(changes: 0, cursor: "v1.40", more: false, holds: 10, bytes: 80)
        #expect(session.action == .push(after: 10))
        session.pushed(accepted: 5, holds: 15, bytes: 500)
        #expect(session.action == .pull(after: "v1.40"))
        // A server that still answers less is left for the next sync: no loop.
        session.pulled(changes: 0, cursor: "v1.40", more: false, holds: 12, bytes: 80)
        guard case .finished = session.action else {
            Issue.record("expected finished, got \(session.action)")
            return
        }
    }

    @Test func aRepeatedPushCountsOnlyWhatWasNew() {
        // The replica crashed after the server committed its batch but before it noted
        // the acknowledgement: it pushes the same batch again, and the server says so.
        var session = Session(localHighest: 10, acked: 0, cursor: "")
        session.pushed(accepted: 0, holds: 10, bytes: 900)
        #expect(session.action == .pull(after: ""))
        #expect(session.summary.sent == 0)
    }

    @Test func transientFailuresBackOffExponentiallyAndGiveUpAtTheBound() {
        var session = Session(
            localHighest: 5, acked: 0, cursor: "",
            policy: .init(attempts: 4, firstDelay: .milliseconds(100), maximumDelay: .milliseconds(250)))
        var clock = ManualClock()
        var waits: [Duration] = []
        for _ in 0..<3 {
            session.failed(.transient("connection refused"), now: clock.now)
            guard case .wait(let until) = session.action else {
                Issue.record("expected a wait, got \(session.action)")
                return
            }
            waits.append(clock.now.duration(to: until))
            // Resuming early does nothing; at the instant, the same step runs again.
            session.resume(now: clock.now)
            #expect(session.action == .wait(until: until))
            clock.now = until
            session.resume(now: clock.now)
            #expect(session.action == .push(after: 0))
        }
        #expect(waits == [.milliseconds(100), .milliseconds(200), .milliseconds(250)])
        session.failed(.transient("connection refused"), now: clock.now)
        guard case .failed(let failure) = session.action else {
            Issue.record("expected failure, got \(session.action)")
            return
        }
        #expect(failure.attempts == 4)
        #expect(failure.problem == .transient("connection refused"))
    }

    @Test func aSuccessResetsTheAttemptCount() {
        var session = Session(localHighest: 2, acked: 0, cursor: "", policy: .init(attempts: 2, firstDelay: .milliseconds(1)))
        session.failed(.transient("reset"), now: start)
        session.resume(now: start.advanced(by: .seconds(1)))
        session.pushed(accepted: 2, holds: 2, bytes: 10)
        session.failed(.transient("reset"), now: start)
        guard case .wait = session.action else {
            Issue.record("expected a wait after one failure of the new step, got \(session.action)")
            return
        }
    }

    @Test func permanentFailuresStopAtOnce() {
        var session = Session(localHighest: 0, acked: 0, cursor: "")
        session.failed(.permanent("revoked"), now: start)
        #expect(session.action == .failed(.init(problem: .permanent("revoked"), attempts: 1, serverAhead: false)))
    }

    @Test func aGapRestartsThePushWhereTheServerSays() {
        var session = Session(localHighest: 30, acked: 20, cursor: "")
        #expect(session.action == .push(after: 20))
        // The server was restored from a backup and holds only up to 12.
        session.failed(.restartPush(holds: 12), now: start)
        #expect(session.action == .push(after: 12))
        #expect(session.acked == 12)
    }

    @Test func refusedChangesPassedByAreProgressNotFailures() {
        // Every batch refused as out of scope, each time with the server holding more:
        // never counted against the attempts.
        var session = Session(localHighest: 50, acked: 0, cursor: "", policy: .init(attempts: 2))
        for holds in stride(from: 10, through: 40, by: 10) {
            session.failed(.restartPush(holds: UInt64(holds)), now: start)
            #expect(session.action == .push(after: UInt64(holds)))
        }
        session.failed(.restartPush(holds: 50), now: start)
        #expect(session.action == .pull(after: ""))
    }

    @Test func aServerHoldingMoreThanTheFileStops() {
        // The replica file is older than what it already sent: restored from a backup.
        var session = Session(localHighest: 5, acked: 5, cursor: "")
        session.pulled(changes: 0, cursor: "v1.3", more: false, holds: 9, bytes: 10)
        guard case .failed(let failure) = session.action else {
            Issue.record("expected failure, got \(session.action)")
            return
        }
        #expect(failure.serverAhead)
    }

    @Test func changesWrittenDuringTheSyncArePushedBeforeItEnds() {
        var session = Session(localHighest: 1, acked: 1, cursor: "")
        session.wrote(upTo: 3)
        session.pulled(changes: 0, cursor: "v1.1", more: false, holds: 1, bytes: 10)
        #expect(session.action == .push(after: 1))
    }

    @Test func delaysDoubleUpToTheCap() {
        let session = Session(
            localHighest: 0, acked: 0, cursor: "", policy: .init(attempts: 10, firstDelay: .milliseconds(250), maximumDelay: .seconds(8)))
        #expect((2...9).map(session.delay(before:)) == [0.25, 0.5, 1, 2, 4, 8, 8, 8].map { Duration.milliseconds(Int64($0 * 1000)) })
    }
}
