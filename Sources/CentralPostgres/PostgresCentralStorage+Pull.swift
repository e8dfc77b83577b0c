import NIOCore
import PostgresNIO
public import SyncCore
public import SyncProtocol
public import SyncServer

extension PostgresCentralStorage {
    /// Changes read per query while filling a page.
    static let scanChunk = 1_000

    public func pull(for caller: Caller, after: String, limit: Int, maximumBytes: Int, now: Int64) async throws(ServerError)
        -> PullPage
    {
        let cursor = try PullCursor(parsing: after)
        let logger = logger
        let scopes = scopes
        // One snapshot for every statement (REPEATABLE READ): a change it shows was
        // committed with every change numbered before it (see the type's comment).
        return try await read("cannot read the changes") { connection in
            var page = PageBuilder(caller: caller.replica, limit: limit, maximumBytes: maximumBytes)
            // Below a restore's floor, every number was handed out before the restore.
            let latest = try await Self.nextArrival(connection, logger) - 1
            let office = try await Self.officeScope(caller.office, connection, logger)
            if cursor.arrived > latest {
                throw ServerError.conflict(
                    "unknown_position",
                    "cannot pull: the position is ahead of everything this server holds (was the server restored from a backup?)")
            }
            // Records that entered or left the caller's jurisdiction since its last pull
            // (§9.6): one entering comes with its and its children's whole history; one
            // leaving is to be purged.
            var movesDone = cursor.moves
            var purge: [RecordKey] = []
            var entered: [RecordKey] = []
            for try await (seq, table, id, old, new) in try await connection.query(
                "SELECT seq, tbl, record_id, old_scope, new_scope FROM scope_moves WHERE seq > \(cursor.moves) ORDER BY seq",
                logger: logger
            ).decode((Int64, String, String, String, String).self) {
                movesDone = seq
                let was = office.reads(PlacedScope(encoded: old))
                let now = office.reads(PlacedScope(encoded: new))
                let key = RecordKey(table: table, id: id)
                if !was, now { entered.append(key) }
                if was, !now { purge.append(key) }
            }
            for key in Set(entered).sorted() {
                // Still in scope now (a later move may have taken it out again)?
                guard
                    let scope = try await Self.first(
                        connection.query("SELECT scope FROM merge_state WHERE tbl = \(key.table) AND record_id = \(key.id)", logger: logger)
                            .decode(String?.self)),
                    office.reads(RecordScope(encoded: scope))
                else { continue }
                purge.removeAll { $0 == key }
                // The record's and its children's whole history, in arrival order, as their
                // merge states list it.
                var arrivals: [Int64] = []
                for try await (state) in try await connection.query(
                    """
                    SELECT state FROM merge_state WHERE (tbl = \(key.table) AND record_id = \(key.id))
                        OR (parent = \(key.id) AND tbl = ANY(\(scopes.children(of: key.table))::text[]))
                    """, logger: logger
                ).decode(ByteBuffer.self) {
                    guard let decoded = CentralMerge.decode(Array(buffer: state)) else {
                        throw ServerError.unavailable(
                            "cannot read the changes: the server's database holds a damaged merge state", cause: "corrupt merge_state")
                    }
                    arrivals += decoded.arrivals
                }
                let wanted = arrivals.sorted().filter { !page.sent.contains($0) }
                for try await (arrived, writer, body) in try await connection.query(
                    "SELECT arrived, replica, body FROM changes WHERE arrived = ANY(\(wanted)::int8[]) ORDER BY arrived", logger: logger
                ).decode((Int64, String, ByteBuffer).self) {
                    page.sent.insert(arrived)
                    page.addHistory(writer: ReplicaID(writer), body: body)
                }
            }
            // Scan in arrival order (a causal order, §9.5), skipping the caller's own
            // changes, until the page is full or nothing is left: the whole log for the
            // district, the caller's listings (`scope_log`) for another office. Each change
            // is checked against its record's scope now (§9.6).
            var position = cursor.arrived
            if office.level == .district {
                scan: while true {
                    var read = 0
                    for try await (arrived, writer, body) in try await connection.query(
                        """
                        SELECT arrived, replica, body FROM changes WHERE arrived > \(position) ORDER BY arrived LIMIT \(Self.scanChunk)
                        """, logger: logger
                    ).decode((Int64, String, ByteBuffer).self) {
                        read += 1
                        if page.full { continue }
                        if !page.offer(arrived: arrived, writer: writer, body: body, inScope: true) { continue }
                        position = arrived
                    }
                    if page.full || read < Self.scanChunk { break scan }
                }
            } else {
                let listings = office.listings
                // Runs fetched per step: enough that two distinct ends are among them.
                let runLimit = max(512, 2 * listings.count)
                scan: while !page.full {
                    var runs: [(first: Int64, last: Int64)] = []
                    for try await (first, last) in try await connection.query(
                        """
                        SELECT first, last FROM scope_log WHERE office = ANY(\(listings)::text[]) AND last > \(position)
                        ORDER BY last LIMIT \(runLimit)
                        """, logger: logger
                    ).decode((Int64, Int64).self) {
                        runs.append((first, last))
                    }
                    guard let end = runs.last?.last else { break scan }
                    // Every run ending at or before `cutoff` is among those read; a run of
                    // another listing may straddle it (at most one per listing).
                    let cutoff = runs.count == runLimit ? end - 1 : end
                    for try await (first, last) in try await connection.query(
                        """
                        SELECT first, last FROM scope_log
                        WHERE office = ANY(\(listings)::text[]) AND last > \(cutoff) AND first <= \(cutoff)
                        """, logger: logger
                    ).decode((Int64, Int64).self) {
                        runs.append((first, last))
                    }
                    for (from, to) in Self.union(runs, after: position, upTo: cutoff) {
                        var start = from
                        while start <= to, !page.full {
                            var read = 0
                            for try await (arrived, writer, body, scope) in try await connection.query(
                                """
                                SELECT c.arrived, c.replica, c.body, s.scope
                                FROM changes c LEFT JOIN merge_state s ON s.tbl = c.tbl AND s.record_id = c.record_id
                                WHERE c.arrived >= \(start) AND c.arrived <= \(to) ORDER BY c.arrived LIMIT \(Self.scanChunk)
                                """, logger: logger
                            ).decode((Int64, String, ByteBuffer, String?).self) {
                                read += 1
                                start = arrived + 1
                                if page.full { continue }
                                let covered = office.reads(RecordScope(encoded: scope))
                                if !page.offer(arrived: arrived, writer: writer, body: body, inScope: covered) { continue }
                                position = arrived
                            }
                            if read < Self.scanChunk { break }
                        }
                        if page.full { break scan }
                        // Numbers listed but without a log row (a purged record's) are passed.
                        position = to
                    }
                    position = max(position, cutoff)
                }
            }
            // Everything up to the latest change has been offered when the page is not full.
            if !page.full { position = latest }
            var offices: [ReplicaID: String] = [:]
            if !page.writers.isEmpty {
                for try await (id, office) in try await connection.query(
                    "SELECT id, office FROM replicas WHERE id = ANY(\(page.writers.map(\.rawValue))::text[])", logger: logger
                ).decode((String, String).self) {
                    offices[ReplicaID(id)] = office
                }
            }
            return PullPage(
                bodies: page.bodies, cursor: PullCursor(arrived: position, moves: movesDone).text, more: page.full,
                holds: try await Self.holds(caller.replica, connection, logger), offices: offices, purge: purge)
        }
    }

