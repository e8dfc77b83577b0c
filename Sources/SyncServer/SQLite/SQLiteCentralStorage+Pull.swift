import Foundation
import GRDB
import GRDBSQLite
public import ReplicaStore
public import SyncCore
public import SyncProtocol

extension SQLiteCentralStorage {
    public func pull(for caller: Caller, after: String, limit: Int, maximumBytes: Int, now: Int64) throws(ServerError) -> PullPage {
        let cursor = try PullCursor(parsing: after)
        return try read("cannot read the changes") { db in
            var bodies: [[UInt8]] = []
            var writers: Set<ReplicaID> = []
            var bytes = 0
            var position = cursor.arrived
            var full = false
            let latest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(arrived), 0) FROM changes")) ?? 0
            let office = try self.officeScope(caller.office, in: db)
            if cursor.arrived > latest {
                throw ServerError.conflict(
                    "unknown_position",
                    "cannot pull: the position is ahead of everything this server holds (was the server restored from a backup?)")
            }
            // Records that entered or left the caller's jurisdiction since its last pull
            // (§9.6): one entering comes with its and its children's whole history (what
            // came before was outside the caller's scope, and is listed under the offices
            // of then); one leaving is to be purged.
            var movesDone = cursor.moves
            var purge: [RecordKey] = []
            var entered: [RecordKey] = []
            for move in try Row.fetchAll(db, sql: "SELECT * FROM scope_moves WHERE seq > ? ORDER BY seq", arguments: [cursor.moves]) {
                movesDone = move["seq"]
                let was = office.reads(PlacedScope(encoded: move["old_scope"]))
                let now = office.reads(PlacedScope(encoded: move["new_scope"]))
                let key = RecordKey(table: move["tbl"], id: move["record_id"])
                if !was, now { entered.append(key) }
                if was, !now { purge.append(key) }
            }
            var sent: Set<Int64> = []
            for key in Set(entered).sorted() {
                // Still in scope now (a later move may have taken it out again)?
                guard
                    let scope = try String.fetchOne(
                        db, sql: "SELECT scope FROM merge_state WHERE tbl = ? AND record_id = ?", arguments: [key.table, key.id]),
                    office.reads(RecordScope(encoded: scope))
                else { continue }
                purge.removeAll { $0 == key }
                // The record's and its children's whole history, in arrival order, as the
                // merge state lists it.
                var keys = [key]
                for child in self.scopes.children(of: key.table) {
                    keys += try Row.fetchAll(
                        db, sql: "SELECT tbl, record_id FROM merge_state WHERE parent = ? AND tbl = ?", arguments: [key.id, child]
                    ).map { RecordKey(table: $0["tbl"], id: $0["record_id"]) }
                }
                var arrivals: [Int64] = []
                for key in keys { arrivals += try store.arrivals(of: key, in: db) }
                for arrived in arrivals.sorted() where !sent.contains(arrived) {
                    guard
                        let history = try Row.fetchOne(
                            db.cachedStatement(sql: "SELECT replica, body FROM changes WHERE arrived = ?"), arguments: [arrived])
                    else { continue }
                    sent.insert(arrived)
                    let writer = ReplicaID(history["replica"])
                    guard writer != caller.replica else { continue }
                    let body: String = history["body"]
                    bytes += body.utf8.count + 1
                    bodies.append(Array(body.utf8))
                    writers.insert(writer)
                }
            }
            // Scan in arrival order (a causal order, §9.5), skipping the caller's own
            // changes, until the page is full or nothing is left. The district reads the
            // whole log; another office only the changes listed under its code and its
            // child offices' (`scope_log`), merged in arrival order, so that a pull costs
            // what the caller may receive, not what every other office wrote. Each is
            // checked against its record's scope now: a record that left the caller's
            // jurisdiction since is not sent (§9.6). Through SQLite's C API; a body is read
            // only when it is sent.
            let own = Array(caller.replica.rawValue.utf8)
            var scan = try ChangeScan(office: office, after: position, in: db)
            while let arrived = try scan.next() {
                if !sent.contains(arrived), let change = try scan.change(), !change.textEquals(1, own),
                    office.level == .district || office.reads(RecordScope(encoded: change.text(3)))
                {
                    let body = change.bytes(2)
                    if !bodies.isEmpty, bodies.count >= limit || bytes + body.count > maximumBytes {
                        full = true
                        break
                    }
                    bytes += body.count + 1
                    bodies.append(body)
                    writers.insert(ReplicaID(change.text(1) ?? ""))
                }
                position = arrived
            }
            scan.finish()
            // Everything up to the latest change has been offered when the page is not full.
            if !full { position = latest }
            var offices: [ReplicaID: String] = [:]
            for writer in writers {
                if let office = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT office FROM replicas WHERE id = ?"), arguments: [writer.rawValue])
                {
                    offices[writer] = office
                }
            }
            return PullPage(
                bodies: bodies, cursor: PullCursor(arrived: position, moves: movesDone).text, more: full,
                holds: try self.holds(caller.replica, in: db), offices: offices, purge: purge)
        }
    }
}

