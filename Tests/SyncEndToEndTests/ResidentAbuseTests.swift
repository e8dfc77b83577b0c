import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The residents' routes need no credential, so every bad input, every burst and every
/// half-sent request is met on a real `rain-server`: a clear error in GeoReport's form with
/// the right status, nothing written, no resident's datum echoed or logged.
@Suite(.serialized) struct ResidentAbuseTests {
    @Test func badSubmissionsGetAClearErrorAndWriteNothing() async throws {
        let deployment = try Deployment(serverArguments: ["--public-writes-per-minute", "1000", "--public-reads-per-minute", "1000"])
        let base = deployment.server.url + "/open311/v2"
        let phone = "13955556666"
        let cases: [(fields: [(String, String)], status: Int, names: String)] = [
            (PublicHTTP.submission(phone: phone).filter { $0.0 != "jurisdiction_id" }, 400, "jurisdiction_id"),
            (PublicHTTP.submission(community: "NOPE", phone: phone), 404, "jurisdiction_id"),
            (PublicHTTP.submission(community: "JD1", phone: phone), 404, "jurisdiction_id"),
            (PublicHTTP.submission(phone: phone, [("service_code", "complaint-99")]), 400, "service_code"),
            (PublicHTTP.submission(phone: phone).filter { $0.0 != "description" }, 400, "description"),
            (PublicHTTP.submission(phone: phone, [("description", "   ")]), 400, "description"),
            (PublicHTTP.submission(phone: phone, [("description", String(repeating: "a", count: 2001))]), 400, "description"),
            (PublicHTTP.submission(phone: phone).filter { $0.0 != "address_string" }, 400, "address_string"),
            (PublicHTTP.submission(phone: phone, [("lat", "91"), ("long", "121")]), 400, "lat"),
            (PublicHTTP.submission(phone: phone, [("lat", "31.2")]), 400, "lat"),
            (PublicHTTP.submission(phone: "1234"), 400, "phone"),
            (PublicHTTP.submission(phone: "010-62345678"), 400, "phone"),
            (PublicHTTP.submission(phone: phone).filter { $0.0 != "phone" }, 400, "phone"),
            (PublicHTTP.submission(phone: phone, [("email", "not-an-address")]), 400, "email"),
            (PublicHTTP.submission(phone: phone, [("status", "closed")]), 400, "status"),
            // Limits count code points, as the document's maxLength does: 1,000 letters each
            // with a combining mark are 1,000 characters to Swift but 2,001 code points here.
            (PublicHTTP.submission(phone: phone, [("description", String(repeating: "e\u{301}", count: 1000) + "x")]), 400, "description"),
            // …and count the value as sent, before trimming.
            (PublicHTTP.submission(phone: phone, [("last_name", "王" + String(repeating: " ", count: 50))]), 400, "last_name"),
            (PublicHTTP.submission(phone: " 139 5555 6666" + String(repeating: " ", count: 7)), 400, "phone"),
        ]
        for (fields, status, names) in cases {
            let answer = try await PublicHTTP.send(.POST, base + "/requests.json", form: fields, headers: [("Accept-Language", "en")])
            #expect(answer.status == status, "\(names): \(answer.text)")
            #expect(answer.description.contains(names), "\(names): \(answer.text)")
            #expect(answer.first["code"] as? Int == status)
            #expect(!answer.text.contains(phone) && !answer.text.contains("王"), "\(answer.text)")
        }
        // A duplicate field, malformed encoding, the wrong body type, an oversized body.
        let twice = try await PublicHTTP.send(.POST, base + "/requests.json", body: Array("phone=1&phone=2".utf8))
        #expect(twice.status == 400)
        let malformed = try await PublicHTTP.send(.POST, base + "/requests.json", body: Array("description=%E4%B8&phone=%ZZ".utf8))
        #expect(malformed.status == 400, "\(malformed.text)")
        let json = try await PublicHTTP.send(.POST, base + "/requests.json", body: Array("{}".utf8), contentType: "application/json")
        #expect(json.status == 415, "\(json.text)")
        let huge = try await PublicHTTP.send(
            .POST, base + "/requests.json",
            form: PublicHTTP.submission(phone: phone, [("media_url", String(repeating: "a", count: 70_000))]))
        #expect(huge.status == 413, "\(huge.text)")
        // The longest valid description in four-byte characters, percent-encoded, fits.
        let longest = try await PublicHTTP.send(
            .POST, base + "/requests.json",
            form: PublicHTTP.submission(phone: "13955557777", [("description", String(repeating: "𠀀", count: 2000))]))
        #expect(longest.status == 201, "\(longest.text.prefix(200))")
        // Reads: only what they name.
        let listing = try await PublicHTTP.send(.GET, base + "/requests.json")
        #expect(listing.status == 400 && listing.first["code"] as? Int == 400)
        let many = (1...51).map { "HSM-20261206-1432-K7Q-\($0 + 1)" }.joined(separator: ",")
        #expect(try await PublicHTTP.send(.GET, base + "/requests.json?service_request_id=\(many)").status == 400)
        #expect(try await PublicHTTP.send(.GET, base + "/requests/HSM-20261206-1432-K7Q.json").status == 404)
        #expect(try await PublicHTTP.send(.GET, base + "/requests/nonsense.json").status == 404)
        #expect(try await PublicHTTP.send(.GET, base + "/requests/HSM-20261206-1432-K7Q.xml").status == 400)
        #expect(try await PublicHTTP.send(.GET, base + "/services.json?surprise=1").status == 400)
        let zalgo = String(repeating: "o\u{35E}\u{337}", count: 34).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let longJurisdiction = try await PublicHTTP.send(
            .GET, base + "/requests.json?service_request_id=HSM-20261206-1432-K7Q&jurisdiction_id=\(zalgo)")
        #expect(longJurisdiction.status == 400 && longJurisdiction.description.contains("jurisdiction_id"), "\(longJurisdiction.text)")
        // Nothing else was written: a new replica of the community receives the one valid request.
        let office = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        #expect(try deployment.sync(office)["received"] as? Int == 1)
        #expect(!deployment.server.log.contains("status=5"))
        #expect(!deployment.server.log.contains(phone))
    }

