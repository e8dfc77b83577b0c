import CSQLite
import GRDB

/// Binding and stepping a prepared statement through SQLite's C API, for the two
/// statements every merged change and record goes through (the change log's insert and
/// the merge state's upsert): GRDB's general argument path (an existential per value,
/// a String per body) was a fifth of the merge's time.
struct FastStatement {
    private let statement: OpaquePointer
    private let connection: OpaquePointer?

    /// The cached statement for `sql` on `db`.
    init(_ sql: String, in db: Database) throws {
        statement = try db.cachedStatement(sql: sql).sqliteStatement
        connection = db.sqliteConnection
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(statement, index, $0.baseAddress, Int32(utf8.count), Self.transient)
            }
        }
    }

    /// Binds UTF-8 bytes as text (the caller vouches that they are UTF-8).
    func bind(_ index: Int32, utf8 bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(statement, index, $0.baseAddress, Int32(buffer.count), Self.transient)
            }
        }
    }

    func bind(_ index: Int32, blob bytes: [UInt8]) {
        bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) }
    }

    func bindNull(_ index: Int32) {
        sqlite3_bind_null(statement, index)
    }

    func bind(_ index: Int32, _ number: Int64) {
        sqlite3_bind_int64(statement, index, number)
    }

    /// Runs the statement to completion and resets it; a failure is GRDB's
    /// `DatabaseError`, as from any other statement.
    func run() throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: connection.map { String(cString: sqlite3_errmsg($0)) })
        }
    }
}
