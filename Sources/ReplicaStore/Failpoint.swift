import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Test-only crash points: with `RAIN_FAILPOINT=<name>` in the environment, the process
/// kills itself (SIGKILL, as `kill -9` would) when it reaches the named point — e.g.
/// `before-commit`, inside a write transaction after the change and its rows are
/// written but before the commit. The tests use it to prove that a write and its
/// change commit together or not at all.
enum Failpoint {
    static let armed = ProcessInfo.processInfo.environment["RAIN_FAILPOINT"]

    static func hit(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
