import Foundation
import GRDB
import GRDBSQLite
public import ReplicaStore
public import SyncCore
public import SyncProtocol

extension SQLiteCentralStorage {
    // MARK: Administration

    public func addOffice(code: String, name: String, level: OfficeLevel, parent: String?, now: Int64) throws(ServerError) -> Office {
        // Codes start every case number (`HSM-20261126-…`): letters and digits only.
        guard Self.isCode(code) else {
            throw .badRequest("invalid", "cannot add the office: a code is 1 to 12 letters or digits, e.g. HSM (code)")
        }
        let code = code.uppercased()
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 200 else {
            throw .badRequest("invalid", "cannot add the office: a name is 1 to 200 bytes (name)")
        }
        return try write("cannot add the office") { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM offices WHERE code = ?)", arguments: [code]) == true {
                throw ServerError.conflict("exists", "cannot add the office: \(code) already exists")
            }
            switch (level.parentLevel, parent) {
            case (nil, nil): break
            case (nil, .some):
                throw ServerError.badRequest("invalid", "cannot add the office: a district office has no parent (--parent)")
            case (.some(let wanted), nil):
                throw ServerError.badRequest(
                    "invalid", "cannot add the office: a \(level.rawValue) office needs a parent \(wanted.rawValue) office (--parent)")
            case (.some(let wanted), .some(let parent)):
                guard
                    let parentLevel = try String.fetchOne(
                        db, sql: "SELECT level FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [parent])
                else { throw ServerError.notFound("cannot add the office: no parent office \(parent) (--parent)") }
                guard parentLevel == wanted.rawValue else {
                    throw ServerError.badRequest(
                        "invalid",
                        "cannot add the office: the parent of a \(level.rawValue) office must be a \(wanted.rawValue) office, and \(parent) is a \(parentLevel) office (--parent)"
                    )
                }
            }
            try db.execute(
                sql: "INSERT INTO offices (code, name, level, parent, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [code, trimmed, level.rawValue, parent, now])
            return Office(code: code, name: trimmed, level: level, parent: parent, createdAt: now)
        }
    }

    public func moveOffice(code: String, parent: String, now: Int64) throws(ServerError) -> Office {
        let code = code.uppercased()
        let parent = parent.uppercased()
        return try write("cannot move the office") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [code])
            else {
                throw ServerError.notFound("cannot move the office: no active office \(code)")
            }
            let office = Self.office(row: row)
            guard let wanted = office.level.parentLevel else {
                throw ServerError.badRequest("invalid", "cannot move the office: the district has no parent (\(code))")
            }
            guard
                let parentLevel = try String.fetchOne(
                    db, sql: "SELECT level FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [parent])
            else { throw ServerError.notFound("cannot move the office: no active parent office \(parent) (--parent)") }
            guard parentLevel == wanted.rawValue else {
                throw ServerError.badRequest(
                    "invalid",
                    "cannot move the office: the parent of a \(office.level.rawValue) office must be a \(wanted.rawValue) office (--parent)"
                )
            }
            guard office.parent != parent else { return office }
            try db.execute(sql: "UPDATE offices SET parent = ? WHERE code = ?", arguments: [parent, code])
            // Every record whose scope names a community that changes street changes whose
            // jurisdiction it is in: recorded as moves, so the new street receives them
            // with their history and the old one purges them (§9.6).
            if office.level == .community {
                // The tree after the move; before it, the community was under its old parent.
                let parents = try Self.officeParents(in: db)
                var before = parents
                before[code] = office.parent
                let insert = try db.makeStatement(sql: "INSERT INTO scope_moves (tbl, record_id, old_scope, new_scope) VALUES (?, ?, ?, ?)")
                for row in try Self.recordsNaming(code, in: db) {
                    guard let scope = RecordScope(encoded: row["scope"]) else { continue }
                    try insert.execute(arguments: [
                        row["tbl"] as String, row["record_id"] as String, PlacedScope(scope) { before[$0] }.encoded,
                        PlacedScope(scope) { parents[$0] }.encoded,
                    ])
                }
            }
            return Office(code: code, name: office.name, level: office.level, parent: parent, createdAt: office.createdAt)
        }
    }

    public func retireOffice(code: String, now: Int64) throws(ServerError) -> Office {
        let code = code.uppercased()
        return try write("cannot retire the office") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [code])
            else {
                throw ServerError.notFound("cannot retire the office: no active office \(code)")
            }
            let children =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM offices WHERE parent = ? AND retired_at IS NULL", arguments: [code]) ?? 0
            guard children == 0 else {
                throw ServerError.conflict(
                    "in_use", "cannot retire the office: \(children) active office(s) are under it; move or retire them first")
            }
            let records = try Self.recordsNaming(code, in: db)
            guard records.isEmpty else {
                let tables = Set(records.map { $0["tbl"] as String }).sorted().joined(separator: ", ")
                throw ServerError.conflict(
                    "in_use",
                    "cannot retire the office: \(records.count) record(s) (\(tables)) belong to it or are handled by it; reassign them first (rain case reassign)"
                )
            }
            try db.execute(sql: "UPDATE offices SET retired_at = ? WHERE code = ?", arguments: [now, code])
            // Its replicas stop at their next request; its unused tokens stop working.
            try db.execute(
                sql: "UPDATE replicas SET revoked_at = coalesce(revoked_at, ?), previous_secret_sha256 = NULL WHERE office = ?",
                arguments: [now, code])
            try db.execute(
                sql: "UPDATE enrolment_tokens SET expires_at = min(expires_at, ?) WHERE office = ? AND used_at IS NULL",
                arguments: [now, code])
            return Self.office(row: row)
        }
    }

    public func offices() throws(ServerError) -> [Office] {
        try read("cannot list the offices") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM offices ORDER BY code").map(Self.office(row:))
        }
    }

    static func office(row: Row) -> Office {
        Office(
            code: row["code"], name: row["name"], level: OfficeLevel(rawValue: row["level"]) ?? .community, parent: row["parent"],
            createdAt: row["created_at"], retiredAt: row["retired_at"])
    }

    /// What `office` may read and write.
    func officeScope(_ office: String, in db: Database) throws -> OfficeScope {
        guard let level = try String.fetchOne(db.cachedStatement(sql: "SELECT level FROM offices WHERE code = ?"), arguments: [office])
        else { return OfficeScope(office: office, level: .community) }
        let children = Set(try String.fetchAll(db.cachedStatement(sql: "SELECT code FROM offices WHERE parent = ?"), arguments: [office]))
        return OfficeScope(office: office, level: OfficeLevel(rawValue: level) ?? .community, children: children)
    }

    /// Each office's parent, by code (the tree is small: read whole).
    static func officeParents(in db: Database) throws -> [String: String] {
        var parents: [String: String] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT code, parent FROM offices WHERE parent IS NOT NULL")) {
            parents[row["code"]] = row["parent"]
        }
        return parents
    }

    /// The records (not children: they follow their parent) whose scope names `code`.
    static func recordsNaming(_ code: String, in db: Database) throws -> [Row] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT tbl, record_id, scope FROM merge_state
                WHERE parent IS NULL AND ',' || scope || ',' LIKE '%,' || ? || ',%' ORDER BY tbl, record_id
                """, arguments: [code])
    }
}