/// The changes a pull may send, in arrival order after a position: the whole log for
/// the district; for another office, the merge of its listings (its own and its child
/// offices' runs, `scope_log`), each read in arrival order, a change listed twice (under
/// a community and its street) offered once.
struct ChangeScan {
    /// A listing's runs, and the next number of its current run (nil when none is left).
    private var listings: [(statement: FastStatement, next: Int64?, last: Int64)] = []
    private let log: FastStatement?
    private let lookup: FastStatement
    private let position: Int64
    private var last: Int64 = .min
    private var current: Int64?

    init(office: OfficeScope, after position: Int64, in db: Database) throws {
        self.position = position
        lookup = try FastStatement(
            """
            SELECT c.arrived, c.replica, c.body, s.scope
            FROM changes c LEFT JOIN merge_state s ON s.tbl = c.tbl AND s.record_id = c.record_id WHERE c.arrived = ?
            """, in: db)
        if office.level == .district {
            // The row itself: no lookup (nor scope: the district covers every record).
            log = try FastStatement("SELECT arrived, replica, body FROM changes WHERE arrived > ? ORDER BY arrived", in: db)
            log?.bind(1, position)
            return
        }
        log = nil
        for (index, code) in office.listings.enumerated() {
            // One SQL text per listing: a FastStatement is the connection's cached
            // statement for its text, and the listings are stepped side by side. Runs
            // ending after the position, in order (the first may begin before it).
            let statement = try FastStatement(
                "SELECT first, last FROM scope_log WHERE office = ? AND last > ? ORDER BY last -- listing \(index)", in: db)
            statement.bind(1, code)
            statement.bind(2, position)
            listings.append((statement, nil, 0))
            try nextRun(index)
        }
    }

    /// Moves listing `index` to its next run.
    private mutating func nextRun(_ index: Int) throws {
        let statement = listings[index].statement
        if try statement.step() {
            listings[index].next = max(statement.integer(0), position + 1)
            listings[index].last = statement.integer(1)
        } else {
            listings[index].next = nil
        }
    }

    /// The next change's arrival number, or nil when none is left.
    mutating func next() throws -> Int64? {
        if let log {
            current = try log.step() ? log.integer(0) : nil
            return current
        }
        while true {
            var lowest: Int?
            for index in listings.indices {
                guard let next = listings[index].next else { continue }
                if lowest.map({ next < listings[$0].next! }) ?? true { lowest = index }
            }
            guard let index = lowest, let arrived = listings[index].next else {
                current = nil
                return nil
            }
            if arrived < listings[index].last {
                listings[index].next = arrived + 1
            } else {
                try nextRun(index)
            }
            if arrived == last { continue }
            last = arrived
            current = arrived
            return arrived
        }
    }

    /// The current change: its row (1 replica, 2 body, 3 its record's scope now — not for
    /// the district's scan), or nil when its log row is gone (a purged record's).
    func change() throws -> FastStatement? {
        guard let current else { return nil }
        if let log { return log }
        lookup.reset()
        lookup.clear()
        lookup.bind(1, current)
        return try lookup.step() ? lookup : nil
    }

    /// Releases the statements.
    func finish() {
        log?.reset()
        lookup.reset()
        for listing in listings { listing.statement.reset() }
    }
}
