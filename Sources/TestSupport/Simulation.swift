public import SyncCore

/// A seeded simulation of several offices writing offline and syncing in random,
/// partial, repeated and reordered exchanges — the generator behind the convergence
/// property tests (`Protocol/CORRECTNESS.md` §C).
public struct Simulation {
    public private(set) var replicas: [ReplicaState]
    public let ids: [ReplicaID]
    private var clocks: [HybridLogicalClock]
    /// Per replica, how far its wall clock is off (ms); some laptops are days ahead.
    private var skews: [Int64]
    private var time: UInt64 = 1_795_651_200_000
    private var random: SeededRandom
    private let recordPool: [RecordKey]
    private var eventCount = 0
    /// Every change any replica ever wrote.
    public private(set) var written: [Change] = []
    /// A log of the steps, printed when a property fails.
    public private(set) var trace: [String] = []

    public init(seed: UInt64, replicaCount: Int? = nil) {
        random = SeededRandom(seed: seed)
        let count = replicaCount ?? Int.random(in: 2...6, using: &random)
        ids = (0..<count).map { ReplicaID("r\($0)") }
        replicas = Array(repeating: ReplicaState(), count: count)
        clocks = Array(repeating: HybridLogicalClock(), count: count)
        var skews: [Int64] = []
        for _ in 0..<count {
            switch Int.random(in: 0..<10, using: &random) {
            case 0: skews.append(3 * 86_400_000)  // a laptop three days ahead
            case 1: skews.append(-86_400_000)  // a day behind
            default: skews.append(Int64.random(in: -2000...2000, using: &random))
            }
        }
        self.skews = skews
        // Few records and few fields, so that same-field concurrency is common.
        let recordCount = Int.random(in: 1...4, using: &random)
        recordPool = (0..<recordCount).map { RecordKey(table: "cases", id: "case-\($0)") }
    }

    private mutating func physical(_ replica: Int) -> UInt64 {
        time += UInt64.random(in: 0...50, using: &random)
        var wall = Int64(time) + skews[replica]
        if random.chance(0.05) { wall -= 60_000 }  // the wall clock jumps back a minute
        return UInt64(max(wall, 0))
    }

    /// Runs `steps` random steps: local writes, status moves, reopens, resolutions,
    /// append-only events and partial exchanges.
    public mutating func run(steps: Int) throws {
        for _ in 0..<steps {
            if random.chance(0.6) {
                try localStep(Int.random(in: 0..<replicas.count, using: &random))
            } else {
                try partialExchange()
            }
        }
    }

