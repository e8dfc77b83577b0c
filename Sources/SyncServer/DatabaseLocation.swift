import Foundation

/// Where the server's database is (`rain-server --db`, `$RAIN_SERVER_DB`): a file path
/// — SQLite, the embedded default — or a PostgreSQL URL,
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require&pool=N]`.
public enum DatabaseLocation: Hashable, Sendable {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Reads `text`: a URL when it has a scheme (`…://`), a path otherwise.
    ///
    /// - Throws: ``DatabaseLocationError`` naming what is wrong; never the password.
    public init(parsing text: String) throws(DatabaseLocationError) {
        guard let schemeEnd = text.range(of: "://") else {
            guard !text.isEmpty else { throw DatabaseLocationError("the database is empty: give a file path or a postgres:// URL") }
            self = .sqlite(path: text)
            return
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw DatabaseLocationError(
                "the database URL's scheme \(scheme.debugDescription) is not supported: use postgres:// (or a file path for SQLite)")
        }
        self = .postgres(try PostgresLocation(parsing: String(text[schemeEnd.upperBound...])))
    }
}

/// A PostgreSQL database: who connects, where, and how.
public struct PostgresLocation: Hashable, Sendable, CustomStringConvertible {
    /// How the connection is encrypted (libpq's `sslmode` names).
    public enum TLS: String, Hashable, Sendable, CaseIterable {
        /// Never TLS (a socket on the same machine, a private network).
        case disable
        /// TLS when the server offers it (libpq's default).
        case prefer
        /// TLS or no connection; the server's certificate is verified against the system's roots.
        case require
    }

    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLS
    /// The most connections one server process opens (`pool=N`); nil: the default.
    public var poolSize: Int?

    public init(
        user: String, password: String? = nil, host: String, port: Int = 5432, database: String, tls: TLS = .prefer,
        poolSize: Int? = nil
    ) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
        self.poolSize = poolSize
    }

    /// The URL without the password: what logs and error messages show.
    public var description: String {
        var text = "postgres://" + Self.escape(user) + (password == nil ? "" : ":***") + "@"
        text += host.contains(":") ? "[\(host)]" : host
        text += ":\(port)/" + Self.escape(database)
        var query = tls == .prefer ? [] : ["sslmode=\(tls.rawValue)"]
        if let poolSize { query.append("pool=\(poolSize)") }
        return query.isEmpty ? text : text + "?" + query.joined(separator: "&")
    }

    /// Reads what follows `postgres://`.
    init(parsing rest: String) throws(DatabaseLocationError) {
        var rest = Substring(rest)
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw DatabaseLocationError("the database URL names no database: add /DATABASE after the host")
        }
        let authority = rest[..<slash]
        let path = rest[rest.index(after: slash)...]
        guard let at = authority.lastIndex(of: "@") else {
            throw DatabaseLocationError("the database URL names no user: write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let userInfo = authority[..<at]
        var hostPort = authority[authority.index(after: at)...]
        if let colon = userInfo.firstIndex(of: ":") {
            user = try Self.unescape(userInfo[..<colon], "user")
            password = try Self.unescape(userInfo[userInfo.index(after: colon)...], "password")
        } else {
            user = try Self.unescape(userInfo, "user")
            password = nil
        }
        guard !user.isEmpty else { throw DatabaseLocationError("the database URL's user is empty") }
        // `[::1]:5432`: an IPv6 address in brackets.
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw DatabaseLocationError("the database URL's host has an unclosed [ (an IPv6 address is written [::1])")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw DatabaseLocationError("the database URL has text after its host's ]") }
                portText = after.dropFirst()
            }
        } else {
            if let colon = hostPort.lastIndex(of: ":") {
                portText = hostPort[hostPort.index(after: colon)...]
                hostPort = hostPort[..<colon]
            }
            host = try Self.unescape(hostPort, "host")
        }
        guard !host.isEmpty else { throw DatabaseLocationError("the database URL's host is empty") }
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else {
                throw DatabaseLocationError("the database URL's port \(String(portText).debugDescription) is not a number from 1 to 65535")
            }
            port = number
        } else {
            port = 5432
        }
        database = try Self.unescape(path, "database")
        guard !database.isEmpty else {
            throw DatabaseLocationError("the database URL names no database: add /DATABASE after the host")
        }
        guard !database.contains("/") else {
            throw DatabaseLocationError("the database URL's database name \(database.debugDescription) contains a /")
        }
        tls = .prefer
        poolSize = nil
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]) : ""
            switch name {
            case "sslmode":
                guard let mode = TLS(rawValue: value) else {
                    throw DatabaseLocationError(
                        "the database URL's sslmode \(value.debugDescription) is not one of \(TLS.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                tls = mode
            case "pool":
                guard let size = Int(value), (1...1_000).contains(size) else {
                    throw DatabaseLocationError("the database URL's pool \(value.debugDescription) is not a number from 1 to 1000")
                }
                poolSize = size
            default:
                throw DatabaseLocationError("the database URL's parameter \(name.debugDescription) is unknown: use sslmode or pool")
            }
        }
    }

    /// Percent-decodes one part of the URL.
    static func unescape(_ text: Substring, _ part: String) throws(DatabaseLocationError) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                // The password's own text is never repeated.
                throw DatabaseLocationError("the database URL's \(part) has a % not followed by two hexadecimal digits")
            }
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw DatabaseLocationError("the database URL's \(part) is not UTF-8 once decoded")
        }
        return decoded
    }

    /// Percent-encodes what a URL's part may not hold as it is.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80,
                scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || "-._~".unicodeScalars.contains(scalar)
            {
                escaped.unicodeScalars.append(scalar)
            } else {
                escaped += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return escaped
    }
}

/// A database argument that cannot be used; the message never holds the password.
public struct DatabaseLocationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String

    init(_ why: String) {
        message = "cannot use the database: " + why
    }

    public var description: String { message }
}
