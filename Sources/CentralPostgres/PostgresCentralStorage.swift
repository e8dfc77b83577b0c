public import Logging
import NIOCore
import NIOSSL
import PostgresNIO
public import SyncCore
public import SyncServer
package import Synchronization

/// The central storage on PostgreSQL: the same change log, merge states, offices,
/// credentials, scope moves and listings as the embedded storage, merged by the same
/// pure push plan (``PushPlan``) and `SyncCore` code, so that any number of
/// `rain-server` processes can share one database.
///
/// **Concurrency.** Every transaction that writes takes one transaction-scoped advisory
/// lock first (``writeLock``), so writes are serialised across every process as SQLite
/// serialises them in one file: a push decides its counters, its duplicates and its
/// arrival numbers (max + 1) alone, and a transaction holding lower arrival numbers has
/// committed — PostgreSQL makes a commit visible before it releases the transaction's
/// locks — before any other can take higher ones. A pull reads in one REPEATABLE READ
/// READ ONLY snapshot, so a snapshot that shows an arrival number shows every lower
/// one: a pull never passes a change that commits later (the hole of log-based pulls
/// under concurrent writers). Reads (pulls, credential checks) take no lock and run in
/// parallel; the merge's decoding and encoding of requests happen outside the lock.
public final class PostgresCentralStorage: CentralStorage {
    /// The advisory lock every writing transaction takes (`rain` in ASCII).
    static let writeLock: Int64 = 0x7261_696E
    /// The advisory lock migrations take, so that servers starting together migrate once.
    static let migrationLock: Int64 = 0x7261_696D

    let client: PostgresClient
    let logger: Logger
    let location: PostgresLocation
    let schema: Schema
    let scopes: ScopeRules
    /// The kinds' views (the read model), kept as pushes merge.
    let views: ViewRows
    private let runner: Task<Void, Never>
    /// Whether the schema has been checked (and migrated) since the process started.
    private let ready = Mutex(false)
    /// The server's own replica id (never enrolled by a replica).
    let identity = Mutex<ReplicaID?>(nil)
    /// Test hook: called inside a push's transaction after its changes are written and
    /// before it commits (the late-commit test holds a push there).
    package let beforeCommit = Mutex<(@Sendable () async -> Void)?>(nil)

    /// Connects to the database at `location` (the pool connects lazily) and checks its
    /// schema, creating or migrating it. The database must exist; `rain-server` creates
    /// its tables, never the database or its role (README, "Operations on PostgreSQL").
    ///
    /// - Throws: ``ServerError`` with status 503 when the database cannot be reached or
    ///   was migrated by a newer `rain-server`.
    public static func open(_ location: PostgresLocation, kinds: [RecordKind], logger: Logger) async throws(ServerError)
        -> PostgresCentralStorage
    {
        let storage = PostgresCentralStorage(location: location, kinds: kinds, logger: logger)
        do {
            try await storage.prepare()
        } catch {
            await storage.close()
            throw error
        }
        return storage
    }

