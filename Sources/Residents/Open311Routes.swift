import CaseDomain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SuggestionDomain
import SyncServer

/// The Open311 GeoReport v2 API (`Protocol/openapi.yaml`, "residents"), JSON only, under
/// `/open311/v2/`: services, submitting a request, following requests, and two extensions
/// (rating an answer, adding a message). Errors are GeoReport's `[{"code", "description"}]`.
struct Open311Routes: Sendable {
    let requests: CaseRequests
    let settings: ResidentSettings
    static let base = "/open311/v2"
    static let readFields: Set<String> = ["service_request_id", "jurisdiction_id", "phone_tail", "lang"]
    static let submitFields: Set<String> = [
        "jurisdiction_id", "service_code", "description", "address_string", "lat", "long", "first_name", "last_name", "phone", "email",
    ]
    /// GeoReport fields a client library may send that this server does not use.
    static let ignoredFields: Set<String> = ["api_key", "address_id", "device_id", "account_id", "media_url", "attribute"]
    /// GeoReport's filters of a listing: ignored when requests are named by id, as the
    /// specification says.
    static let ignoredReads = ignoredFields.union(["status", "service_code", "start_date", "end_date"])

    func add(to router: Router<ServerRequestContext>, limits: PublicLimits) {
        let group = router.group(RouterPath(Self.base)).add(middleware: PublicMiddleware(limits: limits, form: .open311))
        group.get("discovery.json") { request, _ in self.discovery(request) }
        group.get("services.json") { request, _ in try self.services(request) }
        group.post("requests.json") { request, _ in try await self.submit(request) }
        group.get("requests.json") { request, _ in try await self.list(request) }
        group.get("requests/:id") { request, context in try await self.one(request, context) }
        group.post("requests/:id/rating.json") { request, context in try await self.rate(request, context) }
        group.post("requests/:id/messages.json") { request, context in try await self.message(request, context) }
    }

    func discovery(_ request: Request) -> Response {
        var json = JSONOut()
        json.beginObject()
        json.field("changeset", "2026-12-06T00:00:00+08:00")
        json.field("contact", "rain-server")
        json.field("key_service", "no key is needed")
        json.open("endpoints")
        json.beginArray()
        json.beginObject()
        json.field("specification", "http://wiki.open311.org/GeoReport_v2")
        // Absolute, as the specification shows it: the address the client used.
        let host = request.head.authority.map { Form.printable($0, allowing: ".:-[]") } ?? "127.0.0.1"
        json.field("url", (request.uri.scheme?.rawValue ?? "http") + "://" + host + Self.base)
        json.field("type", "production")
        json.open("formats")
        json.beginArray()
        json.writeString("application/json")
        json.endArray()
        json.close()
        json.endObject()
        json.endArray()
        json.close()
        json.endObject()
        return Self.json(200, json.bytes)
    }

