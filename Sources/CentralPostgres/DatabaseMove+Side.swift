import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO
import ReplicaStore
import SyncCore
import SyncServer
import Synchronization

extension DatabaseMove {
    /// One end of a move: the database's tables read by key, written in pages.
    enum Side {
        case sqlite(SQLiteCentralStorage)
        case postgres(PostgresCentralStorage)

        static func open(_ location: DatabaseLocation, create: Bool, kinds: [RecordKind], logger: Logger) async throws(ServerError)
            -> Side
        {
            switch location {
            case .sqlite(let path): .sqlite(try SQLiteCentralStorage.open(at: path, create: create, kinds: kinds))
            case .postgres(let postgres): .postgres(try await PostgresCentralStorage.open(postgres, kinds: kinds, logger: logger))
            }
        }

        func close() async {
            switch self {
            case .sqlite(let storage): storage.close()
            case .postgres(let storage): await storage.close()
            }
        }

        func count(_ table: String) async throws -> Int {
            switch self {
            case .sqlite(let storage):
                return try storage.store.read("cannot count") { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
            case .postgres(let storage):
                return try await storage.read("cannot count") { connection in
                    Int(
                        try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: storage.logger)
                            .collectOne(Int64.self) ?? 0)
                }
            }
        }

        func identity() async throws -> String {
            switch self {
            case .sqlite(let storage): return storage.store.identity.replica.rawValue
            case .postgres(let storage): return storage.identity.withLock { $0?.rawValue } ?? ""
            }
        }

        func setIdentity(_ id: String) async throws {
            guard !id.isEmpty else { return }
            switch self {
            case .sqlite(let storage):
                try storage.store.write("cannot set the server's id") { db in
                    try db.execute(sql: "UPDATE replica SET replica_id = ?", arguments: [id])
                }
            case .postgres(let storage):
                try await storage.write("cannot set the server's id") { connection in
                    try await connection.query("UPDATE server_identity SET replica = \(id)", logger: storage.logger)
                }
            }
        }

        /// The numbering floor a restore set (PostgreSQL only; 0 for SQLite).
        func floor() async throws -> Int64 {
            guard case .postgres(let storage) = self else { return 0 }
            return try await storage.read("cannot read the numbering floor") { connection in
                try await connection.query("SELECT numbering_floor FROM server_identity", logger: storage.logger).collectOne(Int64.self)
                    ?? 0
            }
        }

        /// The next arrival number the source would give (PostgreSQL: with its floor).
        func nextArrival() async throws -> Int64 {
            switch self {
            case .sqlite(let storage):
                return try storage.store.read("cannot read the log") { db in
                    (try Int64.fetchOne(db, sql: "SELECT coalesce(max(arrived), 0) FROM changes") ?? 0) + 1
                }
            case .postgres(let storage):
                return try await storage.read("cannot read the log") { connection in
                    try await PostgresCentralStorage.nextArrival(connection, storage.logger)
                }
            }
        }

        func setFloor(_ floor: Int64) async throws {
            guard floor > 0, case .postgres(let storage) = self else { return }
            try await storage.write("cannot set the numbering floor") { connection in
                try await connection.query("UPDATE server_identity SET numbering_floor = \(floor)", logger: storage.logger)
            }
        }

        /// The next page of `table`'s rows after the key `after`, by key.
        func rows(_ table: Table, after: [Cell]?) async throws -> [[Cell]] {
            let columns = table.columns.map(\.name).joined(separator: ", ")
            let key = table.key.joined(separator: ", ")
            switch self {
            case .sqlite(let storage):
                let condition = after == nil ? "" : "WHERE (\(key)) > (\(table.key.map { _ in "?" }.joined(separator: ", ")))"
                let sql = "SELECT \(columns) FROM \(table.name) \(condition) ORDER BY \(key) LIMIT \(page(table))"
                return try storage.store.read("cannot read \(table.name)") { db in
                    try Row.fetchAll(db, sql: sql, arguments: StatementArguments((after ?? []).map(Self.sqliteValue(_:)))).map { row in
                        table.columns.indices.map { index in
                            // A change's body is TEXT here and bytes on PostgreSQL: one form for both.
                            let cell = Self.cell(row[index] as DatabaseValue)
                            if table.columns[index].kind == .bytes, case .text(let text) = cell { return Cell.bytes(Array(text.utf8)) }
                            return cell
                        }
                    }
                }
            case .postgres(let storage):
                var bindings = PostgresBindings()
                for cell in after ?? [] { Self.bind(cell, to: &bindings) }
                let condition =
                    after == nil ? "" : "WHERE (\(key)) > (\(table.key.indices.map { "$\($0 + 1)" }.joined(separator: ", ")))"
                let sql = "SELECT \(columns) FROM \(table.name) \(condition) ORDER BY \(key) LIMIT \(page(table))"
                return try await storage.read("cannot read \(table.name)") { connection in
                    var result: [[Cell]] = []
                    for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: storage.logger)
                    {
                        let random = row.makeRandomAccess()
                        var cells: [Cell] = []
                        for (index, column) in table.columns.enumerated() {
                            switch column.kind {
                            case .integer: cells.append(try random[index].decode(Int64?.self).map(Cell.integer) ?? .null)
                            case .text: cells.append(try random[index].decode(String?.self).map(Cell.text) ?? .null)
                            case .bytes: cells.append(try random[index].decode(ByteBuffer?.self).map { .bytes(Array(buffer: $0)) } ?? .null)
                            }
                        }
                        result.append(cells)
                    }
                    return result
                }
            }
        }

