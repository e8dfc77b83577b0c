import CaseDomain
import PolicyDomain
import Testing

struct GrantRulesTests {
    @Test func aGrantsIdIsTheSameEverywhereAndAValidRecordID() throws {
        let code = try CreditCode("91440300708461136T")
        let id = GrantKey.recordID(policy: "policy-1", creditCode: code, period: "2026")
        #expect(id == GrantKey.recordID(policy: "policy-1", creditCode: try CreditCode(" 91440300708461136t"), period: "2026"))
        #expect(id != GrantKey.recordID(policy: "policy-2", creditCode: code, period: "2026"))
        #expect(id != GrantKey.recordID(policy: "policy-1", creditCode: code, period: "2027"))
        #expect(id != GrantKey.recordID(policy: "policy-1", creditCode: try CreditCode("91350100M000100Y43"), period: "2026"))
        // A record id (PROTOCOL: 1–128 of [A-Za-z0-9_.:-]) shaped as a version-8 UUID.
        let parts = id.split(separator: "-")
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        #expect(parts[2].first == "8" && "89ab".contains(parts[3].first!))
        #expect(id.allSatisfy { $0.isHexDigit && !$0.isUppercase || $0 == "-" })
    }

    @Test func theWorkflowAllowsOnlyItsMoves() throws {
        let matched = GrantState(id: "g", stage: .matched, amountFen: 100)
        #expect(try GrantWorkflow.stage(after: .confirm, from: matched) == .confirmed)
        #expect(try GrantWorkflow.stage(after: .approve, from: GrantState(id: "g", stage: .confirmed, amountFen: 100)) == .approved)
        #expect(try GrantWorkflow.stage(after: .pay, from: GrantState(id: "g", stage: .approved, amountFen: 100)) == .paid)
        #expect(try GrantWorkflow.stage(after: .reject, from: matched, reason: "不符合条件") == .matched)
        let refusals: [(GrantMove, GrantState, String?, String)] = [
            (.approve, matched, nil, "cannot approve the grant: it is matched; the department confirms it first"),
            (
                .pay, GrantState(id: "g", stage: .confirmed, amountFen: 1), nil,
                "cannot pay the grant: it is confirmed; only approved grants are paid"
            ),
            (.reject, matched, "  ", "cannot reject the grant: a reason is required (--reason)"),
            (
                .confirm, GrantState(id: "g", stage: .approved, amountFen: 1), nil,
                "cannot confirm the grant: it is approved; only matched or applied grants are confirmed"
            ),
            (.pay, GrantState(id: "g", stage: .approved, rejection: "x", amountFen: 1), nil, "cannot pay the grant: it was rejected"),
            (.pay, GrantState(id: "g", stage: .approved, amountFen: 1, paymentCount: 1), nil, "cannot pay the grant: it is already paid"),
            (.reject, GrantState(id: "g", stage: .paid, amountFen: 1, paymentCount: 1), "x", "cannot reject the grant: it is already paid"),
            (
                .pay, GrantState(id: "g", stage: .approved, amountFen: 1, paymentCount: 2), nil,
                "cannot pay the grant: it has more than one payment record (a conflict): settle it first"
            ),
        ]
        for (move, state, reason, message) in refusals {
            #expect(throws: GrantMoveError.self) { try GrantWorkflow.stage(after: move, from: state, reason: reason) }
            do {
                _ = try GrantWorkflow.stage(after: move, from: state, reason: reason)
            } catch {
                #expect(error.message(.en) == message)
                #expect(error.message(.zh).hasPrefix("无法\(move.label(.zh))："))
            }
        }
    }

    @Test func aBatchTakesOnlyApprovedUnpaidUnreservedGrantsOnce() {
        let grants = [
            GrantState(id: "a", stage: .approved, amountFen: 100),
            GrantState(id: "b", stage: .approved, amountFen: 100, paymentCount: 1),
            GrantState(id: "c", stage: .approved, amountFen: 100, paymentCount: 2),
            GrantState(id: "d", stage: .approved, rejection: "不符", amountFen: 100),
            GrantState(id: "e", stage: .confirmed, amountFen: 100),
            GrantState(id: "f", stage: .approved, amountFen: 100, batch: "B1"),
            GrantState(id: "a", stage: .approved, amountFen: 100),
            GrantState(id: "g", stage: .paid, amountFen: 100),
        ]
        let (taken, skipped) = PaymentBatch.select(grants)
        #expect(taken.map(\.id) == ["a"])
        #expect(skipped.map(\.grant.id) == ["b", "c", "d", "e", "f", "g"])
        #expect(skipped.map(\.why) == [.paid, .conflict, .rejected, .notApproved(.confirmed), .reserved("B1"), .paid])
    }

    @Test func aPaidBatchIsCheckedWholeBeforeAnythingIsRecorded() throws {
        let states = [
            "a": GrantState(id: "a", stage: .approved, amountFen: 100, batch: "B1"),
            "b": GrantState(id: "b", stage: .approved, amountFen: 100, batch: "B2"),
            "c": GrantState(id: "c", stage: .approved, amountFen: 100, paymentCount: 1, batch: "B1"),
            "d": GrantState(id: "d", stage: .approved, amountFen: 100, paymentCount: 2, batch: "B1"),
        ]
        try PaymentBatch.checkPaid(["a"], states: states, batch: "B1")
        let refusals: [([String], String)] = [
            ([], "the batch holds no grant"),
            (["a", "a"], "the batch holds grant a twice"),
            (["a", "z"], "no grant z is held here"),
            (["a", "b"], "grant b was not reserved for batch B1 (it is in B2)"),
            (["a", "c"], "grant c is already paid"),
            (["d"], "grant d has conflicting payment records"),
        ]
        for (ids, message) in refusals {
            #expect(throws: PaymentBatch.Refusal.self) { try PaymentBatch.checkPaid(ids, states: states, batch: "B1") }
            do {
                try PaymentBatch.checkPaid(ids, states: states, batch: "B1")
            } catch {
                #expect(error.message(.en) == "cannot record the batch as paid: " + message)
            }
        }
    }
}
