import CaseDomain
import Foundation
import GRDB
import SyncCore
import SyncProtocol
import TestSupport
import Testing

@testable import CaseStore
@testable import ReplicaStore

/// Migrations v8 (binary merge state, the change log in arrival order) and v9 (the search
/// index brought up to date after the write).
@Suite struct CompactStorageTests {
    /// Records of a random simulation, every one through the binary form and back.
    @Test func theBinaryMergeStateRoundTripsEveryRecord() throws {
        var checked = 0
        var shorter = 0
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
                // Without values (format 2): nothing but the values goes, and they come back
                // from whoever holds the changes.
                var conflictsWithout = 0
                let without = MergeStateCodec.encode(record, arrivals: arrivals, conflicts: &conflictsWithout, values: false)
                #expect(without.first == 2 && conflictsWithout == conflicts, "seed \(seed), \(key)")
                let bare = try #require(MergeStateCodec.decode(without), "seed \(seed), \(key)")
                #expect(bare.record.fields.values.allSatisfy { $0.siblings.allSatisfy { $0.value == .null } })
                #expect(bare.record.chainStates == record.chainStates && bare.arrivals == arrivals, "seed \(seed), \(key)")
                #expect(MergeStateCodec.encode(bare.record, arrivals: arrivals, values: false) == without, "seed \(seed), \(key)")
                let filled = try #require(
                    MergeStateCodec.decode(without) { dot, field in
                        record.register(field)?.siblings.first { $0.dot == dot }?.value
                    })
                #expect(filled.record == record, "seed \(seed), \(key)")
                if bytes.count > without.count + 8 { shorter += 1 }
                checked += 1
            }
        }
        #expect(checked > 100)
        #expect(shorter > checked / 2, "leaving the values out saves their bytes")
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
        let queue = try olderReplicaFile(path, upTo: "v7-restore", replica: "r-local")
        try queue.write { db in
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
        // Exact before the index catches up (a file another process is writing), and after.
        #expect(try store.search("堆放纸箱", limit: 50, updatingIndex: false).map(\.id) == ["c1"])
        #expect(try store.pendingSearchCount() == 2)
        #expect(try store.search("堆放纸箱").map(\.id) == ["c1"])
        #expect(try store.pendingSearchCount() == 0)
        #expect(try searchIndexIsExact(store.path))

        // An edit: the old words leave the index, the new ones come in.
        try store.write(["title": .text("楼道杂物已清理")], to: first)
        try store.write(["title": .text("楼道杂物再次堆放")], to: first)
        #expect(try store.pendingSearchCount() == 1)
        #expect(try store.search("堆放杂物", limit: 50, updatingIndex: false).isEmpty, "a stale index entry is not trusted")
        #expect(try store.search("再次堆放", limit: 50, updatingIndex: false).map(\.id) == ["c1"])
        #expect(try store.search("100%", limit: 50, updatingIndex: false).isEmpty, "LIKE wildcards in the text are literal")
        #expect(try store.search("堆放杂物").isEmpty)
        #expect(try store.search("再次堆放").map(\.id) == ["c1"])
        #expect(try searchIndexIsExact(store.path))

        // A row deleted while indexed, and one deleted while its edit is pending.
        try store.write(["address": .text("南苑路口")], to: second)
        try DatabaseQueue(path: store.path).write { db in try db.execute(sql: "DELETE FROM cases WHERE id = 'c2'") }
        #expect(try searchIndexIsExact(store.path))
        try DatabaseQueue(path: store.path).write { db in try db.execute(sql: "DELETE FROM cases WHERE id = 'c1'") }
        #expect(try store.pendingSearchCount() == 0)
        #expect(try searchIndexIsExact(store.path))
        #expect(try store.search("楼道").isEmpty)

        // Many cases: chunked, every one indexed once.
        try store.write(batch: (0..<250).map { (["title": .text("第\($0)号井盖松动")], RecordKey(table: "cases", id: "m\($0)")) })
        var reported: [Int] = []
        #expect(try store.updateSearchIndex(chunk: 100) { reported.append($0) } == 250)
        #expect(reported == [100, 200, 250])
        #expect(try store.search("井盖松动", limit: 1_000).count == 250)
        #expect(try searchIndexIsExact(store.path))
    }

    /// Every writer of a case row notes it for the search index itself
    /// (v10-search-notes-by-the-writer): a pulled new case, a pulled edit, a case purged as
    /// it leaves the jurisdiction whether the index held it or an edit was pending, and a
    /// file whose notes the v9 triggers wrote.
    @Test func everyWriterOfACaseRowKeepsTheSearchIndexExact() throws {
        let folder = TemporaryFolder()
        let writer = try ReplicaStore.create(at: folder.file("writer.sqlite"), office: "HSM", staff: "李娜")
        let reader = try ReplicaStore.create(at: folder.file("reader.sqlite"), office: "HSM", staff: "王五")
        let offices = [writer.identity.replica: "HSM"]
        let first = RecordKey(table: "cases", id: "c1")
        let second = RecordKey(table: "cases", id: "c2")
        try reader.applyPulled(
            [
                try writer.write(["title": .text("楼道堆放杂物"), "description": .text("三楼楼道长期堆放纸箱"), "address": .text("幸福里3栋")], to: first),
                try writer.write(["title": .text("路灯不亮"), "address": .text("北苑路口")], to: second),
            ], cursor: "v1.2", offices: offices)
        #expect(try reader.pendingSearchCount() == 2)
        #expect(try reader.search("堆放纸箱", limit: 50, updatingIndex: false).map(\.id) == ["c1"])
        #expect(try reader.search("北苑路口").map(\.id) == ["c2"])
        #expect(try reader.pendingSearchCount() == 0)
        #expect(try searchIndexIsExact(reader.path))

        // Pulled edits: the first keeps what the index holds; a field it does not
        // search leaves no note.
        try reader.applyPulled(
            [
                try writer.write(["title": .text("楼道杂物已清理")], to: first),
                try writer.write(["title": .text("楼道杂物再次堆放")], to: first),
                try writer.write(["category": .text("市容环境")], to: second),
            ], cursor: "v1.5", offices: offices)
        #expect(try reader.pendingSearchCount() == 1)
        #expect(try reader.search("堆放杂物", limit: 50, updatingIndex: false).isEmpty, "a stale index entry is not trusted")
        #expect(try reader.search("再次堆放").map(\.id) == ["c1"])
        #expect(try searchIndexIsExact(reader.path))

        // Purged as they leave the jurisdiction: c1 while indexed, c2 with an edit pending.
        try reader.applyPulled([try writer.write(["address": .text("南苑路口")], to: second)], cursor: "v1.6", offices: offices)
        try reader.applyPulled([], cursor: "v1.7", offices: offices, purge: [first, second])
        #expect(try reader.pendingSearchCount() == 0, "a purge takes a case out of the index at once (v11)")
        for words in ["再次堆放", "北苑路口", "南苑路口", "堆放纸箱"] {
            #expect(try reader.search(words, limit: 50, updatingIndex: false).isEmpty, "\(words)")
        }
        #expect(try reader.search("楼道").isEmpty)
        #expect(try reader.pendingSearchCount() == 0)
        #expect(try searchIndexIsExact(reader.path))

        // A file the v9 triggers noted: an edit of an indexed case and a new case, then
        // the migration. The triggers go (but the delete trigger); the notes are kept.
        let old = folder.file("v9.sqlite")
        let queue = try firstReleaseFile(old)
        try ReplicaMigrations.migrator().migrate(queue, upTo: "v9-search-later")
        try queue.write { db in
            try db.execute(sql: "UPDATE cases SET title = '楼道杂物已清理' WHERE id = 'c1'")
            try db.execute(sql: "INSERT INTO cases (id, number, title, status) VALUES ('c2', 'HSM-2', '井盖松动', 'received')")
        }
        try queue.close()
        let migrated = try ReplicaStore.open(at: old)
        let triggers = try DatabaseQueue(path: old).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        }
        #expect(triggers == ["cases_search_delete"])
        #expect(try migrated.pendingSearchCount() == 2)
        #expect(try migrated.search("堆放杂物", limit: 50, updatingIndex: false).isEmpty)
        #expect(try migrated.search("杂物已清理").map(\.id) == ["c1"])
        #expect(try migrated.search("井盖松动").map(\.id) == ["c2"])
        #expect(try searchIndexIsExact(old))
    }

    /// A store that materialises no rows (the central server's) keeps no values in its
    /// merge state (format 2): none of a resident's data is in it, the record it shows —
    /// values read back from the change log — and its conflicts are a replica's, and a
    /// state stored with values before is still read and merged into.
    @Test func aStoreWithoutRowsKeepsNoValuesInItsMergeState() throws {
        let folder = TemporaryFolder()
        let first = try ReplicaStore.create(at: folder.file("first.sqlite"), office: "HSM", staff: "李娜")
        let second = try ReplicaStore.create(at: folder.file("second.sqlite"), office: "HSM", staff: "王五")
        let key = RecordKey(table: "cases", id: "c1")
        let other = RecordKey(table: "cases", id: "c2")
        var changes = [
            try first.write(
                ["title": .text("楼道堆放杂物"), "citizen_name": .text("张三"), "phone": .text("13812345678"), "status": .text("received")],
                to: key),
            try first.write(["title": .text("路灯不亮"), "address": .text("北苑路口")], to: other),
        ]
        try second.applyPulled(changes, cursor: "v1.2", offices: [:])
        // Concurrent edits of the same field: a conflict with two values.
        let concurrent = [
            try first.write(["title": .text("楼道堆放纸箱")], to: key), try second.write(["title": .text("三楼楼道堆放杂物")], to: key),
        ]
        try first.applyPulled([concurrent[1]], cursor: "v1.3", offices: [:])
        changes += concurrent

        // The file starts as a replica's (values kept), then is opened as the server's.
        let path = folder.file("central.sqlite")
        let made = try ReplicaStore.create(
            at: path, office: "HSD", staff: "server", replica: ReplicaStore.newReplicaID(), now: 0, schema: .timelyRain,
            projections: [], migrator: ReplicaMigrations.migrator(), materializes: false)
        _ = try made.applyPulled(Array(changes.prefix(2)), cursor: "c.2", offices: [:])
        func formats() throws -> [String: UInt8] {
            try DatabaseQueue(path: path).read { db in
                var result: [String: UInt8] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT record_id, state FROM merge_state") {
                    let state: Data = row["state"]
                    result[row["record_id"]] = state.first
                    for secret in ["张三", "13812345678", "北苑路口", "楼道"] {
                        #expect(state.range(of: Data(secret.utf8)) == nil, "\(secret) is in the merge state")
                    }
                }
                return result
            }
        }
        #expect(try formats() == ["c1": 2, "c2": 2])
        // A state with values, as a file written before format 2 holds.
        try DatabaseQueue(path: path).write { db in
            let stored = try #require(try Data.fetchOne(db, sql: "SELECT state FROM merge_state WHERE record_id = 'c1'"))
            let bare = try #require(MergeStateCodec.decode(Array(stored)))
            let full = try #require(try first.record(key))
            #expect(bare.record.fieldNames == full.fieldNames)
            try db.execute(
                sql: "UPDATE merge_state SET state = ? WHERE record_id = 'c1'",
                arguments: [Data(MergeStateCodec.encode(try #require(try second.record(key)), arrivals: bare.arrivals))])
        }
        let central = try ReplicaStore.open(
            at: path, schema: .timelyRain, projections: [], migrator: ReplicaMigrations.migrator(), materializes: false)
        #expect(try central.record(key) == second.record(key), "a state with values is read as it is")
        _ = try central.applyPulled(Array(changes.dropFirst(2)), cursor: "c.4", offices: [:])
        #expect(try formats() == ["c1": 2, "c2": 2])
        for record in [key, other] {
            #expect(try central.record(record) == first.record(record), "\(record)")
        }
        #expect(try central.conflicts() == first.conflicts())
        #expect(try central.conflicts().map { $0.siblings.count } == [2])
    }
}
