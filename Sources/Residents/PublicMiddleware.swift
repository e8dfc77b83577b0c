import CaseDomain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SyncServer

#if canImport(Glibc)
    import Glibc
#endif

/// The rate limits of every public route, per peer address.
final class PublicLimits: Sendable {
    let reads: RateLimiter
    let writes: RateLimiter

    init(_ settings: ResidentSettings) {
        reads = RateLimiter(perMinute: settings.readsPerMinute)
        writes = RateLimiter(perMinute: settings.writesPerMinute)
    }
}

/// In front of every public route: the per-address rate limits (429 with `Retry-After`),
/// errors in the route's own form (GeoReport JSON or a page), headers that forbid caching,
/// sniffing and framing (and no CORS header: no other site's page may call these routes),
/// and one log line per request — method, path, status, time — never a query or a body, so
/// never a phone, a name or a phone tail.
struct PublicMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext

    enum ErrorForm: Sendable {
        case open311
        case page
    }

    let limits: PublicLimits
    let form: ErrorForm

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            let peer = Self.bucket(of: context.remoteAddress?.ipAddress ?? "unknown")
            let now = Open311Routes.now()
            if let wait = limits.reads.take(peer, now: now) ?? (request.method == .post ? limits.writes.take(peer, now: now) : nil) {
                throw ResidentError(
                    429, zh: "请求过于频繁，请 \(wait) 秒后再试", en: "too many requests from this address; try again in \(wait) seconds",
                    retryAfter: wait)
            }
            response = try await next(request, context)
        } catch {
            response = render(error, request: request, context: context)
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        let elapsed = ContinuousClock.now - started
        context.logger.info(
            "public request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(Self.printablePath(request.uri.path)),
                "status": .stringConvertible(response.status.code),
                "ms": .string(
                    String(Double(elapsed.components.attoseconds / 100_000_000_000_000) / 10 + Double(elapsed.components.seconds) * 1000)),
            ])
        return response
    }

    func render(_ error: any Error, request: Request, context: Context) -> Response {
        let refusal: ResidentError
        switch error {
        case let error as ResidentError: refusal = error
        case let error as ServerError where error.status < 500:
            refusal = ResidentError(error.status, zh: "请求未能受理", en: error.message)
        case let error as ServerError:
            context.logger.error("storage failed", metadata: ["error": .string(error.message), "cause": .string(error.cause ?? "unknown")])
            refusal = ResidentError(503, zh: "系统繁忙，请稍后再试", en: "the service is unavailable; try again later", retryAfter: 5)
        case let error as HTTPError:
            let status = Int(error.status.code)
            refusal = ResidentError(
                status, zh: status == 404 ? "没有这个地址" : "请求有误", en: status == 404 ? "no such resource (path)" : error.status.reasonPhrase)
        default:
            context.logger.error("unexpected error", metadata: ["type": .string(String(describing: type(of: error)))])
            refusal = ResidentError(500, zh: "系统出错", en: "internal error: see the server log")
        }
        var response: Response
        switch form {
        case .open311: response = Self.open311Error(refusal, language: Open311Routes.language(request))
        case .page:
            response = MobilePage.errorPage(refusal, language: MobilePage.language(request))
        }
        if let retryAfter = refusal.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// GeoReport's error form: `[{"code": 400, "description": "…"}]`.
    static func open311Error(_ error: ResidentError, language: Language) -> Response {
        var json = JSONOut()
        json.beginArray()
        json.beginObject()
        json.field("code", error.status)
        json.field("description", error.message(language))
        json.endObject()
        json.endArray()
        var response = Open311Routes.json(error.status, json.bytes)
        if let retryAfter = error.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// A form body (`application/x-www-form-urlencoded`), at most the public body limit.
    static func form(_ request: Request, known: Set<String>, ignored: Set<String>, settings: ResidentSettings) async throws -> Form {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw ResidentError(
                415, zh: "表单格式不对", en: "the body must be application/x-www-form-urlencoded (Content-Type)")
        }
        var buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: settings.maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            throw ResidentError(413, zh: "提交的内容太长", en: "request body too large: the limit is \(settings.maximumBodyBytes) bytes (body)")
        }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ResidentError.invalid(zh: "表单编码有误", en: "the form is not valid UTF-8")
        }
        return try Form(text, known: known, ignored: ignored)
    }

    /// The rate limits' key of a peer: its IPv4 address, or its IPv6 /64 (one subscriber's
    /// network hands out any number of addresses in it).
    static func bucket(of address: String) -> String {
        guard address.contains(":") else { return address }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1 else { return address }
        return bytes.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "::/64"
    }

    static func printablePath(_ path: String) -> String {
        String(path.utf8.prefix(80).map { $0 >= 0x21 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "?" })
    }
}
