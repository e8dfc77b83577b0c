public import SyncCore

/// One statement in the SQL both backends speak (`?` placeholders; PostgreSQL's are
/// numbered for it), over the read model's views and the server's own tables: for the
/// parts of the server built on them (the district's dashboard, staff accounts) without a
/// storage method per query. Never text from a request: its values go in `arguments`.
public struct ServerSQL: Sendable, Hashable {
    public var sql: String
    public var arguments: [Value]
    /// The rows the statement must change, when it guards the transaction (a compare and
    /// set): another count rolls everything back with 409 `changed`.
    public var expecting: Int?

    public init(_ sql: String, _ arguments: [Value] = [], expecting: Int? = nil) {
        self.sql = sql
        self.arguments = arguments
        self.expecting = expecting
    }

    /// The refusal when a guarding statement changed `count` rows.
    package func check(_ count: Int) throws(ServerError) {
        guard let expecting, expecting != count else { return }
        throw ServerError(status: 409, code: "changed", message: "cannot write: what this write read was changed meanwhile; try again")
    }

    /// The statement with PostgreSQL's numbered placeholders (`$1`, `$2`, …); a `?` inside
    /// a quoted string stays.
    package var numbered: String {
        var out = ""
        var number = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?", !quoted {
                number += 1
                out += "$\(number)"
            } else {
                out.append(character)
            }
        }
        return out
    }

    /// A result cell read as text (how both backends hand it over), typed again.
    package static func value(_ text: String?, as type: FieldDeclaration.ValueType) -> Value {
        guard let text else { return .null }
        switch type {
        case .text: return .text(text)
        case .timestamp: return Int64(text).map(Value.timestamp) ?? .null
        case .bool: return .bool(text != "0" && text != "false" && text != "f")
        case .integer: return Int64(text).map(Value.integer) ?? .null
        }
    }
}
