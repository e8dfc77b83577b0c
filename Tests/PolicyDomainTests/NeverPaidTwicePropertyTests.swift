import PolicyDomain
import SyncCore
import TestSupport
import Testing

/// Never paid twice (issue 18, PROTOCOL §10.3), over random schedules: several department
/// replicas approve, reject, export, record payments (also of batch files carried from
/// another replica) and settle conflicts, offline, syncing with a server in any order; the
/// server reserves each batch with the rule it runs under its lock
/// (``PaymentBatch/reserve(_:office:district:)`` over its merged state). Whatever the
/// schedule: no grant is in two batches, every payment is of the grant's one batch, the
/// replicas converge, and a grant with concurrent payments is a conflict no batch takes.
@Suite struct NeverPaidTwicePropertyTests {
    static let schedules = 400
    static let department = "JRB"

    struct World {
        var replicas: [ReplicaState]
        let ids: [ReplicaID]
        var server = ReplicaState()
        let serverID = ReplicaID("server")
        var clock: UInt64 = 1
        /// Every reservation: grant → batch (a second one would be a failure).
        var reserved: [String: String] = [:]
        /// Batch files exported: batch → grants.
        var files: [String: [String]] = [:]
        /// Every payment recorded: (grant, batch of the file it was recorded from).
        var payments: [(grant: String, batch: String)] = []
        var batchCount = 0

        init(replicas count: Int) {
            ids = (0..<count).map { ReplicaID("r\($0)") }
            replicas = Array(repeating: ReplicaState(), count: count)
        }

        mutating func tick() -> HLC {
            clock += 1
            return HLC(wall: clock * 1000)
        }

        mutating func push(_ index: Int) throws {
            _ = try server.apply(batch: replicas[index].missing(for: server.versionVector))
        }

        mutating func pull(_ index: Int) throws {
            _ = try replicas[index].apply(batch: server.missing(for: replicas[index].versionVector))
        }

        static func key(_ id: String) -> RecordKey { RecordKey(table: "grants", id: id) }

        func state(_ id: String, in replica: ReplicaState) -> GrantState? {
            guard let record = replica.records[Self.key(id)] else { return nil }
            let payments = record.register("payment")?.siblings.filter { $0.value != .null }.count ?? 0
            return GrantState(
                id: id, stage: replica.value("stage", of: Self.key(id))?.text.flatMap(GrantStage.init(rawValue:)) ?? .matched,
                rejection: replica.value("rejection", of: Self.key(id))?.text,
                amountFen: replica.value("amount_fen", of: Self.key(id))?.integer ?? 0, paymentCount: payments,
                batch: replica.value("batch", of: Self.key(id))?.text)
        }

        /// The server's read model of the approved grants: each field's winner.
        func approvedRows(_ grants: [String]) -> [[String: Value]] {
            grants.compactMap { id in
                guard server.value("stage", of: Self.key(id)) == .text("approved") else { return nil }
                var row: [String: Value] = ["id": .text(id)]
                for field in ["department", "stage", "rejection", "amount_fen", "batch", "payment"] {
                    row[field] = server.value(field, of: Self.key(id)) ?? .null
                }
                return row
            }
        }
    }

