import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SyncCore
public import SyncProtocol

/// Why talking to the server failed. Messages say what failed, why, and what to do;
/// they never contain residents' data or the credential.
public enum SyncClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server could not be reached or did not answer in time (worth retrying).
    case unreachable(server: String, reason: String)
    /// The server failed on its side (5xx; worth retrying).
    case serverFailed(status: Int, message: String)
    /// The server refused the credential (wrong or revoked) or the enrolment token.
    case refusedCredential(code: String, message: String)
    /// The server does not speak this client's protocol version.
    case protocolTooOld(message: String)
    /// The server refused the request (4xx other than the above).
    case refused(status: Int, code: String, message: String, holds: UInt64?)
    /// The server refused changes to records outside this office's jurisdiction; it now
    /// holds (or has refused) every own counter up to `holds`.
    case outOfScope(message: String, refused: [RefusedChangeV1], holds: UInt64?)
    /// The server's answer could not be read.
    case invalidResponse(String)
    /// The server's URL is not usable.
    case invalidServer(String)
    /// The TLS connection failed: an untrusted or invalid certificate, a CA file that is not PEM.
    case tls(server: String, reason: String)

    public var description: String {
        switch self {
        case .unreachable(let server, let reason): "cannot reach the server: \(reason) (\(server))"
        case .serverFailed(let status, let message): "the server failed (HTTP \(status)): \(message)"
        case .refusedCredential(_, let message): "the server refused this replica: \(message)"
        case .protocolTooOld(let message): "the server does not speak this version of rain: \(message)"
        case .refused(let status, _, let message, _): "the server refused the request (HTTP \(status)): \(message)"
        case .outOfScope(let message, _, _): "the server refused changes outside this office's jurisdiction: \(message)"
        case .invalidResponse(let what): "cannot read the server's answer: \(what)"
        case .invalidServer(let what): "invalid server address: \(what)"
        case .tls(let server, let reason): "cannot connect securely to the server: \(reason) (\(server))"
        }
    }

    /// Whether trying again later may succeed.
    public var isTransient: Bool {
        switch self {
        case .unreachable, .serverFailed: true
        case .refused(let status, _, _, _): status == 408 || status == 429
        default: false
        }
    }
}

/// The HTTP side of sync (`Protocol/PROTOCOL.md` §9) through AsyncHTTPClient: every
/// request carries `Rain-Protocol: 1` and, after enrolment, the replica credential;
/// every request has a deadline. Call ``shutdown()`` when done.
public struct HTTPTransport: Sendable {
    /// The server's base URL, without a trailing slash.
    public let server: String
    private(set) var credential: String?
    let timeout: TimeAmount
    let client: HTTPClient

    /// - Parameters:
    ///   - caCertificates: PEM certificates to trust for https (a district's own CA);
    ///     nil trusts the system's roots.
    ///   - insecure: allow plain http to a host that is not this machine.
    /// - Throws: ``SyncClientError/invalidServer(_:)`` unless `server` is an http(s) URL
    ///   (plain http only to a loopback host, unless `insecure`); ``SyncClientError/tls(server:reason:)``
    ///   when `caCertificates` holds no PEM certificate.
    public init(
        server: String, credential: String?, timeoutSeconds: Int64 = 60, caCertificates: String? = nil, insecure: Bool = false
    ) throws(SyncClientError) {
        self.server = try Self.validate(server: server, insecure: insecure)
        self.credential = credential
        timeout = .seconds(timeoutSeconds)
        var configuration = HTTPClient.Configuration()
        // A refused or unreachable server fails the request at once: the sync session
        // owns retries and their bounds (AsyncHTTPClient would otherwise retry the
        // connection silently until the request's deadline).
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(timeoutSeconds))
        configuration.redirectConfiguration = .disallow
        if let caCertificates {
            // Certificates are verified (chain and host name) against these roots only.
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                let roots = try NIOSSLCertificate.fromPEMBytes(Array(caCertificates.utf8))
                guard !roots.isEmpty else { throw SyncClientError.tls(server: self.server, reason: "the CA file holds no certificate") }
                tls.trustRoots = .certificates(roots)
            } catch {
                throw .tls(server: self.server, reason: "the CA file is not a PEM certificate")
            }
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The server's base URL as requests use it.
    ///
    /// - Throws: ``SyncClientError/invalidServer(_:)`` unless `server` is an http(s) URL.
    @discardableResult
    public static func validate(server: String, insecure: Bool = false) throws(SyncClientError) -> String {
        let trimmed = server.hasSuffix("/") ? String(server.dropLast()) : server
        guard let url = URL(string: trimmed), let scheme = url.scheme, ["http", "https"].contains(scheme), let host = url.host,
            url.query == nil, url.fragment == nil
        else {
            throw .invalidServer("expected http://HOST:PORT or https://HOST, e.g. http://127.0.0.1:8080")
        }
        // Credentials and residents' data never cross a network in clear text.
        if scheme == "http", !insecure, !isLoopback(host) {
            throw .invalidServer(
                "refusing plain http to \(host), which is not this machine: use https://, or --insecure on a network you trust")
        }
        return trimmed
    }

