import CaseStore
import Foundation
import GRDB
import PolicyStore
import ReplicaStore
import SuggestionStore
import SyncCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A finished process: exit status (or the signal that killed it) and its output.
struct Run {
    let status: Int32
    let signalled: Bool
    let stdout: String
    let stderr: String

    var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
}

/// The executables built beside this test bundle (`swift build` builds every product).
enum Built {
    static func path(_ name: String) -> String {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [runner.appendingPathComponent(name).path]
        var folder = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { folder.deleteLastPathComponent() }
        candidates.append(folder.appendingPathComponent(".build/debug/\(name)").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    static let rain = path("rain")
    static let server = path("rain-server")
}

/// A scratch folder, removed when the test ends.
final class Scratch: @unchecked Sendable {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("rain-e2e-\(UUID().uuidString)").path
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// Runs `executable` to its end; output goes through files, so a chatty process never
/// blocks on a full pipe.
@discardableResult
func execute(
    _ executable: String, _ arguments: [String], environment extra: [String: String] = [:], input: String? = nil, in folder: String
) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    var environment = ProcessInfo.processInfo.environment
    environment["LANG"] = "en_US.UTF-8"
    environment["NO_COLOR"] = "1"
    environment.removeValue(forKey: "RAIN_DB")
    environment.removeValue(forKey: "RAIN_FAILPOINT")
    // Each test's high-water marks in its own folder, not the user's state.
    environment["RAIN_STATE_DIR"] = folder + "/.state"
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let id = UUID().uuidString
    let outPath = folder + "/.out-\(id)"
    let errPath = folder + "/.err-\(id)"
    FileManager.default.createFile(atPath: outPath, contents: nil)
    FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = out
    process.standardError = err
    // Standard input: `input` when given (a password), else none (never a terminal).
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    process.waitUntilExit()
    try out.close()
    try err.close()
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    return Run(
        status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

/// A real `rain-server serve` on a free loopback port.
final class ServerProcess: @unchecked Sendable {
    /// The database it serves (`moveTo(_:)` changes it, as an operator would after a migrate).
    private(set) var db: String
    let folder: String
    let logPath: String
    private(set) var process: Process
    private(set) var url = ""
    private var port: Int? { url.split(separator: ":").last.flatMap { Int($0) } }

    /// Extra `serve` arguments (TLS).
    let arguments: [String]

    init(folder: String, db: String, environment: [String: String] = [:], arguments: [String] = []) throws {
        self.folder = folder
        self.db = db
        self.arguments = arguments
        logPath = folder + "/server-\(UUID().uuidString.prefix(8)).log"
        process = Process()
        try start(environment: environment)
    }

    func start(environment extra: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Built.server)
        // A restart keeps the port, as a real server would: replicas keep its URL.
        process.arguments = ["serve", "--db", db, "--port", port.map(String.init) ?? "0"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "RAIN_FAILPOINT")
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let out = Pipe()
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        process.standardOutput = out
        process.standardError = log
        try process.run()
        self.process = process
        // Wait for "rain-server: listening on http://127.0.0.1:PORT (…)".
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: "listening on "), let end = text[range.upperBound...].firstIndex(of: " ") {
                url = String(text[range.upperBound..<end])
                return
            }
        }
        throw ServerStartFailure(log: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "", output: text)
    }

    struct ServerStartFailure: Error, CustomStringConvertible {
        let log: String
        let output: String
        var description: String { "rain-server did not start: \(output)\n\(log)" }
    }

    /// Stops the server and starts it again on `database`, on the same port.
    func moveTo(_ database: String) throws {
        stop()
        db = database
        try start()
    }

    /// SIGTERM, then wait: the graceful path.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// SIGKILL, as a power cut would.
    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Whether the process ended (killed by a failpoint) within `seconds`.
    func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs an administration command on the same database.
    @discardableResult
    func admin(_ arguments: [String], input: String? = nil) throws -> Run {
        try execute(Built.server, arguments + ["--db", db], input: input, in: folder)
    }

    deinit { kill9() }
}

/// Which database the server under test runs on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A new database of this kind: a file in `scratch`, or a database of its own on the
    /// test PostgreSQL server (``TestPostgres``).
    func database(in scratch: Scratch) throws -> String {
        switch self {
        case .sqlite: scratch.file("central.sqlite")
        case .postgres: try TestPostgres.createDatabase()
        }
    }
}

/// Offices and replicas on one server, driven through the built `rain`.
final class Deployment: @unchecked Sendable {
    let scratch: Scratch
    let server: ServerProcess
    let backend: Backend

    /// - Parameters:
    ///   - backend: the server's database (default: SQLite, in the scratch folder).
    ///   - serverDB: where an SQLite server's database lives instead.
    ///   - serverArguments: more arguments of `rain-server serve` (its limits).
    init(backend: Backend = .sqlite, serverDB: ((Scratch) throws -> String)? = nil, serverArguments: [String] = []) throws {
        scratch = try Scratch()
        self.backend = backend
        let db = try serverDB?(scratch) ?? backend.database(in: scratch)
        server = try ServerProcess(folder: scratch.path, db: db, arguments: serverArguments)
        for office in [
            ["HSD", "--name", "和盛区", "--level", "district"], ["JD1", "--name", "和平街道", "--level", "street", "--parent", "HSD"],
            ["HSM", "--name", "和盛社区", "--level", "community", "--parent", "JD1"],
            ["XQ", "--name", "新桥社区", "--level", "community", "--parent", "JD1"],
        ] {
            let run = try server.admin(["office", "add"] + office)
            try #require(run.status == 0, "\(run.stderr)")
        }
    }

