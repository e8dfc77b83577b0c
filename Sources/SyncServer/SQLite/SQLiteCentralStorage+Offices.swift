import Foundation
import GRDB
import GRDBSQLite
public import ReplicaStore
public import SyncCore
public import SyncProtocol

extension SQLiteCentralStorage {
    // MARK: Administration

    public func addOffice(code: String, name: String, level: OfficeLevel, parent: String?, now: Int64) throws(ServerError) -> Office {
        let (code, trimmed) = try OfficeRules.newOffice(code: code, name: name)
        return try write("cannot add the office") { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM offices WHERE code = ?)", arguments: [code]) == true {
                throw ServerError.conflict("exists", "cannot add the office: \(code) already exists")
            }
            let parentLevel = try parent.flatMap { parent in
                try String.fetchOne(db, sql: "SELECT level FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [parent])
            }
            try OfficeRules.checkParent(of: level, parent: parent, parentLevel: parentLevel)
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
            let parentLevel = try String.fetchOne(
                db, sql: "SELECT level FROM offices WHERE code = ? AND retired_at IS NULL", arguments: [parent])
            try OfficeRules.checkMove(office, to: parent, parentLevel: parentLevel)
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
                let naming = try Self.recordsNaming(code, in: db).map {
                    (key: RecordKey(table: $0["tbl"], id: $0["record_id"]), scope: $0["scope"] as String)
                }
                for move in OfficeRules.scopesMoved(naming, before: before, after: parents) {
                    try insert.execute(arguments: [move.key.table, move.key.id, move.old, move.new])
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
            try OfficeRules.checkRetire(children: children, records: try Self.recordsNaming(code, in: db).map { $0["tbl"] as String })
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