    /// `localhost`, 127.0.0.0/8 or ::1.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Closes the connections.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Exchanges an enrolment token for a credential.
    public func enrol(_ request: EnrolRequestV1) async throws(SyncClientError) -> EnrolResponseV1 {
        let (_, body) = try await send("POST", "/enrol", body: request.encode())
        do {
            return try EnrolResponseV1.decode(body)
        } catch {
            throw .invalidResponse(error.message)
        }
    }

    /// The same connection to the server, authenticating with `credential`.
    public func with(credential: String) -> HTTPTransport {
        var copy = self
        copy.credential = credential
        return copy
    }

    /// Asks the server to re-issue this restored replica under `request.replica`
    /// (`Protocol/PROTOCOL.md` §9.8).
    public func reissue(_ request: ReissueRequestV1) async throws(SyncClientError) -> ReissueResponseV1 {
        let (_, body) = try await send("POST", "/reissue", body: request.encode())
        do {
            return try ReissueResponseV1.decode(body)
        } catch {
            throw .invalidResponse(error.message)
        }
    }

    /// Asks for a new credential; the one in use stays valid until the new one is used.
    public func rekey() async throws(SyncClientError) -> RekeyResponseV1 {
        let (_, body) = try await send("POST", "/rekey", body: nil)
        do {
            return try RekeyResponseV1.decode(body)
        } catch {
            throw .invalidResponse(error.message)
        }
    }

    /// Pushes a batch already in its canonical encoding; returns the answer and the bytes sent.
    public func push(_ batch: [UInt8]) async throws(SyncClientError) -> PushResponseV1 {
        let (_, body) = try await send("POST", "/changes", body: batch)
        do {
            return try PushResponseV1.decode(body)
        } catch {
            throw .invalidResponse(error.message)
        }
    }

    /// Pulls one page; returns it and its size in bytes.
    public func pull(after: String, limit: Int, maximumBytes: Int) async throws(SyncClientError) -> (page: PullResponseV1, bytes: Int) {
        var path = "/changes?limit=\(limit)&max_bytes=\(maximumBytes)"
        if !after.isEmpty {
            path += "&after=" + (after.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")
        }
        let (_, body) = try await send("GET", path, body: nil)
        do {
            return (try PullResponseV1.decode(body), body.count)
        } catch {
            throw .invalidResponse(error.message)
        }
    }

    /// Posts `body` (JSON) to a route a record kind adds for offices (`/payment-batches`),
    /// with the replica's credential; returns the answer's body. Errors as for sync.
    public func post(_ path: String, json body: [UInt8]) async throws(SyncClientError) -> [UInt8] {
        try await send("POST", path, body: body).1
    }

    func send(_ method: String, _ path: String, body: [UInt8]?) async throws(SyncClientError) -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: server + path)
        request.method = method == "POST" ? .POST : .GET
        request.headers.add(name: TransportV1.versionHeader, value: "1")
        request.headers.add(name: "Accept", value: "application/json")
        if let credential { request.headers.add(name: "Authorization", value: "Bearer " + credential) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await client.execute(request, timeout: timeout)
            status = Int(response.status.code)
            // Pages are bounded by the server (4 MiB of changes); anything far larger is not ours.
            var buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
            bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            if Self.isTLSFailure(error) { throw .tls(server: server, reason: Self.describeTLS(error)) }
            throw .unreachable(server: server, reason: Self.describe(error))
        }
        if (200..<300).contains(status) { return (status, bytes) }
        let error = ErrorBodyV1.decode(bytes)
        let code = error?.code ?? "http_\(status)"
        let message = error?.message ?? "HTTP \(status) without an error body"
        switch status {
        case 401: throw .refusedCredential(code: code, message: message)
        case 426: throw .protocolTooOld(message: message)
        case 403 where code == "out_of_scope":
            throw .outOfScope(message: message, refused: error?.refused ?? [], holds: error?.holds)
        case 500...: throw .serverFailed(status: status, message: message)
        default: throw .refused(status: status, code: code, message: message, holds: error?.holds)
        }
    }

    static func isTLSFailure(_ error: any Error) -> Bool {
        error is NIOSSLError || String(reflecting: type(of: error)).contains("NIOSSL") || String(describing: error).contains("handshake")
    }

    static func describeTLS(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("certificate") || text.contains("CERTIFICATE") || text.contains("verify") {
            return "the server's certificate is not trusted (give its CA with --ca-file when enrolling) or does not name this host"
        }
        return "the TLS handshake failed (is the server speaking https?)"
    }

    /// A short reason for a network failure.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "the connection timed out"
            case .deadlineExceeded: return "no answer in time"
            case .readTimeout: return "the answer stopped arriving"
            case .remoteConnectionClosed: return "the connection was closed"
            default: return "network error (\(error.shortDescription))"
            }
        }
        let text = String(describing: error)
        if text.contains("refused") || text.contains("ECONNREFUSED") { return "connection refused (is rain-server running?)" }
        if text.contains("reset") { return "the connection was reset" }
        if text.contains("NXDOMAIN") || text.contains("resolve") || text.contains("dns") { return "the server's name does not resolve" }
        return "network error (\(String(describing: type(of: error))))"
    }
}

extension HTTPClientError {
    var shortDescription: String {
        String(String(describing: self).prefix(80))
    }
}

extension CharacterSet {
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()
}
