import CaseDomain
import Foundation
import ReplicaStore
import SyncCore
import Testing

@testable import Residents
@testable import SyncServer

/// The pure parts of the read model and of the server's own writes, without a database.
@Suite struct ReadModelTests {
    static let now: Int64 = 1_795_651_200_000
    let office = ReplicaID("0123456789abcdef0123456789abcdef")
    let rows = ViewRows(kinds: [CaseRecords.kind])
    let schema = Schema(kinds: [CaseRecords.kind])

    func change(
        _ counter: UInt64, _ fields: [String: Value], context: VersionVector = VersionVector(), id: String = "c1", wall: UInt64 = 0,
        by writer: ReplicaID? = nil
    ) -> Change {
        Change(
            dot: Dot(writer ?? office, counter), record: RecordKey(table: "cases", id: id), fields: fields, context: context,
            hlc: HLC(wall: UInt64(Self.now) + wall + counter), author: "李娜")
    }

    func merge(_ changes: [Change]) -> Record {
        var record = Record()
        var seen: [Dot: Change] = [:]
        for change in changes {
            record.apply(change, rules: schema.table(change.record.table)) { seen[$0] }
            seen[change.dot] = change
        }
        return record
    }

    @Test func aNewRecordWritesEveryColumnAndKeepsOnlyThePhonesTail() throws {
        let created = change(
            1,
            [
                "number": .text("HSM-20261206-1432-K7Q"), "kind": .text("complaint"), "status": .text("received"), "round": .integer(1),
                "phone": .text("139 1234 5678"), "citizen_name": .text("王芳"), "address": .text("和平路"), "title": .text("楼道"),
            ])
        let upserts = try rows.upserts(
            changes: [created], merged: [created.record: merge([created])], isNew: { _ in true }, lookup: { _ in nil })
        let caseRow = try #require(upserts.first { $0.view.name == "case_view" })
        #expect(caseRow.values.map(\.name) == CaseRecords.caseView.columns.map(\.name))
        let values = Dictionary(uniqueKeysWithValues: caseRow.values.map { ($0.name, $0.value) })
        #expect(values["phone_tail"] == .text("5678"))
        #expect(values["number"] == .text("HSM-20261206-1432-K7Q") && values["answer"] == .null)
        // Nothing of the resident's but the tail is a column at all.
        for name in ["phone", "citizen_name", "address", "title", "description"] { #expect(values[name] == nil) }
    }

    @Test func derivedColumnsKeepOnlyTheTailsAsciiDigitsAndNoNul() {
        let tail = ViewDeclaration.Column("phone_tail", field: "phone", .text, .lastFourDigits)
        #expect(tail.derive(.text("139-1234-5678")) == .text("5678"))
        #expect(tail.derive(.text("5 6 7 8 ")) == .text("5678"))
        // Full-width digits are not ASCII digits: too few remain to make a tail.
        #expect(tail.derive(.text("１３９１２３４５６７８")) == .null)
        #expect(tail.derive(.text("１３９1234５")) == .text("1234"))
        #expect(tail.derive(.text("123")) == .null)
        #expect(tail.derive(.integer(13_912_345_678)) == .null)
        #expect(tail.derive(nil) == .null)
        let text = ViewDeclaration.Column("answer", .text)
        #expect(text.derive(.text("已\u{0}处理\u{0}")) == .text("已处理"))
        #expect(text.derive(.text("e\u{301}")) == .text("e\u{301}"))
        #expect(text.derive(.integer(7)) == .text("7"))
    }

    @Test func anUpdateWritesOnlyTheColumnsOfFieldsItWroteReadingOlderWinnersFromTheLog() throws {
        let created = change(1, ["number": .text("N1"), "status": .text("received"), "round": .integer(1), "kind": .text("help")])
        var context = VersionVector()
        context.add(created.dot)
        let moved = change(2, ["status": .text("verifying"), "round": .integer(1)], context: context)
        // The central merge state keeps no values: the record as the store loads it.
        let record = merge([created, moved])
        var asked: [Dot] = []
        let upserts = try rows.upserts(
            changes: [moved], merged: [moved.record: record], isNew: { _ in false },
            lookup: { dot in
                asked.append(dot)
                return dot == created.dot ? created : nil
            })
        #expect(upserts.count == 1)
        #expect(upserts[0].values.map(\.name) == ["status", "round"])
        #expect(upserts[0].values.map(\.value) == [.text("verifying"), .integer(1)])
        #expect(asked.isEmpty, "the winners came with the batch")
        // A change concurrent with one already held that wins the field the batch wrote
        // (the furthest stage) is read from the log.
        let ahead = change(1, ["status": .text("handling"), "round": .integer(1)], context: context, wall: 5, by: ReplicaID("bb"))
        let late = change(1, ["status": .text("verifying"), "round": .integer(1)], context: context, by: ReplicaID("cc"))
        let both = merge([created, ahead, late])
        let answer = try rows.upserts(
            changes: [late], merged: [late.record: both], isNew: { _ in false },
            lookup: { dot in
                asked.append(dot)
                return [created, ahead].first { $0.dot == dot }
            })
        #expect(answer.first?.values.first { $0.name == "status" }?.value == .text("handling"))
        #expect(asked.contains(ahead.dot) && !asked.contains(late.dot))
    }

    /// The central merge state keeps no values: a workflow's furthest stage is chosen with
    /// every sibling's value read back, not by the clock alone.
    @Test func aStageChosenByItsValueIsReadBackFromTheLogForEverySibling() throws {
        let created = change(1, ["number": .text("N1"), "status": .text("received"), "round": .integer(1)])
        var context = VersionVector()
        context.add(created.dot)
        // Office B replied (an older clock); office C, concurrently, moved it to handling later.
        let replied = change(1, ["status": .text("replied"), "round": .integer(1)], context: context, wall: 1, by: ReplicaID("bb"))
        let handling = change(1, ["status": .text("handling"), "round": .integer(1)], context: context, wall: 9, by: ReplicaID("cc"))
        var conflicts = 0
        let stored = MergeStateCodec.encode(merge([created, replied]), arrivals: [1, 2], conflicts: &conflicts, values: false)
        var record = try #require(MergeStateCodec.decode(stored)).record
        record.apply(handling, rules: schema.table("cases")) { _ in nil }
        let held = [created, replied]
        let upserts = try rows.upserts(
            changes: [handling], merged: [handling.record: record], isNew: { _ in false },
            lookup: { dot in held.first { $0.dot == dot } })
        #expect(
            upserts.first?.values.first { $0.name == "status" }?.value == .text("replied"), "the furthest stage wins, as at the replicas")
        // A rebuild from the stored state alone chooses the same.
        let rebuilt = try rows.rebuild([(handling.record, record)]) { dot in (held + [handling]).first { $0.dot == dot } }
        #expect(rebuilt.first { $0.view.name == "case_view" }?.values.first { $0.name == "status" }?.value == .text("replied"))
    }

