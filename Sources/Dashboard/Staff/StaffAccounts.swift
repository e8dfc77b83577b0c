public import SyncCore
public import SyncServer

/// A staff account of the district's dashboard (never its password or token).
public struct StaffMember: Sendable, Equatable {
    public var name: String
    public var office: String
    public var hasToken: Bool
    public var createdAt: Int64
}

/// Staff accounts, sessions and the audit, kept in the server database (both backends,
/// through ``CentralStorage/execute(_:)``). The administrator makes the accounts
/// (`rain-server staff`); district and street staff sign in to the dashboard.
public struct StaffAccounts: Sendable {
    public let storage: any CentralStorage

    public init(storage: any CentralStorage) {
        self.storage = storage
    }

    /// How long a signed-in session lasts: a working day.
    public static let sessionLifetime: Int64 = 8 * 3_600_000

    /// A staff name: 1–64 letters, digits, `.`, `_` or `-` (Chinese letters too).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// Adds `name` for `office` (the district or a street) with `password`.
    public func add(name: String, office: String, password: String, now: Int64) async throws(ServerError) -> StaffMember {
        guard Self.isValidName(name) else {
            throw .badRequest("invalid", "cannot add the staff member: a name is 1 to 64 letters, digits, '.', '_' or '-' (name)")
        }
        let offices = try await storage.offices()
        guard let home = offices.first(where: { $0.code == office }) else {
            throw .notFound("cannot add the staff member: no office \(office) (--office)")
        }
        guard home.level == .district || home.level == .street, home.retiredAt == nil else {
            throw .badRequest(
                "invalid",
                "cannot add the staff member: the dashboard is for the district's and the streets' staff, and \(office) is a \(home.level.rawValue)\(home.retiredAt == nil ? "" : " (retired)") (--office)"
            )
        }
        let hash = try Self.hash(password)
        if try await member(name) != nil { throw .conflict("exists", "cannot add the staff member: \(name) already exists") }
        _ = try await storage.execute([
            ServerSQL(
                "INSERT INTO staff (name, office, password, created_at) VALUES (?, ?, ?, ?)",
                [.text(name), .text(office), .text(hash), .integer(now)])
        ])
        return StaffMember(name: name, office: office, hasToken: false, createdAt: now)
    }

    /// Sets `name`'s password; their sessions end.
    public func setPassword(name: String, password: String) async throws(ServerError) {
        let hash = try Self.hash(password)
        let changed = try await storage.execute([
            ServerSQL("UPDATE staff SET password = ? WHERE name = ?", [.text(hash), .text(name)]),
            ServerSQL("DELETE FROM staff_sessions WHERE staff = ?", [.text(name)]),
        ])
        guard changed.first == 1 else { throw .notFound("cannot set the password: no staff member \(name)") }
    }

    /// Removes `name`: their sessions and API token stop working at once.
    public func remove(name: String) async throws(ServerError) {
        let changed = try await storage.execute([
            ServerSQL("DELETE FROM staff_sessions WHERE staff = ?", [.text(name)]),
            ServerSQL("DELETE FROM staff WHERE name = ?", [.text(name)]),
        ])
        guard changed.last == 1 else { throw .notFound("cannot remove the staff member: no staff member \(name)") }
    }

    /// A new API token for `name` (shown once; the previous one stops working).
    public func issueToken(name: String) async throws(ServerError) -> String {
        let token = "rst_" + Secrets.randomSecret()
        let changed = try await storage.execute([
            ServerSQL("UPDATE staff SET token_sha256 = ? WHERE name = ?", [.text(Secrets.digest(token)), .text(name)])
        ])
        guard changed.first == 1 else { throw .notFound("cannot issue a token: no staff member \(name)") }
        return token
    }

    /// Every account, by name.
    public func list() async throws(ServerError) -> [StaffMember] {
        try await storage.query(
            ServerSQL("SELECT name, office, token_sha256, created_at FROM staff ORDER BY name"), columns: [.text, .text, .text, .integer]
        ).map { StaffMember(name: $0[0].text ?? "", office: $0[1].text ?? "", hasToken: $0[2].text != nil, createdAt: $0[3].integer ?? 0) }
    }

    /// The account `name` and its password hash.
    func member(_ name: String) async throws(ServerError) -> (member: StaffMember, password: String)? {
        let rows = try await storage.query(
            ServerSQL("SELECT name, office, token_sha256, created_at, password FROM staff WHERE name = ?", [.text(name)]),
            columns: [.text, .text, .text, .integer, .text])
        guard let row = rows.first else { return nil }
        return (
            StaffMember(name: row[0].text ?? "", office: row[1].text ?? "", hasToken: row[2].text != nil, createdAt: row[3].integer ?? 0),
            row[4].text ?? ""
        )
    }

    static func hash(_ password: String) throws(ServerError) -> String {
        guard password.count >= PasswordHash.minimumLength else {
            throw .badRequest("invalid", "cannot set the password: it must be at least \(PasswordHash.minimumLength) characters (password)")
        }
        do { return try PasswordHash.make(password) } catch {
            throw ServerError(status: 500, code: "internal", message: "cannot hash the password: \(error)")
        }
    }
}
