import ArgumentParser
import CaseDomain
import CentralPostgres
import ConsoleText
import Foundation
import Hummingbird
import Logging
import SyncCore
import SyncProtocol
import SyncServer

/// `rain-server`: the central sync server and its administration.
@main
struct RainServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rain-server",
        abstract: "TimelyRain (及时雨) central server: enrols offices and merges every replica's changes.",
        discussion: """
            The database is --db PATH_OR_URL, else $RAIN_SERVER_DB, else
            ./rain-central.sqlite: a file path is SQLite (created with mode 0600 when
            missing), a postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE URL is PostgreSQL
            (several servers may share it). The administration commands work on the same
            database while servers run.

            Exit codes: 0 ok; 1 failure (storage); 2 usage or bad input; 3 no such office
            or replica; 4 already exists, or still in use (an office with cases).
            """,
        subcommands: [
            Serve.self, OfficeCommand.self, ReplicaCommand.self, ImportChanges.self, MigrateDatabase.self, MarkRestored.self,
            KindCommand.self,
        ]
    )

    /// Parses and runs; usage errors exit with 2, like `rain`.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as ServerError {
            FileHandle.standardError.write(Data(("rain-server: " + error.message + "\n").utf8))
            Foundation.exit(exitCode(for: error))
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    static func exitCode(for error: ServerError) -> Int32 {
        switch error.status {
        case 400, 413: 2
        case 404: 3
        case 409: 4
        default: 1
        }
    }
}

/// `--db`, taken by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The server database: a file path (SQLite) or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require&pool=N] (default: $RAIN_SERVER_DB, else ./rain-central.sqlite).",
            valueName: "path-or-url"))
    var db: String?

    var text: String {
        if let db { return db }
        if let value = ProcessInfo.processInfo.environment["RAIN_SERVER_DB"], !value.isEmpty { return value }
        return "rain-central.sqlite"
    }

    /// Where the database is; a bad URL is a usage error naming what is wrong.
    func location() throws -> DatabaseLocation {
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            throw ValidationError(error.message + (db == nil ? " ($RAIN_SERVER_DB)" : " (--db)"))
        }
    }

    /// Runs `body` on the database, closing it afterwards; administration commands create
    /// it too, so that offices can be added before the first `serve`.
    func with<T>(_ body: (any CentralStorage) async throws -> T) async throws -> T {
        try await CentralDatabase.with(try location(), kinds: [CaseRecords.kind], logger: adminLogger(), body)
    }
}

