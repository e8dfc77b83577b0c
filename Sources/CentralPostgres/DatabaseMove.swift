import Crypto
import Foundation
import GRDB
public import Logging
import NIOCore
import PostgresNIO
import ReplicaStore
public import SyncCore
public import SyncServer

/// `rain-server migrate`: copies a central database to another, either backend to either
/// — the change log with its arrival numbers, merge states with their scopes and
/// parents, offices, enrolment tokens, replicas with their credential digests and
/// restore links, refusals, scope moves and listings, and the server's own id — then
/// reads both back and compares each table's row count and digest. Replicas keep their
/// credentials and cursors (arrival numbers and move numbers are copied as they are).
/// The destination must be empty; servers on the source must be stopped (a change
/// pushed during the copy could be missed, and the command says so when it sees one).
public enum DatabaseMove {
    /// A column as both backends store it.
    struct Column {
        enum Kind { case integer, text, bytes }
        let name: String
        let kind: Kind
        /// `bytes` stored as TEXT in SQLite (a change's canonical JSON).
        var sqliteText = false
    }

    struct Table {
        let name: String
        let key: [String]
        let columns: [Column]
    }

    static func int(_ name: String) -> Column { Column(name: name, kind: .integer) }
    static func text(_ name: String) -> Column { Column(name: name, kind: .text) }

    /// Every table, parents before the rows that name them.
    static let tables: [Table] = [
        Table(
            name: "offices", key: ["code"],
            columns: [text("code"), text("name"), text("level"), text("parent"), int("created_at"), int("retired_at")]),
        Table(
            name: "enrolment_tokens", key: ["id"],
            columns: [
                text("id"), text("office"), text("secret_sha256"), int("created_at"), int("expires_at"), int("used_at"), text("used_by"),
            ]),
        Table(
            name: "replicas", key: ["id"],
            columns: [
                text("id"), text("office"), text("staff"), text("secret_sha256"), text("previous_secret_sha256"), int("enrolled_at"),
                int("revoked_at"), int("last_seen_at"), text("superseded_by"), text("predecessor"), int("used_at"),
            ]),
        Table(
            name: "changes", key: ["arrived"],
            columns: [
                int("arrived"), text("replica"), int("counter"), text("tbl"), text("record_id"),
                Column(name: "body", kind: .bytes, sqliteText: true),
            ]),
        Table(
            name: "merge_state", key: ["tbl", "record_id"],
            columns: [
                text("tbl"), text("record_id"), Column(name: "state", kind: .bytes), int("conflicts"), text("scope"), text("parent"),
            ]),
        Table(
            name: "refused_dots", key: ["replica", "counter"],
            columns: [text("replica"), int("counter"), text("tbl"), text("record_id"), int("refused_at"), text("body_sha256")]),
        Table(
            name: "scope_moves", key: ["seq"],
            columns: [int("seq"), text("tbl"), text("record_id"), text("old_scope"), text("new_scope")]),
        Table(name: "scope_log", key: ["office", "last"], columns: [text("office"), int("last"), int("first")]),
        // The server writer's id and last number go with its changes (a number is never
        // minted twice); allowances, wrong tries and the views are not moved (the views are
        // built again from the merge state when a server opens the copy).
        Table(name: "server_writer", key: ["singleton"], columns: [int("singleton"), text("replica"), text("last_number")]),
        // Staff accounts move (their offices first); sessions do not (staff sign in again),
        // nor does the audit of sign-ins (it stays in the old database, read-only).
        Table(
            name: "staff", key: ["name"],
            columns: [text("name"), text("office"), text("password"), text("token_sha256"), int("created_at")]),
    ]

    /// One value of a row.
    enum Cell: Hashable, Sendable {
        case null
        case integer(Int64)
        case text(String)
        case bytes([UInt8])

        var text: String? {
            if case .text(let value) = self { return value }
            return nil
        }

        /// An unambiguous encoding, for digests.
        func write(to bytes: inout [UInt8]) {
            switch self {
            case .null: bytes.append(0)
            case .integer(let value):
                bytes.append(1)
                withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
            case .text(let value):
                bytes.append(2)
                withUnsafeBytes(of: UInt64(value.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: value.utf8)
            case .bytes(let value):
                bytes.append(3)
                withUnsafeBytes(of: UInt64(value.count).littleEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: value)
            }
        }
    }

    /// What was copied: each table's rows and digest (SHA-256 of its rows' digests, sorted,
    /// so that the two backends' orders of text do not matter), equal on both sides.
    public struct Report: Sendable {
        public var tables: [(name: String, rows: Int, digest: String)] = []
    }