    @Test func noScheduleEverPaysAGrantTwice() throws {
        var conflictsSeen = 0
        var paidSeen = 0
        for seed in 1...UInt64(Self.schedules) {
            var random = SeededRandom(seed: seed)
            var world = World(replicas: Int.random(in: 2...4, using: &random))
            let grants = (0..<Int.random(in: 3...8, using: &random)).map { "g\($0)" }
            // Created at r0, in random stages, and synced everywhere.
            for id in grants {
                let stage = ["matched", "confirmed", "approved", "approved"].randomElement(using: &random)!
                _ = try world.replicas[0].write(
                    [
                        "department": .text(Self.department), "street": .text("JD1"), "stage": .text(stage), "round": .integer(1),
                        "amount_fen": .integer(Int64.random(in: 1...1_000_000, using: &random)),
                    ], to: World.key(id), by: world.ids[0], author: "a", at: world.tick())
            }
            try world.push(0)
            for index in world.replicas.indices { try world.pull(index) }

            for _ in 0..<Int.random(in: 10...40, using: &random) {
                let index = Int.random(in: world.replicas.indices, using: &random)
                let id = grants.randomElement(using: &random)!
                switch Int.random(in: 0..<10, using: &random) {
                case 0, 1:  // confirm or approve, by the workflow's rules
                    guard let state = world.state(id, in: world.replicas[index]) else { continue }
                    let move: GrantMove = state.stage == .confirmed ? .approve : .confirm
                    guard let stage = try? GrantWorkflow.stage(after: move, from: state) else { continue }
                    _ = try world.replicas[index].write(
                        ["stage": .text(stage.rawValue), "round": .integer(1)], to: World.key(id), by: world.ids[index], author: "a",
                        at: world.tick())
                case 2:  // reject
                    guard let state = world.state(id, in: world.replicas[index]),
                        (try? GrantWorkflow.stage(after: .reject, from: state, reason: "不符合")) != nil
                    else { continue }
                    _ = try world.replicas[index].write(
                        ["rejection": .text("不符合")], to: World.key(id), by: world.ids[index], author: "a", at: world.tick())
                case 3, 4:  // sync, or half of one
                    let part = Int.random(in: 0..<3, using: &random)
                    if part != 1 { try world.push(index) }
                    if part != 0 { try world.pull(index) }
                case 5, 6:  // export: online only; the server reserves under its lock
                    try world.push(index)
                    world.batchCount += 1
                    let batch = "PB-\(world.batchCount)"
                    let taken = PaymentBatch.reserve(world.approvedRows(grants), office: Self.department, district: false)
                    for grant in taken {
                        #expect(world.reserved[grant] == nil, "seed \(seed): \(grant) reserved twice")
                        world.reserved[grant] = batch
                        _ = try world.server.write(
                            ["batch": .text(batch)], to: World.key(grant), by: world.serverID, author: "server", at: world.tick())
                    }
                    if !taken.isEmpty { world.files[batch] = taken }
                    try world.pull(index)
                case 7, 8:  // record a batch file paid (any file: files are carried between offices)
                    guard let (batch, file) = world.files.randomElement(using: &random) else { continue }
                    var states: [String: GrantState] = [:]
                    for grant in file { states[grant] = world.state(grant, in: world.replicas[index]) }
                    guard (try? PaymentBatch.checkPaid(file, states: states, batch: batch)) != nil else { continue }
                    for grant in file {
                        _ = try world.replicas[index].write(
                            ["stage": .text("paid"), "round": .integer(1), "payment": .text("ZF-\(index)-\(batch)")], to: World.key(grant),
                            by: world.ids[index], author: "a", at: world.tick())
                        world.payments.append((grant, batch))
                    }
                default:  // a person settles a payment conflict
                    guard let state = world.state(id, in: world.replicas[index]), state.paymentCount > 1 else { continue }
                    _ = try world.replicas[index].resolve(
                        "payment", of: World.key(id), with: .keep(1), by: world.ids[index], author: "a", at: world.tick())
                }
            }
            // Everyone syncs until nothing moves.
            for _ in 0..<2 {
                for index in world.replicas.indices { try world.push(index) }
                for index in world.replicas.indices { try world.pull(index) }
            }
            // Every payment is of the grant's one batch: the money left once.
            for payment in world.payments {
                #expect(world.reserved[payment.grant] == payment.batch, "seed \(seed): \(payment.grant) paid from \(payment.batch)")
            }
            for index in world.replicas.indices {
                #expect(world.replicas[index].records == world.server.records, "seed \(seed): replica \(index) did not converge")
            }
            // A grant with concurrent payments is listed as a conflict and no batch takes it.
            for id in grants {
                guard let state = world.state(id, in: world.server) else { continue }
                if state.paymentCount > 1 {
                    conflictsSeen += 1
                    #expect(world.server.conflicts().contains { $0.record == World.key(id) && $0.field == "payment" })
                    #expect(PaymentBatch.skip(state) == .conflict)
                }
                if state.paymentCount >= 1 { paidSeen += 1 }
                #expect(
                    PaymentBatch.reserve(world.approvedRows([id]), office: Self.department, district: false).isEmpty || state.batch == nil)
            }
        }
        // The schedules reach the cases that matter.
        #expect(paidSeen > Self.schedules / 4, "\(paidSeen) grants paid")
        #expect(conflictsSeen > 0, "no schedule recorded a batch twice")
        print("never paid twice: \(Self.schedules) schedules, \(paidSeen) grants paid, \(conflictsSeen) payment conflicts blocked")
    }
}
