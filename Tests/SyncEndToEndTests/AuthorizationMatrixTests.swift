import AsyncHTTPClient
import CaseStore
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import ReplicaStore
import SyncCore
import TestSupport
import Testing

/// Every endpoint against every kind of bad credential: 401 or 403, and not a row written
/// (counted in the server's database).
@Suite(.serialized) struct AuthorizationMatrixTests {
    /// Rows the requests could write: changes, merge state, scopes, replicas, used tokens.
    func rows(_ db: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (name, sql) in [
            ("changes", "SELECT count(*) FROM changes"), ("merge_state", "SELECT count(*) FROM merge_state"),
            ("scopes", "SELECT count(*) FROM merge_state WHERE scope IS NOT NULL OR parent IS NOT NULL"),
            ("listings", "SELECT count(*) FROM scope_log"), ("moves", "SELECT count(*) FROM scope_moves"),
            ("replicas", "SELECT count(*) FROM replicas"),
            ("used tokens", "SELECT count(*) FROM enrolment_tokens WHERE used_at IS NOT NULL"),
        ] {
            counts[name] = try count(db, sql)
        }
        let credentials =
            db.hasPrefix("postgres")
            ? try TestPostgres.query(db, "SELECT string_agg(secret_sha256, ',' ORDER BY id) FROM replicas")
            : try DatabaseQueue(path: db).read { db in
                try String.fetchOne(db, sql: "SELECT group_concat(secret_sha256) FROM (SELECT secret_sha256 FROM replicas ORDER BY id)")
                    ?? ""
            }
        counts["credentials"] = credentials.hashValue
        return counts
    }