        /// Writes `rows` of `table` in one transaction.
        func insert(_ table: Table, _ rows: [[Cell]]) async throws {
            let columns = table.columns.map(\.name).joined(separator: ", ")
            switch self {
            case .sqlite(let storage):
                let sql =
                    "INSERT INTO \(table.name) (\(columns)) VALUES (\(table.columns.map { _ in "?" }.joined(separator: ", ")))"
                try storage.store.write("cannot write \(table.name)") { db in
                    // An office may come before its parent (by code): checked at commit.
                    try db.execute(sql: "PRAGMA defer_foreign_keys = ON")
                    let statement = try db.makeStatement(sql: sql)
                    for row in rows {
                        let values: [(any DatabaseValueConvertible)?] = zip(row, table.columns).map { cell, column in
                            if column.sqliteText, case .bytes(let bytes) = cell { return String(decoding: bytes, as: UTF8.self) }
                            return Self.sqliteValue(cell)
                        }
                        try statement.execute(arguments: StatementArguments(values))
                    }
                }
            case .postgres(let storage):
                try await storage.write("cannot write \(table.name)") { connection in
                    // Pages of rows per statement, within PostgreSQL's 65,535 parameters.
                    let perStatement = max(1, 30_000 / table.columns.count)
                    var start = 0
                    while start < rows.count {
                        let slice = rows[start..<min(rows.count, start + perStatement)]
                        var bindings = PostgresBindings()
                        var tuples: [String] = []
                        for row in slice {
                            var marks: [String] = []
                            for cell in row {
                                Self.bind(cell, to: &bindings)
                                marks.append("$\(bindings.count)")
                            }
                            tuples.append("(" + marks.joined(separator: ", ") + ")")
                        }
                        try await connection.query(
                            PostgresQuery(
                                unsafeSQL: "INSERT INTO \(table.name) (\(columns)) VALUES " + tuples.joined(separator: ", "),
                                binds: bindings),
                            logger: storage.logger)
                        start += perStatement
                    }
                }
            }
        }

        /// Every row of `table` read back: its count and digest.
        func digest(_ table: Table) async throws -> (rows: Int, digest: String) {
            var hashes: [[UInt8]] = []
            var last: [Cell]?
            while true {
                let rows = try await rows(table, after: last)
                for row in rows { hashes.append(rowDigest(row)) }
                guard rows.count == page(table), let final = rows.last else { break }
                last = table.key.map { key in final[table.columns.firstIndex { $0.name == key }!] }
            }
            return (hashes.count, tableDigest(hashes))
        }

        static func cell(_ value: DatabaseValue) -> Cell {
            switch value.storage {
            case .null: .null
            case .int64(let integer): .integer(integer)
            case .double(let double): .integer(Int64(double))
            case .string(let string): .text(string)
            case .blob(let data): .bytes(Array(data))
            }
        }

        static func sqliteValue(_ cell: Cell) -> (any DatabaseValueConvertible)? {
            switch cell {
            case .null: nil
            case .integer(let value): value
            case .text(let value): value
            case .bytes(let value): Data(value)
            }
        }

        static func bind(_ cell: Cell, to bindings: inout PostgresBindings) {
            switch cell {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            case .bytes(let value): bindings.append(ByteBuffer(bytes: value))
            }
        }
    }
}
