import CaseDomain
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import SuggestionDomain
import SyncServer

/// The residents' mobile page at `/` (Chinese by default, `?lang=en` for English): submit a
/// request, follow it with its number and phone tail, rate the answer, add a message.
/// Rendered on the server; the page loads no script and nothing from elsewhere.
struct MobilePage: Sendable {
    let requests: CaseRequests
    let settings: ResidentSettings

    static let fields: Set<String> = ["lang", "kind", "category", "community", "description", "address", "name", "phone"]

    func add(to router: Router<ServerRequestContext>, limits: PublicLimits) {
        let group = router.group().add(middleware: PublicMiddleware(limits: limits, form: .page))
        group.get("/") { request, _ in try await self.home(request) }
        group.post("/submit") { request, _ in try await self.submit(request) }
        group.get("/follow") { request, _ in try await self.follow(request) }
        // The page's own form posts: the phone tail stays out of the URL (history, proxies' logs).
        group.post("/follow") { request, _ in
            let form = try await PublicMiddleware.form(request, known: ["lang", "number", "tail"], ignored: [], settings: self.settings)
            return try await Self.answering(in: form) { try await self.follow(request, form: form) }
        }
        group.post("/rate") { request, _ in try await self.rate(request) }
        group.post("/message") { request, _ in try await self.message(request) }
    }

    func home(_ request: Request, form: [String: String] = [:], error: ResidentError? = nil) async throws -> Response {
        let query = try Form(request.uri.query ?? "", known: ["lang"])
        try Open311Routes.checkReads(query)
        let language = Self.language(query["lang"] ?? form["lang"])
        let communities = try await requests.communities(fresh: true)
        let kind = form["kind"] ?? CaseKind.complaint.rawValue
        let ideas = try await requests.ideas().prefix(20)
        var context: [String: Any] = [
            "kinds": CaseKind.allCases.map { ["value": $0.rawValue, "label": $0.label(language), "selected": $0.rawValue == kind] },
            "categories": CategoryList.defaults.map { ["value": $0, "label": $0, "selected": $0 == form["category"]] },
            "communities": communities.map { ["value": $0.code, "label": $0.name, "selected": $0.code == form["community"]] },
            "form": form,
            "hasIdeas": !ideas.isEmpty,
            "ideas": ideas.map { idea in
                [
                    "title": idea.title, "text": idea.text, "office": idea.office, "stage": idea.stage.label(language),
                    "reward": Self.reward(kind: idea.rewardKind, fen: idea.rewardFen, note: idea.rewardNote, language) ?? "",
                ]
            },
        ]
        if let error { context["error"] = error.message(language) }
        return page(error?.status ?? 200, "home", context, language, path: "/")
    }

    func submit(_ request: Request) async throws -> Response {
        let form = try await PublicMiddleware.form(request, known: Self.fields, ignored: [], settings: settings)
        try Open311Routes.checkReads(form)
        let language = Self.language(form["lang"])
        var submission = CaseRequests.Submission()
        submission.community = form["community"]
        let kind = form["kind"].flatMap(CaseKind.init(rawValue:))
        submission.serviceCode = CaseRequests.services.first { $0.kind == kind && $0.category == form["category"] }?.code
        submission.description = form["description"]
        submission.address = form["address"]
        submission.lastName = form["name"]
        submission.phone = form["phone"]
        do {
            let number = try await requests.submit(submission, now: Open311Routes.now())
            return page(201, "submitted", ["number": number], language, path: "/")
        } catch let error as ResidentError {
            var kept = form.values
            kept["lang"] = language.rawValue
            return try await home(request, form: kept, error: error)
        }
    }

    func follow(_ request: Request, notice: String? = nil, form given: Form? = nil) async throws -> Response {
        let form = try given ?? Form(request.uri.query ?? "", known: ["lang", "number", "tail"])
        try Open311Routes.checkReads(form)
        let language = Self.language(form["lang"])
        let t = PageTexts.of(language)
        let status = try await requests.status(form["number"], tail: form["tail"] ?? "", now: Open311Routes.now())
        var context: [String: Any] = [
            "number": status.number, "status": status.status.label(language),
            "service": (status.kind?.label(language) ?? "") + " · " + status.category, "agency": status.agency,
            "requested": Self.time(status.requested), "due": status.due.map(\.description) ?? "",
            "timeline": [["at": Self.time(status.requested), "label": t.received]]
                + status.timeline.map { ["at": Self.time($0.at), "label": Self.label($0, language)] },
            "mayRate": status.mayRate, "scores": [1, 2, 3, 4, 5], "tail": form["tail"] ?? "",
        ]
        if let answer = status.answer { context["answer"] = answer }
        if let suggestion = status.suggestion {
            var progress: [String: Any] = [
                "stage": suggestion.stage.label(language),
                "steps": suggestion.steps.map {
                    ["at": Self.time($0.at), "label": SuggestionStage(rawValue: $0.type)?.label(language) ?? $0.type]
                },
            ]
            if let reason = suggestion.reason { progress["reason"] = reason }
            if let reward = Self.reward(kind: suggestion.rewardKind, fen: suggestion.rewardFen, note: suggestion.rewardNote, language) {
                progress["reward"] = reward
            }
            if let office = suggestion.implementedBy { progress["implemented"] = office + " " + (suggestion.implementedOn ?? "") }
            context["suggestion"] = progress
        }
        if let rating = status.rating { context["rating"] = rating }
        if let notice { context["notice"] = notice }
        return page(200, "follow", context, language, path: "/follow?number=\(status.number)")
    }

