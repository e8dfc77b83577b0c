import CaseDomain
import Foundation
import GRDB
import SyncCore
import Testing

@testable import CaseStore
@testable import ReplicaStore

/// The replica migrations not covered elsewhere (v7, v9, v10), each run on a file in the
/// form the release before it left, keeping the work.
@Suite struct MigrationTests {
    func names(_ queue: DatabaseQueue, type: String) throws -> Set<String> {
        try queue.read { db in Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = ?", arguments: [type])) }
    }

    func columns(_ queue: DatabaseQueue, _ table: String) throws -> Set<String> {
        try queue.read { db in Set(try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String }) }
    }

    /// v7 adds what a recovery needs — when the restore was noticed, the successor id
    /// being minted, the identities left behind — and keeps the case and the enrolment.
    @Test func theSeventhMigrationAddsRecoveryStateKeepingTheWork() throws {
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        let queue = try firstReleaseFile(path)
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v6-moved")
        try queue.write { db in
            try db.execute(sql: "UPDATE sync_state SET server = 'http://127.0.0.1:8080', credential = 'r1.s', acked = 3")
        }
        #expect(try !names(queue, type: "table").contains("reissues"))
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v7-restore")
        #expect(try names(queue, type: "table").contains("reissues"))
        #expect(try columns(queue, "reissues").isSuperset(of: ["predecessor", "successor", "same", "reissued", "at"]))
        #expect(try columns(queue, "sync_state").isSuperset(of: ["restored_at", "successor"]))
        let store = try ReplicaStore.open(at: path)
        #expect(try store.findCase("HSM-1").title == "楼道堆放杂物")
        let state = try store.syncState()
        #expect(state.credential == "r1.s" && state.acked == 3)
        #expect(try store.formerIdentities().isEmpty)
    }

    /// A file as v8 left it: the trigram index kept up to date by triggers inside every
    /// write, the cases already in it.
    func eighthReleaseFile(_ path: String) throws -> DatabaseQueue {
        let queue = try olderReplicaFile(path, upTo: "v8-compact-storage")
        try queue.write { db in
            for (id, title, address) in [("c1", "楼道堆放杂物", "和盛路 12 号"), ("c2", "路灯不亮", "新桥街 3 号")] {
                try db.execute(
                    sql: "INSERT INTO cases (id, number, title, address, status) VALUES (?, ?, ?, ?, 'received')",
                    arguments: [id, "HSM-" + id, title, address])
            }
        }
        return queue
    }

    /// v9 takes indexing out of the write: the triggers that indexed go, the writes are
    /// noted in `search_pending` instead, and what was indexed stays found.
    @Test func theNinthMigrationNotesWritesForTheIndexKeepingWhatItHeld() throws {
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        let queue = try eighthReleaseFile(path)
        #expect(try names(queue, type: "trigger").isSuperset(of: ["cases_fts_insert", "cases_fts_update", "cases_fts_delete"]))
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v9-search-later")
        let triggers = try names(queue, type: "trigger")
        #expect(triggers.isDisjoint(with: ["cases_fts_insert", "cases_fts_update", "cases_fts_delete"]))
        #expect(triggers.isSuperset(of: ["cases_search_insert", "cases_search_update", "cases_search_delete"]))
        // An edit at v9 is noted with what the index held.
        try queue.write { db in try db.execute(sql: "UPDATE cases SET title = '楼道堆放纸箱' WHERE id = 'c1'") }
        let note = try queue.read { db in try Row.fetchOne(db, sql: "SELECT indexed, old_title FROM search_pending") }
        #expect(note?["indexed"] == 1 && note?["old_title"] == "楼道堆放杂物")
        let store = try ReplicaStore.open(at: path)
        #expect(try store.search("楼道堆放纸箱").map(\.id) == ["c1"])
        #expect(try store.search("楼道堆放杂物").isEmpty, "the old title left the index")
        #expect(try store.search("新桥街").map(\.id) == ["c2"], "what the index held before is still found")
        #expect(try searchIndexIsExact(path))
    }

    /// v10 drops the insert and update triggers (the writer notes its rows itself) and
    /// keeps the delete trigger; search stays exact through writes after it.
    @Test func theTenthMigrationLeavesNotingToTheWriter() throws {
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        let queue = try eighthReleaseFile(path)
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v9-search-later")
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v10-search-notes-by-the-writer")
        let triggers = try names(queue, type: "trigger")
        #expect(triggers.isDisjoint(with: ["cases_search_insert", "cases_search_update"]))
        #expect(triggers.contains("cases_search_delete"))
        let store = try ReplicaStore.open(at: path)
        let created = try store.newCase(NewCase(kind: .complaint, category: "环境卫生", title: "垃圾满溢", address: "和盛路 20 号"))
        _ = try store.editCase(created.number, fields: ["title": "垃圾桶满溢"])
        #expect(try store.search("垃圾桶满溢").map(\.number) == [created.number])
        #expect(try store.search("和盛路 12").map(\.id) == ["c1"])
        #expect(try searchIndexIsExact(path))
    }
}
