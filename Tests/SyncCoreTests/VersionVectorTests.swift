import SyncCore
import Testing

@Suite struct VersionVectorTests {
    let a = ReplicaID("a")
    let b = ReplicaID("b")
    let c = ReplicaID("c")

    @Test func coversDotsUpToItsEntry() {
        let vector = VersionVector([a: 3])
        #expect(vector.covers(Dot(a, 1)))
        #expect(vector.covers(Dot(a, 3)))
        #expect(!vector.covers(Dot(a, 4)))
        #expect(!vector.covers(Dot(b, 1)))
        #expect(vector[b] == 0)
    }

    @Test(
        arguments: [
            ([:], [:], CausalOrder.equal),
            (["a": 1], [:], .after),
            ([:], ["a": 1], .before),
            (["a": 2, "b": 1], ["a": 2, "b": 1], .equal),
            (["a": 2, "b": 1], ["a": 3, "b": 1], .before),
            (["a": 2, "b": 1], ["a": 1, "b": 1], .after),
            (["a": 2], ["b": 1], .concurrent),
            (["a": 2, "b": 1], ["a": 1, "b": 2], .concurrent),
            (["a": 1, "c": 1], ["a": 1, "b": 1, "c": 1], .before),
            (["a": 1, "b": 5, "c": 1], ["a": 1, "c": 2], .concurrent),
        ] as [([String: UInt64], [String: UInt64], CausalOrder)])
    func compareTable(left: [String: UInt64], right: [String: UInt64], expected: CausalOrder) {
        let x = VersionVector(left.map { (ReplicaID($0.key), $0.value) })
        let y = VersionVector(right.map { (ReplicaID($0.key), $0.value) })
        #expect(x.compare(y) == expected)
        let mirrored: CausalOrder =
            switch expected {
            case .before: .after
            case .after: .before
            default: expected
            }
        #expect(y.compare(x) == mirrored)
    }

    @Test func mergeTakesThePointwiseMaximum() {
        var x = VersionVector([a: 2, c: 1])
        x.merge(VersionVector([a: 1, b: 4]))
        #expect(x == VersionVector([a: 2, b: 4, c: 1]))
        #expect(x.entries.map(\.replica) == [a, b, c])
    }

    @Test func zeroEntriesAreNeverStored() {
        let pairs: [(ReplicaID, UInt64)] = [(a, 0), (b, 2)]
        let x = VersionVector(pairs)
        #expect(x.entries.count == 1)
        #expect(x == VersionVector([b: 2]))
        var y = x
        y.set(b, to: 0)
        #expect(y.isEmpty)
    }

    @Test func replicaIDsOrderByUTF8Bytes() {
        // Upper case sorts before lower case byte-wise; a prefix sorts first.
        #expect(ReplicaID("Z9") < ReplicaID("a1"))
        #expect(ReplicaID("r") < ReplicaID("r0"))
        #expect(Dot(ReplicaID("a"), 9) < Dot(ReplicaID("b"), 1))
    }
}
