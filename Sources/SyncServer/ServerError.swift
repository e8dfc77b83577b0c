import SyncCore

/// Why the server refused or failed a request. The message says what failed, why, and
/// where, and never repeats a resident's data or a secret; `status` is the HTTP status
/// (`../shared/STYLE.md`: 400 malformed, 401 unauthenticated, 403 out of bounds,
/// 404 unknown, 409 conflicting state, 413 too large, 426 protocol, 503 storage).
public struct ServerError: Error, Hashable, Sendable, CustomStringConvertible {
    public var status: Int
    /// A stable machine-readable code (`Protocol/PROTOCOL.md` §9.1).
    public var code: String
    public var message: String
    /// For a push that must restart: the caller's highest counter the server holds.
    public var holds: UInt64?
    /// For `out_of_scope`: the changes refused.
    public var refused: [Refused]
    /// For the server's log only: the underlying failure (SQLite's message for a 503).
    public var cause: String? = nil

    /// A change refused as outside its writer's jurisdiction.
    public struct Refused: Hashable, Sendable {
        public var table: String
        public var record: String
        public var counter: UInt64
    }

    public init(status: Int, code: String, message: String, holds: UInt64? = nil, refused: [Refused] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.holds = holds
        self.refused = refused
    }

    public var description: String { message }

    package static func badRequest(_ code: String, _ message: String) -> ServerError {
        ServerError(status: 400, code: code, message: message)
    }
    package static func unauthenticated(_ message: String, code: String = "unauthenticated") -> ServerError {
        ServerError(status: 401, code: code, message: message)
    }
    package static func forbidden(_ code: String, _ message: String) -> ServerError {
        ServerError(status: 403, code: code, message: message)
    }
    package static func notFound(_ message: String) -> ServerError { ServerError(status: 404, code: "not_found", message: message) }
    package static func conflict(_ code: String, _ message: String, holds: UInt64? = nil) -> ServerError {
        ServerError(status: 409, code: code, message: message, holds: holds)
    }
    /// Storage failed (full disk, read-only file, locked): retry later.
    package static func unavailable(_ message: String, cause: String? = nil) -> ServerError {
        var error = ServerError(status: 503, code: "unavailable", message: message)
        error.cause = cause
        return error
    }
}

/// Which of the usual storage failures an SQLite message names: one reading for the
/// 503's wording and for whether reopening the database may cure it.
enum StorageFailure: Equatable {
    case full, readOnly, cannotOpen, missingTable, busy, ioError, other

    init(cause: String) {
        let lower = cause.lowercased()
        if lower.contains("full") {
            self = .full
        } else if lower.contains("readonly") || lower.contains("read-only") {
            self = .readOnly
        } else if lower.contains("unable to open") {
            self = .cannotOpen
        } else if lower.contains("no such table") {
            self = .missingTable
        } else if lower.contains("locked") || lower.contains("busy") {
            self = .busy
        } else if lower.contains("i/o error") {
            self = .ioError
        } else {
            self = .other
        }
    }

    /// A fresh connection may succeed where this one failed (the file turned read-only,
    /// vanished or was replaced, or failed an I/O); a full disk needs only space, a busy
    /// one patience.
    var curedByReopening: Bool { [.readOnly, .cannotOpen, .missingTable, .ioError].contains(self) }
}
