import Foundation
import GRDB
import PolicyDomain
import TestSupport
import Testing

/// Payment batches need the server (PROTOCOL §10.3): it reserves a batch's grants under
/// the lock every push takes, so exports at the same moment never share a grant, and a
/// grant is paid once.
@Suite(.serialized) struct PaymentBatchTests {
    /// Outcomes of processes run at the same time.
    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var runs: [Int: Run] = [:]
        func set(_ index: Int, _ run: Run) { lock.withLock { runs[index] = run } }
        func get(_ index: Int) -> Run? { lock.withLock { runs[index] } }
    }

    /// JD1's registry of `count` enterprises, a JRB automatic policy matching them all,
    /// every grant confirmed and approved at `payer`; returns the grant ids.
    func approvedGrants(_ deployment: Deployment, count: Int, street jd1: String, payer: String) throws -> [String] {
        var csv = PolicyDirectTests.header + "\n"
        for index in 1...count {
            csv +=
                "企业\(index)有限公司,\(PolicyDirectTests.code(100 + index)),JD1,C3911,small,2015-03-01,\(10 + index),0,0,,,银行\(index),62220202\(String(format: "%08d", index)),\n"
        }
        let file = deployment.scratch.file("registry.csv")
        try csv.write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try deployment.rain(["enterprise", "import", file], db: jd1)
        try #require(imported.status == 0, "\(imported.stdout) \(imported.stderr)")
        try deployment.sync(jd1)
        let policy = deployment.scratch.file("policy.json")
        try """
        {"title": "稳岗奖励", "department": "JRB", "document": "金发5号", "mode": "automatic", "valid_from": "2026-01-01",
         "valid_to": "2030-12-31", "benefit": {"type": "per_unit", "of": "employees", "amount_fen": 100000, "cap_fen": 2500000},
         "rule": "employees >= 10"}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        try #require(try deployment.rain(["policy", "publish", policy], db: payer).status == 0)
        try deployment.sync(payer)
        let matched = try deployment.rain(["policy", "match", "金发5号", "--json"], db: payer)
        let ids = (matched.json as? [[String: Any]] ?? []).compactMap { $0["grant"] as? String }
        try #require(ids.count == count, "\(matched.stdout) \(matched.stderr)")
        try #require(try deployment.rain(["grant", "confirm"] + ids, db: payer).status == 0)
        try #require(try deployment.rain(["grant", "approve"] + ids, db: payer).status == 0)
        try deployment.sync(payer)
        return ids
    }

    func batchFile(_ path: String) throws -> (batch: String, grants: [String], amounts: [Int]) {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF], "UTF-8 with a BOM")
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        #expect(lines.first == "name,credit_code,bank,account,amount_fen,grant,batch")
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return (rows.first?[6] ?? "", rows.map { $0[5] }, rows.map { Int($0[4]) ?? -1 })
    }

    @Test(arguments: Backend.allCases) func exportsAtTheSameMomentNeverShareAGrantAndEachIsPaidOnce(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        try #require(
            deployment.server.admin(["office", "add", "JRB", "--name", "金融办", "--level", "department", "--parent", "HSD"]).status == 0)
        let jd1 = try deployment.replica("jd1", office: "JD1", staff: "王五")
        let payers = [
            try deployment.replica("jrb-a", office: "JRB", staff: "郑九"), try deployment.replica("jrb-b", office: "JRB", staff: "冯十"),
            try deployment.replica("hsd", office: "HSD", staff: "周八"),
        ]
        let ids = try approvedGrants(deployment, count: 24, street: jd1, payer: payers[0])
        for db in payers { try deployment.sync(db) }
        // A street does not pay.
        let street = try deployment.rain(["grant", "export", "--batch", deployment.scratch.file("street.csv")], db: jd1)
        #expect(
            street.status == 7 && street.stderr.contains("not_a_payer") || street.stderr.contains("only a department"), "\(street.stderr)")

        // Three exports at the same moment: two of the department's replicas and the district's.
        let outcomes = Outcomes()
        let files = payers.indices.map { deployment.scratch.file("batch-\($0).csv") }
        DispatchQueue.concurrentPerform(iterations: payers.count) { index in
            if let run = try? deployment.rain(["grant", "export", "--batch", files[index], "--json"], db: payers[index]) {
                outcomes.set(index, run)
            }
        }
        var seen: [String: String] = [:]
        var batches: [(payer: String, file: String)] = []
        for index in payers.indices {
            let run = try #require(outcomes.get(index))
            #expect(run.status == 0, "\(run.stderr)")
            guard run.object["batch"] is String else {
                #expect(!FileManager.default.fileExists(atPath: files[index]), "no batch, no file")
                continue
            }
            let file = try batchFile(files[index])
            #expect(run.object["grants"] as? Int == file.grants.count)
            #expect(file.amounts.allSatisfy { $0 > 0 && $0 <= 2_500_000 })
            for grant in file.grants {
                #expect(seen[grant] == nil, "grant \(grant) in two batches: \(seen[grant] ?? "") and \(file.batch)")
                seen[grant] = file.batch
            }
            batches.append((payers[index], files[index]))
        }
        #expect(Set(seen.keys) == Set(ids), "every approved grant is in exactly one batch")
        // Nothing is left to reserve.
        let again = try deployment.rain(["grant", "export", "--batch", deployment.scratch.file("again.csv"), "--json"], db: payers[0])
        #expect(again.status == 0 && again.object["grants"] as? Int == 0)

        // Each payer records its own batch; recording one twice is refused; after sync
        // every grant is paid once, with no conflict.
        for (payer, file) in batches {
            let paid = try deployment.rain(
                ["grant", "paid", "--batch", file, "--reference", "ZF-\(payer.suffix(10))", "--json"], db: payer)
            #expect(paid.status == 0, "\(paid.stderr)")
            #expect(try deployment.rain(["grant", "paid", "--batch", file, "--reference", "ZF-again"], db: payer).status == 4)
        }
        for db in payers + payers { try deployment.sync(db) }
        let grants = try deployment.rain(["grant", "list", "--json"], db: payers[2]).json as? [[String: Any]] ?? []
        #expect(grants.count == 24)
        #expect(grants.allSatisfy { $0["stage"] as? String == "paid" && $0["payment_conflict"] as? Bool == false }, "\(grants)")
        // The figures: every grant paid once, the amounts the files carried.
        let fileTotal = try batches.map { try batchFile($0.file).amounts.reduce(0, +) }.reduce(0, +)
        for db in [payers[0], payers[2]] {
            let stats = try deployment.rain(["policy", "stats", "--json"], db: db).object
            #expect(stats["policies"] as? Int == 1 && stats["departments"] as? Int == 1, "\(stats)")
            #expect(stats["enterprise_times"] as? Int == 24 && stats["enterprises"] as? Int == 24)
            #expect(stats["paid_fen"] as? Int == fileTotal)
            #expect((stats["by_street"] as? [[String: Any]])?.first?["key"] as? String == "JD1")
        }

        // Offline, no batch is produced and no file written.
        deployment.server.stop()
        let offline = try deployment.rain(["grant", "export", "--batch", deployment.scratch.file("offline.csv")], db: payers[0])
        #expect(offline.status == 6 && offline.stderr.contains("server"), "\(offline.stderr)")
        #expect(!FileManager.default.fileExists(atPath: deployment.scratch.file("offline.csv")))
    }

    /// The same batch recorded on two replicas offline: a conflict that blocks the grant.
    @Test func aBatchRecordedTwiceOfflineIsAConflictThatBlocksTheGrant() throws {
        let deployment = try Deployment(backend: .sqlite)
        try #require(
            deployment.server.admin(["office", "add", "JRB", "--name", "金融办", "--level", "department", "--parent", "HSD"]).status == 0)
        let jd1 = try deployment.replica("jd1", office: "JD1", staff: "王五")
        let a = try deployment.replica("jrb-a", office: "JRB", staff: "郑九")
        let b = try deployment.replica("jrb-b", office: "JRB", staff: "冯十")
        _ = try approvedGrants(deployment, count: 2, street: jd1, payer: a)
        let file = deployment.scratch.file("batch.csv")
        try #require(try deployment.rain(["grant", "export", "--batch", file], db: a).status == 0)
        try deployment.sync(b)
        // Both record it, offline from each other.
        #expect(try deployment.rain(["grant", "paid", "--batch", file, "--reference", "ZF-1"], db: a).status == 0)
        #expect(try deployment.rain(["grant", "paid", "--batch", file, "--reference", "ZF-2"], db: b).status == 0)
        for db in [a, b, a] { try deployment.sync(db) }
        let grants = try deployment.rain(["grant", "list", "--json"], db: a).json as? [[String: Any]] ?? []
        #expect(grants.count == 2 && grants.allSatisfy { $0["payment_conflict"] as? Bool == true }, "\(grants)")
        let conflicts = try deployment.rain(["conflicts", "--json"], db: a)
        #expect(conflicts.stdout.contains("payment"), "\(conflicts.stdout)")
        // Blocked: no new batch takes them, and recording again is refused.
        #expect(
            try deployment.rain(["grant", "export", "--batch", deployment.scratch.file("b2.csv"), "--json"], db: a).object["grants"] as? Int
                == 0)
        #expect(try deployment.rain(["grant", "paid", "--batch", file, "--reference", "ZF-3"], db: a).status == 4)
    }
}
