import CaseDomain
import Hummingbird
import SuggestionDomain
import SyncServer

/// `GET /ideas`: the published golden ideas (金点子) as JSON, newest first — the title and
/// text the district published (checked for personal data), the office, the reward and how
/// far the idea went (published, rewarded, adopted, implemented): only what the district
/// wrote. Nothing unpublished is ever listed.
struct IdeasRoutes: Sendable {
    static let path = "/ideas"
    let requests: CaseRequests

    func add(to router: Router<ServerRequestContext>, limits: PublicLimits) {
        let group = router.group().add(middleware: PublicMiddleware(limits: limits, form: .open311))
        group.get(RouterPath(Self.path)) { request, _ in
            try Open311Routes.checkReads(try Form(request.uri.query ?? "", known: ["lang"]))
            return Open311Routes.json(200, Self.encode(try await requests.ideas()))
        }
    }

    static func encode(_ ideas: [PublishedIdea]) -> [UInt8] {
        var json = JSONOut()
        json.beginArray()
        for idea in ideas {
            json.beginObject()
            json.field("title", idea.title)
            json.field("text", idea.text)
            json.field("office", idea.office)
            json.field("published_at", ISOTime.string(idea.publishedAt))
            json.field("reward_kind", idea.rewardKind?.rawValue)
            json.field("reward_fen", idea.rewardFen)
            json.field("reward_note", idea.rewardNote)
            json.field("stage", idea.stage.rawValue)
            json.field("adopted", idea.stage >= .adopted)
            json.field("implemented_on", idea.implementedOn)
            json.endObject()
        }
        json.endArray()
        return json.bytes
    }
}
