import AsyncHTTPClient
import CaseStore
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import ReplicaStore
import SyncCore
import Testing

/// The server's HTTP surface, request by request, on a real `rain-server` process:
/// every refusal has its status, a JSON error naming the problem, and writes nothing.
@Suite(.serialized) struct ServerHTTPTests {
    struct Answer {
        let status: Int
        let body: [String: Any]
        let headers: HTTPHeaders
        var code: String? { (body["error"] as? [String: Any])?["code"] as? String }
        var message: String { (body["error"] as? [String: Any])?["message"] as? String ?? "" }
    }

    /// One request with exactly the given headers and body.
    static func send(
        _ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, credential: String? = nil, protocolVersion: String? = "1"
    ) async throws -> Answer {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            var request = HTTPClientRequest(url: url)
            request.method = method
            if let protocolVersion { request.headers.add(name: "Rain-Protocol", value: protocolVersion) }
            if let credential { request.headers.add(name: "Authorization", value: "Bearer " + credential) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response = try await client.execute(request, timeout: .seconds(30))
            var buffer = try await response.body.collect(upTo: 32 * 1024 * 1024)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            try await client.shutdown()
            let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
            return Answer(status: Int(response.status.code), body: object, headers: response.headers)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    struct Setup {
        let deployment: Deployment
        let a: String
        let b: String
        let credentialA: String
        let credentialB: String
        var url: String { deployment.server.url }

        init() throws {
            deployment = try Deployment()
            a = try deployment.replica("a", office: "HSM", staff: "张三")
            b = try deployment.replica("b", office: "HSM", staff: "李四")
            credentialA = try #require(try officeReplica(a).syncState().credential)
            credentialB = try #require(try officeReplica(b).syncState().credential)
        }

        /// The canonical bodies of a replica's own changes.
        func bodies(_ path: String) throws -> [String] {
            try officeReplica(path).ownChanges(after: 0, limit: 10_000, maximumBytes: 1 << 30).map {
                String(decoding: $0.body, as: UTF8.self)
            }
        }

        func centralChanges() throws -> Int {
            try DatabaseQueue(path: deployment.server.db).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM changes") ?? -1 }
        }
    }

    static func batch(_ bodies: [String]) -> [UInt8] {
        Array(("{\"changes\":[" + bodies.joined(separator: ",") + "],\"protocol\":1}").utf8)
    }

    @Test func healthNeedsNoCredentialAndUnknownPathsAre404() async throws {
        let setup = try Setup()
        let health = try await Self.send(.GET, setup.url + "/healthz", protocolVersion: nil)
        #expect(health.status == 200 && health.body["status"] as? String == "ok")
        let missing = try await Self.send(.GET, setup.url + "/nothing-here")
        #expect(missing.status == 404 && missing.code == "not_found")
        // A known path with a method it does not take: 405 and the methods it takes.
        for (method, path, allowed) in [
            (HTTPMethod.TRACE, "/healthz", "GET"), (.DELETE, "/changes", "GET, POST"), (.GET, "/enrol", "POST"),
        ] {
            let answer = try await Self.send(method, setup.url + path, credential: setup.credentialA)
            #expect(answer.status == 405 && answer.code == "method_not_allowed", "\(method) \(path): \(answer.status)")
            #expect(answer.headers.first(name: "Allow") == allowed)
        }
    }

    @Test func aRequestWithoutAProtocolVersionGets400AndAnUnknownOne426() async throws {
        let setup = try Setup()
        let missing = try await Self.send(.GET, setup.url + "/changes", credential: setup.credentialA, protocolVersion: nil)
        #expect(missing.status == 400 && missing.code == "protocol_missing" && missing.message.contains("Rain-Protocol: 1"))
        for version in ["2", "0", "x"] {
            let answer = try await Self.send(.GET, setup.url + "/changes", credential: setup.credentialA, protocolVersion: version)
            #expect(answer.status == 426, "version \(version ?? "none")")
            #expect(answer.code == "unsupported_protocol" && answer.message.contains("version 1"))
            #expect(answer.headers.first(name: "Upgrade") == "Rain-Protocol/1")
        }
        // A batch naming another version inside the body gets 426 too.
        let body = Array("{\"changes\":[],\"protocol\":2}".utf8)
        let answer = try await Self.send(.POST, setup.url + "/changes", body: body, credential: setup.credentialA)
        #expect(answer.status == 426 && answer.message.contains("supported: 1"))
    }

    @Test func missingMalformedAndWrongCredentialsGet401() async throws {
        let setup = try Setup()
        let id = setup.credentialA.split(separator: ".")[0]
        for credential in [
            nil, "garbage", String(id) + "." + String(repeating: "0", count: 64), "nobody." + String(repeating: "a", count: 64),
        ] {
            let push = try await Self.send(.POST, setup.url + "/changes", body: Self.batch([]), credential: credential)
            #expect(push.status == 401 && push.code == "unauthenticated", "\(credential ?? "none")")
            let pull = try await Self.send(.GET, setup.url + "/changes", credential: credential)
            #expect(pull.status == 401)
        }
    }

    @Test func pushingAnotherReplicasChangeIs403AndWritesNothing() async throws {
        let setup = try Setup()
        _ = try setup.deployment.newCase(setup.b, title: "楼道堆放杂物")
        _ = try setup.deployment.newCase(setup.a, title: "路灯不亮")
        let before = try setup.centralChanges()
        // One own change and one of b's in the same batch: nothing of it is written.
        let answer = try await Self.send(
            .POST, setup.url + "/changes", body: Self.batch(try setup.bodies(setup.a) + setup.bodies(setup.b)),
            credential: setup.credentialA)
        #expect(answer.status == 403 && answer.code == "foreign_dot")
        #expect(answer.message.contains("changes[1].dot.replica"))
        #expect(try setup.centralChanges() == before)
    }

    @Test func malformedJSONWrongTypesAndUnknownFieldsGet400AndWriteNothing() async throws {
        let setup = try Setup()
        _ = try setup.deployment.newCase(setup.a, title: "路灯不亮")
        let own = try setup.bodies(setup.a)[0]
        let cases: [(String, String)] = [
            ("{", "malformed JSON"),
            ("[]", "$: must be an object"),
            ("{\"changes\":\"all\",\"protocol\":1}", "changes: must be an array"),
            ("{\"changes\":[],\"protocol\":1,\"extra\":true}", "extra: unknown field"),
            (
                "{\"changes\":[" + own.replacingOccurrences(of: "\"counter\":1", with: "\"counter\":\"1\"") + "],\"protocol\":1}",
                "changes[0].dot.counter"
            ),
            ("{\"changes\":[" + own.replacingOccurrences(of: "\"author\":", with: "\"writer\":") + "],\"protocol\":1}", "changes[0]"),
        ]
        for (body, expected) in cases {
            let answer = try await Self.send(.POST, setup.url + "/changes", body: Array(body.utf8), credential: setup.credentialA)
            #expect(answer.status == 400, "\(body.prefix(60)) → \(answer.status)")
            #expect(answer.message.contains(expected), "\(answer.message) should name \(expected)")
            #expect(!answer.message.contains("路灯不亮"), "an error message repeats a value")
        }
        #expect(try setup.centralChanges() == 0)
    }

    @Test func anOversizedBodyGets413() async throws {
        let setup = try Setup()
        let body = [UInt8](repeating: UInt8(ascii: " "), count: 8 * 1024 * 1024 + 1)
        let answer = try await Self.send(.POST, setup.url + "/changes", body: body, credential: setup.credentialA)
        #expect(answer.status == 413 && answer.code == "too_large")
        let enrol = try await Self.send(.POST, setup.url + "/enrol", body: body)
        #expect(enrol.status == 413)
    }

    @Test func pushIsIdempotentByDotAndRefusesGapsAndReusedDots() async throws {
        let setup = try Setup()
        for title in ["一", "二", "三"] { _ = try setup.deployment.newCase(setup.a, title: "案件" + title) }
        let own = try setup.bodies(setup.a)
        #expect(own.count == 3)
        // A gap: counter 2 before counter 1.
        let gap = try await Self.send(.POST, setup.url + "/changes", body: Self.batch([own[1]]), credential: setup.credentialA)
        #expect(gap.status == 409 && gap.code == "gap")
        #expect((gap.body["error"] as? [String: Any])?["holds"] as? Int == 0)
        let first = try await Self.send(.POST, setup.url + "/changes", body: Self.batch(Array(own[0...1])), credential: setup.credentialA)
        #expect(first.status == 200 && first.body["accepted"] as? Int == 2 && first.body["holds"] as? Int == 2)
        // Replayed, with one new change: only the new one counts.
        let replay = try await Self.send(.POST, setup.url + "/changes", body: Self.batch(own), credential: setup.credentialA)
        #expect(replay.status == 200 && replay.body["accepted"] as? Int == 1 && replay.body["duplicates"] as? Int == 2)
        #expect(replay.body["holds"] as? Int == 3)
        // The same dot with other content is refused: a counter is never reused.
        let forged = own[0].replacingOccurrences(of: "案件一", with: "案件X")
        let reused = try await Self.send(.POST, setup.url + "/changes", body: Self.batch([forged]), credential: setup.credentialA)
        #expect(reused.status == 409 && reused.code == "dot_reused")
        #expect(try setup.centralChanges() == 3)
    }

    @Test func pullPagesByCountAndBytesInArrivalOrderWithoutTheCallersOwnChanges() async throws {
        let setup = try Setup()
        for title in ["一", "二", "三", "四", "五"] { _ = try setup.deployment.newCase(setup.a, title: "案件" + title) }
        _ = try setup.deployment.newCase(setup.b, title: "乙的案件")
        try setup.deployment.sync(setup.a)
        try setup.deployment.sync(setup.b)
        // b pulls a's five changes one page of two at a time; its own change never comes back.
        var after = ""
        var received: [String] = []
        var pages = 0
        while true {
            let query = "/changes?limit=2" + (after.isEmpty ? "" : "&after=" + after)
            let page = try await Self.send(.GET, setup.url + query, credential: setup.credentialB)
            try #require(page.status == 200)
            let changes = try #require(page.body["changes"] as? [[String: Any]])
            #expect(changes.count <= 2)
            for change in changes {
                let fields = change["fields"] as? [String: Any]
                received.append(fields?["title"] as? String ?? "?")
                #expect(
                    (change["dot"] as? [String: Any])?["replica"] as? String
                        != setup.credentialB.split(separator: ".").first.map(String.init))
            }
            #expect(page.body["holds"] as? Int == 1)
            #expect((page.body["offices"] as? [String: String])?.values.allSatisfy { $0 == "HSM" } ?? false)
            pages += 1
            after = try #require(page.body["cursor"] as? String)
            if page.body["more"] as? Bool != true { break }
        }
        #expect(received == ["案件一", "案件二", "案件三", "案件四", "案件五"])
        #expect(pages == 3)
        // A byte budget smaller than one change still returns one, so a pull always progresses.
        let tiny = try await Self.send(.GET, setup.url + "/changes?max_bytes=1", credential: setup.credentialB)
        #expect((tiny.body["changes"] as? [Any])?.count == 1 && tiny.body["more"] as? Bool == true)
    }

    @Test func badPullParametersGet400() async throws {
        let setup = try Setup()
        for query in ["limit=0", "limit=abc", "limit=10001", "max_bytes=0", "after=v2.1", "after=garbage", "colour=blue"] {
            let answer = try await Self.send(.GET, setup.url + "/changes?" + query, credential: setup.credentialA)
            #expect(answer.status == 400, "\(query) → \(answer.status)")
            #expect(!answer.message.isEmpty)
        }
        let ahead = try await Self.send(.GET, setup.url + "/changes?after=v1.999", credential: setup.credentialA)
        #expect(ahead.status == 409 && ahead.code == "unknown_position")
    }

    @Test func enrolmentRefusesBadBodiesReusedIdsAndUsedTokens() async throws {
        let setup = try Setup()
        let token = try setup.deployment.token("XQ")
        let malformed = try await Self.send(.POST, setup.url + "/enrol", body: Array("{\"token\":1}".utf8))
        #expect(malformed.status == 400)
        let a = try officeReplica(setup.a).identity.replica.rawValue
        let reused = try await Self.send(
            .POST, setup.url + "/enrol", body: Array("{\"protocol\":1,\"replica\":\"\(a)\",\"staff\":\"x\",\"token\":\"\(token)\"}".utf8))
        #expect(reused.status == 409 && reused.code == "replica_exists")
        let fresh = "{\"protocol\":1,\"replica\":\"0123456789abcdef0123456789abcdef\",\"staff\":\"x\",\"token\":\"\(token)\"}"
        let ok = try await Self.send(.POST, setup.url + "/enrol", body: Array(fresh.utf8))
        #expect(ok.status == 200 && ok.body["office"] as? String == "XQ" && (ok.body["credential"] as? String)?.count ?? 0 > 64)
        let again = try await Self.send(.POST, setup.url + "/enrol", body: Array(fresh.replacingOccurrences(of: "0123", with: "9999").utf8))
        #expect(again.status == 401 && again.code == "invalid_token")
        let log = setup.deployment.server.log
        #expect(!log.contains(token.split(separator: ".").last.map(String.init) ?? "-"), "the log holds a token")
    }
}
