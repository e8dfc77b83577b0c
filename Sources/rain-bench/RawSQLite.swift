import CSQLite
import CaseStore
import Foundation
import ReplicaStore
import TestSupport

/// The raw-SQLite baseline: W1's writes through prepared statements, one transaction
/// for each replica's creates and one for its updates, as WORKLOAD.md describes. No
/// change capture, no causality: the floor TimelyRain is compared with.
struct RawSQLite {
    enum Failure: Error, CustomStringConvertible {
        case sqlite(String)
        var description: String {
            switch self {
            case .sqlite(let message): "raw SQLite baseline failed: \(message)"
            }
        }
    }

    private var db: OpaquePointer?

    /// Opens `path` (":memory:" for an in-memory database) tuned exactly as a replica or
    /// server file is (`ReplicaStore.Tuning`: page size, WAL, `synchronous`, cache,
    /// checkpoint interval, `secure_delete`), so that a ratio compares the work done, not
    /// the settings. With `fullText`, the table gets the same trigram FTS5 index (and
    /// triggers) as a replica's `cases`, so that only the cost of change capture differs.
    ///
    /// `RAIN_BENCH_RAW=untuned` opens it as before issue 14 (WAL and `synchronous` only;
    /// `synchronous=NORMAL` for the core benchmark's file), to print the old ratios beside
    /// the new in one run.
    init(path: String, fullText: Bool = false, untunedSynchronous: String = "FULL") throws {
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw Failure.sqlite("cannot open \(path)") }
        let file = path != ":memory:"
        if Self.untuned {
            if file {
                try exec("PRAGMA journal_mode=WAL")
                try exec("PRAGMA synchronous=\(untunedSynchronous)")
            }
        } else {
            for statement in ReplicaStore.Tuning.statements(journal: file) { try exec(statement) }
            if file { try exec(ReplicaStore.Tuning.autocheckpoint(pageSize: ReplicaStore.Tuning.pageSize)) }
        }
        let columns = W1Workload.fields.map { $0 == "id" ? "id TEXT PRIMARY KEY" : "\($0) TEXT" }.joined(separator: ", ")
        try exec("CREATE TABLE cases (\(columns))")
        if fullText {
            try exec(
                """
                CREATE VIRTUAL TABLE cases_fts USING fts5(title, description, address, content = 'cases', tokenize = 'trigram');
                CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
                    INSERT INTO cases_fts (rowid, title, description, address) VALUES (new.rowid, new.title, new.description, new.address);
                END;
                CREATE TRIGGER cases_fts_update AFTER UPDATE OF title, description, address ON cases
                WHEN old.title IS NOT new.title OR old.description IS NOT new.description OR old.address IS NOT new.address BEGIN
                    INSERT INTO cases_fts (cases_fts, rowid, title, description, address) VALUES ('delete', old.rowid, old.title, old.description, old.address);
                    INSERT INTO cases_fts (rowid, title, description, address) VALUES (new.rowid, new.title, new.description, new.address);
                END;
                """)
        }
    }

    /// Whether the baseline runs as before issue 14 (`RAIN_BENCH_RAW=untuned`).
    static let untuned = ProcessInfo.processInfo.environment["RAIN_BENCH_RAW"] == "untuned"

    /// What the baseline's settings are, for the printed tables.
    static var settings: String {
        untuned
            ? "untuned as before: WAL, synchronous only"
            : "tuned as the store: \(ReplicaStore.Tuning.pageSize / 1024) KiB pages, WAL, synchronous=\(ReplicaStore.Tuning.synchronous), \(ReplicaStore.Tuning.cacheKiB / 1024) MiB cache, checkpoint every \(ReplicaStore.Tuning.checkpointBytes >> 20) MiB, secure_delete"
    }

    func close() {
        sqlite3_close(db)
    }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw Failure.sqlite(String(cString: sqlite3_errmsg(db)))
        }
    }

    func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
            throw Failure.sqlite(String(cString: sqlite3_errmsg(db)))
        }
        return statement
    }

    /// Builds the same trigram full-text index as a replica's over the rows `cases`
    /// holds, in one transaction (the floor for a replica's search index catch-up).
    func indexFullText() throws {
        try exec(
            """
            BEGIN;
            CREATE VIRTUAL TABLE cases_fts USING fts5(title, description, address, content = 'cases', tokenize = 'trigram');
            INSERT INTO cases_fts (rowid, title, description, address) SELECT rowid, title, description, address FROM cases;
            COMMIT;
            """)
    }

    /// Writes W1's merged state — each case's final row, the updates folded in beforehand
    /// — one transaction per replica (as the merge commits one batch per replica): the
    /// "merged-state write" of WORKLOAD.md. Returns the number of rows.
    func writeMergedState(_ rows: [[[String]]]) throws -> Int {
        let insert = try prepareInsert()
        defer { sqlite3_finalize(insert) }
        for replicaRows in rows {
            try exec("BEGIN")
            for row in replicaRows { try insertRow(row, with: insert) }
            try exec("COMMIT")
        }
        return rows.reduce(0) { $0 + $1.count }
    }

    /// W1's change log — each replica's changes as rows (dot and canonical body, no
    /// index, nothing merged) — and its merged state, one transaction per replica: the
    /// least a design that keeps every change and the current state writes.
    func writeLogAndMergedState(log: [[(replica: String, counter: Int64, body: [UInt8])]], rows: [[[String]]]) throws -> Int {
        try exec("CREATE TABLE changes (arrived INTEGER PRIMARY KEY, replica TEXT NOT NULL, counter INTEGER NOT NULL, body TEXT NOT NULL)")
        let append = try prepare("INSERT INTO changes (replica, counter, body) VALUES (?, ?, ?)")
        let insert = try prepareInsert()
        defer {
            sqlite3_finalize(append)
            sqlite3_finalize(insert)
        }
        var count = 0
        for (changes, replicaRows) in zip(log, rows) {
            try exec("BEGIN")
            for change in changes {
                sqlite3_bind_text(append, 1, change.replica, -1, Self.transient)
                sqlite3_bind_int64(append, 2, change.counter)
                _ = change.body.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) {
                        sqlite3_bind_text(append, 3, $0.baseAddress, Int32(buffer.count), Self.transient)
                    }
                }
                guard sqlite3_step(append) == SQLITE_DONE else { throw Failure.sqlite(String(cString: sqlite3_errmsg(db))) }
                sqlite3_reset(append)
            }
            for row in replicaRows { try insertRow(row, with: insert) }
            try exec("COMMIT")
            count += changes.count
        }
        return count
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The insert of a whole W1 row.
    private func prepareInsert() throws -> OpaquePointer? {
        try prepare("INSERT INTO cases VALUES (\(Array(repeating: "?", count: W1Workload.fields.count).joined(separator: ",")))")
    }

    private func insertRow(_ row: [String], with insert: OpaquePointer?) throws {
        for (index, value) in row.enumerated() { sqlite3_bind_text(insert, Int32(index + 1), value, -1, Self.transient) }
        guard sqlite3_step(insert) == SQLITE_DONE else { throw Failure.sqlite(String(cString: sqlite3_errmsg(db))) }
        sqlite3_reset(insert)
    }

    /// W1's final rows per replica: its creates with its updates applied in order.
    static func mergedState(_ workload: W1Workload) -> [[[String]]] {
        (0..<workload.replicaCount).map { replica in
            var rows = workload.inserts[replica]
            var position: [String: Int] = [:]
            for (index, row) in rows.enumerated() { position[row[0]] = index }
            for update in workload.updates[replica] {
                if let index = position[update.id] { rows[index][update.field] = update.value }
            }
            return rows
        }
    }

    /// Replays every W1 write, each replica's creates and updates in `transactions` (2:
    /// one each, as WORKLOAD.md's replicas write them; 1: one for both, as the server's
    /// merge commits a replica's batch); returns the number of rows at the end.
    func replay(_ workload: W1Workload, transactionsPerReplica transactions: Int = 2) throws -> Int {
        precondition(transactions == 1 || transactions == 2, "replay: one or two transactions per replica")
        let insert = try prepareInsert()
        let updates = try W1Workload.fields.map { try prepare("UPDATE cases SET \($0) = ?1 WHERE id = ?2") }
        defer {
            sqlite3_finalize(insert)
            for statement in updates { sqlite3_finalize(statement) }
        }
        for replica in 0..<workload.replicaCount {
            try exec("BEGIN")
            for row in workload.inserts[replica] { try insertRow(row, with: insert) }
            if transactions == 2 {
                try exec("COMMIT")
                try exec("BEGIN")
            }
            for update in workload.updates[replica] {
                let statement = updates[update.field]
                sqlite3_bind_text(statement, 1, update.value, -1, Self.transient)
                sqlite3_bind_text(statement, 2, update.id, -1, Self.transient)
                guard sqlite3_step(statement) == SQLITE_DONE else { throw Failure.sqlite(String(cString: sqlite3_errmsg(db))) }
                sqlite3_reset(statement)
            }
            try exec("COMMIT")
        }
        return try count("cases")
    }

    /// `SELECT count(*)` of a table: what a baseline wrote, checked by its caller.
    func count(_ table: String) throws -> Int {
        let count = try prepare("SELECT count(*) FROM \(table)")
        defer { sqlite3_finalize(count) }
        guard sqlite3_step(count) == SQLITE_ROW else { throw Failure.sqlite(String(cString: sqlite3_errmsg(db))) }
        return Int(sqlite3_column_int64(count, 0))
    }

    /// The final rows it holds, by id (for checking a baseline's result).
    func rows() throws -> [String: [String]] {
        let select = try prepare("SELECT * FROM cases")
        defer { sqlite3_finalize(select) }
        var rows: [String: [String]] = [:]
        while sqlite3_step(select) == SQLITE_ROW {
            let row = (0..<Int32(W1Workload.fields.count)).map { column in
                sqlite3_column_text(select, column).map { String(cString: $0) } ?? ""
            }
            rows[row[0]] = row
        }
        return rows
    }
}
