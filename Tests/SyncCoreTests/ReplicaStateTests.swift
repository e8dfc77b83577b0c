import SyncCore
import TestSupport
import Testing

@Suite struct ReplicaStateTests {
    let office = ReplicaID("office-a")
    let other = ReplicaID("office-b")
    let caseKey = RecordKey(table: "cases", id: "c1")

    @Test func localWritesTakeTheNextDotAndTheRecordsVectorAsContext() throws {
        var state = ReplicaState()
        let first = try state.write(
            ["title": .text("漏水"), "status": .text("received"), "round": .integer(1)], to: caseKey, by: office, author: "李娜",
            at: HLC(wall: 1))
        #expect(first.dot == Dot(office, 1))
        #expect(first.context.isEmpty)
        let elsewhere = try state.write(
            ["title": .text("噪音")], to: RecordKey(table: "cases", id: "c2"), by: office, author: "李娜", at: HLC(wall: 2))
        #expect(elsewhere.dot == Dot(office, 2))
        #expect(elsewhere.context.isEmpty)
        let second = try state.write(["title": .text("漏水（已核实）")], to: caseKey, by: office, author: "李娜", at: HLC(wall: 3))
        #expect(second.dot == Dot(office, 3))
        #expect(second.context == VersionVector([office: 1]))
        #expect(state.value("title", of: caseKey) == .text("漏水（已核实）"))
        #expect(state.records[caseKey]?.versionVector == VersionVector([office: 3]))
        #expect(state.versionVector == VersionVector([office: 3]))
    }

    @Test func aWriteAfterSyncSupersedesWhatItSaw() throws {
        var a = ReplicaState()
        var b = ReplicaState()
        let created = try a.write(["title": .text("一")], to: caseKey, by: office, author: "李娜", at: HLC(wall: 1))
        try b.apply(created)
        let edit = try b.write(["title": .text("二")], to: caseKey, by: other, author: "王伟", at: HLC(wall: 2))
        #expect(edit.context == VersionVector([office: 1]))
        try a.apply(edit)
        #expect(a.value("title", of: caseKey) == .text("二"))
        #expect(a.conflicts().isEmpty)
        #expect(a == b)
    }