    deinit {
        server.kill9()
        if backend == .postgres { TestPostgres.dropDatabase(server.db) }
    }

    func token(_ office: String) throws -> String {
        let run = try server.admin(["office", "token", office, "--json"])
        try #require(run.status == 0, "\(run.stderr)")
        return try #require(run.object["token"] as? String)
    }

    /// A replica file enrolled with the server (through `server`, a proxy's URL, when given).
    func replica(_ name: String, office: String, staff: String, server url: String? = nil) throws -> String {
        let path = scratch.file(name + ".sqlite")
        let run = try rain(
            ["init", "--office", office, "--staff", staff, "--server", url ?? server.url, "--token", try token(office)], db: path)
        try #require(run.status == 0, "\(run.stderr)")
        return path
    }

    @discardableResult
    func rain(_ arguments: [String], db: String, environment: [String: String] = [:]) throws -> Run {
        try execute(Built.rain, arguments + ["--db", db], environment: environment, in: scratch.path)
    }

    /// `rain sync --json`, which must succeed.
    @discardableResult
    func sync(_ db: String) throws -> [String: Any] {
        let run = try rain(["sync", "--json"], db: db)
        try #require(run.status == 0, "sync failed: \(run.stderr)")
        return run.object
    }

    func newCase(_ db: String, title: String, extra: [String] = []) throws -> String {
        let run = try rain(
            ["case", "new", "--kind", "complaint", "--category", "环境卫生", "--title", title, "--json"] + extra, db: db)
        try #require(run.status == 0, "\(run.stderr)")
        return try #require(run.object["number"] as? String)
    }

    /// `rain case show NUMBER --json` as text, for byte comparison across replicas
    /// (`reveal` unmasks, and records the reveal as an audit event to sync).
    func show(_ number: String, _ db: String, reveal: Bool = false) throws -> String {
        let run = try rain(["case", "show", number, "--json"] + (reveal ? ["--reveal"] : []), db: db)
        try #require(run.status == 0, "\(run.stderr)")
        return run.stdout
    }

    func numbers(_ db: String) throws -> [String] {
        let run = try rain(["case", "list", "--json", "--limit", "100000"], db: db)
        try #require(run.status == 0, "\(run.stderr)")
        return ((run.json as? [[String: Any]]) ?? []).compactMap { $0["number"] as? String }.sorted()
    }
}

/// Writes `count` new cases of the file's office straight into a replica file (fast, in
/// one transaction), as a day's import would; `description` pads each one.
func writeCases(_ path: String, count: Int, prefix: String, description: String? = nil) throws {
    let store = try officeReplica(path)
    try store.write(
        batch: (0..<count).map { index in
            var fields: [String: Value] = [
                "number": .text("\(prefix)-\(index)"), "kind": .text("help"), "category": .text("社会救助"),
                "title": .text("批量案件 \(prefix) \(index)"), "status": .text("received"), "created_at": .timestamp(1_795_651_200_000),
                "office": .text(store.identity.office), "community": .text(store.identity.office),
            ]
            if let description { fields["description"] = .text(description) }
            return (fields, RecordKey(table: "cases", id: "\(prefix)-\(String(format: "%06d", index))"))
        })
}

/// `SELECT count(*) …` on a database file or a server's PostgreSQL database (by default,
/// its changes).
func count(_ path: String, _ sql: String = "SELECT count(*) FROM changes") throws -> Int {
    if path.hasPrefix("postgres") { return Int(try TestPostgres.query(path, sql)) ?? -1 }
    return try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
}

/// `PRAGMA integrity_check` of a database file: "ok" when healthy. For a server's
/// PostgreSQL database (whose pages PostgreSQL itself checks), the storage's own
/// invariants: every logged change's record has a merge state, and no dot is held twice.
func integrity(_ path: String) throws -> String {
    if path.hasPrefix("postgres") {
        return try TestPostgres.query(
            path,
            """
            SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM changes c WHERE NOT EXISTS
                    (SELECT 1 FROM merge_state s WHERE s.tbl = c.tbl AND s.record_id = c.record_id))
                AND (SELECT count(*) FROM changes) = (SELECT count(DISTINCT (replica, counter)) FROM changes)
                THEN 'ok' ELSE 'broken' END
            """)
    }
    return try DatabaseQueue(path: path).read { db in
        try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: ";")
    }
}

/// A replica file as `rain` opens it: every kind the office client holds (cases and
/// policy direct), so that a file `rain` migrated opens here too.
func officeReplica(_ path: String) throws -> ReplicaStore {
    try ReplicaStore.open(at: path, also: [PolicyProjection(), SuggestionProjection()])
}
