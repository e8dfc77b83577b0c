import CaseDomain
import CaseStore
import Foundation
import GRDB
import ReplicaStore
import SyncCore
import SyncProtocol
import SyncServer
import TestSupport
import Testing

/// Convergence within each jurisdiction, property-tested on the real storage: a central
/// SQLite file and office replica files, driven in process through the same steps as
/// `rain sync` (push own changes, withhold refused ones, pull pages with their purges),
/// under random schedules of case creation, edits, escalations, reassignments and syncs.
///
/// After everyone has synced twice, every replica holds exactly the cases its office's
/// jurisdiction covers on the server, each identical to the server's, and no trace of
/// any other case's residents. `RAIN_SCOPE_SEED` replays one schedule;
/// `RAIN_SCOPE_SCHEDULES` sets how many run (default 25).
@Suite struct ScopedConvergencePropertyTests {
    struct Office {
        let code: String
        let level: OfficeLevel
        let parent: String?
    }

    static let offices = [
        Office(code: "HSD", level: .district, parent: nil), Office(code: "JD1", level: .street, parent: "HSD"),
        Office(code: "JD2", level: .street, parent: "HSD"), Office(code: "HSM", level: .community, parent: "JD1"),
        Office(code: "XQ", level: .community, parent: "JD1"), Office(code: "YY", level: .community, parent: "JD2"),
    ]

    final class Replica {
        let store: ReplicaStore
        let caller: Caller
        init(store: ReplicaStore, caller: Caller) {
            self.store = store
            self.caller = caller
        }
    }

    /// One sync of `replica`, as `SyncDriver` does it, without HTTP.
    static func sync(_ replica: Replica, _ central: SQLiteCentralStorage) throws {
        let store = replica.store
        var rounds = 0
        while true {
            rounds += 1
            guard rounds < 100 else { throw SyncLoop() }
            let acked = try store.syncState().acked
            let own = try store.ownChanges(after: acked, limit: 500, maximumBytes: 1 << 22)
            guard !own.isEmpty else { break }
            let changes = try own.map { try ChangeV1.decode(try JSONParser.parse($0.body), at: "", schema: .timelyRain) }
            do {
                let answer = try central.push(changes, from: replica.caller, now: ReplicaStore.nowMillis())
                try store.acknowledge(upTo: answer.holds)
            } catch let error as ServerError where error.code == "out_of_scope" {
                try store.withhold(error.refused.map { ($0.table, $0.record, $0.counter) })
                try store.acknowledge(upTo: error.holds ?? acked)
            }
        }
        var cursor = try store.syncState().cursor
        while true {
            let page = try central.pull(for: replica.caller, after: cursor, limit: 50, maximumBytes: 1 << 20, now: ReplicaStore.nowMillis())
            let changes = try page.bodies.map { try ChangeV1.decode(try JSONParser.parse($0), at: "", schema: .timelyRain) }
            try store.applyPulled(changes, cursor: page.cursor, offices: page.offices, purge: page.purge)
            cursor = page.cursor
            if !page.more { break }
        }
        try store.scrubPurged()
    }

    struct SyncLoop: Error {}

