import CaseDomain
import Foundation
import GRDB
import ReplicaStore
import SuggestionStore
import SyncCore
import SyncProtocol
import TestSupport
import Testing

@testable import CaseStore
@testable import PolicyStore

/// A replica file as an older release left it: migrated up to `migration`, with the
/// replica's own row and nothing else.
func olderReplicaFile(_ path: String, upTo migration: String, replica: String = "r1") throws -> DatabaseQueue {
    _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
    let queue = try DatabaseQueue(path: path)
    try ReplicaMigrations.migrator().migrate(queue, upTo: migration)
    try queue.write { db in
        try db.execute(
            sql: "INSERT INTO replica (singleton, replica_id, office, staff, tag, created_at) VALUES (1, ?, 'HSM', '李娜', '7F', 0)",
            arguments: [replica])
    }
    return queue
}

/// A replica file as the first release wrote it: only `v1-replica`, with one case.
func firstReleaseFile(_ path: String) throws -> DatabaseQueue {
    let queue = try olderReplicaFile(path, upTo: "v1-replica")
    try queue.write { db in
        try db.execute(
            sql: "INSERT INTO cases (id, number, title, phone, status) VALUES ('c1', 'HSM-1', '楼道堆放杂物', '13812345678', 'received')")
    }
    return queue
}

/// FTS5's own integrity check of the file's search index against the case rows: true,
/// or an error naming the damage.
func searchIndexIsExact(_ path: String) throws -> Bool {
    try DatabaseQueue(path: path).write { db in
        try db.execute(sql: "INSERT INTO cases_fts (cases_fts, rank) VALUES ('integrity-check', 1)")
        return true
    }
}

/// A fresh folder per test, removed afterwards.
final class TemporaryFolder {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rain-tests-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct ReplicaStoreTests {
    let caseKey = RecordKey(table: "cases", id: "0193f1c2-7a00-7000-8000-000000000001")

    @Test func createMakesAPrivateFileAndOpenFindsTheSameReplica() throws {
        let folder = TemporaryFolder()
        let path = folder.file("office/replica.sqlite")
        let created = try ReplicaStore.create(at: path, office: "HSM", staff: "李娜")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let folderAttributes = try FileManager.default.attributesOfItem(atPath: folder.file("office"))
        #expect((folderAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        #expect(created.identity.replica.rawValue.count == 32)
        let opened = try ReplicaStore.open(at: path)
        #expect(opened.identity == created.identity)
        #expect(try opened.integrityCheck() == "ok")
        let journal = try DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    @Test func badFilesGetClearErrors() throws {
        let folder = TemporaryFolder()
        let missing = folder.file("missing.sqlite")
        #expect(throws: ReplicaStoreError.self) { try ReplicaStore.open(at: missing) }
        do {
            _ = try ReplicaStore.open(at: missing)
        } catch {
            #expect(error.description == "cannot open the replica: no replica file (\(missing)); create one with `rain init`")
        }
        let garbage = folder.file("garbage.sqlite")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: garbage))
        do {
            _ = try ReplicaStore.open(at: garbage)
            Issue.record("opened a file that is not SQLite")
        } catch {
            guard case .notAReplica = error else {
                Issue.record("\(error)")
                return
            }
        }
        let existing = folder.file("replica.sqlite")
        _ = try ReplicaStore.create(at: existing, office: "HSM", staff: "李娜")
        #expect(throws: ReplicaStoreError.self) { try ReplicaStore.create(at: existing, office: "HSM", staff: "李娜") }
    }

    @Test func aFileFromANewerVersionIsRefused() throws {
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        _ = try ReplicaStore.create(at: path, office: "HSM", staff: "李娜")
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        do {
            _ = try ReplicaStore.open(at: path)
            Issue.record("opened a newer replica")
        } catch {
            guard case .newerVersion = error else {
                Issue.record("\(error)")
                return
            }
            #expect(error.description.contains("newer version of rain"))
        }
    }

