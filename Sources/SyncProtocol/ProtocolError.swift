/// Why a message from the wire was refused. Every case names the problem and where it
/// is; none repeats a field's value (values may be residents' personal data).
public enum ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The encoded message is larger than the limit (bytes, limit).
    case tooLarge(bytes: Int, limit: Int)
    /// The bytes are not JSON.
    case malformedJSON(JSONSyntaxError)
    /// The message names a protocol version this implementation does not speak.
    case unsupportedVersion(found: String, supported: [Int])
    /// A value breaks a rule of the protocol: `path` locates it (`changes[3].dot.counter`),
    /// `reason` says what is wrong (`must be ≥ 1`).
    case invalid(path: String, reason: String)

    /// The short form, `where: why`, as conformance vectors expect it.
    public var message: String {
        switch self {
        case .tooLarge(let bytes, let limit):
            "$: message of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .malformedJSON(let syntax):
            "$: malformed JSON: \(syntax.description)"
        case .unsupportedVersion(let found, let supported):
            "protocol: version \(found) is not supported; supported: \(supported.map(String.init).joined(separator: ", "))"
        case .invalid(let path, let reason):
            "\(path): \(reason)"
        }
    }

    /// A stable machine-readable code (used in HTTP error bodies).
    public var code: String {
        switch self {
        case .tooLarge: "too_large"
        case .malformedJSON: "malformed_json"
        case .unsupportedVersion: "unsupported_version"
        case .invalid: "invalid"
        }
    }

    public var description: String { "invalid change batch: \(message)" }
}