    /// Rows read or written per statement (offices: all at once, so that parents can be
    /// written first).
    static func page(_ table: Table) -> Int { table.name == "offices" ? 1_000_000 : 2_000 }

    /// Copies `source` to `destination` and checks the copy.
    public static func run(from source: DatabaseLocation, to destination: DatabaseLocation, kinds: [RecordKind], logger: Logger)
        async throws(ServerError) -> Report
    {
        guard source != destination else {
            throw .badRequest("invalid", "cannot migrate: --from and --to name the same database")
        }
        let from = try await Side.open(source, create: false, kinds: kinds, logger: logger)
        let to: Side
        do {
            to = try await Side.open(destination, create: true, kinds: kinds, logger: logger)
        } catch {
            await from.close()
            throw error
        }
        do {
            let report = try await copy(from, to)
            await from.close()
            await to.close()
            return report
        } catch {
            await from.close()
            await to.close()
            var failure = error as? ServerError ?? .unavailable("cannot migrate: \(type(of: error))", cause: "\(type(of: error))")
            if failure.code != "not_empty" {
                failure.message += "; the destination may hold part of the copy: empty it before migrating again"
            }
            throw failure
        }
    }

    private static func copy(_ from: Side, _ to: Side) async throws -> Report {
        for table in ["offices", "changes", "replicas"] where try await to.count(table) > 0 {
            throw ServerError.conflict(
                "not_empty", "cannot migrate: the destination database already holds \(table); migrate only into an empty one (--to)")
        }
        let floor = try await from.floor()
        if floor > 0, case .sqlite = to {
            let next = Int64(try await from.count("changes")) > 0 ? try await from.nextArrival() : 1
            // SQLite numbers from max + 1 and keeps no floor: replicas' positions above the
            // log would be passed by.
            guard next > floor else {
                throw ServerError.conflict(
                    "restored",
                    "cannot migrate: the source was restored from a backup and has taken no change since (its numbering floor); migrate after the first push, or to PostgreSQL (--to)"
                )
            }
        }
        try await to.setIdentity(try await from.identity())
        try await to.setFloor(floor)
        var report = Report()
        for table in tables {
            var last: [Cell]?
            var copied = 0
            var hashes: [[UInt8]] = []
            while true {
                var rows = try await from.rows(table, after: last)
                if rows.isEmpty { break }
                let full = rows.count == page(table)
                last = table.key.map { key in rows[rows.count - 1][table.columns.firstIndex { $0.name == key }!] }
                if table.name == "offices" {
                    // Parents first: PostgreSQL checks an office's parent at each statement.
                    let rank = ["district": 0, "street": 1, "community": 2]
                    rows.sort { (rank[$0[2].text ?? ""] ?? 3) < (rank[$1[2].text ?? ""] ?? 3) }
                }
                try await to.insert(table, rows)
                for row in rows { hashes.append(rowDigest(row)) }
                copied += rows.count
                if !full { break }
            }
            let digest = tableDigest(hashes)
            // What the destination holds is what was read from the source.
            let (copiedRows, copiedDigest) = try await to.digest(table)
            guard copiedRows == copied, copiedDigest == digest else {
                throw ServerError.unavailable(
                    "cannot migrate: \(table.name) differs after the copy (\(copiedRows) rows of \(copied)); the destination is incomplete",
                    cause: "digest mismatch \(table.name)")
            }
            report.tables.append((table.name, copied, digest))
        }
        // And the source still holds what was copied, every table read again after the
        // last: a write during the copy (a server left running) is caught wherever it fell.
        for (table, copied) in zip(tables, report.tables) {
            let (rows, digest) = try await from.digest(table)
            guard rows == copied.rows, digest == copied.digest else {
                throw ServerError.conflict(
                    "source_changed",
                    "cannot migrate: \(table.name) changed on the source during the copy (\(copied.rows) rows copied, \(rows) now); stop every server on it and migrate again into an empty database"
                )
            }
        }
        return report
    }

    static func rowDigest(_ row: [Cell]) -> [UInt8] {
        var bytes: [UInt8] = []
        for cell in row { cell.write(to: &bytes) }
        return Array(SHA256.hash(data: bytes))
    }

    static func tableDigest(_ hashes: [[UInt8]]) -> String {
        var sorted = hashes.sorted { $0.lexicographicallyPrecedes($1) }
        var all: [UInt8] = []
        all.reserveCapacity(sorted.count * 32)
        for hash in sorted { all.append(contentsOf: hash) }
        sorted.removeAll()
        return SHA256.hash(data: all).map { String(format: "%02x", $0) }.joined()
    }
}