    /// A storage that connects when first used (``prepare()`` then, or on the first
    /// request): a server comes up while its database is still starting, answering 503.
    public init(location: PostgresLocation, kinds: [RecordKind], logger: Logger) {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: Self.tls(location.tls))
        configuration.options.connectTimeout = .seconds(5)
        if let size = location.poolSize { configuration.options.maximumConnections = size }
        configuration.options.additionalStartupParameters = [("application_name", "rain-server")]
        // postgres-nio logs rows at trace level: its loggers never go below notice. Its
        // background warnings (a lease asked before the pool's task has started) are
        // noise: failures reach the caller as errors.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        var background = logger
        background.logLevel = .error
        client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.logger = quiet
        self.location = location
        schema = Schema(kinds: kinds)
        scopes = ScopeRules(kinds: kinds)
        views = ViewRows(kinds: kinds)
        let client = client
        runner = Task { await client.run() }
    }

    /// The configuration of a single connection (migrations), as the pool's.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch location.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = [("application_name", "rain-server")]
        return configuration
    }

    static func tls(_ mode: PostgresLocation.TLS) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    /// Checks (and migrates) the schema once per process.
    public func prepare() async throws(ServerError) {
        if ready.withLock({ $0 }) { return }
        let id = try await PostgresMigrations.migrate(self)
        identity.withLock { $0 = id }
        ready.withLock { $0 = true }
        do {
            try await buildViews()
        } catch {
            ready.withLock { $0 = false }
            throw error
        }
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    public func checkHealth() async throws(ServerError) {
        try await prepare()
        // A connection of its own (five seconds to connect): a load balancer's check must
        // answer at once when the database is down, where a pool's lease waits for its
        // circuit breaker.
        let inRecovery: Bool
        do {
            let connection = try await PostgresConnection.connect(configuration: try connectionConfiguration(), id: 1, logger: logger)
            do {
                inRecovery = try await connection.query("SELECT pg_is_in_recovery()", logger: logger).collectOne(Bool.self) ?? false
                try? await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            throw Self.map(error, what: "cannot read the database")
        }
        // Healthy means able to take a push: a standby in recovery answers reads only.
        if inRecovery {
            throw .unavailable("the server's database is a standby in recovery; pushes fail until it is promoted", cause: "in recovery")
        }
    }

    // MARK: Transactions

    /// Runs `body` in a transaction that takes ``writeLock`` first.
    func write<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(ServerError) -> T {
        try await transaction(what, begin: "BEGIN", lock: true, body)
    }

    /// Runs `body` in a transaction that does not take ``writeLock``: for tables no push
    /// reads (a guard's wrong tries), whose rows are written by single atomic statements.
    func writeAlone<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(ServerError) -> T {
        try await transaction(what, begin: "BEGIN", lock: false, body)
    }

    /// Runs `body` in one REPEATABLE READ READ ONLY snapshot.
    func read<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(ServerError) -> T {
        try await transaction(what, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", lock: false, body)
    }

    private func transaction<T: Sendable>(
        _ what: String, begin: String, lock: Bool, _ body: (PostgresConnection) async throws -> T
    ) async throws(ServerError) -> T {
        try await prepare()
        do {
            return try await client.withConnection { connection in
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: begin), logger: logger)
                    if lock { try await connection.query("SELECT pg_advisory_xact_lock(\(Self.writeLock))", logger: logger) }
                    let result = try await body(connection)
                    try await connection.query("COMMIT", logger: logger)
                    return result
                } catch {
                    // A connection that cannot roll back (or begin) may still be inside the
                    // transaction, holding the write lock: the pool must never lend it again.
                    do {
                        try await connection.query("ROLLBACK", logger: logger)
                    } catch {
                        try? await connection.close()
                    }
                    throw error
                }
            }
        } catch let refusal as ServerError {
            throw refusal
        } catch {
            throw Self.map(error, what: what)
        }
    }

    /// A driver or database failure as a 503 whose message says which of the usual
    /// failures it is; the cause (for the log) names the SQLSTATE only, never a value.
    static func map(_ error: any Error, what: String) -> ServerError {
        if let refusal = error as? ServerError { return refusal }
        if let core = error as? SyncCoreError {
            if case .conflictingDuplicate(let dot) = core {
                return .conflict(
                    "dot_reused",
                    "\(what): change \(dot) differs from the change the server holds under that dot; a replica never reuses a counter (was this replica restored from a backup?)"
                )
            }
            return .badRequest("invalid", "\(what): \(core.description)")
        }
        guard let failure = error as? PSQLError else {
            // The pool's own errors (it could not connect for a while) and TLS failures.
            return .unavailable(
                "\(what): the server's database is unreachable; try again later", cause: String(describing: type(of: error)))
        }
        let state = failure.serverInfo?[.sqlState]
        let why: String
        switch (failure.code, state) {
        case (.sslUnsupported, _): why = "the database server does not offer TLS, and the URL requires it (sslmode=require)"
        case (.server, "53100"?): why = "the server's database disk is full"
        case (.server, "25006"?): why = "the server's database is read-only"
        case (.server, let state?) where state.hasPrefix("28"): why = "the server's database refused the user or password of its URL"
        case (.server, "3D000"?): why = "the server's database does not exist (create it first: README, Operations on PostgreSQL)"
        case (.server, let state?) where state.hasPrefix("57P") || state.hasPrefix("08"):
            why = "the server's database is shutting down or unreachable"
        case (.server, _): why = "the server's database failed"
        default: why = "the server's database is unreachable"
        }
        return .unavailable("\(what): \(why); try again later", cause: "postgres \(failure.code)\(state.map { " SQLSTATE \($0)" } ?? "")")
    }
}

extension PostgresRowSequence {
    /// The first column of the first row, or nil with no row (the rest is consumed).
    func collectOne<T: PostgresDecodable & Sendable>(_ type: T.Type) async throws -> T? {
        var found: T?
        for try await value in self.decode(T.self) where found == nil { found = value }
        return found
    }
}