    @Test func theFirstMigrationCreatesTheDocumentedTables() throws {
        let folder = TemporaryFolder()
        let queue = try firstReleaseFile(folder.file("replica.sqlite"))
        let tables = try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'cases_fts%' ORDER BY name")
        }
        #expect(tables == ["case_events", "cases", "changes", "field_versions", "grdb_migrations", "replica"])
        let migrations = try queue.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(migrations == ["v1-replica"])
    }

    @Test func theSecondMigrationIndexesPhoneTailsAndKeepsEveryCase() throws {
        let folder = TemporaryFolder()
        let queue = try firstReleaseFile(folder.file("replica.sqlite"))
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v2-phone-tail")
        let row = try queue.read { db in try Row.fetchOne(db, sql: "SELECT number, title, phone_tail FROM cases WHERE id = 'c1'") }
        let number: String? = row?["number"]
        let title: String? = row?["title"]
        let tail: String? = row?["phone_tail"]
        #expect(number == "HSM-1")
        #expect(title == "楼道堆放杂物")
        #expect(tail == "5678")
        // A phone-tail search is an index lookup, not a scan of every case.
        let plan = try queue.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT rowid FROM cases WHERE phone_tail = '5678' AND phone LIKE '%5678'")
                .map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(plan.contains("cases_by_phone_tail"), "\(plan)")
    }

    @Test func theThirdMigrationAddsTheSyncStateAndKeepsTheWork() throws {
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        _ = try firstReleaseFile(path)
        // Opening with this version migrates the file to the latest schema.
        let store = try ReplicaStore.open(at: path)
        let state = try store.syncState()
        #expect(state.server == nil && state.credential == nil && state.acked == 0 && state.cursor == "" && !state.isEnrolled)
        #expect(try store.findCase("HSM-1").title == "楼道堆放杂物")
        let migrations = try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(
            migrations == [
                "v1-replica", "v2-phone-tail", "v3-sync", "v4-tls", "v5-withheld", "v6-moved", "v7-restore", "v8-compact-storage",
                "v9-search-later", "v10-search-notes-by-the-writer", "v11-scrub-after-purge", "cases-v12-source", "cases-v13-enterprise",
                "cases-v14-likeness", "cases-v15-community",
            ])
        let tables = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('sync_state', 'replica_offices') ORDER BY name")
        }
        #expect(tables == ["replica_offices", "sync_state"])
    }

    @Test func theFourthMigrationKeepsTheEnrolmentAndAddsHowToReachTheServer() throws {
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        let queue = try firstReleaseFile(path)
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v3-sync")
        try queue.write { db in
            try db.execute(
                sql: "UPDATE sync_state SET server = 'http://127.0.0.1:8080', credential = 'r1.secret', acked = 4, cursor = 'v1.9'")
        }
        let store = try ReplicaStore.open(at: path)
        let state = try store.syncState()
        #expect(state.server == "http://127.0.0.1:8080" && state.credential == "r1.secret" && state.acked == 4 && state.cursor == "v1.9")
        #expect(state.caCertificates == nil && !state.insecure)
        try store.saveEnrolment(
            server: "https://rain.example", credential: "r1.other", officeName: "和盛社区", officeLevel: "community",
            caCertificates: "-----BEGIN CERTIFICATE-----", insecure: true)
        let saved = try store.syncState()
        #expect(saved.caCertificates == "-----BEGIN CERTIFICATE-----" && saved.insecure && saved.server == "https://rain.example")
    }

    @Test func theFifthAndSixthMigrationsAddWithheldChangesAndMovedCasesKeepingTheWork() throws {
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        let queue = try firstReleaseFile(path)
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v4-tls")
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v5-withheld")
        let withheld = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM withheld") }
        #expect(withheld == 0)
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v6-moved")
        let row = try queue.read { db in try Row.fetchOne(db, sql: "SELECT number, title, moved_at FROM cases WHERE id = 'c1'") }
        let number: String? = row?["number"]
        let moved: Int64? = row?["moved_at"]
        #expect(number == "HSM-1")
        #expect(moved == nil)
    }

    @Test func aPulledPageAndItsCursorCommitTogether() throws {
        let folder = TemporaryFolder()
        let writer = try ReplicaStore.create(at: folder.file("writer.sqlite"), office: "HSM", staff: "李娜")
        let change = try writer.write(["title": .text("楼道堆放杂物"), "status": .text("received")], to: caseKey, now: 1_795_651_200_000)
        let reader = try ReplicaStore.create(at: folder.file("reader.sqlite"), office: "HSM", staff: "王五")
        try reader.applyPulled([change], cursor: "v1.7", offices: [writer.identity.replica: "HSM"])
        #expect(try reader.syncState().cursor == "v1.7")
        #expect(try reader.replicaOffices()[writer.identity.replica] == "HSM")
        // A page the store refuses leaves the cursor where it was.
        let forged = Change(
            dot: change.dot, record: change.record, fields: ["title": .text("改过")], context: change.context, hlc: change.hlc,
            author: change.author)
        #expect(throws: ReplicaStoreError.self) { try reader.applyPulled([forged], cursor: "v1.9", offices: [:]) }
        #expect(try reader.syncState().cursor == "v1.7")
        #expect(try reader.changeCount() == 1)
    }

    @Test func aLocalWriteCommitsTheChangeTheMergeStateAndTheRow() throws {
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        let store = try ReplicaStore.create(at: path, office: "HSM", staff: "李娜")
        let now: Int64 = 1_795_651_200_000
        let change = try store.write(
            [
                "kind": .text("complaint"), "title": .text("楼道堆放杂物"), "status": .text("received"), "round": .integer(1),
                "created_at": .timestamp(now),
            ],
            to: caseKey, now: now)
        #expect(change.dot == Dot(store.identity.replica, 1))
        let edit = try store.write(["title": .text("楼道堆放杂物已清理")], to: caseKey, now: now + 1000)
        #expect(edit.context == VersionVector([store.identity.replica: 1]))
        let row = try DatabaseQueue(path: path).read { db in
            try Row.fetchOne(
                db, sql: "SELECT title, status, round, kind, created_at, due_date, conflicts FROM cases WHERE id = ?",
                arguments: [caseKey.id])
        }
        #expect(row?["title"] == "楼道堆放杂物已清理")
        #expect(row?["status"] == "received")
        #expect(row?["round"] == 1)
        #expect(row?["due_date"] == "2026-12-17")
        #expect(row?["conflicts"] == 0)
        #expect(try store.changeCount() == 2)
        #expect(try store.history(of: caseKey).map(\.dot.counter) == [1, 2])
        // The search index follows later (v9-search-later): the case waits for it.
        #expect(try store.pendingSearchCount() == 1)
        try store.updateSearchIndex()
        let found = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(
                db, sql: "SELECT title FROM cases WHERE rowid IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?)",
                arguments: ["\"已清理\""])
        }
        #expect(found == ["楼道堆放杂物已清理"])
    }

    @Test func applyingABatchTwiceChangesNothingAndABadBatchWritesNothing() throws {
        let folder = TemporaryFolder()
        let source = try ReplicaStore.create(at: folder.file("a.sqlite"), office: "HSM", staff: "李娜")
        let target = try ReplicaStore.create(at: folder.file("b.sqlite"), office: "HSM", staff: "王伟")
        var changes: [Change] = []
        for index in 0..<20 {
            changes.append(
                try source.write(
                    ["title": .text("标题\(index)")], to: RecordKey(table: "cases", id: "c\(index % 5)"), now: 1_000 + Int64(index)))
        }
        let first = try target.apply(batch: changes)
        #expect(first.applied == 20)
        let snapshot = try dump(target)
        let second = try target.apply(batch: changes)
        #expect(second == ApplySummary(applied: 0, duplicates: 20))
        #expect(try dump(target) == snapshot)
        let forged = Change(
            dot: changes[3].dot, record: changes[3].record, fields: ["title": .text("篡改")], context: changes[3].context,
            hlc: changes[3].hlc, author: "x")
        let newOne = try source.write(["title": .text("新")], to: RecordKey(table: "cases", id: "c9"), now: 5_000)
        #expect(throws: ReplicaStoreError.self) { try target.apply(batch: [newOne, forged]) }
        #expect(try dump(target) == snapshot)
        #expect(try target.change(newOne.dot) == nil)
    }

    /// Every replica file that has applied the same changes, in any order, holds the same
    /// tables — and the same state as the in-memory core.
    @Test func storesConvergeLikeTheCore() throws {
        for seed in UInt64(1)...12 {
            var simulation = Simulation(seed: seed &* 104_729, replicaCount: 3)
            try simulation.run(steps: 40)
            try simulation.exchangeAll()
            let core = simulation.replicas[0]
            let folder = TemporaryFolder()
            var dumps: [String] = []
            var random = SeededRandom(seed: seed)
            for copy in 0..<3 {
                let store = try ReplicaStore.create(at: folder.file("r\(copy).sqlite"), office: "HSM", staff: "x")
                var changes = simulation.written.shuffled(using: &random)
                if copy == 0 { changes = core.allChanges }
                // Several batches, with repeats.
                var start = 0
                while start < changes.count {
                    let end = min(changes.count, start + Int.random(in: 1...7, using: &random))
                    try store.apply(batch: Array(changes[start..<end]) + (random.chance(0.3) ? [changes[0]] : []))
                    start = end
                }
                for (key, record) in core.records {
                    #expect(try store.record(key) == record, "seed \(seed), copy \(copy), \(key)")
                    #expect(try store.record(key)?.versionVector == record.versionVector, "seed \(seed), copy \(copy), \(key)")
                }
                #expect(try store.conflicts() == core.conflicts(), "seed \(seed), copy \(copy)")
                dumps.append(try dump(store))
                #expect(try store.integrityCheck() == "ok")
            }
            #expect(Set(dumps).count == 1, "seed \(seed): stores differ")
        }
    }

    @Test(arguments: try ConformanceVectors.valid())
    func conformanceVectorsThroughTheStore(vector: ValidVector) throws {
        let folder = TemporaryFolder()
        // Every kind of the protocol's schema (§5.4): cases, policy direct, suggestions.
        let store = try ReplicaStore.create(
            at: folder.file("replica.sqlite"), office: "HSM", staff: "x", also: [PolicyProjection(), SuggestionProjection()])
        // Each delivery applies exactly the changes not seen before (a repeat is a
        // duplicate); the last one, every change again, applies none and changes nothing.
        var seen: Set<Dot> = []
        let deliveries = Array(vector.deliveries.prefix(2)) + [Array(vector.changes.indices.reversed())]
        for (index, order) in deliveries.enumerated() {
            let delivered = order.map { vector.changes[$0] }
            let fresh = Set(delivered.map(\.dot)).subtracting(seen).count
            let before = try dump(store)
            #expect(
                try store.apply(batch: delivered) == ApplySummary(applied: fresh, duplicates: delivered.count - fresh),
                "\(vector.file) delivery \(index)")
            if fresh == 0 { #expect(try dump(store) == before, "\(vector.file): a repeated delivery changed the file") }
            seen.formUnion(delivered.map(\.dot))
        }
        #expect(Set(vector.changes.map(\.dot)) == seen)
        #expect(try store.changeCount() == seen.count, "\(vector.file): one row per change, none twice")
        for (key, expected) in vector.records {
            let record = try #require(try store.record(key), "\(vector.file) \(key)")
            #expect(record.versionVector == expected.versionVector, "\(vector.file) \(key)")
            for (name, field) in expected.fields {
                #expect(record.value(of: name, table: key.table, schema: .timelyRain) == field.value, "\(vector.file) \(key).\(name)")
                #expect(record.register(name)?.siblings.map(\.dot) == field.siblings, "\(vector.file) \(key).\(name)")
            }
        }
        let conflicts = try store.conflicts().map {
            ExpectedConflict(record: $0.record, field: $0.field, siblings: $0.siblings.map(\.dot), winner: $0.winner.dot)
        }
        #expect(conflicts == vector.conflicts, "\(vector.file)")
    }

    /// The materialised tables and merge state, as text, for comparing replica files.
    func dump(_ store: ReplicaStore) throws -> String {
        try DatabaseQueue(path: store.path).read { db in
            var text = ""
            for table in ["cases", "case_events", "merge_state"] {
                let columns = table == "merge_state" ? "tbl, record_id, state, conflicts" : "*"
                let order = table == "cases" || table == "case_events" ? "id" : "1, 2"
                for row in try Row.fetchAll(db, sql: "SELECT \(columns) FROM \(table) ORDER BY \(order)") {
                    let cells = row.columnNames.filter { $0 != "updated_at" || table != "cases" }.map {
                        "\($0)=\(row[$0] as DatabaseValue)"
                    }
                    text += table + ": " + cells.joined(separator: " ") + "\n"
                }
            }
            return text
        }
    }
}