    func rate(_ request: Request) async throws -> Response {
        let form = try await PublicMiddleware.form(
            request, known: ["lang", "number", "tail", "score", "comment"], ignored: [], settings: settings)
        return try await Self.answering(in: form) {
            try await requests.rate(
                form["number"], tail: form["tail"], score: form["score"], comment: form["comment"], now: Open311Routes.now())
            return try await follow(request, notice: PageTexts.of(Self.language(form["lang"])).thanks, form: form)
        }
    }

    func message(_ request: Request) async throws -> Response {
        let form = try await PublicMiddleware.form(request, known: ["lang", "number", "tail", "text"], ignored: [], settings: settings)
        return try await Self.answering(in: form) {
            try await requests.message(form["number"], tail: form["tail"], text: form["text"], now: Open311Routes.now())
            return try await follow(request, notice: PageTexts.of(Self.language(form["lang"])).messageSent, form: form)
        }
    }

    /// `body`'s page, or a refusal as a page in the form's language (a posted form's `lang`
    /// is in its body, where the middleware does not look).
    static func answering(in form: Form, _ body: () async throws -> Response) async throws -> Response {
        do {
            try Open311Routes.checkReads(form)
            return try await body()
        } catch let error as ResidentError {
            var page = errorPage(error, language: language(form["lang"]))
            if let retryAfter = error.retryAfter { page.headers[.retryAfter] = String(retryAfter) }
            return page
        }
    }

    // MARK: Rendering

    func page(_ status: Int, _ template: String, _ values: [String: Any], _ language: Language, path: String) -> Response {
        Self.render(status, template, values, language, path: path)
    }

    static func render(_ status: Int, _ template: String, _ values: [String: Any], _ language: Language, path: String) -> Response {
        guard case .success(let library) = PageTemplates.library else {
            return Response(
                status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: "internal error: the page's templates do not parse (see the tests)")))
        }
        var context = values
        let t = PageTexts.of(language)
        context["t"] = t.dictionary
        context["lang"] = language.rawValue
        let content = library.render(context, withTemplate: template) ?? ""
        let other: Language = language == .zh ? .en : .zh
        let separator = path.contains("?") ? "&" : "?"
        let html =
            library.render(
                [
                    "t": t.dictionary, "htmlLang": language == .zh ? "zh-CN" : "en", "style": PageTemplates.style, "content": content,
                    "otherLink": template == "follow" || template == "submitted"
                        ? "/?lang=\(other.rawValue)" : path + separator + "lang=\(other.rawValue)",
                ], withTemplate: "layout") ?? ""
        return Response(
            status: .init(code: status),
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(html.utf8))))
    }

    static func errorPage(_ error: ResidentError, language: Language) -> Response {
        render(error.status, "error", ["error": error.message(language)], language, path: "/")
    }

    static func language(_ request: Request) -> Language {
        guard let query = request.uri.query else { return .zh }
        return query.contains("lang=en") ? .en : .zh
    }

    static func language(_ text: String?) -> Language { text == "en" ? .en : .zh }

    static func time(_ millis: Int64) -> String {
        let iso = ISOTime.string(millis)
        return String(iso.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    /// A reward as a resident reads it: `奖金 ¥500.00 · 说明`.
    static func reward(kind: RewardKind?, fen: Int?, note: String?, _ language: Language) -> String? {
        guard let kind else { return nil }
        let amount = fen.map { " " + Fen.yuanSign(Int64($0)) } ?? ""
        return kind.label(language) + amount + (note.map { " · " + $0 } ?? "")
    }

    static func label(_ event: CaseRequests.Status.Event, _ language: Language) -> String {
        switch event.type {
        case "message": return language == .zh ? "居民留言" : "your message"
        case "rating": return (language == .zh ? "评价 " : "rated ") + (event.score.map { "\($0)/5" } ?? "")
        default: return CaseEventType.label(event.type, language)
        }
    }
}