    @Test func burstsAndRepeatedSubmissionsAnswer429WithRetryAfter() async throws {
        let deployment = try Deployment(serverArguments: [
            "--public-reads-per-minute", "12", "--public-writes-per-minute", "100", "--submissions-per-phone", "2",
        ])
        let base = deployment.server.url + "/open311/v2"
        for _ in 0..<2 {
            let ok = try await PublicHTTP.send(.POST, base + "/requests.json", form: PublicHTTP.submission(phone: "13600000001"))
            #expect(ok.status == 201, "\(ok.text)")
        }
        let third = try await PublicHTTP.send(.POST, base + "/requests.json", form: PublicHTTP.submission(phone: "13600000001"))
        #expect(third.status == 429, "\(third.text)")
        #expect(Int(third.headers.first(name: "Retry-After") ?? "") ?? 0 > 0)
        // Another phone may still send.
        let other = try await PublicHTTP.send(.POST, base + "/requests.json", form: PublicHTTP.submission(phone: "13600000002"))
        #expect(other.status == 201, "\(other.text)")
        // The address's budget runs out; the sync routes are not limited by it.
        var limited: PublicHTTP.Answer?
        for _ in 0..<20 {
            let answer = try await PublicHTTP.send(.GET, base + "/services.json")
            if answer.status == 429 {
                limited = answer
                break
            }
        }
        let refusal = try #require(limited)
        #expect(Int(refusal.headers.first(name: "Retry-After") ?? "") ?? 0 >= 1)
        #expect(refusal.first["code"] as? Int == 429)
        // The page shares the address's budget and refuses in HTML (a token may have come
        // back meanwhile on a slow machine: the budget runs out again within a few requests).
        var page = try await PublicHTTP.send(.GET, deployment.server.url + "/")
        for _ in 0..<20 where page.status != 429 { page = try await PublicHTTP.send(.GET, deployment.server.url + "/") }
        #expect(page.status == 429 && page.text.contains("<html"))
        #expect(try await PublicHTTP.send(.GET, deployment.server.url + "/healthz").status == 200)
    }

