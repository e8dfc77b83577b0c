import CaseDomain
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
                let was = office.covers(PlacedScope(encoded: move["old_scope"]))
                let now = office.covers(PlacedScope(encoded: move["new_scope"]))
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
                    office.covers(RecordScope(encoded: scope))
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
            // whole log; another office only the changes listed under its code
            // (`scope_log`), so that a pull costs what the caller may receive, not what
            // every other office wrote. Each is checked against its record's scope now: a
            // record that left the caller's jurisdiction since is not sent (§9.6).
            // Through SQLite's C API, and a row's body is read only when it is sent.
            let scan = try FastStatement(
                office.level == .district
                    ? "SELECT c.arrived, c.replica, c.body FROM changes c WHERE c.arrived > ?1 ORDER BY c.arrived"
                    : """
                    SELECT c.arrived, c.replica, c.body, s.scope
                    FROM scope_log l JOIN changes c ON c.arrived = l.arrived
                    LEFT JOIN merge_state s ON s.tbl = c.tbl AND s.record_id = c.record_id
                    WHERE l.office = ?2 AND l.arrived > ?1 ORDER BY l.arrived
                    """, in: db)
            scan.bind(1, position)
            if office.level != .district { scan.bind(2, office.office) }
            let own = Array(caller.replica.rawValue.utf8)
            while !full, try scan.step() {
                let arrived = scan.integer(0)
                let visible = office.level == .district || office.covers(RecordScope(encoded: scan.text(3)))
                if visible, !sent.contains(arrived), !scan.textEquals(1, own) {
                    let body = scan.bytes(2)
                    if !bodies.isEmpty, bodies.count >= limit || bytes + body.count > maximumBytes {
                        full = true
                        scan.reset()
                        break
                    }
                    bytes += body.count + 1
                    bodies.append(body)
                    writers.insert(ReplicaID(scan.text(1) ?? ""))
                }
                position = arrived
            }
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
