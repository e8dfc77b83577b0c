import CaseDomain
public import SyncServer

/// The residents' routes — the Open311 API under `/open311/v2/` and the mobile page at
/// `/` — as a surface beside the sync routes (pass to `makeSyncApplication`).
public func residentSurface(storage: any CentralStorage, settings: ResidentSettings) -> PublicSurface {
    let requests = CaseRequests(storage: storage, settings: settings)
    let limits = PublicLimits(settings)
    return PublicSurface(
        add: { router in
            Open311Routes(requests: requests, settings: settings).add(to: router, limits: limits)
            MobilePage(requests: requests, settings: settings).add(to: router, limits: limits)
            IdeasRoutes(requests: requests).add(to: router, limits: limits)
        },
        methods: ResidentPaths.methods(of:),
        render: { status, message, path in
            let error = ResidentError(status, zh: status == 405 ? "不支持这种请求方式" : message, en: message)
            if path.hasPrefix(Open311Routes.base) || path == IdeasRoutes.path { return PublicMiddleware.open311Error(error, language: .en) }
            return MobilePage.errorPage(error, language: .zh)
        })
}

/// The public paths and the methods each takes.
enum ResidentPaths {
    static func methods(of path: String) -> [String]? {
        switch path {
        case "/", Open311Routes.base + "/discovery.json", Open311Routes.base + "/services.json", IdeasRoutes.path: return ["GET"]
        case "/follow": return ["GET", "POST"]
        case "/submit", "/rate", "/message": return ["POST"]
        case Open311Routes.base + "/requests.json": return ["GET", "POST"]
        default:
            let prefix = Open311Routes.base + "/requests/"
            guard path.hasPrefix(prefix) else { return nil }
            let rest = path.dropFirst(prefix.count)
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 1, !parts[0].isEmpty { return ["GET"] }
            if parts.count == 2, !parts[0].isEmpty, parts[1] == "rating.json" || parts[1] == "messages.json" { return ["POST"] }
            return nil
        }
    }
}
