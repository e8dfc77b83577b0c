public import SyncCore
public import SyncServer

/// A signed-in staff member, as a request is served for them.
public struct StaffSession: Sendable, Equatable {
    public var staff: String
    public var office: String
    /// The form token of the session (CSRF): every form carries it; nil for an API token.
    public var csrf: String?

    public init(staff: String, office: String, csrf: String?) {
        self.staff = staff
        self.office = office
        self.csrf = csrf
    }
}

/// Signing in and out, sessions and API tokens, lock-out and the audit.
extension StaffAccounts {
    /// Wrong passwords in a row before an account is locked…
    public static let signInTries = 5
    /// …for this long (ms).
    public static let signInLockout: Int64 = 15 * 60_000

    /// How a sign-in went.
    public enum SignIn: Sendable, Equatable {
        /// The session's cookie value (shown once) and its session.
        case signedIn(cookie: String, session: StaffSession)
        case wrong
        case locked(until: Int64)
    }

    /// Checks `name`'s `password`: a new session when right; after ``signInTries`` wrong
    /// ones in a row the account is locked for ``signInLockout``, even to the right one.
    /// Every try is audited (never the password).
    public func signIn(name: String, password: String, address: String?, now: Int64) async throws(ServerError) -> SignIn {
        // A name no account can have is wrong at once: nothing counted, nothing stored (the
        // audit never holds what someone typed in the wrong field).
        guard Self.isValidName(name), password.utf8.count <= 1024 else { return .wrong }
        // A locked account is refused before any hashing: trying it costs the server nothing.
        let held = try await storage.query(
            ServerSQL("SELECT locked_until FROM guard_attempts WHERE subject = ?", [.text("staff:" + name)]), columns: [.integer])
        if let until = held.first?[0].integer, until > now {
            try await audit(staff: name, action: "sign_in_locked", subject: nil, address: address, now: now)
            return .locked(until: until)
        }
        let found = try await member(name)
        // An unknown name costs the same time as a wrong password.
        let right = await PasswordHash.check(password, against: found?.password ?? PasswordHash.decoy) && found != nil
        let attempt = try await storage.attempt(
            "staff:" + name, correct: right, now: now, limit: Self.signInTries, lockout: Self.signInLockout)
        switch attempt {
        case .locked(let until):
            try await audit(staff: name, action: "sign_in_locked", subject: nil, address: address, now: now)
            return .locked(until: until)
        case .wrong:
            try await audit(staff: name, action: "sign_in_failed", subject: nil, address: address, now: now)
            return .wrong
        case .allowed:
            guard let member = found?.member, right else { return .wrong }
            let cookie = Secrets.randomSecret()
            let csrf = Secrets.randomSecret()
            _ = try await storage.execute([
                // Expired sessions go as new ones come.
                ServerSQL("DELETE FROM staff_sessions WHERE expires_at < ?", [.integer(now)]),
                ServerSQL(
                    "INSERT INTO staff_sessions (id_sha256, staff, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                    [.text(Secrets.digest(cookie)), .text(member.name), .text(csrf), .integer(now), .integer(now + Self.sessionLifetime)]),
                Self.auditStatement(staff: member.name, action: "sign_in", subject: nil, address: address, now: now),
            ])
            return .signedIn(cookie: cookie, session: StaffSession(staff: member.name, office: member.office, csrf: csrf))
        }
    }

    /// The session a cookie value belongs to, while it lasts and its account exists.
    public func session(cookie: String, now: Int64) async throws(ServerError) -> StaffSession? {
        guard cookie.utf8.count == 64 else { return nil }
        let rows = try await storage.query(
            ServerSQL(
                """
                SELECT s.staff, a.office, s.csrf FROM staff_sessions s JOIN staff a ON a.name = s.staff
                WHERE s.id_sha256 = ? AND s.expires_at > ?
                """, [.text(Secrets.digest(cookie)), .integer(now)]), columns: [.text, .text, .text])
        guard let row = rows.first else { return nil }
        return StaffSession(staff: row[0].text ?? "", office: row[1].text ?? "", csrf: row[2].text)
    }

    /// The staff member an API token belongs to.
    public func session(token: String) async throws(ServerError) -> StaffSession? {
        guard token.hasPrefix("rst_"), token.utf8.count == 68 else { return nil }
        let rows = try await storage.query(
            ServerSQL("SELECT name, office FROM staff WHERE token_sha256 = ?", [.text(Secrets.digest(token))]), columns: [.text, .text])
        guard let row = rows.first else { return nil }
        return StaffSession(staff: row[0].text ?? "", office: row[1].text ?? "", csrf: nil)
    }

    /// Ends the session of `cookie`.
    public func signOut(cookie: String, staff: String, address: String?, now: Int64) async throws(ServerError) {
        _ = try await storage.execute([
            ServerSQL("DELETE FROM staff_sessions WHERE id_sha256 = ?", [.text(Secrets.digest(cookie))]),
            Self.auditStatement(staff: staff, action: "sign_out", subject: nil, address: address, now: now),
        ])
    }

    /// Records what `staff` did (`sign_in`, `reveal`, `export`, …) to `subject`.
    public func audit(staff: String, action: String, subject: String?, address: String?, now: Int64) async throws(ServerError) {
        _ = try await storage.execute([Self.auditStatement(staff: staff, action: action, subject: subject, address: address, now: now)])
    }

    static func auditStatement(staff: String, action: String, subject: String?, address: String?, now: Int64) -> ServerSQL {
        ServerSQL(
            "INSERT INTO staff_audit (at, staff, action, subject, address) VALUES (?, ?, ?, ?, ?)",
            [.integer(now), .text(staff), .text(action), subject.map(Value.text) ?? .null, address.map(Value.text) ?? .null])
    }

    /// One line of the audit.
    public struct AuditLine: Sendable, Equatable {
        public var at: Int64
        public var staff: String
        public var action: String
        public var subject: String?
        public var address: String?
    }

    /// The audit, newest first (at most `limit` lines).
    public func auditLines(limit: Int) async throws(ServerError) -> [AuditLine] {
        try await storage.query(
            ServerSQL("SELECT at, staff, action, subject, address FROM staff_audit ORDER BY id DESC LIMIT ?", [.integer(Int64(limit))]),
            columns: [.integer, .text, .text, .text, .text]
        ).map {
            AuditLine(at: $0[0].integer ?? 0, staff: $0[1].text ?? "", action: $0[2].text ?? "", subject: $0[3].text, address: $0[4].text)
        }
    }
}