    /// The read parameters every GET takes, checked as the document states them.
    static func checkReads(_ form: Form) throws {
        if let jurisdiction = form["jurisdiction_id"], jurisdiction.unicodeScalars.count > 100 {
            throw ResidentError.invalid(zh: "社区代码太长（jurisdiction_id）", en: "jurisdiction_id is too long (at most 100 characters)")
        }
        if let ids = form["service_request_id"], ids.unicodeScalars.count > 2000 {
            throw ResidentError.invalid(zh: "受理编号太长", en: "service_request_id is too long (at most 2,000 characters)")
        }
        if let tail = form["phone_tail"], tail.count != 4 || !tail.allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw ResidentError.invalid(zh: "请填写手机号后四位（phone_tail）", en: "phone_tail must be the last four digits of the phone")
        }
        if let ids = form["service_request_id"], ids.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ResidentError.invalid(zh: "请填写受理编号", en: "service_request_id is empty: name one to fifty requests")
        }
        if let lang = form["lang"], lang != "zh", lang != "en" {
            throw ResidentError.invalid(zh: "语言只能是 zh 或 en（lang）", en: "lang must be zh or en")
        }
    }

    func services(_ request: Request) throws -> Response {
        try Self.checkReads(try Form(request.uri.query ?? "", known: ["jurisdiction_id", "lang"], ignored: Self.ignoredFields))
        let language = Self.language(request)
        var json = JSONOut()
        json.beginArray()
        for service in CaseRequests.services {
            json.beginObject()
            json.field("service_code", service.code)
            json.field("service_name", service.name(language))
            json.field("description", service.name(language))
            json.field("metadata", false)
            json.field("type", "realtime")
            json.field("keywords", service.category)
            json.field("group", service.kind.rawValue)
            json.endObject()
        }
        json.endArray()
        return Self.json(200, json.bytes)
    }

    func submit(_ request: Request) async throws -> Response {
        let form = try await PublicMiddleware.form(request, known: Self.submitFields, ignored: Self.ignoredFields, settings: settings)
        var submission = CaseRequests.Submission()
        submission.community = form["jurisdiction_id"]
        submission.serviceCode = form["service_code"]
        submission.description = form["description"]
        submission.address = form["address_string"]
        submission.latitude = form["lat"]
        submission.longitude = form["long"]
        submission.firstName = form["first_name"]
        submission.lastName = form["last_name"]
        submission.phone = form["phone"]
        submission.email = form["email"]
        let number = try await requests.submit(submission, now: Self.now())
        var json = JSONOut()
        json.beginArray()
        json.beginObject()
        json.field("service_request_id", number)
        json.field("service_notice", "已受理，请凭受理编号和手机号后四位查询进度 / received: follow it with this number and your phone's last four digits")
        json.field("account_id", nil as String?)
        json.endObject()
        json.endArray()
        return Self.json(201, json.bytes)
    }

    func list(_ request: Request) async throws -> Response {
        let form = try Form(request.uri.query ?? "", known: Self.readFields, ignored: Self.ignoredReads)
        try Self.checkReads(form)
        guard let ids = form["service_request_id"] else {
            // The public routes read only what they name: no listing of the district's requests.
            throw ResidentError.invalid(
                zh: "请填写受理编号", en: "service_request_id is required: this server lists only the requests named (comma-separated, at most 50)"
            )
        }
        let numbers = ids.split(separator: ",").map { String($0) }
        guard numbers.count <= 50 else {
            throw ResidentError.invalid(zh: "一次最多查询 50 件", en: "service_request_id names more than 50 requests")
        }
        guard form["phone_tail"] == nil || numbers.count == 1 else {
            throw ResidentError.invalid(zh: "手机号后四位只能用于查询一件", en: "phone_tail may be given with one service_request_id only")
        }
        var statuses: [CaseRequests.Status] = []
        if numbers.count == 1, let tail = form["phone_tail"] {
            statuses = [try await requests.status(numbers[0], tail: tail, now: Self.now())]
        } else {
            statuses = try await requests.statuses(numbers)
        }
        return Self.json(200, Self.encode(statuses, Self.language(request)))
    }

    func one(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let file = context.parameters.get("id") ?? ""
        guard file.hasSuffix(".json") else {
            if file.hasSuffix(".xml") {
                throw ResidentError(400, zh: "只提供 JSON 格式", en: "only JSON is served: ask for requests/{id}.json")
            }
            throw ResidentError(404, zh: "没有这个地址", en: "no such resource: ask for requests/{id}.json")
        }
        let form = try Form(request.uri.query ?? "", known: Self.readFields, ignored: Self.ignoredReads)
        try Self.checkReads(form)
        let status = try await requests.status(String(file.dropLast(5)), tail: form["phone_tail"], now: Self.now())
        return Self.json(200, Self.encode([status], Self.language(request)))
    }

    func rate(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let form = try await PublicMiddleware.form(
            request, known: ["phone_tail", "score", "comment"], ignored: Self.ignoredFields, settings: settings)
        try await requests.rate(
            context.parameters.get("id"), tail: form["phone_tail"], score: form["score"], comment: form["comment"], now: Self.now())
        return Self.json(201, Array("[{\"rated\":true}]".utf8))
    }

    func message(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let form = try await PublicMiddleware.form(request, known: ["phone_tail", "text"], ignored: Self.ignoredFields, settings: settings)
        try await requests.message(context.parameters.get("id"), tail: form["phone_tail"], text: form["text"], now: Self.now())
        return Self.json(201, Array("[{\"received\":true}]".utf8))
    }

    /// GeoReport's request objects; `status_notes` and the extensions only for a requester.
    static func encode(_ statuses: [CaseRequests.Status], _ language: Language) -> [UInt8] {
        var json = JSONOut()
        json.beginArray()
        for status in statuses {
            json.beginObject()
            json.field("service_request_id", status.number)
            json.field("status", status.status == .closed ? "closed" : "open")
            if status.verified { json.field("status_notes", status.answer) }
            json.field("service_name", status.kind.map { $0.label(language) + " · " + status.category } ?? status.category)
            json.field("service_code", status.serviceCode)
            json.field("agency_responsible", status.agency)
            json.field("requested_datetime", ISOTime.string(status.requested))
            json.field("updated_datetime", ISOTime.string(status.updated))
            json.field("expected_datetime", status.due.map(ISOTime.endOf))
            // Extensions: the workflow stage, the channel, and for the requester the timeline.
            json.field("stage", status.status.rawValue)
            json.field("source", status.source)
            if status.verified {
                json.field("rating", status.rating)
                json.field("may_rate", status.mayRate)
                events("timeline", status.timeline, into: &json)
                if let suggestion = status.suggestion { encode(suggestion, into: &json) }
            }
            json.endObject()
        }
        json.endArray()
        return json.bytes
    }

    /// `name`: an array of `{"type", "at"}` (a case's timeline, a suggestion's steps).
    static func events(_ name: String, _ events: [CaseRequests.Status.Event], into json: inout JSONOut) {
        json.open(name)
        json.beginArray()
        for event in events {
            json.beginObject()
            json.field("type", event.type)
            json.field("at", ISOTime.string(event.at))
            json.endObject()
        }
        json.endArray()
        json.close()
    }

    /// A suggestion's progress (extension `suggestion`, for its suggester).
    static func encode(_ suggestion: CaseRequests.SuggestionStatus, into json: inout JSONOut) {
        json.open("suggestion")
        json.beginObject()
        json.field("stage", suggestion.stage.rawValue)
        json.field("reason", suggestion.reason)
        json.field("reward_kind", suggestion.rewardKind?.rawValue)
        json.field("reward_fen", suggestion.rewardFen)
        json.field("reward_note", suggestion.rewardNote)
        json.field("published_title", suggestion.publicTitle)
        json.field("implemented_by", suggestion.implementedBy)
        json.field("implemented_on", suggestion.implementedOn)
        events("steps", suggestion.steps, into: &json)
        json.endObject()
        json.close()
    }

    static func language(_ request: Request) -> Language {
        if let query = request.uri.query, query.contains("lang=en") { return .en }
        return Language(locale: request.headers[.acceptLanguage])
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    static func json(_ status: Int, _ bytes: [UInt8]) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
