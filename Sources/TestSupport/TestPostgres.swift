import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL server the tests use: `$RAIN_TEST_POSTGRES_URL` (a superuser's URL, as
/// `.ci/run` sets it), else a throwaway cluster this process starts once with
/// `scripts/postgres-cluster.sh` and stops when it exits. Each test gets a database of
/// its own (``createDatabase()``), dropped afterwards. A test that needs PostgreSQL
/// fails, never skips, when neither is possible.
public enum TestPostgres {
    /// Why PostgreSQL is not available to the tests.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) {
            self.description = description
        }
    }

    nonisolated(unsafe) private static var started: Result<String, Unavailable>?
    private static let lock = NSLock()

    /// The server's URL (its `postgres` database).
    public static func serverURL() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let started { return try started.get() }
        let result: Result<String, Unavailable>
        if let url = ProcessInfo.processInfo.environment["RAIN_TEST_POSTGRES_URL"], !url.isEmpty {
            result = .success(url)
        } else {
            result = startCluster()
        }
        started = result
        return try result.get()
    }

    private static func startCluster() -> Result<String, Unavailable> {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let script = root.appendingPathComponent("scripts/postgres-cluster.sh").path
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-pg-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(folder, 0o755)
        let run = shell(script, ["start", folder + "/cluster"])
        guard run.status == 0, run.output.hasPrefix("postgres://") else {
            return .failure(
                Unavailable(
                    description:
                        "PostgreSQL is needed by this test and none is available: set RAIN_TEST_POSTGRES_URL, or install postgresql-15 so that scripts/postgres-cluster.sh can start one (\(run.error.suffix(400)))"
                ))
        }
        clusterFolder = folder
        atexit {
            guard let folder = TestPostgres.clusterFolder else { return }
            var root = URL(fileURLWithPath: #filePath)
            for _ in 0..<3 { root.deleteLastPathComponent() }
            _ = TestPostgres.shell(root.appendingPathComponent("scripts/postgres-cluster.sh").path, ["stop", folder + "/cluster"])
            try? FileManager.default.removeItem(atPath: folder)
        }
        return .success(run.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    nonisolated(unsafe) static var clusterFolder: String?

    /// A new empty database on the test server (or on `server`, a superuser's URL); its URL.
    public static func createDatabase(on given: String? = nil) throws -> String {
        let server = try given ?? serverURL()
        let name = "rain_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let run = shell("/usr/bin/env", ["psql", server, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        guard run.status == 0 else { throw Unavailable(description: "cannot create a test database: \(run.error)") }
        return url(server, database: name)
    }

    /// Drops the database of `url` (its connections closed first).
    public static func dropDatabase(_ url: String) {
        guard let name = database(of: url) else { return }
        let server = Self.url(url, database: "postgres")
        _ = shell("/usr/bin/env", ["psql", server, "-X", "-q", "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    /// Runs SQL on the database of `url` with psql; its output (unaligned, tuples only).
    public static func query(_ url: String, _ sql: String) throws -> String {
        let run = shell("/usr/bin/env", ["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard run.status == 0 else { throw Unavailable(description: "psql failed: \(run.error)") }
        return run.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `url` naming `database` instead.
    public static func url(_ url: String, database: String) -> String {
        guard let scheme = url.range(of: "://"), let slash = url[scheme.upperBound...].firstIndex(of: "/") else { return url }
        let end = url[slash...].firstIndex(of: "?") ?? url.endIndex
        return url.replacingCharacters(in: slash..<end, with: "/" + database)
    }

    static func database(of url: String) -> String? {
        guard let scheme = url.range(of: "://"), let slash = url[scheme.upperBound...].firstIndex(of: "/") else { return nil }
        let rest = url[url.index(after: slash)...]
        return String(rest.prefix { $0 != "?" })
    }

    /// Runs `executable` to its end (posix_spawn and waitpid: Foundation's `Process` once
    /// hung here, never reaping a child), its output through files.
    static func shell(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String, error: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("rain-sh-\(UUID().uuidString)").path
        let (outPath, errPath) = (base + ".out", base + ".err")
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { return (127, "", "cannot run \(executable): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exited = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return (exited, read(outPath), read(errPath))
    }
}