/// The administration commands log nothing below warnings (their output is the answer).
func adminLogger() -> Logger {
    var logger = Logger(label: "rain-server") { label in StreamLogHandler.standardError(label: label) }
    logger.logLevel = .warning
    return logger
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve sync requests over HTTP until SIGINT or SIGTERM.",
        discussion: """
            Prints `rain-server: listening on http://HOST:PORT` on standard output once ready
            (with --port 0, the port chosen). Logs go to standard error, one line per
            request with its request id; they never contain residents' data or secrets.
            Shutdown is graceful: requests in flight finish, and every acknowledged push
            is committed.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port (0: any free port).") var port = 8080
    @Option(help: "The largest request body accepted, in bytes (larger ones get 413).")
    var maxBodyBytes = TransportV1.defaultMaximumBodyBytes
    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
    @Option(help: "A PEM certificate chain: serve HTTPS (with --tls-key).") var tlsCert: String?
    @Option(help: "The PEM private key of --tls-cert.") var tlsKey: String?
    @Option(
        help: ArgumentHelp(
            "A record kind to serve beside the built-in ones: its declaration (Protocol/kinds/*.json format). Repeatable.",
            valueName: "file"))
    var kind: [String] = []

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var logger = Logger(label: "rain-server") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let location = try database.location()
        // The kinds served: the built-in ones, then those declared in files (their merge
        // rules and scopes; a table declared twice is refused).
        var kinds = [CaseRecords.kind]
        for file in kind {
            guard let bytes = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read the kind declaration \(file) (--kind)")
            }
            do {
                let declared = try KindDeclarationV1.decode(Array(bytes))
                let known = Set(kinds.flatMap { $0.tables.map(\.name) })
                if let twice = declared.tables.first(where: { known.contains($0.name) }) {
                    throw ValidationError("cannot serve the kind in \(file): table \(twice.name) is already declared (--kind)")
                }
                kinds.append(declared)
            } catch let invalid as KindDeclarationV1.Invalid {
                throw ValidationError("cannot serve the kind in \(file): \(invalid) (--kind)")
            }
        }
        // The server comes up even when its database cannot be opened yet (a read-only or
        // missing disk, a PostgreSQL still starting): it answers 503 until the database
        // opens, then serves.
        let storage: any CentralStorage
        let problem: ServerError?
        switch location {
        case .sqlite(let path):
            let resilient = ResilientStorage { [kinds] create throws(ServerError) in
                try SQLiteCentralStorage.open(at: path, create: create, kinds: kinds)
            }
            problem = resilient.prepare()
            storage = resilient
        case .postgres(let postgres):
            let shared = PostgresCentralStorage(location: postgres, kinds: kinds, logger: logger)
            do {
                try await shared.prepare()
                problem = nil
            } catch {
                problem = error
            }
            storage = shared
        }
        if let problem {
            logger.error(
                "storage unavailable", metadata: ["error": .string(problem.message), "cause": .string(problem.cause ?? "unknown")])
        }
        let shown: String =
            switch location {
            case .sqlite(let path): path
            case .postgres(let postgres): postgres.description
            }
        let host = host
        let scheme = tlsCert == nil ? "http" : "https"
        let tls = tlsCert.flatMap { certificate in tlsKey.map { (certificate: certificate, key: $0) } }
        let app = try makeSyncApplication(
            storage: storage, settings: ServerSettings(host: host, port: port, maximumBodyBytes: maxBodyBytes, tls: tls), logger: logger
        ) { port in
            // Unbuffered: a supervisor or a test waits for this line on a pipe.
            FileHandle.standardOutput.write(Data("rain-server: listening on \(scheme)://\(host):\(port) (database \(shown))\n".utf8))
        }
        try await app.runService()
        await storage.close()
        logger.info("stopped")
    }
}

// MARK: - Kinds

struct KindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kind",
        abstract: "Print a built-in record kind's declaration (tables, fields, merge rules, scope) as JSON.",
        discussion: """
            The format of Protocol/kinds/*.json and of `serve --kind FILE`. Without a name,
            lists the built-in kinds.
            """
    )

    @Argument(help: "The kind's name (e.g. cases).") var name: String?

    func run() throws {
        let kinds = [CaseRecords.kind]
        guard let name else {
            for kind in kinds { print(kind.name + "\t" + kind.tables.map(\.name).joined(separator: ", ")) }
            return
        }
        guard let kind = kinds.first(where: { $0.name == name }) else {
            throw ValidationError("no built-in kind \(name): the built-in kinds are \(kinds.map(\.name).joined(separator: ", "))")
        }
        print(KindDeclarationV1.encode(kind), terminator: "")
    }
}

// MARK: - Offices

struct OfficeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "office",
        abstract: "Register offices and issue enrolment tokens.",
        subcommands: [AddOffice.self, ListOffices.self, IssueToken.self, MoveOffice.self, RetireOffice.self]
    )
}

struct TokenOptions: ParsableArguments {
    @Option(help: "Hours the enrolment token stays valid.") var expiresIn = 72

    func validate() throws {
        guard (1...24 * 90).contains(expiresIn) else { throw ValidationError("--expires-in must be from 1 to 2160 hours") }
    }

    var lifetime: Int64 { Int64(expiresIn) * 3_600_000 }
}

struct AddOffice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Register an office and print a one-time enrolment token for its first replica.",
        discussion: """
            The token is on the last line of the output: give it to the office, which runs
            `rain init --server URL --office CODE --token TOKEN --staff NAME`. It is shown
            once, works once, and expires (--expires-in).
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The office code: 1 to 12 letters or digits (e.g. HSM); it starts the office's case numbers.") var code: String
    @Option(help: "The office's name (e.g. 和盛社区).") var name: String
    @Option(help: "district, street or community.") var level: String
    @Option(help: "The parent office's code (a street's district, a community's street).") var parent: String?
    @OptionGroup var token: TokenOptions
    @Flag(help: "Print {\"office\": …, \"token\": …} as JSON.") var json = false

    func validate() throws {
        guard OfficeLevel(rawValue: level) != nil else {
            throw ValidationError("--level must be district, street or community, not '\(level)'")
        }
    }

    func run() async throws {
        let now = ReplicaStoreTime.now()
        let (office, issued) = try await database.with { storage in
            let office = try await storage.addOffice(code: code, name: name, level: OfficeLevel(rawValue: level)!, parent: parent, now: now)
            return (office, try await storage.issueToken(office: office.code, lifetime: token.lifetime, now: now))
        }
        if json {
            print(
                JSONText.object([
                    ("office", .string(office.code)), ("token", .string(issued.token)), ("expires_at", .integer(issued.expiresAt)),
                ]))
        } else {
            print(
                "office \(office.code) (\(office.name), \(office.level.rawValue)) added; enrolment token, valid until \(LocalTime.format(issued.expiresAt)):"
            )
            print(issued.token)
        }
    }
}

struct ListOffices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the offices.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print an array of offices as JSON.") var json = false

    func run() async throws {
        let offices = try await database.with { try await $0.offices() }
        if json {
            print(
                JSONText.array(
                    offices.map { office in
                        .object([
                            ("code", .string(office.code)), ("name", .string(office.name)), ("level", .string(office.level.rawValue)),
                            ("parent", office.parent.map(JSONText.string) ?? .null),
                            ("retired_at", office.retiredAt.map(JSONText.integer) ?? .null),
                        ])
                    }))
            return
        }
        if offices.isEmpty {
            print("no offices; add one with `rain-server office add`")
            return
        }
        printTable(
            ["code", "name", "level", "parent", "state"],
            offices.map { [$0.code, $0.name, $0.level.rawValue, $0.parent ?? "-", $0.retiredAt == nil ? "active" : "retired"] })
    }
}

struct IssueToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a new one-time enrolment token for another replica of an office (on the last line)."
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The office code.") var code: String
    @OptionGroup var token: TokenOptions
    @Flag(help: "Print {\"office\": …, \"token\": …} as JSON.") var json = false

    func run() async throws {
        let issued = try await database.with {
            try await $0.issueToken(office: code, lifetime: token.lifetime, now: ReplicaStoreTime.now())
        }
        if json {
            print(
                JSONText.object([
                    ("office", .string(issued.office)), ("token", .string(issued.token)), ("expires_at", .integer(issued.expiresAt)),
                ]))
        } else {
            print("enrolment token for \(issued.office), valid until \(LocalTime.format(issued.expiresAt)):")
            print(issued.token)
        }
    }
}

struct MoveOffice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move",
        abstract: "Move an office under another parent (a community to another street).",
        discussion: """
            A community's cases change street with it: at their next sync the new street's
            replicas receive them with their whole history, and the old street's purge them.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The office code.") var code: String
    @Option(help: "The new parent office's code.") var parent: String
    @Flag(help: "Print the office as JSON.") var json = false

    func run() async throws {
        let office = try await database.with { try await $0.moveOffice(code: code, parent: parent, now: ReplicaStoreTime.now()) }
        if json {
            print(JSONText.object([("code", .string(office.code)), ("parent", office.parent.map(JSONText.string) ?? .null)]))
        } else {
            print("office \(office.code) is now under \(office.parent ?? "-")")
        }
    }
}

struct RetireOffice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire",
        abstract: "Retire an office that has no active office under it and no case.",
        discussion: """
            Its replicas are revoked at once and its unused enrolment tokens stop working; its
            code is never reused. Reassign its cases (rain case reassign) and move or retire
            the offices under it first.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The office code.") var code: String
    @Flag(help: "Print the office as JSON.") var json = false

    func run() async throws {
        let office = try await database.with { try await $0.retireOffice(code: code, now: ReplicaStoreTime.now()) }
        if json {
            print(JSONText.object([("code", .string(office.code)), ("retired", .string("true"))]))
        } else {
            print("office \(office.code) retired; its replicas are revoked")
        }
    }
}

// MARK: - Replicas

struct ReplicaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica",
        abstract: "List and revoke enrolled replicas.",
        subcommands: [ListReplicas.self, RevokeReplica.self]
    )
}

func replicaJSON(_ replica: EnrolledReplica) -> JSONText {
    .object([
        ("id", .string(replica.id.rawValue)), ("office", .string(replica.office)), ("staff", .string(replica.staff)),
        ("enrolled_at", .integer(replica.enrolledAt)), ("revoked_at", replica.revokedAt.map(JSONText.integer) ?? .null),
        ("last_seen_at", replica.lastSeenAt.map(JSONText.integer) ?? .null), ("holds", .integer(Int64(replica.holds))),
        ("predecessor", replica.predecessor.map { .string($0.rawValue) } ?? .null),
        ("superseded_by", replica.supersededBy.map { .string($0.rawValue) } ?? .null),
    ])
}

struct ListReplicas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the enrolled replicas.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print an array of replicas as JSON.") var json = false

    func run() async throws {
        let replicas = try await database.with { try await $0.replicas() }
        if json {
            print(JSONText.array(replicas.map(replicaJSON)))
            return
        }
        if replicas.isEmpty {
            print("no replicas enrolled")
            return
        }
        printTable(
            ["replica", "office", "staff", "enrolled", "last seen", "changes", "state"],
            replicas.map {
                [
                    $0.id.rawValue, $0.office, $0.staff, LocalTime.format($0.enrolledAt),
                    $0.lastSeenAt.map(LocalTime.format) ?? "-",
                    String($0.holds),
                    $0.revokedAt != nil ? "revoked" : $0.supersededBy.map { "re-issued as " + $0.rawValue } ?? "active",
                ]
            })
    }
}

struct RevokeReplica: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a replica's credential; its very next request is refused.",
        discussion: "The changes it already pushed stay. The office can enrol again with a new token (`rain enrol`)."
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The replica id (`rain-server replica list`).") var id: String
    @Flag(help: "Print the replica as JSON.") var json = false

    func run() async throws {
        let replica = try await database.with { try await $0.revoke(replica: ReplicaID(id), now: ReplicaStoreTime.now()) }
        if json {
            print(JSONOut.render(replicaJSON(replica)))
        } else {
            print("replica \(replica.id) of \(replica.office) revoked")
        }
    }
}

// MARK: - Import

struct ImportChanges: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Apply a file of one replica's changes (from `rain export --pending`) to the server.",
        discussion: """
            For the work of a revoked replica, or of one that cannot reach the server: the
            file is validated like a push (every change from one replica, continuing what
            the server holds without a gap) and applied in one transaction, idempotently.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The file written by `rain export --pending FILE`.") var file: String
    @Flag(help: "Print {\"replica\", \"accepted\", \"duplicates\"} as JSON.") var json = false

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ServerError(status: 400, code: "invalid", message: "cannot import: cannot read the file (\(file))")
        }
        let changes: [Change]
        do {
            changes = try ChangeBatchV1.decode(Array(data))
        } catch {
            throw ServerError(status: 400, code: "invalid", message: "cannot import: \(error.message) (\(file))")
        }
        guard let replica = changes.first?.dot.replica else {
            print(json ? "{\"replica\":null,\"accepted\":0,\"duplicates\":0}" : "nothing to import")
            return
        }
        let (enrolled, answer) = try await database.with { storage in
            guard let enrolled = try await storage.replicas().first(where: { $0.id == replica }) else {
                throw ServerError(
                    status: 404, code: "not_found",
                    message: "cannot import: the changes were written by replica \(replica), which was never enrolled here")
            }
            return (
                enrolled,
                try await storage.push(changes, from: Caller(replica: replica, office: enrolled.office), now: ReplicaStoreTime.now())
            )
        }
        if json {
            print(
                JSONText.object([
                    ("replica", .string(replica.rawValue)), ("accepted", .integer(Int64(answer.accepted))),
                    ("duplicates", .integer(Int64(answer.duplicates))),
                ]))
        } else {
            print("imported \(answer.accepted) changes of replica \(replica) (\(enrolled.office)); \(answer.duplicates) were already held")
        }
    }
}

// MARK: - Migrate

struct MigrateDatabase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy the server's database to another (SQLite to PostgreSQL, or back) and check the copy.",
        discussion: """
            Copies everything — the change log with its positions, merge states and scopes,
            offices, enrolment tokens, replicas with their credential digests and restore
            links, refusals, scope moves and listings — then reads both databases back and
            compares each table's row count and digest. Replicas keep syncing afterwards
            with their credentials and cursors unchanged.

            Stop every server on the source first, migrate into an empty database, then start
            the servers with --db naming the destination. A copy that finds the source
            changed under it stops and says so (the destination is then to be emptied).
            """
    )

    @Option(help: ArgumentHelp("The database to copy: a file path or a postgres:// URL.", valueName: "path-or-url"))
    var from: String
    @Option(help: ArgumentHelp("The empty database to copy into: a file path or a postgres:// URL.", valueName: "path-or-url"))
    var to: String
    @Flag(help: "Print the tables copied, with their rows and digests, as JSON.") var json = false

    func run() async throws {
        let source: DatabaseLocation
        let destination: DatabaseLocation
        do {
            source = try DatabaseLocation(parsing: from)
            destination = try DatabaseLocation(parsing: to)
        } catch {
            throw ValidationError(error.message)
        }
        if case .sqlite(let path) = source, !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("cannot migrate: no database file \(path) (--from)")
        }
        let report = try await DatabaseMove.run(from: source, to: destination, kinds: [CaseRecords.kind], logger: adminLogger())
        if json {
            print(
                JSONText.array(
                    report.tables.map { table in
                        .object([("table", .string(table.name)), ("rows", .integer(Int64(table.rows))), ("sha256", .string(table.digest))])
                    }))
            return
        }
        printTable(["table", "rows", "sha256"], report.tables.map { [$0.name, String($0.rows), String($0.digest.prefix(16)) + "…"] })
        print("copied and checked: every table's rows and digest match")
    }
}

struct MarkRestored: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restored",
        abstract: "Record that the PostgreSQL database was just restored from a backup (run it before starting the servers).",
        discussion: """
            A restore takes the change log back to the backup, while replicas keep the pull
            positions they reached after it. From now on, every new change and move is
            numbered above every number handed out before the restore, so no replica's
            position has passed them: the changes the restore lost come back as their
            writers push them again (the server's answer tells each replica where to resume),
            and every replica receives them. Run it once per restore, with no server running.
            """
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        guard case .postgres(let location) = try database.location() else {
            throw ValidationError(
                "rain-server restored is for a PostgreSQL database; an SQLite file restored from a copy is not supported yet (--db)")
        }
        let storage = try await PostgresCentralStorage.open(location, kinds: [CaseRecords.kind], logger: adminLogger())
        do {
            let floor = try await storage.markRestored(now: ReplicaStoreTime.now())
            await storage.close()
            print("restore recorded: new changes are numbered from \(floor) on")
        } catch {
            await storage.close()
            throw error
        }
    }
}

// MARK: - Output

/// The administration commands' `--json` output (ConsoleText's, as `rain` prints it).
typealias JSONText = JSONOut.Node

extension JSONOut.Node {
    static var null: JSONOut.Node { .string(nil) }
}

/// Prints a JSON node on one line.
func print(_ node: JSONOut.Node) {
    Swift.print(JSONOut.render(node))
}

func printTable(_ header: [String], _ rows: [[String]]) {
    for line in tableLines(header, rows) { Swift.print(line) }
}

enum ReplicaStoreTime {
    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
