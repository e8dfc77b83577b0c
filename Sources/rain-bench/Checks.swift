import ArgumentParser
import CaseStore
import ReplicaStore
import SyncCore
import TestSupport

// Every benchmark checks its result before it reports a figure (outside the timed
// part): a fast but wrong run must fail, not win.
extension ParsableCommand {
    /// W1c's winners (record id, field, value shown) against the workload's reference;
    /// returns how many agree, and throws unless every one does.
    func checkW1cWinners(_ winners: [(id: String, field: String, value: Value)], _ workload: W1Workload) throws -> Int {
        let expected = workload.expectedConflictWinners
        var agree = 0
        for winner in winners {
            guard let field = W1Workload.fields.firstIndex(of: winner.field), let value = expected[winner.id]?[field],
                winner.value == .text(value)
            else {
                throw ValidationError("W1c: the winner of \(winner.id).\(winner.field) is not the last writer's value")
            }
            agree += 1
        }
        let listed = expected.values.reduce(0) { $0 + $1.count }
        guard agree == listed else { throw ValidationError("W1c: \(agree) winners checked, \(listed) expected") }
        return agree
    }

    /// Every case's merged value equals W1's final row (the dump's, or the generated
    /// workload's own), and the change count is W1's.
    func verifyW1(_ central: ReplicaState, _ workload: W1Workload) throws {
        guard central.changeCount == workload.changeCount else { throw ValidationError("central holds \(central.changeCount) changes") }
        guard central.conflicts().isEmpty else { throw ValidationError("W1 has no concurrency, yet conflicts were listed") }
        try checkFinalRows(workload, "the central state") { key, field in central.value(field, of: key) }
    }

    /// `store` holds every W1 change and every case with its final values (the dump's
    /// rows, or the generated workload's own): `what` names it in the error.
    func check(_ store: ReplicaStore, against workload: W1Workload, _ what: String = "replica 0") throws {
        let changes = try store.changeCount()
        guard changes == workload.changeCount else {
            throw ValidationError("\(what) holds \(changes) changes, W1 has \(workload.changeCount)")
        }
        if store.materializes {
            let cases = try store.caseCount()
            let expected = workload.inserts.reduce(0) { $0 + $1.count }
            guard cases == expected else { throw ValidationError("\(what) holds \(cases) cases, expected \(expected)") }
        }
        try checkFinalRows(workload, what) { key, field in
            guard let record = try store.record(key) else { throw ValidationError("\(what): case \(key.id) missing") }
            return record.value(of: field, table: key.table, schema: store.schema)
        }
    }

    /// Every field of every case W1 created, as `value` reads it, equals its final row.
    private func checkFinalRows(_ workload: W1Workload, _ what: String, value: (RecordKey, String) throws -> Value?) throws {
        let expected = workload.expectedFinalRows
        guard expected.count == workload.inserts.reduce(0, { $0 + $1.count }) else {
            throw ValidationError("W1's expected rows: \(expected.count)")
        }
        for (id, row) in expected {
            let key = RecordKey(table: "cases", id: id)
            for index in 1..<row.count where try value(key, W1Workload.fields[index]) != .text(row[index]) {
                throw ValidationError("\(what) differs from W1's final state at \(id).\(W1Workload.fields[index])")
            }
        }
    }
}
