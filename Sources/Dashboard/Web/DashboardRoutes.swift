public import CaseDomain
import ConsoleText
import DistrictStats
import HTTPTypes
public import Hummingbird
import NIOCore
import ReplicaStore
import SyncCore
public import SyncServer

/// The dashboard's settings.
public struct DashboardSettings: Sendable {
    /// The working-day calendar and deadlines (the offices' holiday file).
    public var deadlines: DeadlinePolicy
    /// Whether the server speaks HTTPS: the session cookie is then `Secure`.
    public var secure: Bool

    public init(deadlines: DeadlinePolicy = DeadlinePolicy(), secure: Bool = false) {
        self.deadlines = deadlines
        self.secure = secure
    }
}

/// The district's dashboard (`/dashboard…`) and the statistics API (`GET /stats`), served
/// beside the residents' routes: staff sign in with accounts the administrator made; a
/// street sees its own communities, the district everything.
public enum DashboardRoutes {
    static let defaultHorizon = 3
    static let sessionCookie = "rain_session"
    static let signInCookie = "rain_signin"

    /// The routes, as a surface for `makeSyncApplication`.
    public static func surface(storage: any CentralStorage, settings: DashboardSettings) -> PublicSurface {
        let handlers = DashboardHandlers(
            accounts: StaffAccounts(storage: storage), query: DistrictQuery(storage: storage, deadlines: settings.deadlines),
            settings: settings)
        return PublicSurface(
            add: { router in handlers.add(to: router) }, methods: methods(of:),
            render: { status, message, path in
                path == "/stats"
                    ? DashboardHandlers.jsonError(status, message)
                    : DashboardHandlers.html(status, DashboardPage.message("区级数据看板", message, scope: nil, language: .zh))
            })
    }

    /// The paths and the methods each takes (nil: not the dashboard's).
    public static func methods(of path: String) -> [String]? {
        switch path {
        case "/dashboard", "/dashboard/cases", "/stats": ["GET"]
        case "/dashboard/signin": ["GET", "POST"]
        case "/dashboard/signout", "/dashboard/reveal": ["POST"]
        default: path.hasPrefix("/dashboard/export/") ? ["GET"] : nil
        }
    }
}

extension DashboardRoutes {
    /// The overview page as `GET /dashboard` answers it to `session` for `office`'s subtree
    /// (default, theirs) and `period` — the same code, without HTTP (rain-bench measures it).
    public static func overview(
        storage: any CentralStorage, settings: DashboardSettings, session: StaffSession, office: String?, period: DistrictQuery.Period
    ) async throws(ServerError) -> String {
        let handlers = DashboardHandlers(
            accounts: StaffAccounts(storage: storage), query: DistrictQuery(storage: storage, deadlines: settings.deadlines),
            settings: settings)
        var parsed = DashboardHandlers.ScopeRequest(office: office)
        parsed.period = period
        return try await handlers.overview(try await handlers.scope(parsed, session: session))
    }
}

/// What the dashboard's routes do.
struct DashboardHandlers: Sendable {
    let accounts: StaffAccounts
    let query: DistrictQuery
    let settings: DashboardSettings

    func add(to router: Router<ServerRequestContext>) {
        router.get("/dashboard") { request, context in try await guarded(request) { try await overview(request, context) } }
        router.get("/dashboard/signin") { request, _ in signInForm(request, error: nil) }
        router.post("/dashboard/signin") { request, context in try await guarded(request) { try await signIn(request, context) } }
        router.post("/dashboard/signout") { request, context in try await guarded(request) { try await signOut(request, context) } }
        router.get("/dashboard/cases") { request, context in try await guarded(request) { try await cases(request, context) } }
        router.post("/dashboard/reveal") { request, context in try await guarded(request) { try await reveal(request, context) } }
        router.get("/dashboard/export/{file}") { request, context in try await guarded(request) { try await export(request, context) } }
        router.get("/stats") { request, context in try await stats(request, context) }
    }