@Suite struct ReplicaPathTests {
    @Test func theOptionThenRainDBThenXDGThenHome() {
        #expect(ReplicaPath.resolve(option: "/x/r.sqlite", environment: ["RAIN_DB": "/y"]) == "/x/r.sqlite")
        #expect(ReplicaPath.resolve(option: nil, environment: ["RAIN_DB": "/y/r.sqlite", "XDG_DATA_HOME": "/d"]) == "/y/r.sqlite")
        #expect(ReplicaPath.resolve(option: nil, environment: ["XDG_DATA_HOME": "/d", "HOME": "/h"]) == "/d/rain/replica.sqlite")
        #expect(ReplicaPath.resolve(option: nil, environment: ["HOME": "/h"]) == "/h/.local/share/rain/replica.sqlite")
        #expect(ReplicaPath.resolve(option: "", environment: ["RAIN_DB": "", "HOME": "/h"]) == "/h/.local/share/rain/replica.sqlite")
    }
}

@Suite struct CaseQueryTests {
    @Test func filtersAndSearchFindTheRightCases() throws {
        let folder = TemporaryFolder()
        let store = try ReplicaStore.create(at: folder.file("replica.sqlite"), office: "HSM", staff: "李娜")
        let longAgo: Int64 = 1_767_225_600_000  // 2026-01-01
        let old = try store.newCase(
            NewCase(kind: .consultation, category: "教育", title: "入学政策咨询", phone: "13800001111"), now: longAgo)
        let fresh = try store.newCase(
            NewCase(kind: .complaint, category: "环境卫生", title: "垃圾清运不及时", address: "幸福里12号"), now: ReplicaStore.nowMillis())
        let closedOld = try store.newCase(NewCase(kind: .help, category: "社会救助", title: "临时救助申请"), now: longAgo + 1000)
        for action in [CaseAction.verify, .handle] { _ = try store.move(closedOld.number, action, now: longAgo + 2000) }
        _ = try store.move(closedOld.number, .reply, text: "已发放", now: longAgo + 3000)
        _ = try store.move(closedOld.number, .close, now: longAgo + 4000)

        let today = CivilDate(epochMillis: ReplicaStore.nowMillis())
        #expect(try store.cases(CaseFilter(overdueOn: today)).map(\.number) == [old.number])
        #expect(try store.cases(CaseFilter(status: .closed)).map(\.number) == [closedOld.number])
        #expect(try store.cases(CaseFilter(kind: .complaint)).map(\.number) == [fresh.number])
        #expect(try store.cases(CaseFilter(category: "教育")).map(\.number) == [old.number])
        #expect(try store.cases(CaseFilter(limit: 2)).map(\.number) == [fresh.number, closedOld.number])
        #expect(try store.search("垃圾清运").map(\.number) == [fresh.number])
        #expect(try store.search("幸福").map(\.number) == [fresh.number])  // two characters: LIKE
        #expect(try store.search("1111").map(\.number) == [old.number])  // a phone tail
        #expect(try store.search("不存在").isEmpty)
        #expect(try store.findCase(String(fresh.id.prefix(13))).number == fresh.number)
        let events = try store.events(ofCase: closedOld.id)
        #expect(events.map(\.type) == ["reply"])
        #expect(events.first?.text == "已发放")
        let report = try store.report(from: nil, to: nil, today: today)
        #expect(report.received == 3)
        #expect(report.completionRate == 1.0 / 3.0)
    }
}
