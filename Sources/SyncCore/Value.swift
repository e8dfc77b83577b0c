/// A field's value: the five kinds the protocol carries (`Protocol/PROTOCOL.md` §2.4).
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// A signed integer; |value| ≤ 2^53 − 1 on the wire.
    case integer(Int64)
    /// UTF-8 text; at most 64 KiB on the wire.
    case text(String)
    /// Milliseconds since 1970-01-01T00:00:00Z.
    case timestamp(Int64)

    /// The text, when this value is text.
    public var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }

    /// The integer, when this value is an integer.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .integer(let value): String(value)
        case .text(let value): value.debugDescription
        case .timestamp(let value): "ts(\(value))"
        }
    }
}