    // MARK: Sign-in

    func signInForm(_ request: Request, error: String?, status: Int = 200) -> Response {
        let language = Self.language(request)
        let token = Secrets.randomSecret()
        var response = Self.html(status, DashboardPage.signIn(csrf: token, error: error, language: language))
        response.headers[values: .setCookie] = [cookie(DashboardRoutes.signInCookie, token, path: "/dashboard/signin", maxAge: 3600)]
        return response
    }

    func signIn(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let language = Self.language(request)
        let form = try await Self.form(request, known: ["csrf", "name", "password"])
        // The form's token must be the one its page set (a cross-site form cannot read it).
        guard let token = form["csrf"], let expected = Self.cookies(request)[DashboardRoutes.signInCookie], token == expected else {
            return signInForm(request, error: text(language, "表单已过期，请重新登录", "the form expired: sign in again"), status: 403)
        }
        let name = form["name"] ?? ""
        let now = ReplicaStore.nowMillis()
        switch try await accounts.signIn(name: name, password: form["password"] ?? "", address: Self.address(context), now: now) {
        case .wrong:
            return signInForm(request, error: text(language, "用户名或密码错误", "wrong name or password"), status: 401)
        case .locked(let until):
            return signInForm(
                request,
                error: text(
                    language, "尝试次数过多，账号已锁定至 \(LocalTime.format(until))",
                    "too many wrong tries: the account is locked until \(LocalTime.format(until))"
                ), status: 429)
        case .signedIn(let value, _):
            var response = Response(status: .seeOther, headers: [.location: language == .en ? "/dashboard?lang=en" : "/dashboard"])
            response.headers[values: .setCookie] = [
                cookie(DashboardRoutes.sessionCookie, value, path: "/", maxAge: Int(StaffAccounts.sessionLifetime / 1000)),
                cookie(DashboardRoutes.signInCookie, "", path: "/dashboard/signin", maxAge: 0),
            ]
            return response
        }
    }

    func signOut(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let (session, cookieValue) = try await signedIn(request)
        let form = try await Self.form(request, known: ["csrf"])
        try checkCSRF(form, session)
        try await accounts.signOut(cookie: cookieValue, staff: session.staff, address: Self.address(context), now: ReplicaStore.nowMillis())
        var response = Response(status: .seeOther, headers: [.location: "/dashboard/signin"])
        response.headers[values: .setCookie] = [cookie(DashboardRoutes.sessionCookie, "", path: "/", maxAge: 0)]
        return response
    }

    // MARK: Pages

    func overview(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        Self.html(200, try await overview(try await scope(request, extra: [])))
    }

    /// The overview's HTML for `scope`: every figure, chart and list of the page.
    func overview(_ scope: DashboardScope) async throws(ServerError) -> String {
        let report = try await query.report(in: scope.communities, period: scope.period, today: scope.today)
        let policy = try await query.policyStats(streets: scope.streets)
        let action = try await query.actionSummary(in: scope.communities, today: scope.today, horizon: scope.horizon, first: 50)
        let conflicts = try await query.conflicts(in: scope.communities, everything: scope.isDistrict)
        let quiet = try await query.quietReplicas(of: quietOffices(scope), before: ReplicaStore.nowMillis() - 86_400_000)
        let unpaid = try await query.unpaidGrants(streets: scope.streets)
        return OverviewPage(
            scope: scope, report: report, policy: policy, action: action, conflicts: conflicts, quiet: quiet, unpaid: unpaid
        ).render(path: "/dashboard?" + scope.query())
    }

    /// The offices whose replicas the scope watches: its own and those under it.
    func quietOffices(_ scope: DashboardScope) -> Set<String> {
        Set(scope.tree.offices.keys.filter { scope.tree.may(scope.office, see: $0) })
    }

