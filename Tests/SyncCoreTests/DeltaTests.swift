import SyncCore
import Testing

/// Table tests of "what does a peer lack" (`Protocol/PROTOCOL.md` §6.1).
@Suite struct DeltaTests {
    static let a = ReplicaID("a")
    static let b = ReplicaID("b")
    static let c = ReplicaID("c")

    static func change(_ replica: ReplicaID, _ counter: UInt64, _ record: String = "r1", context: [ReplicaID: UInt64] = [:]) -> Change {
        Change(
            dot: Dot(replica, counter), record: RecordKey(table: "cases", id: record), fields: ["title": .text("\(replica):\(counter)")],
            context: VersionVector(context), hlc: HLC(wall: counter), author: "x")
    }

    struct Row: Sendable, CustomTestStringConvertible {
        let name: String
        let held: [Change]
        let peer: [ReplicaID: UInt64]
        let expected: [String]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "empty peer gets everything, per writer in counter order", held: [change(b, 1), change(a, 2, "r2"), change(a, 1)],
            peer: [:], expected: ["a:1", "a:2", "b:1"]),
        Row(name: "peer up to date gets nothing", held: [change(a, 1), change(b, 1)], peer: [a: 1, b: 1], expected: []),
        Row(name: "peer ahead gets nothing", held: [change(a, 1)], peer: [a: 5], expected: []),
        Row(
            name: "only counters above the peer's entry", held: [change(a, 1), change(a, 2), change(a, 3)], peer: [a: 1],
            expected: ["a:2", "a:3"]),
        Row(
            name: "a change waits for what its context covers", held: [change(a, 1, context: [b: 1]), change(b, 1)], peer: [:],
            expected: ["b:1", "a:1"]),
        Row(
            name: "context already held by the peer does not block", held: [change(a, 1, context: [b: 1]), change(b, 1)], peer: [b: 1],
            expected: ["a:1"]),
        Row(
            name: "chains across three writers",
            held: [
                change(c, 1, context: [a: 2, b: 1]), change(b, 1, context: [a: 1]), change(a, 1), change(a, 2, context: [a: 1, b: 1]),
            ], peer: [:], expected: ["a:1", "b:1", "a:2", "c:1"]),
        Row(name: "context naming a change not held does not block", held: [change(a, 1, context: [c: 9])], peer: [:], expected: ["a:1"]),
        Row(
            name: "forged cycle still terminates, smallest dot first",
            held: [change(a, 1, context: [b: 1]), change(b, 1, context: [a: 1])], peer: [:], expected: ["a:1", "b:1"]),
    ]

    @Test(arguments: rows)
    func lacking(row: Row) {
        let result = Delta.lacking(VersionVector(row.peer), from: row.held)
        #expect(result.map(\.dot.description) == row.expected)
    }

    @Test func replicaStateAgreesWithThePureFunction() throws {
        var state = ReplicaState()
        let changes = [
            Self.change(Self.a, 1), Self.change(Self.b, 1, context: [Self.a: 1]), Self.change(Self.a, 2, context: [Self.a: 1, Self.b: 1]),
        ]
        for change in changes.reversed() { try state.apply(change) }
        #expect(state.missing(for: VersionVector()) == Delta.lacking(VersionVector(), from: changes))
        #expect(state.missing(for: VersionVector([Self.a: 1])).map(\.dot.description) == ["b:1", "a:2"])
    }
}
