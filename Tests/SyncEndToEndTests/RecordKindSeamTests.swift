import CaseStore
import Foundation
import GRDB
import ReplicaStore
import SyncClient
import SyncCore
import SyncProtocol
import Testing

/// A record kind declared here only, in the test target: a notice an office posts, read
/// and written by the offices whose subtree holds its `office`. Nothing in `Sources/`
/// names it.
struct NoticeProjection: RecordProjection {
    static let kind = RecordKind(
        name: "notices",
        tables: [
            TableDeclaration(
                "notices", kind: .mutable, scope: .fields(["office"]),
                fields: [
                    FieldDeclaration("office", .text, required: true, "the office the notice is for (scope)"),
                    FieldDeclaration("title", .text, required: true, "what it says"),
                    FieldDeclaration("body", .text, "details"),
                ])
        ])

    var kind: RecordKind { Self.kind }

    var migrations: [MigrationStep] {
        [
            MigrationStep(name: "notices-v1") { db in
                try db.execute(sql: "CREATE TABLE notices (id TEXT PRIMARY KEY, office TEXT, title TEXT, body TEXT) STRICT")
            }
        ]
    }

    func materialize(_ record: SyncCore.Record, key: RecordKey, in context: ProjectionContext) throws {
        let text = { (field: String) in context.value(record, field, table: key.table)?.text }
        try context.db.execute(
            sql: """
                INSERT INTO notices (id, office, title, body) VALUES (?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET office = excluded.office, title = excluded.title, body = excluded.body
                """, arguments: [key.id, text("office"), text("title"), text("body")])
    }

    func purgeRows(of key: RecordKey, now: Int64, in db: Database) throws {
        try db.execute(sql: "DELETE FROM notices WHERE id = ?", arguments: [key.id])
    }

    func label(of key: RecordKey, in db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT title FROM notices WHERE id = ?", arguments: [key.id])
    }
}

/// The seam between the generic store and server and a record kind (DESIGN §8): a kind
/// the store and the server were not built with is written, synced through a real
/// `rain-server` process, materialised, refused and purged by its own declaration.
@Suite(.serialized) struct RecordKindSeamTests {
    func rows(_ store: ReplicaStore) throws -> [String: [String?]] {
        try DatabaseQueue(path: store.path).read { db in
            var rows: [String: [String?]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM notices") { rows[row["id"]] = [row["office"], row["title"], row["body"]] }
            return rows
        }
    }

    func sync(_ store: ReplicaStore) async throws -> SyncReport {
        let driver = try Enrolment.driver(for: store)
        do {
            let report = try await driver.run()
            await driver.transport.shutdown()
            return report
        } catch {
            await driver.transport.shutdown()
            throw error
        }
    }

    @Test func aKindDeclaredInATestSyncsThroughARealServerByItsOwnScope() async throws {
        let scratch = try Scratch()
        let declaration = scratch.file("notices.json")
        try KindDeclarationV1.encode(NoticeProjection.kind).write(toFile: declaration, atomically: true, encoding: .utf8)
        let server = try ServerProcess(folder: scratch.path, db: scratch.file("central.sqlite"), arguments: ["--kind", declaration])
        for office in [
            ["HSD", "--name", "和盛区", "--level", "district"], ["JD1", "--name", "和平街道", "--level", "street", "--parent", "HSD"],
            ["HSM", "--name", "和盛社区", "--level", "community", "--parent", "JD1"],
            ["XQ", "--name", "新桥社区", "--level", "community", "--parent", "JD1"],
        ] {
            try #require(server.admin(["office", "add"] + office).status == 0)
        }
        func replica(_ name: String, _ office: String) async throws -> ReplicaStore {
            let store = try ReplicaStore.create(at: scratch.file(name + ".sqlite"), office: office, staff: name, also: [NoticeProjection()])
            let token = try #require(try server.admin(["office", "token", office, "--json"]).object["token"] as? String)
            _ = try await Enrolment.enrol(store, server: server.url, token: token, caCertificates: nil, insecure: false)
            return store
        }
        let (writer, reader, other, district) = (
            try await replica("hsm-1", "HSM"), try await replica("hsm-2", "HSM"), try await replica("xq", "XQ"),
            try await replica("hsd", "HSD")
        )
        let notice = RecordKey(table: "notices", id: "notice-1")
        let posted: [String?] = ["HSM", "周六停水", "9:00–12:00，和盛社区全域"]

        // Written on one replica, materialised there and, through the server, on another.
        _ = try writer.write(["office": .text("HSM"), "title": .text("周六停水"), "body": .text("9:00–12:00，和盛社区全域")], to: notice)
        #expect(try rows(writer) == [notice.id: posted])
        #expect(try await sync(writer).sent == 1)
        #expect(try await sync(reader).received == 1)
        #expect(try rows(reader) == [notice.id: posted])

        // Another community is not sent it, and may not write to it.
        _ = try await sync(other)
        #expect(try rows(other).isEmpty && other.record(notice) == nil)
        _ = try other.write(["office": .text("HSM"), "title": .text("冒名通知")], to: RecordKey(table: "notices", id: "notice-2"))
        let refused = try await sync(other)
        #expect(refused.withheld == 1 && refused.sent == 0)
        #expect(try other.withheldChanges().map(\.number) == ["冒名通知"], "labelled by the kind's projection")
        #expect(try await sync(reader).received == 0)

        // A community may not hand its notice to another community: its home is its own.
        _ = try reader.write(["office": .text("XQ")], to: notice)
        #expect(try await sync(reader).withheld == 1)

        // The district may: the notice leaves HSM (purged there, every byte of its merge
        // state and log) and enters XQ with its history.
        #expect(try await sync(district).received == 1)
        _ = try district.write(["office": .text("XQ")], to: notice)
        #expect(try await sync(district).sent == 1)
        _ = try await sync(writer)
        #expect(try rows(writer).isEmpty && writer.record(notice) == nil)
        let left = try await DatabaseQueue(path: writer.path).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM changes WHERE tbl = 'notices'") ?? -1
        }
        #expect(left == 0, "its changes went with it, the writer's own acknowledged ones included")
        _ = try await sync(other)
        #expect(try rows(other)[notice.id] == ["XQ", "周六停水", "9:00–12:00，和盛社区全域"])
        #expect(try other.history(of: notice).count == 2, "the whole history came with it")

        // The street covers both communities: it holds the notice wherever it is.
        let street = try await replica("jd1", "JD1")
        _ = try await sync(street)
        #expect(try rows(street)[notice.id] == ["XQ", "周六停水", "9:00–12:00，和盛社区全域"])
        server.stop()
    }