    func cases(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let filter = try Self.filter(request)
        let scope = try await scope(request, extra: Self.filterParameters)
        let lines = try await filteredCases(scope, filter)
        let table = DashboardTables.cases(lines, scope: scope, name: "cases", title: ("案件清单", "Cases"))
        var body = DashboardPage.chooser(scope, path: "/dashboard/cases")
        body += "<p id=\"count\">\(scope.text("共 \(lines.count) 件", "\(lines.count) cases"))</p>"
        body += DashboardPage.table(table, scope: scope, exportQuery: scope.query(filter.parameters), limit: 500)
        body += revealForm(scope)
        let path = "/dashboard/cases?" + scope.query(filter.parameters)
        return Self.html(200, DashboardPage.layout(scope.text("案件清单", "Cases"), body, scope: scope, language: scope.language, path: path))
    }

    func filteredCases(_ scope: DashboardScope, _ filter: CaseFilter) async throws(ServerError) -> [DistrictQuery.CaseLine] {
        // The period holds for every figure's cases (the overdue card counts those received
        // in it); the action list, over every day, is its own export (`action`).
        let period = scope.period
        let limit = scope.deadlines.calendar.adding(workingDays: scope.horizon, to: scope.today)
        return try await query.cases(in: scope.communities, period: period)
            .filter { filter.matches($0, today: scope.today, riskLimit: limit, calendar: scope.deadlines.calendar) }
            .sorted { ($0.received, $0.number) > ($1.received, $1.number) }
    }

    /// A form to see one case's phone tail (the only personal data the server holds):
    /// audited.
    func revealForm(_ scope: DashboardScope) -> String {
        """
        <section><h2>\(scope.text("查看来电尾号（将记录审计）", "Show a case's phone tail (audited)"))</h2>\
        <form method="post" action="/dashboard/reveal?\(HTML.escape(scope.query()))"><input type="hidden" name="csrf" value="\(HTML.escape(scope.session.csrf ?? ""))">\
        <label>\(scope.text("编号", "Number")) <input name="number" id="reveal-number" required></label> \
        <button type="submit">\(scope.text("查看", "Show"))</button></form></section>
        """
    }

    func reveal(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let scope = try await scope(request, extra: [])
        let form = try await Self.form(request, known: ["csrf", "number"])
        try checkCSRF(form, scope.session)
        let number = form["number"] ?? ""
        let rows = try await query.storage.query(
            ServerSQL("SELECT community, phone_tail FROM case_view WHERE number = ?", [.text(number)]), columns: [.text, .text])
        guard let row = rows.first, let community = row[0].text, scope.tree.communities(under: scope.session.office).contains(community)
        else {
            throw ServerError(status: 404, code: "not_found", message: "cannot show the case: no case \(number) in your offices (number)")
        }
        try await accounts.audit(
            staff: scope.session.staff, action: "reveal", subject: number, address: Self.address(context), now: ReplicaStore.nowMillis())
        let tail = row[1].text.map { "*******" + $0 } ?? scope.text("（无电话）", "(no phone)")
        let body =
            "<section><h2>\(HTML.escape(number))</h2><p id=\"revealed\">\(scope.text("来电尾号", "Phone ends")) \(HTML.escape(tail))</p><p class=\"muted\">\(scope.text("已记录：\(scope.session.staff) 查看", "Recorded: shown to \(scope.session.staff)"))</p></section>"
        return Self.html(200, DashboardPage.layout(number, body, scope: scope, language: scope.language, path: "/dashboard"))
    }

