import Dispatch
import HTTPTypes
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
import ReplicaStore
import SyncCore
public import SyncProtocol

/// How the server listens and what it accepts.
public struct ServerSettings: Sendable {
    public var host: String
    /// 0 picks a free port (reported through `onRunning`).
    public var port: Int
    /// Request bodies above this get 413 (`Protocol/PROTOCOL.md` §9.1).
    public var maximumBodyBytes: Int
    /// PEM files of the certificate chain and its private key: HTTPS instead of HTTP.
    public var tls: (certificate: String, key: String)?
    /// A request's head must arrive within this (from the connection's start or the
    /// previous response), its body within ``bodyTimeout`` of its head; a connection with
    /// no traffic for ``idleTimeout`` is closed. Connections that never finish a request
    /// hold nothing for long.
    public var headTimeout: Duration = .seconds(10)
    public var bodyTimeout: Duration = .seconds(60)
    public var idleTimeout: Duration = .seconds(30)

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maximumBodyBytes: Int = TransportV1.defaultMaximumBodyBytes,
        tls: (certificate: String, key: String)? = nil
    ) {
        self.host = host
        self.port = port
        self.maximumBodyBytes = maximumBodyBytes
        self.tls = tls
    }

    /// The TLS configuration of ``tls``.
    ///
    /// - Throws: ``ServerError`` naming the file that cannot be read.
    func tlsConfiguration() throws(ServerError) -> TLSConfiguration? {
        guard let tls else { return nil }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificate)
        } catch {
            throw ServerError(
                status: 400, code: "invalid", message: "cannot read the TLS certificate: not a PEM certificate chain (\(tls.certificate))")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
        } catch {
            throw ServerError.badRequest("invalid", "cannot read the TLS key: not a PEM private key (\(tls.key))")
        }
        guard !chain.isEmpty else {
            throw ServerError(
                status: 400, code: "invalid", message: "cannot read the TLS certificate: no certificate in the file (\(tls.certificate))")
        }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }
}

/// Routes served beside the sync protocol's (the residents' API and page): they need no
/// credential and no `Rain-Protocol` header, and answer errors in their own form.
public struct PublicSurface: Sendable {
    /// Adds the routes (with their own middleware).
    public var add: @Sendable (Router<ServerRequestContext>) -> Void
    /// The methods a path takes, when it is one of the surface's (nil otherwise).
    public var methods: @Sendable (String) -> [String]?
    /// An error answer in the surface's form: status, message, the request's path.
    public var render: @Sendable (Int, String, String) -> Response

    public init(
        add: @escaping @Sendable (Router<ServerRequestContext>) -> Void, methods: @escaping @Sendable (String) -> [String]?,
        render: @escaping @Sendable (Int, String, String) -> Response
    ) {
        self.add = add
        self.methods = methods
        self.render = render
    }
}

extension PublicSurface {
    /// Several surfaces served together (the residents' routes and the dashboard): each
    /// path belongs to the first surface that names it, and errors are answered in its form.
    public static func combining(_ surfaces: [PublicSurface]) -> PublicSurface {
        PublicSurface(
            add: { router in for surface in surfaces { surface.add(router) } },
            methods: { path in surfaces.lazy.compactMap { $0.methods(path) }.first },
            render: { status, message, path in
                let owner = surfaces.first { $0.methods(path) != nil } ?? surfaces[0]
                return owner.render(status, message, path)
            })
    }
}

/// Routes a record kind adds for enrolled offices (policy direct's payment batches): they
/// pass through the sync middleware, and their handlers authenticate the caller as
/// `/changes` does. The sync server names no kind: a kind's module brings its own.
public struct OfficeRoutes: Sendable {
    /// The methods each path takes (for 405 answers).
    public var methods: [String: [String]]
    /// Adds the routes.
    public var add: @Sendable (Router<ServerRequestContext>, OfficeRequests) -> Void

    public init(methods: [String: [String]], add: @escaping @Sendable (Router<ServerRequestContext>, OfficeRequests) -> Void) {
        self.methods = methods
        self.add = add
    }
}

/// What an office route's handler works with: the storage, the caller's identity and the
/// request's body within the server's limit.
public struct OfficeRequests: Sendable {
    let handlers: SyncHandlers

    public var storage: any CentralStorage { handlers.storage }

    /// The enrolled replica making the request (401 without a valid credential).
    public func caller(_ request: Request) async throws(ServerError) -> Caller {
        try await handlers.authenticate(request)
    }

    /// The body, refused with 413 over the server's limit.
    public func body(_ request: Request) async throws -> [UInt8] {
        try await handlers.collect(request)
    }
}