    /// A declaration the server cannot serve stops it before it listens, naming the file,
    /// the member and the reason.
    @Test func aBadKindDeclarationStopsTheServerWithWhereAndWhy() throws {
        let scratch = try Scratch()
        let cases = scratch.file("cases-again.json")
        try KindDeclarationV1.encode(NoticeProjection.kind).replacingOccurrences(of: "\"name\": \"notices\"", with: "\"name\": \"cases\"")
            .write(toFile: cases, atomically: true, encoding: .utf8)
        let unknown = scratch.file("unknown.json")
        try #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": "district", "fields": [], "colour": "red"}]}"#
            .write(toFile: unknown, atomically: true, encoding: .utf8)
        for (file, message) in [
            (cases, "cannot serve the kind in \(cases): table cases is already declared (--kind)"),
            (
                unknown,
                "cannot serve the kind in \(unknown): invalid kind declaration: unknown member (allowed: fields, name, records, scope, writer_levels) ($.tables[0].colour) (--kind)"
            ),
            (scratch.file("missing.json"), "cannot read the kind declaration \(scratch.file("missing.json")) (--kind)"),
        ] {
            let run = try execute(
                Built.server, ["serve", "--db", scratch.file("central.sqlite"), "--port", "0", "--kind", file], in: scratch.path)
            #expect(run.status == 2, "a usage error: \(run.stdout)")
            #expect(run.stderr.contains(message), "\(run.stderr)")
            #expect(!run.stdout.contains("listening"))
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.file("central.sqlite")), "nothing created")
    }

    /// The generic store, the server and the sync client never name the test's kind: the
    /// seam, not a special case, carries it.
    @Test func noSourceFileNamesTheTestKind() throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let sources = root.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        #expect(files.count > 50)
        for file in files {
            let text = try String(contentsOfFile: sources.appendingPathComponent(file).path, encoding: .utf8)
            #expect(!text.contains("notices"), "\(file) names the test kind")
        }
    }
}
