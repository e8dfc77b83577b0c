import Logging
import NIOCore
import PostgresNIO
public import SyncCore
public import SyncServer

extension PostgresCentralStorage {
    public func query(_ statement: ServerSQL, columns: [FieldDeclaration.ValueType]) async throws(ServerError) -> [[Value]] {
        try await read("cannot read the server database") { connection in
            var rows: [[Value]] = []
            for try await row in try await connection.query(Self.query(statement), logger: self.logger) {
                var values: [Value] = []
                for (index, cell) in row.enumerated() where index < columns.count {
                    values.append(try Self.value(cell, as: columns[index]))
                }
                rows.append(values)
            }
            return rows
        }
    }

    public func execute(_ statements: [ServerSQL]) async throws(ServerError) -> [Int] {
        try await writeAlone("cannot write the server database") { connection in
            var counts: [Int] = []
            for statement in statements {
                // The future-returning query: its result carries the command tag (rows changed).
                let future: EventLoopFuture<PostgresQueryResult> = connection.query(Self.query(statement), logger: self.logger)
                let count = try await future.get().metadata.rows ?? 0
                try statement.check(count)
                counts.append(count)
            }
            return counts
        }
    }

    static func query(_ statement: ServerSQL) -> PostgresQuery {
        var query = PostgresQuery(unsafeSQL: statement.numbered)
        for argument in statement.arguments {
            switch argument {
            case .null: query.binds.appendNull()
            case .bool(let flag): query.binds.append(flag)
            case .integer(let number), .timestamp(let number): query.binds.append(number)
            case .text(let text): query.binds.append(text)
            }
        }
        return query
    }

    /// A cell typed as asked: integers from any integer column (a count is `int8`, a
    /// `CASE … THEN 1` is `int4`), text from text.
    static func value(_ cell: PostgresCell, as type: FieldDeclaration.ValueType) throws -> Value {
        switch type {
        case .text:
            return (try cell.decode(String?.self)).map(Value.text) ?? .null
        case .bool:
            if cell.dataType == .bool { return (try cell.decode(Bool?.self)).map(Value.bool) ?? .null }
            return (try cell.decode(Int64?.self)).map { .bool($0 != 0) } ?? .null
        case .integer:
            return (try cell.decode(Int64?.self)).map(Value.integer) ?? .null
        case .timestamp:
            return (try cell.decode(Int64?.self)).map(Value.timestamp) ?? .null
        }
    }
}