    @Test func appendOnlyRecordsCannotBeModified() throws {
        var state = ReplicaState()
        let note = RecordKey(table: "case_events", id: "e1")
        _ = try state.write(["text": .text("已电话联系")], to: note, by: office, author: "李娜", at: HLC(wall: 1))
        #expect(throws: SyncCoreError.appendOnlyModified(Dot(office, 2), note)) {
            try state.write(["text": .text("改")], to: note, by: office, author: "李娜", at: HLC(wall: 2))
        }
        #expect(state.changeCount == 1)
    }

    @Test func refusesMalformedChangesWithoutWriting() throws {
        var state = ReplicaState()
        let own = Change(
            dot: Dot(office, 2), record: caseKey, fields: ["title": .text("x")], context: VersionVector([office: 2]), hlc: HLC(wall: 1),
            author: "李娜")
        #expect(throws: SyncCoreError.contextCoversOwnDot(Dot(office, 2))) { try state.apply(own) }
        let empty = Change(dot: Dot(office, 1), record: caseKey, fields: [:], context: VersionVector(), hlc: HLC(wall: 1), author: "李娜")
        #expect(throws: SyncCoreError.noFields(Dot(office, 1))) { try state.apply(empty) }
        #expect(state == ReplicaState())
    }

    @Test func aBatchWithOneBadChangeWritesNothing() throws {
        var state = ReplicaState()
        let good = Change(
            dot: Dot(office, 1), record: caseKey, fields: ["title": .text("x")], context: VersionVector(), hlc: HLC(wall: 1), author: "李娜")
        let forged = Change(
            dot: Dot(office, 1), record: caseKey, fields: ["title": .text("y")], context: VersionVector(), hlc: HLC(wall: 1), author: "李娜")
        #expect(throws: SyncCoreError.conflictingDuplicate(Dot(office, 1))) { try state.apply(batch: [good, forged]) }
        #expect(state == ReplicaState())
        // Once held, a different change with the same dot is refused too.
        try state.apply(good)
        #expect(throws: SyncCoreError.conflictingDuplicate(Dot(office, 1))) { try state.apply(forged) }
        let held = state
        #expect(try state.apply(batch: [good, good]) == ApplySummary(applied: 0, duplicates: 2))
        #expect(state == held, "a redelivery changes nothing")
    }

    @Test func resolveCoversEverySiblingAndWritesTheRoundOfAWorkflow() throws {
        var state = ReplicaState()
        let created = try state.write(
            ["status": .text("replied"), "round": .integer(1)], to: caseKey, by: office, author: "李娜", at: HLC(wall: 1))
        let close = Change(
            dot: Dot(other, 1), record: caseKey, fields: ["status": .text("closed"), "round": .integer(1)],
            context: VersionVector([office: 1]), hlc: HLC(wall: 5), author: "王伟")
        let reopen = Change(
            dot: Dot(ReplicaID("office-c"), 1), record: caseKey, fields: ["status": .text("handling"), "round": .integer(2)],
            context: VersionVector([office: 1]), hlc: HLC(wall: 4), author: "张敏")
        _ = try state.apply(batch: [close, reopen])
        #expect(created.dot == Dot(office, 1))
        #expect(state.value("status", of: caseKey) == .text("handling"))
        #expect(state.value("round", of: caseKey) == .integer(2))
        #expect(state.conflicts().map(\.field) == ["status"])
        // Keep the close (sibling 2 in dot order: office-b:1 < office-c:1).
        #expect(state.conflicts()[0].siblings.map(\.dot) == [close.dot, reopen.dot])
        let resolution = try state.resolve("status", of: caseKey, with: .keep(1), by: office, author: "李娜", at: HLC(wall: 9))
        #expect(resolution.fields == ["status": .text("closed"), "round": .integer(1)])
        #expect(resolution.context.covers(close.dot) && resolution.context.covers(reopen.dot))
        #expect(state.conflicts().isEmpty)
        #expect(state.value("status", of: caseKey) == .text("closed"))
        #expect(state.value("round", of: caseKey) == .integer(1))
    }

    @Test func resolveNamesWhatIsMissing() throws {
        var state = ReplicaState()
        #expect(throws: SyncCoreError.unknownRecord(caseKey)) {
            try state.resolve("title", of: caseKey, with: .value(.null), by: office, author: "李娜", at: HLC(wall: 1))
        }
        _ = try state.write(["title": .text("x")], to: caseKey, by: office, author: "李娜", at: HLC(wall: 1))
        #expect(throws: SyncCoreError.unknownField(caseKey, "phone")) {
            try state.resolve("phone", of: caseKey, with: .value(.null), by: office, author: "李娜", at: HLC(wall: 2))
        }
        #expect(throws: SyncCoreError.noSuchSibling(caseKey, "title", 2)) {
            try state.resolve("title", of: caseKey, with: .keep(2), by: office, author: "李娜", at: HLC(wall: 2))
        }
        let message = SyncCoreError.noSuchSibling(caseKey, "title", 2).description
        #expect(message == "cannot resolve: field title has no value number 2 (at cases/c1)")
    }

    @Test func aLocalWriteDuringAHoleDoesNotClaimWhatItHasNotSeen() throws {
        // office-b wrote c1 twice; this replica got only the second change.
        var state = ReplicaState()
        let created = try state.write(["title": .text("一")], to: caseKey, by: office, author: "李娜", at: HLC(wall: 1))
        let second = Change(
            dot: Dot(other, 2), record: caseKey, fields: ["phone": .text("13900001111")], context: VersionVector([office: 1, other: 1]),
            hlc: HLC(wall: 3), author: "王伟")
        try state.apply(second)
        #expect(state.records[caseKey]?.versionVector == VersionVector([office: 1]))
        let edit = try state.write(["title": .text("三")], to: caseKey, by: office, author: "李娜", at: HLC(wall: 4))
        #expect(edit.context == VersionVector([office: 1]))
        #expect(created.dot.counter == 1)
        // When the missing change arrives, the chain completes.
        let first = Change(
            dot: Dot(other, 1), record: caseKey, fields: ["title": .text("二")], context: VersionVector([office: 1]), hlc: HLC(wall: 2),
            author: "王伟")
        try state.apply(first)
        #expect(state.records[caseKey]?.versionVector == VersionVector([office: 2, other: 2]))
        // Its title was concurrent with the local edit made during the hole: a conflict, not a silent loss.
        #expect(state.conflicts().map(\.field) == ["title"])
    }
}