/// The router of every endpoint of `Protocol/openapi.yaml`.
///
/// `surface`'s routes come before the sync middleware, so they do not pass through it;
/// a request to one of its paths with another method is answered 405 in its form.
/// `officeRoutes` come after it, beside the sync routes.
public func makeSyncRouter(
    storage: any CentralStorage, settings: ServerSettings, surface: PublicSurface? = nil, officeRoutes: [OfficeRoutes] = []
)
    -> Router<ServerRequestContext>
{
    let router = Router(context: ServerRequestContext.self)
    surface?.add(router)
    // Middleware first: Hummingbird wraps each route with the middleware added before it.
    router.add(middleware: SyncMiddleware(surface: surface, officeRoutes: officeRoutes))
    let handlers = SyncHandlers(storage: storage, maximumBodyBytes: settings.maximumBodyBytes)
    router.get("/healthz") { _, _ in try await handlers.health() }
    router.post("/enrol") { request, context in try await handlers.enrol(request, context: context) }
    router.post("/rekey") { request, context in try await handlers.rekey(request, context: context) }
    router.post("/reissue") { request, context in try await handlers.reissue(request, context: context) }
    router.post("/changes") { request, context in try await handlers.push(request, context: context) }
    router.get("/changes") { request, context in try await handlers.pull(request, context: context) }
    for routes in officeRoutes { routes.add(router, OfficeRequests(handlers: handlers)) }
    return router
}

/// The routes a router serves, as `(method, path)` (a test checks that the OpenAPI
/// document describes each).
public func registeredRoutes(_ router: Router<ServerRequestContext>) -> [(method: String, path: String)] {
    router.routes.map { (method: $0.method.rawValue, path: $0.path.description) }
}

/// Builds the server application over `storage`: HTTPS when ``ServerSettings/tls`` is set.
///
/// - Parameter onRunning: called with the bound port once the server listens.
/// - Throws: ``ServerError`` when the TLS files cannot be read.
public func makeSyncApplication(
    storage: any CentralStorage,
    settings: ServerSettings,
    logger: Logger,
    surface: PublicSurface? = nil,
    officeRoutes: [OfficeRoutes] = [],
    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws(ServerError) -> some ApplicationProtocol {
    let server: HTTPServerBuilder
    let head = TimeAmount(settings.headTimeout)
    let body = TimeAmount(settings.bodyTimeout)
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [RequestDeadline(head: head, body: body)], idleTimeout: TimeAmount(settings.idleTimeout))
    if let tls = try settings.tlsConfiguration() {
        do {
            server = try .tls(.http1(configuration: http1), tlsConfiguration: tls)
        } catch {
            throw ServerError.badRequest("invalid", "cannot use the TLS certificate and key: \(error)")
        }
    } else {
        server = .http1(configuration: http1)
    }
    return Application(
        router: makeSyncRouter(storage: storage, settings: settings, surface: surface, officeRoutes: officeRoutes),
        server: server,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "rain-server"),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? settings.port) },
        logger: logger
    )
}

/// The request handlers; storage work runs off the server's event loops.
struct SyncHandlers: Sendable {
    let storage: any CentralStorage
    let maximumBodyBytes: Int

    func health() async throws -> Response {
        try await storage.checkHealth()
        return json(200, Array("{\"status\":\"ok\"}".utf8))
    }

    func enrol(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let body = try await collect(request)
        let enrolment: EnrolRequestV1
        do {
            enrolment = try EnrolRequestV1.decode(body)
        } catch {
            throw ServerError(protocolError: error, what: "cannot enrol")
        }
        let now = ReplicaStore.nowMillis()
        let response = try await storage.enrol(enrolment, now: now)
        context.logger.info("enrolled", metadata: ["replica": .string(response.replica.rawValue), "office": .string(response.office)])
        return json(200, response.encode())
    }

    func rekey(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let caller = try await authenticate(request)
        let now = ReplicaStore.nowMillis()
        let credential = try await storage.rekey(caller, now: now)
        context.logger.info("rekeyed", metadata: ["replica": .string(caller.replica.rawValue)])
        return json(200, RekeyResponseV1(credential: credential).encode())
    }

    func reissue(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let caller = try await authenticate(request, superseded: true)
        let body = try await collect(request)
        let reissue: ReissueRequestV1
        do {
            reissue = try ReissueRequestV1.decode(body)
        } catch {
            throw ServerError(protocolError: error, what: "cannot re-issue the replica")
        }
        let now = ReplicaStore.nowMillis()
        let response = try await storage.reissue(reissue, from: caller, now: now)
        context.logger.notice(
            "reissued",
            metadata: [
                "replica": .string(caller.replica.rawValue), "successor": .string(response.replica.rawValue),
                "same": .stringConvertible(response.same), "holds": .stringConvertible(response.holds),
            ])
        return json(200, response.encode())
    }