    /// The union of `runs` clipped to `(after, upTo]`, as ascending disjoint ranges.
    static func union(_ runs: [(first: Int64, last: Int64)], after: Int64, upTo: Int64) -> [(Int64, Int64)] {
        let clipped = runs.map { (max($0.first, after + 1), min($0.last, upTo)) }.filter { $0.0 <= $0.1 }.sorted { $0.0 < $1.0 }
        var ranges: [(Int64, Int64)] = []
        for (from, to) in clipped {
            if let last = ranges.last, from <= last.1 + 1 {
                ranges[ranges.count - 1].1 = max(last.1, to)
            } else {
                ranges.append((from, to))
            }
        }
        return ranges
    }
}

/// A pull page being filled: the bodies, their writers, the bytes so far.
struct PageBuilder {
    let own: String
    let limit: Int
    let maximumBytes: Int
    var bodies: [[UInt8]] = []
    var writers: Set<ReplicaID> = []
    var bytes = 0
    var sent: Set<Int64> = []
    /// Whether a change did not fit: the page ends before it.
    var full = false

    init(caller: ReplicaID, limit: Int, maximumBytes: Int) {
        own = caller.rawValue
        self.limit = limit
        self.maximumBytes = maximumBytes
    }

    /// A change of an entering record's history (sent whatever the page's size).
    mutating func addHistory(writer: ReplicaID, body: ByteBuffer) {
        guard writer.rawValue != own else { return }
        bytes += body.readableBytes + 1
        bodies.append(Array(buffer: body))
        writers.insert(writer)
    }

    /// Offers the change numbered `arrived`; false when the page is full (it is not taken
    /// and the scan stops before it).
    mutating func offer(arrived: Int64, writer: String, body: ByteBuffer, inScope: Bool) -> Bool {
        guard !sent.contains(arrived), writer != own, inScope else { return true }
        if !bodies.isEmpty, bodies.count >= limit || bytes + body.readableBytes > maximumBytes {
            full = true
            return false
        }
        bytes += body.readableBytes + 1
        bodies.append(Array(buffer: body))
        writers.insert(ReplicaID(writer))
        return true
    }
}
