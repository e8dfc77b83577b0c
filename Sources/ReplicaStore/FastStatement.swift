import CSQLite
package import GRDB

/// Binding and stepping a prepared statement through SQLite's C API, for the statements
/// a merge or a pull runs per change, record or visited row (the change log's insert,
/// the merge state's load and upsert, the case row's upsert, the server's scope lookup
/// and pull scan): GRDB's general argument path (an existential per value, a String per
/// body) was a fifth of the merge's time.
package struct FastStatement {
    private let statement: OpaquePointer
    private let connection: OpaquePointer?

    /// The cached statement for `sql` on `db`. A caller that runs it many times in one
    /// transaction keeps the value (looking it up hashes the SQL).
    package init(_ sql: String, in db: Database) throws {
        statement = try db.cachedStatement(sql: sql).sqliteStatement
        connection = db.sqliteConnection
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Clears the previous bindings before new ones (a kept statement).
    package func clear() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    package func bind(_ index: Int32, _ text: String) {
        var text = text
        _ = text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(statement, index, $0.baseAddress, Int32(utf8.count), Self.transient)
            }
        }
    }

    package func bind(_ index: Int32, blob bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) }
    }

    package func bindNull(_ index: Int32) {
        sqlite3_bind_null(statement, index)
    }

    package func bind(_ index: Int32, _ number: Int64) {
        sqlite3_bind_int64(statement, index, number)
    }

    /// Binds an integer, or NULL for nil.
    package func bind(_ index: Int32, _ number: Int64?) {
        if let number { bind(index, number) } else { bindNull(index) }
    }

    /// Steps once: true with a row to read, false when done (then reset).
    package func step() throws -> Bool {
        let code = sqlite3_step(statement)
        if code == SQLITE_ROW { return true }
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: connection.map { String(cString: sqlite3_errmsg($0)) })
        }
        return false
    }

    /// The current row's column as bytes (a blob or text), copied.
    package func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// The current row's column as text, or nil when it is NULL.
    package func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL else { return nil }
        // Decoded in place (no intermediate array): short texts such as office codes
        // then cost no allocation at all.
        let pointer = sqlite3_column_text(statement, column)
        let count = Int(sqlite3_column_bytes(statement, column))
        guard let pointer, count > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The current row's column as an integer (0 for NULL).
    package func integer(_ column: Int32) -> Int64 {
        sqlite3_column_int64(statement, column)
    }

    /// True when the current row's column is the text `utf8`, compared without making a
    /// String.
    package func textEquals(_ column: Int32, _ utf8: [UInt8]) -> Bool {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count == utf8.count else { return false }
        guard count > 0, let pointer = sqlite3_column_text(statement, column) else { return count == 0 }
        return utf8.withUnsafeBufferPointer { $0.elementsEqual(UnsafeBufferPointer(start: pointer, count: count)) }
    }

    /// Binds text, or NULL for nil.
    package func bind(_ index: Int32, _ text: String?) {
        if let text { bind(index, text) } else { bindNull(index) }
    }

    /// Ends reading rows before the last.
    package func reset() {
        sqlite3_reset(statement)
    }

    /// Binds `utf8` (the caller vouches that it is UTF-8) as text at `index` without
    /// copying it, runs the statement as ``run()`` does and unbinds it, so that no pointer
    /// to the bytes outlives the call: for the change log's bodies, a copy of each was a
    /// malloc and a memcpy per change.
    package func run(bindingText utf8: [UInt8], at index: Int32) throws {
        try utf8.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { text in
                if let start = text.baseAddress {
                    // SQLITE_STATIC (nil): SQLite reads the bytes in place while the statement runs.
                    sqlite3_bind_text(statement, index, start, Int32(text.count), nil)
                } else {
                    sqlite3_bind_text(statement, index, "", 0, Self.transient)
                }
                defer { sqlite3_bind_null(statement, index) }
                try run()
            }
        }
    }

    /// Runs the statement to completion and resets it; a failure is GRDB's
    /// `DatabaseError`, as from any other statement.
    package func run() throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: connection.map { String(cString: sqlite3_errmsg($0)) })
        }
    }
}