    @Test func theServersChangesSupersedeWhatItHeldAndCountOnFromItsLastCounter() throws {
        let created = change(1, ["number": .text("N1"), "rating": .integer(2)], wall: 100_000)
        let record = merge([created])
        let writer = ReplicaID("ffffffffffffffffffffffffffffffff")
        let changes = ServerWrite.changes(
            [
                ServerWrite.Edit(created.record, ["rating": .integer(5)]),
                ServerWrite.Edit(RecordKey(table: "case_events", id: "e1"), ["case_id": .text("c1"), "type": .text("rating")]),
                ServerWrite.Edit(created.record, ["answer": .text("x")]),
            ], writer: writer, first: 7, now: Self.now, records: [created.record: record], schema: schema, author: "居民（网上）")
        #expect(changes.map(\.dot.counter) == [7, 8, 9])
        #expect(changes[0].context.covers(created.dot) && changes[0].context[writer] == 0)
        #expect(changes[1].context.isEmpty, "an append-only record's change has no context")
        #expect(changes[2].context[writer] == 7, "the second change of a record follows the first")
        // Past the record's clock (an office's clock ahead of the server's) and increasing.
        #expect(changes[0].hlc > created.hlc)
        #expect(zip(changes, changes.dropFirst()).allSatisfy { $0.hlc < $1.hlc })
        for change in changes { try change.validate(against: schema) }
    }

