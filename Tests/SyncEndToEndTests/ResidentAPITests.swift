import Foundation
import NIOHTTP1
import Testing

/// The residents' Open311 API on a real `rain-server` (both backends), followed through to
/// a community office's replica with the built `rain`: a request sent online arrives at
/// the office's next sync, the office's answer and closing come back, the resident's
/// rating and message arrive as if staff had recorded them.
@Suite(.serialized) struct ResidentAPITests {
    static let phone = "13912345678"
    static let name = "王芳"

    @Test(arguments: Backend.allCases)
    func aRequestSentOnlineReachesTheOfficeAndTheAnswerAndRatingComeBack(_ backend: Backend) async throws {
        let deployment = try Deployment(backend: backend)
        let base = deployment.server.url + "/open311/v2"
        let office = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        let other = try deployment.replica("xq", office: "XQ", staff: "赵六")
        // The services: one per kind and category.
        let services = try await PublicHTTP.send(.GET, base + "/services.json")
        #expect(services.status == 200)
        #expect(services.list.count == 40)
        #expect(services.list.contains { $0["service_code"] as? String == "complaint-2" && $0["group"] as? String == "complaint" })
        #expect(services.list.allSatisfy { $0["type"] as? String == "realtime" && $0["metadata"] as? Bool == false })

        let posted = try await PublicHTTP.send(.POST, base + "/requests.json", form: PublicHTTP.submission(phone: Self.phone))
        #expect(posted.status == 201, "\(posted.text)")
        let number = try #require(posted.first["service_request_id"] as? String)
        #expect(number.hasPrefix("HSM-"))
        #expect(!posted.text.contains(Self.phone) && !posted.text.contains(Self.name))

        // At the office after its next sync, as an online case; not at another community.
        _ = try deployment.sync(office)
        _ = try deployment.sync(other)
        let online = try deployment.rain(["case", "list", "--source", "online", "--json"], db: office)
        let listed = try #require((online.json as? [[String: Any]])?.first)
        #expect(listed["number"] as? String == number && listed["source"] as? String == "online")
        #expect(listed["kind"] as? String == "complaint" && listed["category"] as? String == "环境卫生")
        let counter = try deployment.rain(["case", "list", "--source", "counter", "--json"], db: office)
        #expect((counter.json as? [[String: Any]])?.isEmpty == true)
        #expect(try deployment.numbers(other).isEmpty)
        let shown = try deployment.show(number, office, reveal: true)
        #expect(shown.contains(Self.phone) && shown.contains("楼道里堆满杂物"))

        // Anyone with the number sees the status, never the resident's data.
        let status = try await PublicHTTP.send(.GET, base + "/requests/\(number).json")
        #expect(status.status == 200)
        #expect(status.first["status"] as? String == "open")
        #expect(status.first["agency_responsible"] as? String == "和盛社区")
        #expect(status.first["status_notes"] == nil)
        #expect((status.first["expected_datetime"] as? String)?.hasSuffix("T23:59:59+08:00") == true)
        for secret in [Self.phone, Self.name, "和平路", "楼道里堆满杂物", "李娜"] { #expect(!status.text.contains(secret), "\(secret)") }

        // Rating before the answer is refused; staff handle, reply, close.
        let early = try await PublicHTTP.send(
            .POST, base + "/requests/\(number)/rating.json", form: [("phone_tail", "5678"), ("score", "5")])
        #expect(early.status == 409 && !early.description.isEmpty)
        for step in [["verify", number], ["handle", number], ["reply", number, "--answer", "已联系物业，今天下午清理完毕"], ["close", number]] {
            let run = try deployment.rain(["case"] + step, db: office)
            #expect(run.status == 0, "\(run.stderr)")
        }
        _ = try deployment.sync(office)
        let answered = try await PublicHTTP.send(.GET, base + "/requests/\(number).json?phone_tail=5678")
        #expect(answered.first["status"] as? String == "closed")
        #expect(answered.first["status_notes"] as? String == "已联系物业，今天下午清理完毕")
        #expect(answered.first["may_rate"] as? Bool == true)
        let steps = (answered.first["timeline"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
        #expect(steps == ["reply"])
        // Without the tail, still no answer.
        let anonymous = try await PublicHTTP.send(.GET, base + "/requests.json?service_request_id=\(number)")
        #expect(anonymous.first["status"] as? String == "closed" && anonymous.first["status_notes"] == nil)

        // The resident rates (once) and adds a message.
        let rated = try await PublicHTTP.send(
            .POST, base + "/requests/\(number)/rating.json", form: [("phone_tail", "5678"), ("score", "4"), ("comment", "处理及时")])
        #expect(rated.status == 201, "\(rated.text)")
        let again = try await PublicHTTP.send(
            .POST, base + "/requests/\(number)/rating.json", form: [("phone_tail", "5678"), ("score", "5")])
        #expect(again.status == 409)
        let message = try await PublicHTTP.send(
            .POST, base + "/requests/\(number)/messages.json", form: [("phone_tail", "5678"), ("text", "谢谢，已经清理干净了")])
        #expect(message.status == 201, "\(message.text)")

        // At the office: the rating exactly as staff would have recorded it, and the message.
        _ = try deployment.sync(office)
        let after = try #require(try deployment.rain(["case", "show", number, "--json"], db: office).json as? [String: Any])
        let row = after["case"] as? [String: Any] ?? after
        #expect(row["rating"] as? Int == 4, "\(after)")
        let text = try deployment.rain(["case", "show", number], db: office).stdout
        #expect(text.contains("居民（网上）") && text.contains("处理及时") && text.contains("谢谢，已经清理干净了"))
        #expect(text.contains("居民留言") || text.contains("message"), "\(text)")

        // The server's log names no resident.
        for secret in [Self.phone, Self.name, "和平路", "5678"] { #expect(!deployment.server.log.contains(secret), "\(secret) in the log") }
    }

    @Test(arguments: Backend.allCases)
    func aResidentsRatingAndAnOfficesOfflineEditMergeUnderTheUsualRules(_ backend: Backend) async throws {
        let deployment = try Deployment(backend: backend)
        let base = deployment.server.url + "/open311/v2"
        let office = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        let posted = try await PublicHTTP.send(.POST, base + "/requests.json", form: PublicHTTP.submission(phone: "13700001111"))
        let number = try #require(posted.first["service_request_id"] as? String)
        _ = try deployment.sync(office)
        for step in [["verify", number], ["handle", number], ["reply", number, "--answer", "已处理"]] {
            #expect(try deployment.rain(["case"] + step, db: office).status == 0)
        }
        _ = try deployment.sync(office)
        // Offline, staff edit the title and record a rating the resident phoned in; online,
        // the resident rates too. Concurrent: each field merges by its rule.
        #expect(try deployment.rain(["case", "edit", number, "--title", "楼道杂物（已核实）"], db: office).status == 0)
        #expect(try deployment.rain(["case", "rate", number, "--score", "2"], db: office).status == 0)
        let rated = try await PublicHTTP.send(
            .POST, base + "/requests/\(number)/rating.json", form: [("phone_tail", "1111"), ("score", "5")])
        #expect(rated.status == 201, "\(rated.text)")
        _ = try deployment.sync(office)
        _ = try deployment.sync(office)
        let row = try #require(try deployment.rain(["case", "list", "--json"], db: office).json as? [[String: Any]]).first ?? [:]
        #expect(row["title"] as? String == "楼道杂物（已核实）")
        // The office and the server agree on the rating, whichever won.
        let server = try await PublicHTTP.send(.GET, base + "/requests/\(number).json?phone_tail=1111")
        let rating = try #require(row["rating"] as? Int)
        #expect([2, 5].contains(rating))
        #expect(server.first["rating"] as? Int == rating, "\(server.text)")
        // Both ratings are events of the case.
        let events = try deployment.rain(["case", "show", number], db: office).stdout
        #expect(events.contains("居民（网上）") && events.contains("李娜"))
    }

    @Test func casesRecordedAtTheCounterAreFollowedTheSameWay() async throws {
        let deployment = try Deployment()
        let base = deployment.server.url + "/open311/v2"
        let office = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        let number = try deployment.newCase(office, title: "独居老人需要助餐", extra: ["--phone", "13812345678"])
        _ = try deployment.sync(office)
        let plain = try await PublicHTTP.send(.GET, base + "/requests/\(number).json")
        #expect(plain.status == 200 && plain.first["source"] as? String == "counter" && plain.first["status"] as? String == "open")
        let proved = try await PublicHTTP.send(.GET, base + "/requests/\(number).json?phone_tail=5678")
        #expect(proved.status == 200 && proved.first["may_rate"] as? Bool == false)
        #expect(proved.first.keys.contains("status_notes"))
        // Wrong tails lock the request, even against the right tail, with Retry-After.
        for remaining in [4, 3, 2, 1] {
            let wrong = try await PublicHTTP.send(.GET, base + "/requests/\(number).json?phone_tail=0000")
            #expect(wrong.status == 403 && wrong.description.contains("\(remaining)"), "\(wrong.text)")
        }
        let locking = try await PublicHTTP.send(.GET, base + "/requests/\(number).json?phone_tail=0000")
        #expect(locking.status == 429)
        let locked = try await PublicHTTP.send(.GET, base + "/requests/\(number).json?phone_tail=5678")
        #expect(locked.status == 429 && Int(locked.headers.first(name: "Retry-After") ?? "") ?? 0 > 0, "\(locked.text)")
        // Staff see no change from any of it.
        #expect(try deployment.sync(office)["received"] as? Int == 0)
    }

    /// Guesses sent at the same moment count one after the other: they still lock the request.
    @Test(arguments: Backend.allCases)
    func parallelGuessesOfThePhoneTailStillLockTheRequest(_ backend: Backend) async throws {
        let deployment = try Deployment(backend: backend, serverArguments: ["--public-reads-per-minute", "10000"])
        let base = deployment.server.url + "/open311/v2"
        let posted = try await PublicHTTP.send(.POST, base + "/requests.json", form: PublicHTTP.submission(phone: "13711112222"))
        let number = try #require(posted.first["service_request_id"] as? String)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for guess in 0..<24 {
                group.addTask {
                    try await PublicHTTP.send(.GET, base + "/requests/\(number).json?phone_tail=\(String(format: "%04d", guess))").status
                }
            }
            var all: [Int] = []
            for try await status in group { all.append(status) }
            return all
        }
        #expect(statuses.filter { $0 == 403 }.count == 4, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count == 20, "\(statuses)")
        let right = try await PublicHTTP.send(.GET, base + "/requests/\(number).json?phone_tail=2222")
        #expect(right.status == 429)
    }
}