    private mutating func localStep(_ i: Int) throws {
        let replica = ids[i]
        let hlc = clocks[i].tick(physical: physical(i))
        let author = "员工\(i)"
        let key = recordPool.randomElement(using: &random)!
        guard replicas[i].records[key] != nil else {
            let change = try replicas[i].write(
                [
                    "title": .text("标题\(written.count)"), "status": .text("received"), "round": .integer(1),
                    "phone": .text("1380000\(written.count)"),
                ],
                to: key, by: replica, author: author, at: hlc)
            record(change, "\(replica) creates \(key)")
            return
        }
        let state = replicas[i]
        let round = state.value("round", of: key)?.integer ?? 1
        let stage = state.value("status", of: key)?.text ?? "received"
        switch Int.random(in: 0..<10, using: &random) {
        case 0...3:
            let fields = ["title", "phone", "address", "category"].shuffled(using: &random).prefix(Int.random(in: 1...2, using: &random))
            var values: [String: Value] = [:]
            for field in fields { values[field] = .text("\(field)-\(written.count)") }
            if random.chance(0.1) { values[fields.first!] = .null }
            record(try replicas[i].write(values, to: key, by: replica, author: author, at: hlc), "\(replica) edits \(fields) of \(key)")
        case 4, 5:
            let stages = Schema.caseStages
            let next = stages[min((stages.firstIndex(of: stage) ?? 0) + Int.random(in: 1...2, using: &random), stages.count - 1)]
            record(
                try replicas[i].write(["status": .text(next), "round": .integer(round)], to: key, by: replica, author: author, at: hlc),
                "\(replica) moves \(key) to \(next)")
        case 6:
            record(
                try replicas[i].write(
                    ["status": .text("handling"), "round": .integer(round + 1)], to: key, by: replica, author: author, at: hlc),
                "\(replica) reopens \(key) (round \(round + 1))")
        case 7, 8:
            let conflicts = state.conflicts()
            if let conflict = conflicts.randomElement(using: &random) {
                let resolution: Resolution =
                    random.chance(0.5)
                    ? .keep(Int.random(in: 1...conflict.siblings.count, using: &random))
                    : .value(.text("resolved-\(written.count)"))
                record(
                    try replicas[i].resolve(conflict.field, of: conflict.record, with: resolution, by: replica, author: author, at: hlc),
                    "\(replica) resolves \(conflict.record).\(conflict.field) with \(resolution)")
            } else {
                record(
                    try replicas[i].write(["title": .text("t-\(written.count)")], to: key, by: replica, author: author, at: hlc),
                    "\(replica) edits title")
            }
        default:
            eventCount += 1
            let event = RecordKey(table: "case_events", id: "\(replica)-event-\(eventCount)")
            record(
                try replicas[i].write(
                    ["case_id": .text(key.id), "type": .text("note"), "text": .text("记录\(eventCount)")], to: event, by: replica,
                    author: author, at: hlc),
                "\(replica) adds \(event)")
        }
    }

    private mutating func record(_ change: Change, _ step: String) {
        written.append(change)
        trace.append("\(step) → \(change.dot) ctx \(change.context)")
    }

    /// Sends a random subset of what `source` holds to `target`, shuffled, with repeats,
    /// one by one or as one batch.
    private mutating func partialExchange() throws {
        guard replicas.count > 1 else { return }
        let source = Int.random(in: 0..<replicas.count, using: &random)
        var target = Int.random(in: 0..<replicas.count - 1, using: &random)
        if target >= source { target += 1 }
        var changes: [Change]
        switch Int.random(in: 0..<3, using: &random) {
        case 0: changes = replicas[source].missing(for: replicas[target].versionVector)  // a proper pull
        case 1: changes = replicas[source].allChanges.filter { _ in random.chance(0.5) }  // a lossy one
        default:
            // An interrupted pull: a causal prefix.
            let missing = replicas[source].missing(for: replicas[target].versionVector)
            changes = Array(missing.prefix(Int.random(in: 0...missing.count, using: &random)))
        }
        if random.chance(0.5) { changes.shuffle(using: &random) }
        if random.chance(0.3), let again = changes.randomElement(using: &random) { changes.append(again) }
        try deliver(changes, to: target)
        trace.append("\(ids[source]) → \(ids[target]): \(changes.map(\.dot))")
    }

    private mutating func deliver(_ changes: [Change], to target: Int) throws {
        let now = physical(target)
        for change in changes { _ = clocks[target].observe(change.hlc, physical: now) }
        if random.chance(0.5) {
            _ = try replicas[target].apply(batch: changes)
        } else {
            for change in changes { try replicas[target].apply(change) }
        }
    }

    /// Every replica pulls from every other until each holds every change written.
    public mutating func exchangeAll() throws {
        for target in replicas.indices {
            for source in replicas.indices.shuffled(using: &random) where source != target {
                var changes = replicas[source].missing(for: replicas[target].versionVector)
                if random.chance(0.3) { changes.shuffle(using: &random) }
                try deliver(changes, to: target)
            }
        }
        // A second round brings the earliest pullers what later ones received.
        for target in replicas.indices {
            for source in replicas.indices where source != target {
                try deliver(replicas[source].missing(for: replicas[target].versionVector), to: target)
            }
        }
    }
}