    @Test func mintedNumbersNeverRepeatAcrossOfficesOrWhenTheClockGoesBack() {
        var last: String?
        var seen: Set<String> = []
        for (offset, office) in [(0, "HSM"), (1_000, "XQ"), (2_000, "HSM"), (-60_000, "HSM"), (61_000, "XQ"), (61_500, "HSM")] {
            let number = ServerWrite.mint(office: office, after: last, tag: "K7Q", now: Self.now + Int64(offset))
            #expect(number.hasPrefix(office + "-") && seen.insert(number).inserted, "\(number)")
            #expect(CaseNumber(parsing: number) != nil)
            #expect(CaseNumber(parsing: number.replacingOccurrences(of: "K7Q", with: "0K7")) != nil, "the server's tag parses")
            last = number
        }
    }

    @Test func wrongTriesLockAndARightAnswerClears() {
        var failures = 0
        var locked: Int64?
        var outcomes: [Attempt] = []
        for _ in 0..<3 {
            let step = ServerWrite.attempt(
                failures: failures, lockedUntil: locked, correct: false, now: Self.now, limit: 3, lockout: 60_000)
            outcomes.append(step.attempt)
            failures = step.stored?.failures ?? 0
            locked = step.stored?.lockedUntil
        }
        #expect(outcomes == [.wrong(remaining: 2), .wrong(remaining: 1), .locked(until: Self.now + 60_000)])
        // Locked: even the right answer waits; after the lock a right answer clears.
        #expect(
            ServerWrite.attempt(failures: 0, lockedUntil: locked, correct: true, now: Self.now + 1, limit: 3, lockout: 60_000).attempt
                == .locked(until: Self.now + 60_000))
        let after = ServerWrite.attempt(failures: 0, lockedUntil: locked, correct: true, now: Self.now + 60_001, limit: 3, lockout: 60_000)
        #expect(after.attempt == .allowed && after.stored == nil)
        let fresh = ServerWrite.attempt(failures: 0, lockedUntil: locked, correct: false, now: Self.now + 60_001, limit: 3, lockout: 60_000)
        #expect(fresh.attempt == .wrong(remaining: 2))
    }

    @Test func formsAreDecodedStrictly() throws {
        let form = try Form("a=%E5%B1%85+%E6%B0%91&b=&api_key=x", known: ["a", "b"], ignored: ["api_key"])
        #expect(form["a"] == "居 民" && form["b"] == "" && form["api_key"] == nil)
        for (text, words) in [
            ("a=1&a=2", "given twice"), ("c=1", "unknown field: c"), ("a=%E5%B1", "percent-encoded"), ("a=%G1", "percent-encoded"),
            ("%3Cscript%3E=1", "unknown field: ?script?"),
        ] {
            #expect {
                try Form(text, known: ["a", "b"])
            } throws: { error in
                (error as? ResidentError)?.en.contains(words) == true
            }
        }
    }

    @Test func aBucketRefillsAtItsRate() {
        let limiter = RateLimiter(perMinute: 3)
        #expect((0..<3).allSatisfy { _ in limiter.take("a", now: Self.now) == nil })
        let wait = limiter.take("a", now: Self.now)
        #expect(wait == 20, "one token every 20 s")
        #expect(limiter.take("b", now: Self.now) == nil, "per key")
        #expect(limiter.take("a", now: Self.now + 20_000) == nil)
    }

    @Test func onlyNamedPublicPathsAreRouted() {
        #expect(ResidentPaths.methods(of: "/open311/v2/requests.json") == ["GET", "POST"])
        #expect(ResidentPaths.methods(of: "/open311/v2/requests/HSM-1.json") == ["GET"])
        #expect(ResidentPaths.methods(of: "/open311/v2/requests/HSM-1/rating.json") == ["POST"])
        #expect(ResidentPaths.methods(of: "/open311/v2/requests/HSM-1/other.json") == nil)
        #expect(ResidentPaths.methods(of: "/changes") == nil)
    }
}
