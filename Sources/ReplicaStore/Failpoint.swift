import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Test-only crash points: with `RAIN_FAILPOINT=<name>` (or `<name>:<n>`, the n-th time)
/// in the environment, the process kills itself (SIGKILL, as `kill -9` would) when it
/// reaches the named point:
///
/// - `before-commit`: inside a write transaction, after the change and its rows are
///   written but before the commit;
/// - `sync-after-push`: the server has acknowledged a pushed batch, the replica has
///   not yet recorded it;
/// - `sync-after-pull`: a page has arrived and is not yet applied;
/// - `sync-before-push`: a batch is read from the file and about to be sent;
/// - `sync-after-apply`: a page and its cursor are committed, the next request not sent;
/// - `recover-before-commit`: the server re-issued a restored replica (§9.8), the file
///   has not yet taken the new identity;
/// - `server-after-commit` (in `rain-server`): a push is committed, its answer not sent.
///
/// The tests use them to prove that nothing is lost or applied twice.
package enum Failpoint {
    static let armed: (name: String, count: Int)? = {
        guard let text = ProcessInfo.processInfo.environment["RAIN_FAILPOINT"], !text.isEmpty else { return nil }
        let parts = text.split(separator: ":", maxSplits: 1)
        return (String(parts[0]), parts.count == 2 ? Int(parts[1]) ?? 1 : 1)
    }()
    // Touched by one thread at a time: the writer, or the sync loop.
    nonisolated(unsafe) static var hits = 0

    package static func hit(_ name: String) {
        guard let armed, armed.name == name else { return }
        hits += 1
        if hits >= armed.count { kill(getpid(), SIGKILL) }
    }
}
