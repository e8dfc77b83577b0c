import Foundation
import SyncCore
import SyncProtocol
import TestSupport
import Testing

/// Runs every vector of `Protocol/vectors/` (PROTOCOL.md §8).
@Suite struct ConformanceVectorTests {
    // Loaded once; a file that fails to load fails every test that takes its arguments
    // from here (not an empty list of cases that passes).
    static let loadedValid = Result { try ConformanceVectors.valid() }
    static let loadedInvalid = Result { try ConformanceVectors.invalid() }
    static var valid: [ValidVector] { get throws { try loadedValid.get() } }
    static var invalid: [InvalidVector] { get throws { try loadedInvalid.get() } }

    /// The vectors in `Protocol/vectors/` today; a vector added or removed changes these
    /// with `Protocol/tools/make_vectors.py`.
    static let validCount = 34
    static let invalidCount = 33

    @Test func everyVectorFileLoads() throws {
        #expect(try Self.valid.count == Self.validCount)
        #expect(try Self.invalid.count == Self.invalidCount)
        #expect(try Self.valid.filter { $0.resolution != nil }.count == 2)
        // One vector per file: none skipped by the loader.
        for (kind, count) in [("valid", Self.validCount), ("invalid", Self.invalidCount)] {
            let files = try FileManager.default.contentsOfDirectory(
                at: ConformanceVectors.folder().appendingPathComponent(kind), includingPropertiesForKeys: nil)
            #expect(files.filter { $0.pathExtension == "json" }.count == count, "\(kind)")
        }
    }

    @Test(arguments: try valid.map(\.file))
    func canonicalEncodingReproducesTheBytesAndHash(file: String) throws {
        let vector = try #require(try Self.valid.first { $0.file == file })
        for (index, change) in vector.changes.enumerated() {
            let bytes = ChangeV1.encode(change)
            #expect(String(decoding: bytes, as: UTF8.self) == vector.canonical[index], "\(file) changes[\(index)]")
            #expect(ChangeV1.hash(change) == vector.sha256[index], "\(file) changes[\(index)]")
            // Decoding the canonical bytes gives the same change back.
            let batch = ChangeBatchV1.encode([change])
            #expect(try ChangeBatchV1.decode(batch) == [change])
        }
    }

    @Test(arguments: try valid.map(\.file))
    func everyDeliveryOrderReachesTheExpectedState(file: String) throws {
        let vector = try #require(try Self.valid.first { $0.file == file })
        var orders = vector.deliveries
        // Beyond the orders in the file: reversed, and seeded shuffles with repeats.
        let all = Array(vector.changes.indices)
        orders.append(all.reversed())
        var random = SeededRandom(seed: 0x7A17_2026)
        for _ in 0..<8 {
            var order = all.shuffled(using: &random)
            for _ in 0..<Int.random(in: 0...3, using: &random) { order.append(all.randomElement(using: &random)!) }
            orders.append(order.shuffled(using: &random))
        }
        for order in orders {
            var oneByOne = ReplicaState()
            for index in order { try oneByOne.apply(vector.changes[index]) }
            try expectState(oneByOne, matches: vector, order: order)
            var batched = ReplicaState()
            let delivered = order.map { vector.changes[$0] }
            let distinct = Set(delivered.map(\.dot)).count
            #expect(
                try batched.apply(batch: delivered) == ApplySummary(applied: distinct, duplicates: delivered.count - distinct),
                "\(file): every change applied once, every repeat a duplicate (\(order))")
            #expect(batched == oneByOne, "\(file): batch and one-by-one differ for \(order)")
            // Delivered again, all of it: nothing applies, nothing changes.
            let before = batched
            #expect(try batched.apply(batch: delivered.reversed()) == ApplySummary(applied: 0, duplicates: delivered.count))
            #expect(batched == before, "\(file): a second delivery changed the state")
        }
    }

    @Test(arguments: try valid.filter { $0.resolution != nil }.map(\.file))
    func resolveProducesTheVectorsChange(file: String) throws {
        let vector = try #require(try Self.valid.first { $0.file == file })
        let step = try #require(vector.resolution)
        var state = ReplicaState()
        for index in step.after { try state.apply(vector.changes[index]) }
        #expect(!state.conflicts().isEmpty)
        let produced = try state.resolve(
            step.field, of: step.record, with: step.resolution, by: step.replica, author: step.author, at: step.hlc)
        #expect(produced == step.produces)
        #expect(state.conflicts().isEmpty)
    }

    @Test(arguments: try invalid.map(\.file))
    func invalidInputIsRefusedWithTheExpectedError(file: String) throws {
        let vector = try #require(try Self.invalid.first { $0.file == file })
        do {
            let changes = try ChangeBatchV1.decode(vector.input)
            Issue.record("\(file): accepted \(changes.count) changes, expected \(vector.error)")
        } catch {
            #expect(error.message == vector.error, "\(file)")
            #expect(error.code == vector.code, "\(file)")
            #expect(error.description.hasPrefix("invalid change batch: "))
        }
    }

    private func expectState(_ state: ReplicaState, matches vector: ValidVector, order: [Int]) throws {
        let label = "\(vector.file) order \(order)"
        #expect(Set(state.records.keys) == Set(vector.records.keys), "\(label): records")
        for (key, expected) in vector.records {
            let record = try #require(state.records[key], "\(label): missing \(key)")
            #expect(record.versionVector == expected.versionVector, "\(label): \(key) version vector")
            #expect(Set(record.fields.keys) == Set(expected.fields.keys), "\(label): \(key) fields")
            for (name, field) in expected.fields {
                #expect(state.value(name, of: key) == field.value, "\(label): \(key).\(name) value")
                #expect(record.fields[name]?.siblings.map(\.dot) == field.siblings, "\(label): \(key).\(name) siblings")
            }
        }
        let conflicts = state.conflicts().map {
            ExpectedConflict(record: $0.record, field: $0.field, siblings: $0.siblings.map(\.dot), winner: $0.winner.dot)
        }
        #expect(conflicts == vector.conflicts, "\(label): conflicts")
        #expect(state.versionVector == vector.versionVector, "\(label): version vector")
    }
}