    func export(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let file = context.parameters.get("file") ?? ""
        let parts = file.split(separator: ".")
        guard parts.count == 2, parts[1] == "csv" || parts[1] == "json" else {
            throw ServerError(status: 404, code: "not_found", message: "cannot export \(file): name a table and .csv or .json (path)")
        }
        let name = String(parts[0])
        let filter = try Self.filter(request)
        let scope = try await scope(request, extra: Self.filterParameters)
        let tables = try await exportTables(name, scope: scope, filter: filter)
        guard let table = tables.first(where: { $0.name == name }) else {
            throw ServerError(status: 404, code: "not_found", message: "cannot export \(name): no such table (path)")
        }
        try await accounts.audit(
            staff: scope.session.staff, action: "export", subject: file + " " + scope.office, address: Self.address(context),
            now: ReplicaStore.nowMillis())
        let csv = parts[1] == "csv"
        let bytes = csv ? table.csv(scope.language) : Array(table.json().utf8)
        return Response(
            status: .ok,
            headers: [
                .contentType: csv ? "text/csv; charset=utf-8" : "application/json", .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"\(name)-\(scope.office).\(parts[1])\"",
            ], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func exportTables(_ name: String, scope: DashboardScope, filter: CaseFilter) async throws(ServerError) -> [StatsTable] {
        switch name {
        case "cases":
            return [DashboardTables.cases(try await filteredCases(scope, filter), scope: scope, name: "cases", title: ("案件清单", "Cases"))]
        case "action":
            let lines = try await query.actionCases(in: scope.communities, today: scope.today, horizon: scope.horizon)
            return [DashboardTables.cases(lines, scope: scope, name: "action", title: ("超期与临期案件", "Overdue and at risk"))]
        case "conflicts":
            return [DashboardTables.conflicts(try await query.conflicts(in: scope.communities, everything: scope.isDistrict), scope: scope)]
        case "replicas":
            let quiet = try await query.quietReplicas(of: quietOffices(scope), before: ReplicaStore.nowMillis() - 86_400_000)
            return [DashboardTables.replicas(quiet, scope: scope)]
        case "unpaid_grants":
            return [DashboardTables.grants(try await query.unpaidGrants(streets: scope.streets), scope: scope)]
        case "policy_departments", "policy_streets", "policy_months":
            return DashboardTables.policy(try await query.policyStats(streets: scope.streets), scope: scope)
        default:
            let report = try await query.report(in: scope.communities, period: scope.period, today: scope.today)
            let tables = DashboardTables(scope: scope, report: report)
            return [
                tables.offices(), tables.categories(), tables.kinds(), tables.channels(), tables.weeks(), tables.months(),
                tables.handlingDays(), tables.ratings(), tables.suggestions(),
            ]
        }
    }

    // MARK: The statistics API

    func stats(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        do {
            let session: StaffSession
            if let authorization = request.headers[.authorization] {
                guard authorization.hasPrefix("Bearer "), let found = try await accounts.session(token: String(authorization.dropFirst(7)))
                else {
                    throw ServerError(
                        status: 401, code: "unauthenticated", message: "cannot answer: the bearer token is not a staff API token")
                }
                session = found
            } else if let value = Self.cookies(request)[DashboardRoutes.sessionCookie],
                let found = try await accounts.session(cookie: value, now: ReplicaStore.nowMillis())
            {
                session = found
            } else {
                throw ServerError(
                    status: 401, code: "unauthenticated",
                    message: "cannot answer: sign in to the dashboard or send Authorization: Bearer TOKEN (rain-server staff token)")
            }
            let scope = try await scope(try Self.parseScope(request, extra: []), session: session)
            let report = try await query.report(in: scope.communities, period: scope.period, today: scope.today)
            var response = Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: JSONOut.render(StatsDocument.json(report)))))
            response.headers[.init("Rain-Office")!] = scope.office
            return response
        } catch let error as ServerError {
            return Self.jsonError(error.status, error.message)
        } catch {
            return Self.jsonError(500, "internal error: the figures failed")
        }
    }

    // MARK: Scope, session, forms

    static let filterParameters = ["state", "category", "kind", "channel", "week", "month", "days", "rating", "stage"]

    /// A request's office, period, horizon and language, read (and refused with 400) before
    /// its session is looked at.
    struct ScopeRequest {
        var office: String?
        var period = DistrictQuery.Period(from: nil, to: nil)
        var horizon = DashboardRoutes.defaultHorizon
        var language = Language.zh
    }

    func scope(_ request: Request, extra: [String]) async throws -> DashboardScope {
        let parsed = try Self.parseScope(request, extra: extra)
        let (session, _) = try await signedIn(request)
        return try await scope(parsed, session: session)
    }

    static func parseScope(_ request: Request, extra: [String]) throws(ServerError) -> ScopeRequest {
        let parameters = try query(request, known: ["office", "from", "to", "lang", "horizon"] + extra)
        var parsed = ScopeRequest(office: parameters["office"], language: parameters["lang"] == "en" ? .en : .zh)
        for (name, keyPath) in [("from", \DistrictQuery.Period.from), ("to", \DistrictQuery.Period.to)] {
            guard let text = parameters[name], !text.isEmpty else { continue }
            guard let date = CivilDate(parsing: text) else {
                throw ServerError(
                    status: 400, code: "invalid", message: "cannot read \(name): a date is YYYY-MM-DD, not '\(printable(text))' (\(name))")
            }
            parsed.period[keyPath: keyPath] = date
        }
        if let text = parameters["horizon"] {
            guard let value = Int(text), (0...30).contains(value) else {
                throw ServerError(status: 400, code: "invalid", message: "cannot read horizon: working days from 0 to 30 (horizon)")
            }
            parsed.horizon = value
        }
        return parsed
    }

    func scope(_ parsed: ScopeRequest, session: StaffSession) async throws(ServerError) -> DashboardScope {
        let tree = OfficeTree(try await query.storage.offices())
        let office = parsed.office ?? session.office
        guard tree.offices[office] != nil else {
            throw ServerError(status: 404, code: "not_found", message: "cannot show the figures: no office \(office) (office)")
        }
        guard tree.may(session.office, see: office) else {
            throw ServerError(
                status: 403, code: "forbidden",
                message: "cannot show the figures of \(office): staff of \(session.office) see only their own offices (office)")
        }
        return DashboardScope(
            session: session, tree: tree, office: office, period: parsed.period, language: parsed.language,
            today: CivilDate(epochMillis: ReplicaStore.nowMillis()), horizon: parsed.horizon, deadlines: settings.deadlines)
    }

    /// The signed-in session and its cookie value; 303 to the sign-in page otherwise.
    func signedIn(_ request: Request) async throws -> (StaffSession, String) {
        guard let value = Self.cookies(request)[DashboardRoutes.sessionCookie],
            let session = try await accounts.session(cookie: value, now: ReplicaStore.nowMillis())
        else { throw SignInNeeded() }
        return (session, value)
    }

    func checkCSRF(_ form: [String: String], _ session: StaffSession) throws {
        guard let token = form["csrf"], let expected = session.csrf, Secrets.matches(token, storedDigest: Secrets.digest(expected)) else {
            throw ServerError(
                status: 403, code: "forbidden", message: "cannot accept the form: its token is missing or stale; reload the page (csrf)")
        }
    }

    static func filter(_ request: Request) throws(ServerError) -> CaseFilter {
        let parameters = try query(request, known: ["office", "from", "to", "lang", "horizon"] + filterParameters)
        var filter = CaseFilter()
        func invalid(_ name: String) -> ServerError {
            ServerError(
                status: 400, code: "invalid", message: "cannot read \(name): '\(printable(parameters[name] ?? ""))' is not one (\(name))")
        }
        if let state = parameters["state"] {
            guard let value = CaseFilter.State(rawValue: state) else { throw invalid("state") }
            filter.state = value
        }
        filter.category = parameters["category"]
        if let kind = parameters["kind"] {
            guard let value = CaseKind(rawValue: kind) else { throw invalid("kind") }
            filter.kind = value
        }
        if let channel = parameters["channel"] {
            guard let value = CaseChannel(rawValue: channel) else { throw invalid("channel") }
            filter.channel = value
        }
        filter.week = parameters["week"]
        filter.month = parameters["month"]
        if let days = parameters["days"] {
            guard let value = Int(days) else { throw invalid("days") }
            filter.days = value
        }
        if let rating = parameters["rating"] {
            guard let value = Int(rating), (1...5).contains(value) else { throw invalid("rating") }
            filter.rating = value
        }
        filter.stage = parameters["stage"]
        return filter
    }

    /// The query string, strictly: known names, each once, valid UTF-8.
    static func query(_ request: Request, known: [String]) throws(ServerError) -> [String: String] {
        try decode(request.uri.query ?? "", known: Set(known))
    }

    static func form(_ request: Request, known: Set<String>) async throws -> [String: String] {
        var buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 16 * 1024) } catch is NIOTooManyBytesError {
            throw ServerError(status: 413, code: "too_large", message: "request body too large: a form is at most 16384 bytes (body)")
        }
        return try decode(buffer.readString(length: buffer.readableBytes) ?? "", known: known)
    }

    static func decode(_ text: String, known: Set<String>) throws(ServerError) -> [String: String] {
        var values: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = FormEncoding.decode(parts[0]), let value = FormEncoding.decode(parts.count > 1 ? parts[1] : "") else {
                throw ServerError(status: 400, code: "invalid", message: "cannot read the request: not valid percent-encoded UTF-8 (query)")
            }
            guard known.contains(name) else {
                throw ServerError(
                    status: 400, code: "invalid", message: "cannot read the request: unknown parameter \(printable(name)) (query)")
            }
            guard values[name] == nil else {
                throw ServerError(status: 400, code: "invalid", message: "cannot read the request: \(name) given twice (query)")
            }
            values[name] = value
        }
        return values
    }

    static func printable(_ text: String) -> String {
        String(
            text.unicodeScalars.prefix(40).map {
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) ? Character($0) : "?"
            })
    }

    static func cookies(_ request: Request) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].trimmingCharacters(in: " ")
                if cookies[name] == nil { cookies[name] = parts[1].trimmingCharacters(in: " ") }
            }
        }
        return cookies
    }

    func cookie(_ name: String, _ value: String, path: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (settings.secure ? "; Secure" : "")
    }

    static func address(_ context: ServerRequestContext) -> String? { context.remoteAddress?.ipAddress }

    static func language(_ request: Request) -> Language { (request.uri.query ?? "").contains("lang=en") ? .en : .zh }

    func text(_ language: Language, _ zh: String, _ en: String) -> String { language == .zh ? zh : en }

    /// Runs a page's handler: not signed in → the sign-in page; a refusal → an error page.
    func guarded(_ request: Request, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch is SignInNeeded {
            // A form posted without a session (signed out, expired): refused, not redirected.
            if request.method == .post {
                let language = Self.language(request)
                return Self.html(
                    403,
                    DashboardPage.message(
                        text(language, "无法提交", "Cannot submit"), text(language, "请先登录", "sign in first"), scope: nil, language: language))
            }
            return Response(
                status: .seeOther, headers: [.location: Self.language(request) == .en ? "/dashboard/signin?lang=en" : "/dashboard/signin"])
        } catch let error as ServerError {
            let language = Self.language(request)
            return Self.html(
                error.status, DashboardPage.message(text(language, "无法显示", "Cannot show"), error.message, scope: nil, language: language))
        }
    }

    static func html(_ status: Int, _ html: String) -> Response {
        Response(
            status: .init(code: status),
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ], body: .init(byteBuffer: ByteBuffer(bytes: Array(html.utf8))))
    }

    static func jsonError(_ status: Int, _ message: String) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: JSONOut.render(.object([("error", .string(message))])))))
    }
}

/// No signed-in session: the page answers with the sign-in page.
struct SignInNeeded: Error {}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}
