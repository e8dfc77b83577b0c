import CaseStore
import Foundation
import GRDB
import ReplicaStore
import SyncCore
import SyncProtocol
import SyncServer
import Testing

/// The embedded storage, in process, on a real SQLite file.
@Suite struct CentralStorageTests {
    final class Folder {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rain-central-\(UUID().uuidString)").path
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    let folder = Folder()
    var path: String { folder.path + "/central.sqlite" }
    let now: Int64 = 1_795_651_200_000

    func storageWithOffices() throws -> SQLiteCentralStorage {
        let storage = try SQLiteCentralStorage.open(at: path)
        _ = try storage.addOffice(code: "HSD", name: "和盛区", level: .district, parent: nil, now: now)
        _ = try storage.addOffice(code: "JD1", name: "和平街道", level: .street, parent: "HSD", now: now)
        _ = try storage.addOffice(code: "hsm", name: "和盛社区", level: .community, parent: "JD1", now: now)
        return storage
    }

    /// A community replica of HSM that writes cases.
    let hsmWriter = Caller(replica: ReplicaID("0123456789abcdef0123456789abcdef"), office: "HSM")

    /// HSM's new case `c<counter>`, its community and handling office `community`.
    func caseChange(_ counter: UInt64, community: String) -> Change {
        Change(
            dot: Dot(hsmWriter.replica, counter), record: RecordKey(table: "cases", id: "c\(counter)"),
            fields: ["community": .text(community), "office": .text(community), "title": .text("案件")], context: VersionVector(),
            hlc: HLC(wall: UInt64(now) - 1_000 + counter), author: "李娜")
    }

    func enrolment(_ token: String, replica: String = "0123456789abcdef0123456789abcdef") -> EnrolRequestV1 {
        EnrolRequestV1(token: token, replica: ReplicaID(replica), staff: "张三")
    }

    @Test func theOfficeTreeIsChecked() throws {
        let storage = try storageWithOffices()
        #expect(try storage.offices().map(\.code) == ["HSD", "HSM", "JD1"], "codes are stored in capitals")
        let refusals: [(String, OfficeLevel, String?, Int, String)] = [
            ("HS-M", .community, "JD1", 400, "letters or digits"),
            ("XQ", .community, nil, 400, "needs a parent street office"),
            ("XQ", .community, "HSD", 400, "must be a street office"),
            ("XQ", .community, "NOPE", 404, "no parent office NOPE"),
            ("HSD2", .district, "HSD", 400, "has no parent"),
            ("HSM", .community, "JD1", 409, "already exists"),
        ]
        for (code, level, parent, status, message) in refusals {
            do {
                _ = try storage.addOffice(code: code, name: "x", level: level, parent: parent, now: now)
                Issue.record("\(code) was added")
            } catch {
                #expect(error.status == status && error.message.contains(message), "\(code): \(error.message)")
            }
        }
    }

    @Test func aTokenWorksOnceAndExpires() throws {
        let storage = try storageWithOffices()
        let token = try storage.issueToken(office: "HSM", lifetime: 72 * 3_600_000, now: now)
        #expect(token.expiresAt == now + 72 * 3_600_000)
        let answer = try storage.enrol(enrolment(token.token), now: now + 1)
        #expect(answer.office == "HSM" && answer.officeName == "和盛社区" && answer.level == "community")
        #expect(answer.credential.hasPrefix("0123456789abcdef0123456789abcdef."))
        #expect(throws: ServerError.self) { try storage.enrol(enrolment(token.token, replica: "ffff"), now: now + 2) }

        let late = try storage.issueToken(office: "HSM", lifetime: 1_000, now: now)
        do {
            _ = try storage.enrol(enrolment(late.token, replica: "eeee"), now: now + 1_000)
            Issue.record("an expired token enrolled")
        } catch {
            #expect(error.status == 401 && error.code == "invalid_token")
        }
        #expect(try storage.replicas().count == 1)
    }

