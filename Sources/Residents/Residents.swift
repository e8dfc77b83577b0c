public import Hummingbird
public import SyncServer

/// Adds the residents' routes — the Open311 API under `/open311/v2/` and the mobile page
/// at `/` — to `router` (pass as `makeSyncApplication`'s `publicRoutes`).
public func addResidentRoutes(to router: Router<ServerRequestContext>, storage: any CentralStorage, settings: ResidentSettings) {
    let requests = CaseRequests(storage: storage, settings: settings)
    let limits = PublicLimits(settings)
    Open311Routes(requests: requests, settings: settings).add(to: router, limits: limits)
    MobilePage(requests: requests, settings: settings).add(to: router, limits: limits)
}