    @Test(arguments: Backend.allCases) func everyEndpointRefusesEveryBadCredentialAndWritesNothing(_ backend: Backend) async throws {
        let deployment = try Deployment(backend: backend)
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "张三")
        let xq = try deployment.replica("xq", office: "XQ", staff: "李四")
        let revoked = try deployment.replica("revoked", office: "HSM", staff: "王五")
        let number = try deployment.newCase(hsm, title: "和盛的案件")
        try deployment.sync(hsm)
        let hsmStore = try officeReplica(hsm)
        let caseID = try hsmStore.findCase(number).id
        // Bodies the attackers would like the server to apply: HSM's own change (replayed by
        // others), a change of XQ's replica to HSM's case, a change of the revoked replica.
        let hsmBody = String(
            decoding: try #require(hsmStore.ownChanges(after: 0, limit: 1, maximumBytes: 1 << 20).first).body, as: UTF8.self)
        let xqStore = try officeReplica(xq)
        try xqStore.write(["title": .text("越权")], to: RecordKey(table: "cases", id: caseID))
        let xqBody = String(decoding: try #require(xqStore.ownChanges(after: 0, limit: 1, maximumBytes: 1 << 20).first).body, as: UTF8.self)
        let revokedStore = try officeReplica(revoked)
        _ = try deployment.newCase(revoked, title: "吊销前的案件")
        let revokedBody = String(
            decoding: try #require(revokedStore.ownChanges(after: 0, limit: 1, maximumBytes: 1 << 20).first).body, as: UTF8.self)
        #expect(try deployment.server.admin(["replica", "revoke", revokedStore.identity.replica.rawValue]).status == 0)

        let hsmCredential = try #require(hsmStore.syncState().credential)
        let hsmID = hsmStore.identity.replica.rawValue
        let credentials: [(String, String?, String)] = [
            ("none", nil, hsmBody),
            ("malformed", "not-a-credential", hsmBody),
            ("wrong secret", hsmID + "." + String(repeating: "0", count: 64), hsmBody),
            ("unknown replica", "ffffffffffffffffffffffffffffffff." + String(repeating: "a", count: 64), hsmBody),
            ("revoked", try #require(revokedStore.syncState().credential), revokedBody),
            ("another replica's change", try #require(xqStore.syncState().credential), hsmBody),
            ("another office's record", try #require(xqStore.syncState().credential), xqBody),
        ]
        let before = try rows(deployment.server.db)
        func batch(_ body: String) -> [UInt8] { Array(("{\"changes\":[" + body + "],\"protocol\":1}").utf8) }
        for (name, credential, body) in credentials {
            let push = try await ServerHTTPTests.send(.POST, deployment.server.url + "/changes", body: batch(body), credential: credential)
            let expected = name.hasPrefix("another") ? 403 : 401
            #expect(push.status == expected, "POST /changes with \(name): \(push.status) \(push.message)")
            // (Another office's credential is valid for rotating itself: not called, it would rotate.)
            if !name.hasPrefix("another") {
                let rekey = try await ServerHTTPTests.send(.POST, deployment.server.url + "/rekey", credential: credential)
                #expect(rekey.status == 401, "POST /rekey with \(name): \(rekey.status)")
            }
            let pull = try await ServerHTTPTests.send(.GET, deployment.server.url + "/changes", credential: credential)
            if name.hasPrefix("another") {
                // Another office's credential is valid for that office: it never sees HSM's case.
                #expect(pull.status == 200)
                let changes = pull.body["changes"] as? [[String: Any]] ?? []
                #expect(changes.allSatisfy { ($0["record"] as? [String: Any])?["id"] as? String != caseID })
            } else {
                #expect(pull.status == 401, "GET /changes with \(name): \(pull.status)")
            }
        }
        // Enrolment with a bad token of every kind.
        let used = try deployment.token("HSM")
        _ = try await ServerHTTPTests.send(
            .POST, deployment.server.url + "/enrol",
            body: Array("{\"protocol\":1,\"replica\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"staff\":\"x\",\"token\":\"\(used)\"}".utf8))
        let afterFirstUse = try rows(deployment.server.db)
        let expiredRun = try deployment.server.admin(["office", "token", "HSM", "--expires-in", "1", "--json"])
        let expired = try #require(expiredRun.object["token"] as? String)
        let expiredID = String(expired.split(separator: ".")[0])
        if backend == .postgres {
            _ = try TestPostgres.query(deployment.server.db, "UPDATE enrolment_tokens SET expires_at = 0 WHERE id = '\(expiredID)'")
        } else {
            try await DatabaseQueue(path: deployment.server.db).write { db in
                try db.execute(sql: "UPDATE enrolment_tokens SET expires_at = 0 WHERE id = ?", arguments: [expiredID])
            }
        }
        for (name, token) in [
            ("malformed", "garbage"), ("wrong secret", String(used.split(separator: ".")[0]) + "." + String(repeating: "1", count: 64)),
            ("used", used), ("expired", expired),
        ] {
            let enrol = try await ServerHTTPTests.send(
                .POST, deployment.server.url + "/enrol",
                body: Array("{\"protocol\":1,\"replica\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"staff\":\"x\",\"token\":\"\(token)\"}".utf8)
            )
            #expect(enrol.status == 401 && enrol.code == "invalid_token", "POST /enrol with a \(name) token: \(enrol.status)")
        }
        let after = try rows(deployment.server.db)
        #expect(after == afterFirstUse, "a refused request wrote rows: \(before) → \(after)")
        var expectedBefore = before
        expectedBefore["replicas"] = (before["replicas"] ?? 0) + 1
        expectedBefore["used tokens"] = (before["used tokens"] ?? 0) + 1
        expectedBefore["credentials"] = afterFirstUse["credentials"]
        #expect(afterFirstUse == expectedBefore, "only the one valid enrolment wrote")
        _ = number
    }

    /// The residents' routes need no credential, so they may read and write only what
    /// they name: a credential gives them nothing more; they never list, never reach a
    /// case without its number (nor its answer without its phone tail), never write a
    /// field they do not name, and a refused request writes nothing.
    @Test(arguments: Backend.allCases) func thePublicRoutesReadAndWriteOnlyWhatTheyName(_ backend: Backend) async throws {
        let deployment = try Deployment(backend: backend)
        let base = deployment.server.url + "/open311/v2"
        let hsm = try deployment.replica("hsm", office: "HSM", staff: "张三")
        let credential = try #require(try officeReplica(hsm).syncState().credential)
        let number = try deployment.newCase(hsm, title: "独居老人需要助餐", extra: ["--phone", "13812345678"])
        _ = try deployment.sync(hsm)
        let db = deployment.server.db
        let before = try rows(db)
        let bearer = [("Authorization", "Bearer " + credential), ("Rain-Protocol", "1")]
        // No listing, with or without a replica's credential.
        for headers in [[], bearer] {
            let listing = try await PublicHTTP.send(.GET, base + "/requests.json", headers: headers)
            #expect(listing.status == 400 && !listing.text.contains(number))
            let status = try await PublicHTTP.send(.GET, base + "/requests/\(number).json", headers: headers)
            #expect(status.status == 200 && status.first["status_notes"] == nil, "a credential reveals nothing more")
        }
        // Writes that name a field the route does not take, another case, or no proof.
        let refused: [(String, [(String, String)], Int)] = [
            ("/requests.json", PublicHTTP.submission(phone: "13900000000", [("status", "closed")]), 400),
            ("/requests.json", PublicHTTP.submission(phone: "13900000000", [("office", "XQ")]), 400),
            ("/requests.json", PublicHTTP.submission(community: "JD1", phone: "13900000000"), 404),
            ("/requests.json", PublicHTTP.submission(community: "HSD", phone: "13900000000"), 404),
            ("/requests/\(number)/rating.json", [("phone_tail", "0000"), ("score", "1")], 403),
            ("/requests/\(number)/rating.json", [("score", "1")], 400),
            ("/requests/\(number)/rating.json", [("phone_tail", "5678"), ("score", "1"), ("rating", "1")], 400),
            ("/requests/\(number)/messages.json", [("phone_tail", "0000"), ("text", "x")], 403),
            ("/requests/\(number)/messages.json", [("phone_tail", "5678"), ("text", "x"), ("case_id", "other")], 400),
            ("/requests/HSM-20261101-0000-K7Q/messages.json", [("phone_tail", "5678"), ("text", "x")], 404),
        ]
        for (path, form, status) in refused {
            let answer = try await PublicHTTP.send(.POST, base + path, form: form, headers: bearer)
            #expect(answer.status == status, "\(path) \(form.map(\.0)): \(answer.text)")
        }
        // Nothing written by any of it.
        var after = try rows(db)
        after["credentials"] = before["credentials"]
        #expect(after == before)
        // The sync routes still refuse a resident: no credential, no protocol.
        let pull = try await PublicHTTP.send(.GET, deployment.server.url + "/changes")
        #expect(pull.status == 400 || pull.status == 401)
        let push = try await PublicHTTP.send(
            .POST, deployment.server.url + "/changes", body: Array("{}".utf8), headers: [("Rain-Protocol", "1")])
        #expect(push.status == 401)
    }
}