    @Test func onlyHashesOfSecretsAreStored() throws {
        let storage = try storageWithOffices()
        let token = try storage.issueToken(office: "HSM", lifetime: 3_600_000, now: now)
        let credential = try storage.enrol(enrolment(token.token), now: now).credential
        let secrets = [String(token.token.split(separator: ".")[1]), String(credential.split(separator: ".")[1])]
        let dump = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT secret_sha256 FROM enrolment_tokens UNION ALL SELECT secret_sha256 FROM replicas")
        }
        #expect(dump.count == 2)
        for secret in secrets { #expect(!dump.contains(secret)) }
        let bytes =
            try Data(contentsOf: URL(fileURLWithPath: path)) + ((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
        for secret in secrets { #expect(bytes.range(of: Data(secret.utf8)) == nil, "a secret is in the database file") }
    }

    @Test func aRevokedCredentialIsRefusedAtItsNextRequest() throws {
        let storage = try storageWithOffices()
        let token = try storage.issueToken(office: "HSM", lifetime: 3_600_000, now: now)
        let credential = try storage.enrol(enrolment(token.token), now: now).credential
        #expect(try storage.authenticate(credential: credential, now: now).office == "HSM")
        // Revoked from another connection, as `rain-server replica revoke` does while the server runs.
        let admin = try SQLiteCentralStorage.open(at: path, create: false)
        _ = try admin.revoke(replica: ReplicaID("0123456789abcdef0123456789abcdef"), now: now + 5)
        do {
            _ = try storage.authenticate(credential: credential, now: now + 6)
            Issue.record("a revoked credential authenticated")
        } catch {
            #expect(error.status == 401 && error.code == "revoked")
        }
        #expect(throws: ServerError.self) { try admin.revoke(replica: ReplicaID("unknown"), now: now) }
    }

    @Test func aCredentialIsComparedWhole() throws {
        let storage = try storageWithOffices()
        let token = try storage.issueToken(office: "HSM", lifetime: 3_600_000, now: now)
        let credential = try storage.enrol(enrolment(token.token), now: now).credential
        var flipped = Array(credential)
        flipped[flipped.count - 1] = flipped.last == "0" ? "1" : "0"
        for wrong in [String(flipped), credential + "0", String(credential.dropLast()), "", "." + credential] {
            #expect(throws: ServerError.self) { try storage.authenticate(credential: wrong, now: now) }
        }
    }

    @Test func theServersDatabaseIsNotAnOfficeReplica() throws {
        _ = try storageWithOffices()
        // `rain` refuses to open the central file as its replica (it has the server's tables).
        #expect(throws: ReplicaStoreError.self) { try ReplicaStore.open(at: path) }
    }

    /// A push both out of scope and with a gap is answered `out_of_scope` (§9.1: the
    /// rules' order), listing what was refused; pushed again without it, the gap is 409.
    @Test func outOfScopeWinsOverAGap() throws {
        let storage = try storageWithOffices()
        _ = try storage.addOffice(code: "XQ", name: "新桥社区", level: .community, parent: "JD1", now: now)
        let caller = hsmWriter
        func change(_ counter: UInt64, community: String) -> Change { caseChange(counter, community: community) }
        // Counter 1 is missing (a gap) and counter 3 is another community's.
        do {
            _ = try storage.push([change(2, community: "HSM"), change(3, community: "XQ")], from: caller, now: now)
            Issue.record("accepted")
        } catch {
            #expect(error.code == "out_of_scope" && error.status == 403)
            #expect(error.refused.map(\.counter) == [3])
        }
        do {
            _ = try storage.push([change(2, community: "HSM")], from: caller, now: now)
            Issue.record("accepted")
        } catch {
            #expect(error.code == "gap" && error.status == 409)
        }
        #expect(try storage.push([change(1, community: "HSM"), change(2, community: "HSM")], from: caller, now: now).holds == 3)
    }

    /// A record first written with no scope (the district's only) and given one later
    /// enters that scope with its whole history: its first change, listed nowhere, is
    /// sent too.
    @Test func aRecordGivenItsFirstScopeLaterArrivesWhole() throws {
        let storage = try storageWithOffices()
        let district = Caller(replica: ReplicaID("0123456789abcdef0123456789abcdef"), office: "HSD")
        let reader = Caller(replica: ReplicaID("fedcba9876543210fedcba9876543210"), office: "HSM")
        let key = RecordKey(table: "cases", id: "c1")
        let untouched = try storage.pull(for: reader, after: "", limit: 100, maximumBytes: 1 << 20, now: now).cursor
        func change(_ counter: UInt64, _ fields: [String: Value]) -> Change {
            Change(
                dot: Dot(district.replica, counter), record: key, fields: fields,
                context: counter == 1 ? VersionVector() : VersionVector([district.replica: counter - 1]),
                hlc: HLC(wall: UInt64(now) - 1_000 + counter), author: "区员工")
        }
        _ = try storage.push([change(1, ["title": .text("待分派的案件"), "status": .text("received")])], from: district, now: now)
        #expect(try storage.pull(for: reader, after: untouched, limit: 100, maximumBytes: 1 << 20, now: now).bodies.isEmpty)
        _ = try storage.push([change(2, ["community": .text("HSM"), "office": .text("HSM")])], from: district, now: now)
        let page = try storage.pull(for: reader, after: untouched, limit: 100, maximumBytes: 1 << 20, now: now)
        let received = try ChangeBatchV1.decode(ChangeBatchV1.encode(canonicalBodies: page.bodies))
        #expect(received.map(\.dot.counter) == [1, 2], "the creating change came with the one that gave the scope")
    }

    /// A pull pages through its caller's listing runs from any position: a page may end
    /// inside a run, a change listed under a community and its street is sent once, and
    /// another community's changes between them are skipped.
    @Test func pullsPageThroughListingRunsFromAnyPosition() throws {
        let storage = try storageWithOffices()
        _ = try storage.addOffice(code: "XQ", name: "新桥社区", level: .community, parent: "JD1", now: now)
        let district = Caller(replica: ReplicaID("0123456789abcdef0123456789abcdef"), office: "HSD")
        var counter: UInt64 = 0
        var written: [(id: String, offices: [String])] = []
        func change(_ id: String, _ community: String, handling: String) -> Change {
            counter += 1
            written.append((id, [community, handling]))
            return Change(
                dot: Dot(district.replica, counter), record: RecordKey(table: "cases", id: id + "-\(counter)"),
                fields: ["community": .text(community), "office": .text(handling), "title": .text("案件")],
                context: VersionVector(), hlc: HLC(wall: UInt64(now) - 10_000 + counter), author: "区员工")
        }
        // Three batches: HSM's, then interleaved HSM / XQ / escalated to JD1, then XQ's.
        _ = try storage.push((0..<7).map { _ in change("h", "HSM", handling: "HSM") }, from: district, now: now)
        var mixed: [Change] = []
        for index in 0..<9 {
            switch index % 3 {
            case 0: mixed.append(change("h", "HSM", handling: "HSM"))
            case 1: mixed.append(change("x", "XQ", handling: "XQ"))
            default: mixed.append(change("e", "HSM", handling: "JD1"))
            }
        }
        _ = try storage.push(mixed, from: district, now: now)
        _ = try storage.push((0..<4).map { _ in change("x", "XQ", handling: "XQ") }, from: district, now: now)
        for (office, replica) in [("HSM", "fedcba9876543210fedcba9876543210"), ("JD1", "abcdefabcdefabcdefabcdefabcdefab")] {
            let caller = Caller(replica: ReplicaID(replica), office: office)
            let expected = written.enumerated().filter { _, record in
                office == "JD1" || record.offices.contains(office)
            }.map { UInt64($0.offset + 1) }
            for limit in [1, 2, 3, 5, 100] {
                var cursor = ""
                var received: [UInt64] = []
                for _ in 0..<100 {
                    let page = try storage.pull(for: caller, after: cursor, limit: limit, maximumBytes: 1 << 20, now: now)
                    received += try ChangeBatchV1.decode(ChangeBatchV1.encode(canonicalBodies: page.bodies)).map(\.dot.counter)
                    #expect(page.bodies.count <= limit)
                    cursor = page.cursor
                    if !page.more { break }
                }
                #expect(received == expected, "\(office), pages of \(limit)")
            }
        }
        // The first batch is one run, not seven rows.
        let runs = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT office, first, last FROM scope_log WHERE office = 'HSM' ORDER BY last").map {
                [$0["first"], $0["last"]] as [Int64]
            }
        }
        #expect(runs.first == [1, 7])
    }

    /// A counter refused before and sent again twice in one batch, below what the writer
    /// holds since: applied once, the repeat counted as a duplicate.
    @Test func aRefusedCounterSentTwiceIsAppliedOnce() throws {
        let storage = try storageWithOffices()
        _ = try storage.addOffice(code: "XQ", name: "新桥社区", level: .community, parent: "JD1", now: now)
        let caller = hsmWriter
        func change(_ counter: UInt64, community: String) -> Change { caseChange(counter, community: community) }
        _ = try storage.push([change(1, community: "HSM"), change(2, community: "HSM")], from: caller, now: now)
        #expect(throws: ServerError.self) { try storage.push([change(3, community: "XQ")], from: caller, now: now) }
        #expect(try storage.push((4...6).map { change($0, community: "HSM") }, from: caller, now: now).holds == 6)
        let again = try storage.push([change(3, community: "HSM"), change(3, community: "HSM")], from: caller, now: now)
        #expect(again.accepted == 1 && again.duplicates == 1 && again.holds == 6)
    }
}
