import ArgumentParser
import CaseDomain
import CentralPostgres
import ConsoleText
import Dashboard
import Foundation
import Hummingbird
import Logging
import PolicyServer
import Residents
import SyncCore
import SyncProtocol
import SyncServer

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
    @Option(help: "Seconds a request's head may take to arrive (from the connection's start or the previous answer).")
    var headTimeout = 10
    @Option(help: "Seconds a request's body may take after its head.") var bodyTimeout = 60
    @Option(help: "Seconds a connection may stay silent before it is closed.") var idleTimeout = 30
    @Option(help: "Residents' routes: requests per minute from one address.") var publicReadsPerMinute = 120
    @Option(help: "Residents' routes: submissions, ratings and messages per minute from one address.")
    var publicWritesPerMinute = 10
    @Option(help: "Online submissions per phone number per day.") var submissionsPerPhone = 5
    @Option(help: "Wrong phone tails in a row before a request is locked.") var tailTries = 5
    @Option(help: "Seconds a request stays locked after too many wrong phone tails.") var tailLockout = 900
    @Option(
        help: ArgumentHelp(
            "A holiday file for the dashboard's deadlines and working days: lines 'YYYY-MM-DD holiday|workday [note]' (default: $RAIN_HOLIDAYS; the offices' file).",
            valueName: "file"))
    var holidays: String?
    @Flag(
        help:
            "Mark the dashboard's cookies Secure although this server speaks plain HTTP (behind a proxy that terminates TLS); under --tls-cert they always are."
    )
    var secureCookies = false
    @Flag(
        help: ArgumentHelp(
            "For rain-bench only: keep no read model and serve no residents' routes (what the read model costs a push).",
            visibility: .hidden))
    var withoutReadModel = false

    func validate() throws {
        for (value, name) in [
            (headTimeout, "--head-timeout"), (bodyTimeout, "--body-timeout"), (idleTimeout, "--idle-timeout"),
            (publicReadsPerMinute, "--public-reads-per-minute"), (publicWritesPerMinute, "--public-writes-per-minute"),
            (submissionsPerPhone, "--submissions-per-phone"), (tailTries, "--tail-tries"), (tailLockout, "--tail-lockout"),
        ] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    /// The working-day calendar: the holiday file's, else Monday to Friday.
    func calendar() throws -> WorkCalendar {
        let environment = ProcessInfo.processInfo.environment["RAIN_HOLIDAYS"]
        guard let path = holidays ?? (environment?.isEmpty == false ? environment : nil) else { return WorkCalendar() }
        guard let bytes = FileManager.default.contents(atPath: path), let text = String(data: bytes, encoding: .utf8) else {
            throw ValidationError("cannot read the holiday file \(path) (--holidays)")
        }
        do { return try WorkCalendar(parsing: text) } catch {
            throw ValidationError("cannot read the holiday file \(path): \(error) (--holidays)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "rain-server") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let location = try database.location()
        // The kinds served: the built-in ones, then those declared in files (their merge
        // rules and scopes; a table declared twice is refused).
        var kinds = BuiltInKinds.all
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
        if withoutReadModel { kinds = kinds.map { RecordKind(name: $0.name, tables: $0.tables) } }
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
        var settings = ServerSettings(host: host, port: port, maximumBodyBytes: maxBodyBytes, tls: tls)
        settings.headTimeout = .seconds(headTimeout)
        settings.bodyTimeout = .seconds(bodyTimeout)
        settings.idleTimeout = .seconds(idleTimeout)
        var residents = ResidentSettings()
        residents.readsPerMinute = publicReadsPerMinute
        residents.writesPerMinute = publicWritesPerMinute
        residents.submissionsPerPhonePerDay = submissionsPerPhone
        residents.tailTries = tailTries
        residents.tailLockout = Int64(tailLockout) * 1000
        let dashboard = DashboardSettings(deadlines: DeadlinePolicy(calendar: try calendar()), secure: tls != nil || secureCookies)
        let app = try makeSyncApplication(
            storage: storage, settings: settings, logger: logger,
            surface: withoutReadModel
                ? nil
                : .combining([
                    residentSurface(storage: storage, settings: residents), DashboardRoutes.surface(storage: storage, settings: dashboard),
                ]),
            officeRoutes: withoutReadModel ? [] : [PaymentBatchRoutes.routes()],
            onRunning: { port in
                // Unbuffered: a supervisor or a test waits for this line on a pipe.
                FileHandle.standardOutput.write(Data("rain-server: listening on \(scheme)://\(host):\(port) (database \(shown))\n".utf8))
            })
        try await app.runService()
        await storage.close()
        logger.info("stopped")
    }
}
