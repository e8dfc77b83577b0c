/// A table the central server keeps of a kind's records' current values — its read model
/// (DESIGN §8) — declared with the kind, like its tables. The server fills it as it merges
/// (only the columns whose fields a push wrote) and answers residents and statistics from
/// it with an index lookup, never a log scan. It is derived: a server builds it again from
/// the merge state when it is missing or its ``version`` changed.
public struct ViewDeclaration: Hashable, Sendable {
    /// One column: the current value of one field of the source table, as it is or
    /// reduced to what the server may keep (a phone's last four digits).
    public struct Column: Hashable, Sendable {
        /// How a field's value becomes the column's.
        public enum Derivation: String, Hashable, Sendable {
            /// The value itself.
            case value
            /// The last four digits of a text (a phone number's tail), nothing else of it.
            case lastFourDigits
        }

        public let name: String
        public let field: String
        public let type: FieldDeclaration.ValueType
        public let derivation: Derivation

        private func coerced(_ value: Value) -> Value {
            switch (type, value) {
            case (_, .null): return .null
            case (.text, .text): return value
            case (.text, .integer(let number)), (.text, .timestamp(let number)): return .text(String(number))
            case (.text, .bool(let flag)): return .text(flag ? "true" : "false")
            case (.integer, .integer), (.timestamp, .timestamp), (.bool, .bool): return value
            case (.integer, .timestamp(let number)): return .integer(number)
            case (.timestamp, .integer(let number)): return .timestamp(number)
            case (.integer, .bool(let flag)): return .integer(flag ? 1 : 0)
            case (.timestamp, .bool): return .null
            case (.bool, .integer(let number)), (.bool, .timestamp(let number)): return .bool(number != 0)
            case (.integer, .text(let text)): return Int64(text).map(Value.integer) ?? .null
            case (.timestamp, .text(let text)): return Int64(text).map(Value.timestamp) ?? .null
            case (.bool, .text(let text)): return text == "true" ? .bool(true) : text == "false" ? .bool(false) : .null
            }
        }

        public init(_ name: String, field: String? = nil, _ type: FieldDeclaration.ValueType, _ derivation: Derivation = .value) {
            self.name = name
            self.field = field ?? name
            self.type = type
            self.derivation = derivation
        }

        /// The column's value for the field's value `value` (nil: never written), of the
        /// column's type: a value of another type (a writer's mistake the merge keeps) is
        /// read as a replica's rows read it — a number as text, text holding a number as
        /// that number — or is NULL.
        public func derive(_ value: Value?) -> Value {
            guard let value else { return .null }
            switch derivation {
            case .value:
                // No NUL in a view's text: PostgreSQL's text refuses it (the change log keeps it).
                let column = coerced(value)
                // Looked for in the bytes: a search by Character walks grapheme clusters.
                if case .text(let text) = column, text.utf8.contains(0) { return .text(text.filter { $0 != "\u{0}" }) }
                return column
            case .lastFourDigits:
                guard case .text(let text) = value else { return .null }
                // ASCII digits only (a full-width digit is not kept), read from the end.
                var tail: [UInt8] = []
                for byte in text.utf8.reversed() where (0x30...0x39).contains(byte) {
                    tail.append(byte)
                    if tail.count == 4 { return .text(String(decoding: tail.reversed(), as: UTF8.self)) }
                }
                return .null
            }
        }
    }

    /// The view table's name (`case_view`); its key is `id`, the record's id, and it has an
    /// `updated_at` column (the server's time of the last write that changed a column).
    public let name: String
    /// The kind's table it shows.
    public let table: String
    public let columns: [Column]
    /// Column lists, each one index (a lookup by case number, a case's events).
    public let indexes: [[String]]
    /// Raised when the columns change: a server then builds the view again.
    public let version: Int

    public init(_ name: String, of table: String, version: Int, columns: [Column], indexes: [[String]] = []) {
        self.name = name
        self.table = table
        self.version = version
        self.columns = columns
        self.indexes = indexes
    }

    /// The fields the view reads.
    public var fields: Set<String> { Set(columns.map(\.field)) }
}
