import Foundation
import GRDB
import SyncCore
import SyncProtocol
import TestSupport
import Testing

@testable import ReplicaStore

/// Migrations v8 (binary merge state, the change log in arrival order) and v9 (the search
/// index brought up to date after the write).
@Suite struct CompactStorageTests {
    /// Records of a random simulation, every one through the binary form and back.
    @Test func theBinaryMergeStateRoundTripsEveryRecord() throws {
        var checked = 0
        for seed in UInt64(1)...20 {
            var simulation = Simulation(seed: seed &* 7_919, replicaCount: 4)
            try simulation.run(steps: 60)
            try simulation.exchangeAll()
            for (key, record) in simulation.replicas[0].records {
                let arrivals = (0..<Int64(checked % 7)).map { $0 * 3 + Int64(seed) }
                var conflicts = 0
                let bytes = MergeStateCodec.encode(record, arrivals: arrivals, conflicts: &conflicts)
                #expect(conflicts == record.fields.values.filter(\.isConflicted).count, "seed \(seed), \(key)")
                let decoded = try #require(MergeStateCodec.decode(bytes), "seed \(seed), \(key)")
                #expect(decoded.record == record, "seed \(seed), \(key)")
                #expect(decoded.record.chainStates == record.chainStates, "seed \(seed), \(key)")
                #expect(decoded.arrivals == arrivals, "seed \(seed), \(key)")
                #expect(
                    MergeStateCodec.encode(decoded.record, arrivals: decoded.arrivals) == bytes,
                    "seed \(seed), \(key): the encoding is deterministic")
                checked += 1
            }
        }
        #expect(checked > 100)
    }

    @Test func aDamagedMergeStateIsRefusedNotMisread() throws {
        var state = ReplicaState()
        let change = try state.write(
            ["title": .text("楼道堆放杂物"), "round": .integer(2), "closed": .bool(true), "at": .timestamp(-5), "gone": .null],
            to: RecordKey(table: "cases", id: "c1"), by: ReplicaID("r1"), author: "李娜", at: HLC(wall: 1_717_000_000_000, logical: 3))
        let record = try #require(state.records[change.record])
        let bytes = MergeStateCodec.encode(record, arrivals: [1, 5, 1_000_000])
        #expect(MergeStateCodec.decode(bytes)?.record == record)
        #expect(MergeStateCodec.decode(bytes)?.arrivals == [1, 5, 1_000_000])
        // Every truncation, a wrong format byte, trailing bytes and a huge length all fail.
        for length in 0..<bytes.count { #expect(MergeStateCodec.decode(Array(bytes[..<length])) == nil, "truncated at \(length)") }
        #expect(MergeStateCodec.decode([2] + bytes.dropFirst()) == nil)
        #expect(MergeStateCodec.decode(bytes + [0]) == nil)
        #expect(MergeStateCodec.decode([1, 0xff, 0xff, 0xff, 0xff, 0x0f]) == nil)

        // In a file: the record is named, nothing is guessed.
        let folder = TemporaryFolder()
        let store = try ReplicaStore.create(at: folder.file("replica.sqlite"), office: "HSM", staff: "李娜")
        try store.apply(batch: [change])
        try DatabaseQueue(path: store.path).write { db in try db.execute(sql: "UPDATE merge_state SET state = x'0102'") }
        let error = #expect(throws: ReplicaStoreError.self) { try store.record(change.record) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("merge_state of cases/c1"))
    }

    /// A file from before v8, with JSON merge state and a change log keyed by dot, opens
    /// with the same records, changes and arrival order.
    @Test func theEighthMigrationKeepsEveryRecordAndChange() throws {
        var simulation = Simulation(seed: 4_242, replicaCount: 3)
        try simulation.run(steps: 80)
        try simulation.exchangeAll()
        let core = simulation.replicas[0]
        let changes = core.allChanges
        let folder = TemporaryFolder()
        let path = folder.file("replica.sqlite")
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        let queue = try DatabaseQueue(path: path)
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v7-restore")
        try queue.write { db in
            try db.execute(
                sql:
                    "INSERT INTO replica (singleton, replica_id, office, staff, tag, created_at) VALUES (1, 'r-local', 'HSM', '李娜', '7F', 0)"
            )
            // Arrival order reversed against the dots, so that keeping it is visible.
            for (index, change) in changes.reversed().enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO changes (replica, counter, tbl, record_id, hlc_wall, hlc_logical, author, body, arrived)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        change.dot.replica.rawValue, Int64(change.dot.counter), change.record.table, change.record.id,
                        Int64(change.hlc.wall), Int64(change.hlc.logical), change.author,
                        String(decoding: ChangeV1.encode(change), as: UTF8.self), index + 1,
                    ])
            }
            for (key, record) in core.records {
                try db.execute(
                    sql: "INSERT INTO field_versions (tbl, record_id, fields, chains, conflicts) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        key.table, key.id, StoredForms.encode(fields: record), StoredForms.encode(chains: record.chainStates),
                        record.fields.values.filter(\.isConflicted).count,
                    ])
            }
        }
        let store = try ReplicaStore.open(at: path)
        for (key, record) in core.records {
            #expect(try store.record(key) == record, "\(key)")
            #expect(try store.record(key)?.chainStates == record.chainStates, "\(key)")
        }
        #expect(try store.changeCount() == changes.count)
        for key in core.records.keys {
            let expected = changes.reversed().filter { $0.record == key }
            #expect(try store.history(of: key) == expected, "\(key): arrival order kept")
        }
        #expect(try store.conflicts() == core.conflicts())
        let tables = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('field_versions', 'merge_state')")
        }
        #expect(tables == ["merge_state"])
        #expect(try store.integrityCheck() == "ok")
    }

    /// The full-text index is behind after a write and exact after `updateSearchIndex`:
    /// FTS5's own integrity check compares it with the rows.
    @Test func theSearchIndexCatchesUpExactly() throws {
        let folder = TemporaryFolder()
        let store = try ReplicaStore.create(at: folder.file("replica.sqlite"), office: "HSM", staff: "李娜")
        let first = RecordKey(table: "cases", id: "c1")
        let second = RecordKey(table: "cases", id: "c2")
        try store.write(["title": .text("楼道堆放杂物"), "description": .text("三楼楼道长期堆放纸箱"), "address": .text("幸福里3栋")], to: first)
        try store.write(["title": .text("路灯不亮"), "address": .text("北苑路口")], to: second)
        #expect(try store.pendingSearchCount() == 2)
        func indexIsExact() throws -> Bool {
            try DatabaseQueue(path: store.path).write { db in
                try db.execute(sql: "INSERT INTO cases_fts (cases_fts, rank) VALUES ('integrity-check', 1)")
                return true
            }
        }
        // Exact before the index catches up (a file another process is writing), and after.
        #expect(try store.search("堆放纸箱", limit: 50, updatingIndex: false).map(\.id) == ["c1"])
        #expect(try store.pendingSearchCount() == 2)
        #expect(try store.search("堆放纸箱").map(\.id) == ["c1"])
        #expect(try store.pendingSearchCount() == 0)
        #expect(try indexIsExact())

        // An edit: the old words leave the index, the new ones come in.
        try store.write(["title": .text("楼道杂物已清理")], to: first)
        try store.write(["title": .text("楼道杂物再次堆放")], to: first)
        #expect(try store.pendingSearchCount() == 1)
        #expect(try store.search("堆放杂物", limit: 50, updatingIndex: false).isEmpty, "a stale index entry is not trusted")
        #expect(try store.search("再次堆放", limit: 50, updatingIndex: false).map(\.id) == ["c1"])
        #expect(try store.search("100%", limit: 50, updatingIndex: false).isEmpty, "LIKE wildcards in the text are literal")
        #expect(try store.search("堆放杂物").isEmpty)
        #expect(try store.search("再次堆放").map(\.id) == ["c1"])
        #expect(try indexIsExact())

        // A row deleted while indexed, and one deleted while its edit is pending.
        try store.write(["address": .text("南苑路口")], to: second)
        try DatabaseQueue(path: store.path).write { db in try db.execute(sql: "DELETE FROM cases WHERE id = 'c2'") }
        #expect(try indexIsExact())
        try DatabaseQueue(path: store.path).write { db in try db.execute(sql: "DELETE FROM cases WHERE id = 'c1'") }
        #expect(try store.pendingSearchCount() == 0)
        #expect(try indexIsExact())
        #expect(try store.search("楼道").isEmpty)

        // Many cases: chunked, every one indexed once.
        try store.write(batch: (0..<250).map { (["title": .text("第\($0)号井盖松动")], RecordKey(table: "cases", id: "m\($0)")) })
        var reported: [Int] = []
        #expect(try store.updateSearchIndex(chunk: 100) { reported.append($0) } == 250)
        #expect(reported == [100, 200, 250])
        #expect(try store.search("井盖松动", limit: 1_000).count == 250)
        #expect(try indexIsExact())
    }
}