    func push(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let caller = try await authenticate(request)
        let body = try await collect(request)
        let changes: [Change]
        do {
            changes = try ChangeBatchV1.decode(body)
        } catch {
            throw ServerError(protocolError: error, what: "cannot accept the changes")
        }
        // Canonical bodies are made here, on the request's task (requests run in
        // parallel), so that the one writer's transaction only writes them.
        let bodies = changes.map(ChangeV1.encode)
        let now = ReplicaStore.nowMillis()
        let response = try await storage.push(changes, bodies: bodies, from: caller, now: now)
        Failpoint.hit("server-after-commit")
        context.logger.info(
            "push",
            metadata: [
                "replica": .string(caller.replica.rawValue), "accepted": .stringConvertible(response.accepted),
                "duplicates": .stringConvertible(response.duplicates), "bytes": .stringConvertible(body.count),
            ])
        return json(200, response.encode())
    }

    func pull(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let caller = try await authenticate(request)
        let query = request.uri.queryParameters
        for (key, _) in query where !["after", "limit", "max_bytes"].contains(String(key)) {
            throw ServerError.badRequest("invalid", "cannot pull: unknown query parameter (\(Self.printable(String(key))))")
        }
        let after = query.get("after") ?? ""
        if after.utf8.count > TransportV1.maximumSecretBytes {
            throw ServerError.badRequest("invalid_cursor", "cannot pull: the position is not one this server issued (after)")
        }
        let limit = try Self.bounded(
            query.get("limit"), name: "limit", default: TransportV1.defaultPageChanges, maximum: TransportV1.maximumPageChanges)
        let bytes = try Self.bounded(
            query.get("max_bytes"), name: "max_bytes", default: TransportV1.defaultPageBytes, maximum: TransportV1.maximumPageBytes)
        let now = ReplicaStore.nowMillis()
        let page = try await storage.pull(for: caller, after: after, limit: limit, maximumBytes: bytes, now: now)
        context.logger.info(
            "pull", metadata: ["replica": .string(caller.replica.rawValue), "changes": .stringConvertible(page.bodies.count)])
        return json(200, page.encode())
    }

    static func bounded(_ text: String?, name: String, default value: Int, maximum: Int) throws(ServerError) -> Int {
        guard let text else { return value }
        guard let number = Int(text), number >= 1, number <= maximum else {
            throw .badRequest("invalid", "cannot pull: \(name) must be an integer from 1 to \(maximum) (\(name))")
        }
        return number
    }

    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(40).map { $0.properties.isAlphabetic || $0.properties.numericType != nil ? Character($0) : "?" })
    }

    /// The caller; a replica re-issued under a fresh id (§9.8) may only ask for the
    /// re-issue again (`superseded`), everything else is 409 `replica_superseded`.
    func authenticate(_ request: Request, superseded: Bool = false) async throws(ServerError) -> Caller {
        var credential: String?
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer "), header.utf8.count <= 300 else {
                throw .unauthenticated("unauthenticated: the Authorization header must be `Bearer <credential>` (Authorization)")
            }
            credential = String(header.dropFirst("Bearer ".count))
        }
        let now = ReplicaStore.nowMillis()
        let caller = try await storage.authenticate(credential: credential, now: now)
        if let successor = caller.supersededBy, !superseded {
            throw ServerError.conflict(
                "replica_superseded",
                "refused: this replica was re-issued as \(successor) after a restore; finish the recovery with `rain sync` (Authorization)")
        }
        return caller
    }

    func collect(_ request: Request) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: maximumBodyBytes)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw ServerError(
                status: 413, code: "too_large", message: "request body too large: the limit is \(maximumBodyBytes) bytes (body)")
        }
    }
}

/// Runs storage work on a dispatch queue: SQLite blocks, and the server's cooperative
/// threads (two on a two-core machine) must keep answering other requests.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws(ServerError) -> T) async throws(ServerError) -> T {
    let result: Result<T, ServerError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(returning: Result { () throws(ServerError) -> T in try body() })
        }
    }
    return try result.get()
}