@Suite struct ForgedChainTests {
    /// Forged contexts (predecessors that do not exist, forks, cycles) must still give
    /// every replica the same state for the same set of changes (PROTOCOL.md §3.4, §3.5).
    @Test func forgedPredecessorsStillConverge() throws {
        let seed = TestEnvironment.unsigned("RAIN_PROPERTY_SEED", default: 0xC4A1)
        var random = SeededRandom(seed: seed)
        let key = RecordKey(table: "cases", id: "c1")
        let writers = [ReplicaID("a"), ReplicaID("b")]
        for round in 0..<200 {
            var changes: [Change] = []
            for writer in writers {
                for counter in UInt64(1)...UInt64(Int.random(in: 1...6, using: &random)) {
                    var context = VersionVector()
                    // Any predecessor below the counter, including ones never written.
                    context.advance(writer, to: UInt64.random(in: 0..<counter, using: &random))
                    context.advance(writers.randomElement(using: &random)!, to: UInt64.random(in: 0...3, using: &random))
                    if context[writer] >= counter { context.set(writer, to: counter - 1) }
                    let field = ["title", "phone"].randomElement(using: &random)!
                    changes.append(
                        Change(
                            dot: Dot(writer, counter), record: key, fields: [field: .text("\(writer):\(counter)")], context: context,
                            hlc: HLC(wall: UInt64.random(in: 0...9, using: &random)), author: "x"))
                }
            }
            var first = ReplicaState()
            for change in changes { try first.apply(change) }
            for _ in 0..<4 {
                var other = ReplicaState()
                for change in changes.shuffled(using: &random) { try other.apply(change) }
                #expect(other == first, "round \(round), seed \(seed)")
                #expect(other.records[key]?.versionVector == first.records[key]?.versionVector, "round \(round), seed \(seed)")
                #expect(other.conflicts() == first.conflicts(), "round \(round), seed \(seed)")
            }
        }
    }
}

@Suite struct RecordStorageFormTests {
    /// A record rebuilt from its registers and chains (the replica store's form) is the
    /// same record and merges later changes the same way.
    @Test func rebuiltRecordsMergeLikeTheOriginals() throws {
        for seed in UInt64(1)...40 {
            var simulation = Simulation(seed: seed &* 7919, replicaCount: 3)
            try simulation.run(steps: 30)
            let state = simulation.replicas[0]
            let later = simulation.replicas[1].allChanges + simulation.replicas[2].allChanges
            for (key, record) in state.records {
                var rebuilt = Record(registers: record.fields, chains: record.chainStates)
                #expect(rebuilt == record, "seed \(seed) \(key)")
                var original = record
                let table = Schema.timelyRain.table(key.table)
                for change in later where change.record == key && state.change(change.dot) == nil {
                    original.apply(change, rules: table) { state.change($0) }
                    rebuilt.apply(change, rules: table) { state.change($0) }
                }
                #expect(rebuilt == original, "seed \(seed) \(key)")
                #expect(rebuilt.versionVector == original.versionVector, "seed \(seed) \(key)")
            }
        }
    }
}