    /// The scope of every case on the server, from its own tables.
    static func serverCases(_ path: String) throws -> [String: (community: String?, handling: String?, row: [String: String])] {
        // The server keeps no current rows (central-v5-no-rows): the winners of its merge
        // state are what every replica's rows must show.
        let store = try SQLiteCentralStorage.open(at: path, create: false).store
        let scopes = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT record_id, scope FROM merge_state WHERE tbl = 'cases' AND scope IS NOT NULL")
        }
        var result: [String: (community: String?, handling: String?, row: [String: String])] = [:]
        for scope in scopes {
            let id: String = scope["record_id"]
            guard let record = try store.record(RecordKey(table: "cases", id: id)) else { continue }
            let values = ["number", "title", "status", "office", "citizen_name", "phone"].reduce(into: [String: String]()) {
                $0[$1] = record.value(of: $1, table: "cases", schema: store.schema)?.text ?? "∅"
            }
            // A case's scope by position: its community, then its handling office.
            let offices = RecordScope(encoded: scope["scope"])?.offices ?? []
            result[id] = (offices.first ?? nil, offices.count > 1 ? offices[1] : nil, values)
        }
        return result
    }

    static func replicaCases(_ path: String) throws -> [String: [String: String]] {
        try DatabaseQueue(path: path).read { db in
            var result: [String: [String: String]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT id, number, title, status, office, citizen_name, phone FROM cases WHERE moved_at IS NULL AND title IS NOT NULL"
            ) {
                result[row["id"]] = ["number", "title", "status", "office", "citizen_name", "phone"].reduce(into: [String: String]()) {
                    $0[$1] = (row[$1] as String?) ?? "∅"
                }
            }
            return result
        }
    }

    /// What the schedules did, so that a run whose steps all fell through (or whose moves
    /// were all refused) cannot pass for one that tested purges.
    struct Tally {
        var created = 0
        var edited = 0
        var reassigned = 0
        var escalated = 0
        var refusedMoves = 0
        /// Case rows left behind with their residents' data purged, over every replica.
        var purged = 0
        /// Residents' values checked absent from a replica's bytes, and present.
        var checkedAbsent = 0
        var checkedPresent = 0

        static func + (a: Tally, b: Tally) -> Tally {
            Tally(
                created: a.created + b.created, edited: a.edited + b.edited, reassigned: a.reassigned + b.reassigned,
                escalated: a.escalated + b.escalated, refusedMoves: a.refusedMoves + b.refusedMoves, purged: a.purged + b.purged,
                checkedAbsent: a.checkedAbsent + b.checkedAbsent, checkedPresent: a.checkedPresent + b.checkedPresent)
        }
    }

    @Test func everyReplicaConvergesToItsJurisdiction() throws {
        let environment = ProcessInfo.processInfo.environment
        let schedules = environment["RAIN_SCOPE_SCHEDULES"].flatMap(Int.init) ?? 25
        var seeds = SeededRandom(seed: environment["RAIN_SCOPE_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max))
        let fixed = environment["RAIN_SCOPE_SEED"].flatMap(UInt64.init)
        var total = Tally()
        var ran = 0
        // Every kind of step must happen over the run; a purge needs a case moved away from
        // a replica that held it and pulled after, which a run of 25 schedules has missed
        // (seen once, session 12): up to as many again are run until one has happened.
        while fixed == nil ? ran < schedules || (total.purged == 0 && ran < 2 * schedules) : ran < 1 {
            ran += 1
            let seed = fixed ?? seeds.next()
            do {
                let tally = try run(seed: seed)
                #expect(tally.created > 0, "schedule \(seed) made no case")
                total = total + tally
            } catch {
                Issue.record("schedule \(seed) failed: \(error); replay: RAIN_SCOPE_SEED=\(seed) swift test --filter ScopedConvergence")
                return
            }
        }
        // Over the run, every kind of step happened and purges were checked byte by byte
        // (a replay of one seed, or a handful of schedules, may lack some by chance).
        guard fixed == nil, schedules >= 10 else { return }
        #expect(total.edited > 0 && total.reassigned > 0 && total.escalated > 0, "\(total)")
        #expect(total.purged > 0 && total.checkedAbsent > 0 && total.checkedPresent > 0, "\(total)")
    }

    struct Divergence: Error, CustomStringConvertible {
        let description: String
    }

    func run(seed: UInt64) throws -> Tally {
        var tally = Tally()
        var random = SeededRandom(seed: seed)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-scope-\(seed)-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let centralPath = folder + "/central.sqlite"
        let central = try SQLiteCentralStorage.open(at: centralPath)
        let now = ReplicaStore.nowMillis()
        for office in Self.offices {
            _ = try central.addOffice(code: office.code, name: office.code, level: office.level, parent: office.parent, now: now)
        }
        // One or two replicas per office.
        var replicas: [Replica] = []
        for office in Self.offices {
            for index in 0..<(random.chance(0.4) ? 2 : 1) {
                let token = try central.issueToken(office: office.code, lifetime: 3_600_000, now: now)
                let store = try ReplicaStore.create(
                    at: folder + "/\(office.code)-\(index).sqlite", office: office.code, staff: "员工\(index)")
                _ = try central.enrol(EnrolRequestV1(token: token.token, replica: store.identity.replica, staff: "员工\(index)"), now: now)
                try store.saveEnrolment(server: "memory", credential: "unused", officeName: office.code, officeLevel: office.level.rawValue)
                replicas.append(Replica(store: store, caller: Caller(replica: store.identity.replica, office: office.code)))
            }
        }
        let communities = Self.offices.filter { $0.level == .community }.map(\.code)
        var trace: [String] = []
        for step in 0..<40 {
            let replica = replicas[Int(random.next() % UInt64(replicas.count))]
            let known = try replica.store.cases().filter { $0.title != nil }
            switch random.next() % 7 {
            case 0, 1:
                _ = try replica.store.newCase(
                    NewCase(
                        // Fixed width: no name is a prefix of another (the byte scan below).
                        kind: .help, category: "社会救助", title: "案件\(step)", citizenName: "居民\(String(format: "%03d", step))甲",
                        phone: "1391111\(String(format: "%04d", step))"))
                tally.created += 1
                trace.append("\(step): \(replica.caller.office) new")
            case 2 where !known.isEmpty:
                let row = known[Int(random.next() % UInt64(known.count))]
                _ = try replica.store.editCase(row.id, fields: ["title": "改\(step)"])
                tally.edited += 1
                trace.append("\(step): \(replica.caller.office) edit \(row.number ?? "")")
            case 3 where !known.isEmpty && replica.caller.office.hasPrefix("JD"):
                let row = known[Int(random.next() % UInt64(known.count))]
                _ = try replica.store.reassign(row.id, to: communities[Int(random.next() % UInt64(communities.count))], reason: "调整")
                tally.reassigned += 1
                trace.append("\(step): \(replica.caller.office) reassign \(row.number ?? "")")
            case 4 where !known.isEmpty:
                let row = known[Int(random.next() % UInt64(known.count))]
                // Only the workflow may refuse (a case already verified, or handled at the top);
                // any other error fails the schedule.
                do {
                    _ = try replica.store.move(row.id, .verify)
                } catch is CaseDomainError {
                    tally.refusedMoves += 1
                }
                do {
                    _ = try replica.store.move(row.id, .escalate, text: "上报", office: random.chance(0.5) ? "JD1" : "JD2")
                    tally.escalated += 1
                    trace.append("\(step): \(replica.caller.office) escalate \(row.number ?? "")")
                } catch let error as CaseDomainError {
                    tally.refusedMoves += 1
                    trace.append("\(step): \(replica.caller.office) escalate \(row.number ?? "") refused: \(error)")
                }
            default:
                try Self.sync(replica, central)
                trace.append("\(step): \(replica.caller.office) sync")
            }
        }
        for _ in 0..<2 { for replica in replicas { try Self.sync(replica, central) } }

        let server = try Self.serverCases(centralPath)
        for replica in replicas {
            guard let office = Self.offices.first(where: { $0.code == replica.caller.office }) else { continue }
            let children = Set(Self.offices.filter { $0.parent == office.code }.map(\.code))
            let scope = OfficeScope(office: office.code, level: office.level, children: children)
            let expected = server.filter { scope.covers(RecordScope([$0.value.community, $0.value.handling])) }
            // A change the server refused stays applied where it was written (the replica
            // keeps it and lists it): those cases may differ there, by design.
            let withheld = Set(try replica.store.withheldChanges().filter { $0.table == "cases" }.map(\.record))
            let held = try Self.replicaCases(replica.store.path)
            guard Set(held.keys).subtracting(withheld) == Set(expected.keys).subtracting(withheld) else {
                throw Divergence(
                    description:
                        "\(office.code) holds \(held.count) cases, its jurisdiction \(expected.count)\n" + trace.joined(separator: "\n"))
            }
            for (id, row) in held where !withheld.contains(id) && row != expected[id]?.row {
                throw Divergence(
                    description: "\(office.code) differs on \(id): \(row) vs \(expected[id]?.row ?? [:])\n" + trace.joined(separator: "\n"))
            }
            tally.purged += try DatabaseQueue(path: replica.store.path).read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM cases WHERE moved_at IS NOT NULL") ?? 0
            }
        }
        // No trace of any other case's resident in any byte of the file or beside it, once
        // closed as `rain` closes it (no write-ahead log left); each case it holds, found.
        for replica in replicas {
            guard let office = Self.offices.first(where: { $0.code == replica.caller.office }) else { continue }
            let children = Set(Self.offices.filter { $0.parent == office.code }.map(\.code))
            let scope = OfficeScope(office: office.code, level: office.level, children: children)
            let withheld = Set(try replica.store.withheldChanges().filter { $0.table == "cases" }.map(\.record))
            replica.store.close()
            let bytes = try FileResidue(of: replica.store.path)
            guard bytes.files.count == 1 else {
                throw Divergence(description: "\(office.code)'s file left \(bytes.files) once closed\n" + trace.joined(separator: "\n"))
            }
            for (id, value) in server where !withheld.contains(id) {
                let residents = [value.row["citizen_name"], value.row["phone"]].compactMap { $0 }.filter { $0 != "∅" }
                let inScope = scope.covers(RecordScope([value.community, value.handling]))
                for resident in residents {
                    if inScope {
                        guard bytes.contains(resident) else {
                            throw Divergence(description: "\(office.code)'s bytes lack its own case's \(resident): the scan is blind")
                        }
                        tally.checkedPresent += 1
                    } else {
                        // An own change not yet accepted may still name it; none is pending after two rounds.
                        guard !bytes.contains(resident) else {
                            throw Divergence(
                                description: "\(office.code) holds \(resident) of a case outside its jurisdiction\n"
                                    + trace.joined(separator: "\n"))
                        }
                        tally.checkedAbsent += 1
                    }
                }
            }
        }
        return tally
    }
}
