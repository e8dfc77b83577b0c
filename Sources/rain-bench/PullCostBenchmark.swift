import ArgumentParser
import Foundation
import SyncCore
import SyncServer

/// `rain-bench pull-cost`: what a community's pull costs on a server that holds much more
/// than the community may see (`Protocol/PROTOCOL.md` §9.5: a pull costs what its caller
/// may receive).
struct PullCostBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull-cost",
        abstract: "Measure a community's pull of its 100 new changes after a million changes of other communities.",
        discussion: """
            Builds two server databases in process (the embedded SQLite storage, through its
            push): a large one where 20 other communities' replicas pushed --others changes
            before the community's own replica pushed --own; and a small one holding only
            those --own changes. A second replica of the community, whose position is just
            before them, pulls them from each (the same pull, read only, repeated --runs
            times). The figure is the ratio of the medians; the target is at most 2.
            """
    )

    @Option(help: "Changes of other communities on the large server.") var others = 1_000_000
    @Option(help: "The community's own new changes, pulled from both servers.") var own = 100
    @Option(help: "Pulls timed on each server (the median is reported).") var runs = 21

    func validate() throws {
        guard (0...5_000_000).contains(others) else { throw ValidationError("--others must be from 0 to 5000000") }
        guard (1...10_000).contains(own) else { throw ValidationError("--own must be from 1 to 10000") }
        guard (1...1_000).contains(runs) else { throw ValidationError("--runs must be from 1 to 1000") }
    }

    static let communities = (1...20).map { String(format: "C%02d", $0) }
    static let now: Int64 = 1_795_651_200_000

    func run() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-bench-pull-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = Caller(replica: ReplicaID(String(repeating: "a", count: 32)), office: "MINE")
        let reader = Caller(replica: ReplicaID(String(repeating: "b", count: 32)), office: "MINE")

        let large = try Self.server(at: folder + "/large.sqlite")
        let (_, building) = try timed {
            var counters: [String: UInt64] = [:]
            let perBatch = 5_000
            var left = others
            var round = 0
            while left > 0 {
                // Round-robin over the other communities, a batch each, as their syncs interleave.
                let community = Self.communities[round % Self.communities.count]
                let count = min(perBatch, left)
                let caller = Caller(replica: Self.replica(community), office: community)
                let first = counters[community, default: 0] + 1
                _ = try large.push(Self.changes(by: caller, counters: first..<first + UInt64(count)), from: caller, now: Self.now)
                counters[community] = first + UInt64(count) - 1
                left -= count
                round += 1
            }
        }
        // The reader is up to date, then the writer pushes the community's new changes.
        let position = try large.pull(for: reader, after: "", limit: 1_000, maximumBytes: 1 << 22, now: Self.now).cursor
        _ = try large.push(Self.changes(by: writer, counters: 1..<UInt64(own) + 1), from: writer, now: Self.now)
        let small = try Self.server(at: folder + "/small.sqlite")
        _ = try small.push(Self.changes(by: writer, counters: 1..<UInt64(own) + 1), from: writer, now: Self.now)

        func timePulls(_ storage: SQLiteCentralStorage, after: String) throws -> (seconds: Double, received: Int) {
            var times: [Double] = []
            var received = 0
            for _ in 0..<runs {
                let (page, seconds) = try timed {
                    try storage.pull(for: reader, after: after, limit: 10_000, maximumBytes: 1 << 24, now: Self.now)
                }
                received = page.bodies.count
                times.append(seconds)
            }
            return (median(times), received)
        }
        let onLarge = try timePulls(large, after: position)
        let onSmall = try timePulls(small, after: "")
        guard onLarge.received == own, onSmall.received == own else {
            throw ValidationError("the pulls received \(onLarge.received) and \(onSmall.received) changes, not \(own)")
        }
        print("built the large server: \(others) changes of \(Self.communities.count) other communities in \(format(building, 1)) s")
        printTable(
            ["server", "changes held", "pull of \(own) (ms, median of \(runs))"],
            [
                ["large", "\(others + own)", format(onLarge.seconds * 1000)],
                ["small", "\(own)", format(onSmall.seconds * 1000)],
            ])
        print("large ÷ small: \(format(onLarge.seconds / max(onSmall.seconds, 1e-9), 2))× (target ≤ 2×)")
        large.close()
        small.close()
    }

    /// A server with a district, one street per five communities, the other communities
    /// and the measured one (`MINE`).
    static func server(at path: String) throws -> SQLiteCentralStorage {
        let storage = try SQLiteCentralStorage.open(at: path)
        _ = try storage.addOffice(code: "HSD", name: "区", level: .district, parent: nil, now: now)
        for street in 1...4 { _ = try storage.addOffice(code: "JD\(street)", name: "街道\(street)", level: .street, parent: "HSD", now: now) }
        for (index, community) in (communities + ["MINE"]).enumerated() {
            _ = try storage.addOffice(code: community, name: community, level: .community, parent: "JD\(index % 4 + 1)", now: now)
        }
        return storage
    }

    static func replica(_ community: String) -> ReplicaID {
        ReplicaID(
            String((community.unicodeScalars.map { String($0.value, radix: 16) }.joined() + String(repeating: "0", count: 32)).prefix(32)))
    }

    /// New cases of the caller's community, one change each.
    static func changes(by caller: Caller, counters: Range<UInt64>) -> [Change] {
        counters.map { counter in
            Change(
                dot: Dot(caller.replica, counter), record: RecordKey(table: "cases", id: "\(caller.office)-\(counter)"),
                fields: [
                    "community": .text(caller.office), "office": .text(caller.office), "title": .text("楼道堆放杂物 \(counter)"),
                    "status": .text("received"), "round": .integer(1),
                ],
                context: VersionVector(), hlc: HLC(wall: UInt64(now) - 86_400_000 + counter), author: "bench")
        }
    }
}