func json(_ status: Int, _ bytes: [UInt8]) -> Response {
    Response(
        status: .init(code: status),
        headers: [.contentType: "application/json", .cacheControl: "no-store"],
        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

extension ServerError {
    init(protocolError error: ProtocolError, what: String) {
        switch error {
        case .tooLarge: self.init(status: 413, code: error.code, message: "\(what): \(error.message)")
        case .unsupportedVersion: self.init(status: 426, code: "unsupported_protocol", message: "\(what): \(error.message)")
        default: self.init(status: 400, code: error.code, message: "\(what): \(error.message)")
        }
    }
}

/// Checks the protocol header, turns every error into `{"error":{…}}` with its status,
/// and logs one line per request (method, path without its query, status, duration,
/// request id) — never a body, so never a resident's data.
struct SyncMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext

    static let versionHeader = HTTPField.Name(TransportV1.versionHeader)!

    let surface: PublicSurface?
    /// The methods of each path: the sync routes' and the office routes'.
    let methods: [String: [String]]

    init(surface: PublicSurface? = nil, officeRoutes: [OfficeRoutes] = []) {
        self.surface = surface
        var methods = Self.allowedMethods
        for routes in officeRoutes { methods.merge(routes.methods) { first, _ in first } }
        self.methods = methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            let named = request.headers[Self.versionHeader]
            let supported = TransportV1.supportedVersions.map(String.init).joined(separator: ", ")
            if surface?.methods(request.uri.path) != nil {
                // A public path reached here only with a method it does not take.
                response = try await next(request, context)
            } else if request.uri.path != "/healthz", named == nil || named?.isEmpty == true {
                // A request that names no version is malformed (400); one naming a version
                // this server does not serve gets 426 (§9.1).
                response = json(
                    400,
                    ErrorBodyV1(
                        code: "protocol_missing",
                        message: "missing protocol version: send `Rain-Protocol: \(supported)` (Rain-Protocol)"
                    ).encode())
            } else if request.uri.path != "/healthz", !TransportV1.accepts(named) {
                var refused = json(
                    426,
                    ErrorBodyV1(
                        code: "unsupported_protocol",
                        message:
                            "unsupported protocol: this server speaks version \(supported); send `Rain-Protocol: \(supported)` (upgrade rain) (Rain-Protocol)"
                    ).encode())
                refused.headers[.upgrade] = "Rain-Protocol/\(supported)"
                response = refused
            } else {
                response = try await next(request, context)
            }
        } catch {
            response = render(error, request: request, context: context)
        }
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(Self.printablePath(request.uri.path)),
                "status": .stringConvertible(response.status.code), "ms": .string(formatMilliseconds(milliseconds)),
            ])
        return response
    }

    /// The methods of each path (`Protocol/openapi.yaml`), for 405 answers.
    static let allowedMethods: [String: [String]] = [
        "/healthz": ["GET"], "/enrol": ["POST"], "/rekey": ["POST"], "/reissue": ["POST"], "/changes": ["GET", "POST"],
    ]

    func render(_ error: any Error, request: Request, context: Context) -> Response {
        switch error {
        case let error as ServerError:
            if error.status >= 500 {
                context.logger.error(
                    "storage failed", metadata: ["error": .string(error.message), "cause": .string(error.cause ?? "unknown")])
            }
            let refused = error.refused.map { RefusedChangeV1(table: $0.table, record: $0.record, counter: $0.counter) }
            return json(error.status, ErrorBodyV1(code: error.code, message: error.message, holds: error.holds, refused: refused).encode())
        case is NIOTooManyBytesError:
            return json(413, ErrorBodyV1(code: "too_large", message: "request body too large (body)").encode())
        case let error as HTTPError where error.status == .notFound && surface?.methods(request.uri.path) != nil:
            let allowed = surface?.methods(request.uri.path) ?? []
            var response =
                surface?.render(405, "method not allowed: use \(allowed.joined(separator: " or ")) (method)", request.uri.path)
                ?? json(405, [])
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        case let error as HTTPError:
            // A known path with another method: 405 and the methods it takes.
            if error.status == .notFound, let allowed = methods[request.uri.path] {
                var response = json(
                    405,
                    ErrorBodyV1(
                        code: "method_not_allowed", message: "method not allowed: use \(allowed.joined(separator: " or ")) (method)"
                    ).encode())
                response.headers[.allow] = allowed.joined(separator: ", ")
                return response
            }
            let status = Int(error.status.code)
            let code = status == 404 ? "not_found" : status == 405 ? "method_not_allowed" : "http_\(status)"
            let message = status == 404 ? "no such endpoint (path)" : (error.body ?? error.status.reasonPhrase)
            return json(status, ErrorBodyV1(code: code, message: message).encode())
        default:
            // Never a resident's data: the type only.
            context.logger.error("unexpected error", metadata: ["type": .string(String(describing: type(of: error)))])
            return json(500, ErrorBodyV1(code: "internal", message: "internal error: see the server log").encode())
        }
    }

    /// The path as logged: ids and ASCII only, bounded.
    static func printablePath(_ path: String) -> String {
        String(path.utf8.prefix(80).map { $0 >= 0x21 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "?" })
    }
}

private func formatMilliseconds(_ milliseconds: Double) -> String {
    let tenths = Int((milliseconds * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