    @Test func noCrossOriginAccessAndOtherMethodsGet405() async throws {
        let deployment = try Deployment()
        let base = deployment.server.url + "/open311/v2"
        let origin = [("Origin", "https://evil.example")]
        let get = try await PublicHTTP.send(.GET, base + "/services.json", headers: origin)
        #expect(get.status == 200)
        #expect(get.headers.first(name: "Access-Control-Allow-Origin") == nil)
        let preflight = try await PublicHTTP.send(
            .OPTIONS, base + "/requests.json", headers: origin + [("Access-Control-Request-Method", "POST")])
        #expect(preflight.status == 405 && preflight.headers.first(name: "Access-Control-Allow-Origin") == nil)
        #expect(preflight.headers.first(name: "Allow") == "GET, POST")
        let put = try await PublicHTTP.send(.PUT, base + "/services.json")
        #expect(put.status == 405 && put.first["code"] as? Int == 405, "\(put.text)")
        let page = try await PublicHTTP.send(.DELETE, deployment.server.url + "/follow")
        #expect(page.status == 405 && page.text.contains("<html"))
        #expect(get.headers.first(name: "X-Content-Type-Options") == "nosniff")
        let home = try await PublicHTTP.send(.GET, deployment.server.url + "/")
        #expect(home.headers.first(name: "Content-Security-Policy")?.contains("default-src 'none'") == true)
    }

    /// Connections that open and never finish a request (a half-sent head, a head sent a
    /// byte at a time, a body that stops) are closed by the server, which keeps serving.
    @Test func halfSentRequestsDoNotHoldConnections() async throws {
        let deployment = try Deployment(serverArguments: ["--head-timeout", "2", "--body-timeout", "3", "--idle-timeout", "5"])
        let port = try #require(deployment.server.url.split(separator: ":").last.flatMap { UInt16($0) })
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        for index in 0..<600 {
            let socket = try Self.connect(port)
            sockets.append(socket)
            let partial =
                switch index % 3 {
                case 0: "GET /open311/v2/services.json HTTP/1.1\r\nHost: x\r\n"
                case 1: "GE"
                default: "POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nphone=1"
                }
            _ = partial.withCString { send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
        // A trickle: one byte at a time, never the end of the head.
        let trickle = try Self.connect(port)
        sockets.append(trickle)
        // A request refused before its body is read (no protocol header), whose body then
        // ends, followed by a next head trickled a byte at a time.
        let early = try Self.connect(port)
        sockets.append(early)
        let refused = "POST /changes HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"
        _ = refused.withCString { send(early, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var trickleClosed = false
        var earlySent = 0
        let deadline = Date().addingTimeInterval(30)
        var open = Set(sockets)
        while !open.isEmpty, Date() < deadline {
            if !trickleClosed { trickleClosed = send(trickle, "X", 1, Int32(MSG_NOSIGNAL)) < 0 }
            if open.contains(early) {
                let next = earlySent == 0 ? "cd" : "G"
                _ = next.withCString { send(early, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                earlySent += 1
            }
            for socket in open where Self.closedByPeer(socket) { open.remove(socket) }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(open.isEmpty, "\(open.count) of \(sockets.count) connections still open after 30 s")
        #expect(try await PublicHTTP.send(.GET, deployment.server.url + "/healthz").status == 200)
    }

    static func connect(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "connect: errno \(errno)")
        return fd
    }

    /// Whether the peer closed `socket` (a read without blocking sees the end, or a reset).
    static func closedByPeer(_ socket: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(socket, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if count == 0 { return true }
        if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        // An answer (408 or 400) came: read on until the close.
        return closedByPeer(socket)
    }
}
