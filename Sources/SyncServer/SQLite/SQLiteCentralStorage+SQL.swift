import GRDB
public import SyncCore

extension SQLiteCentralStorage {
    public func query(_ statement: ServerSQL, columns: [FieldDeclaration.ValueType]) throws(ServerError) -> [[Value]] {
        try read("cannot read the server database") { db in
            try Row.fetchAll(db, sql: statement.sql, arguments: Self.arguments(statement.arguments)).map { row in
                columns.enumerated().map { index, type in
                    let cell: DatabaseValue = row[index]
                    switch cell.storage {
                    case .null: return .null
                    case .int64(let number):
                        switch type {
                        case .integer: return .integer(number)
                        case .timestamp: return .timestamp(number)
                        case .bool: return .bool(number != 0)
                        case .text: return .text(String(number))
                        }
                    case .double(let number): return ServerSQL.value(String(Int64(number)), as: type)
                    case .string(let text): return ServerSQL.value(text, as: type)
                    case .blob: return .null
                    }
                }
            }
        }
    }

    public func execute(_ statements: [ServerSQL]) throws(ServerError) -> [Int] {
        try write("cannot write the server database") { db in
            try statements.map { statement in
                try db.execute(sql: statement.sql, arguments: Self.arguments(statement.arguments))
                try statement.check(db.changesCount)
                return db.changesCount
            }
        }
    }

    static func arguments(_ values: [Value]) -> StatementArguments {
        StatementArguments(
            values.map { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .null: nil
                case .bool(let flag): flag ? 1 : 0
                case .integer(let number), .timestamp(let number): number
                case .text(let text): text
                }
            })
    }
}
