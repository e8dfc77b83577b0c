import ArgumentParser
import CaseDomain
import CaseStore
import Foundation
import GRDB
import PolicyDomain
import PolicyStore
import ReplicaStore
import SuggestionStore
import SyncCore

/// `rain-bench policy-district`: the district of issue 18 at its scale, as a replica file —
/// 18 departments, 203 policies, 5,000 enterprises with valid codes, every grant its rules
/// select entered (matched or applied), confirmed, approved, reserved and paid over a year
/// and a half — and the figures `rain policy stats` shows over it.
struct PolicyDistrict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy-district",
        abstract: "Make the district's policy-direct data set (203 policies, 5,000 enterprises) as a replica file, and its stats.",
        discussion: """
            The file is a district replica (not enrolled: it acts for the district), written
            through the same commands staff use — import, publish, match, apply, confirm,
            approve, paid — with times spread from each policy's start. One step is the
            server's in real use: reserving payment batches (rain grant export). Here the
            data set writes each batch's reservation itself, by department and month, so
            that payments spread over the months; the reservation's rules are tested
            against a real server elsewhere (PaymentBatchTests). Then: rain policy stats
            --db FILE.
            """)

    @Option(help: "The replica file to create (must not exist).") var db: String
    @Option(help: "Policies.") var policies = 203
    @Option(help: "Enterprises.") var enterprises = 5_000
    @Option(help: "The generator's seed.") var seed: UInt64 = 2_026

    static let day: Int64 = 86_400_000

    func run() throws {
        guard !FileManager.default.fileExists(atPath: db) else { throw ValidationError("\(db) exists: give a new file (--db)") }
        let started = ContinuousClock.now
        var generator = DistrictGenerator(seed: seed)
        let registry = generator.enterprises(enterprises)
        let calibrated = generator.calibratedPolicies(policies, enterprises: registry)
        var random = SplitMix64(seed: seed ^ 0x5EED)
        let store = try ReplicaStore.create(at: db, office: "HSD", staff: "数据生成", also: [PolicyProjection(), SuggestionProjection()])
        defer { store.close() }

        // The registry, through the import (CSV as an agency exports it).
        var csv = EnterpriseColumns.all.joined(separator: ",") + "\n"
        for enterprise in registry {
            let cells: [String] = [
                enterprise.name, enterprise.creditCode.text, enterprise.street, enterprise.industry ?? "", enterprise.size?.rawValue ?? "",
                enterprise.founded.map(PolicyDate.text) ?? "", enterprise.employees.map(String.init) ?? "",
                enterprise.revenue.map(String.init) ?? "", enterprise.taxPaid.map(String.init) ?? "",
                enterprise.tags.joined(separator: ";"),
                enterprise.legalRep ?? "", enterprise.bank ?? "", enterprise.account ?? "", enterprise.contact ?? "",
            ]
            csv += cells.joined(separator: ",") + "\n"
        }
        let imported = try store.importEnterprises(try EnterpriseImport(Array(csv.utf8)), partial: false, now: Self.millis(2025, 1, 1))
        guard imported.rejected.isEmpty, imported.imported == registry.count else {
            throw ValidationError("the generated registry was not imported whole: \(imported.rejected.count) rejected")
        }

        // Policies, and their grants: matched (免申即享) or applied for, at times after the start.
        var expected = 0
        for entry in calibrated {
            let start = Self.millis(entry.policy.validFrom)
            let policy = try store.publishPolicy(entry.policy, now: start)
            expected += entry.eligible.count
            if policy.isAutomatic {
                _ = try store.matchPolicy(policy.id, now: start + Int64.random(in: 1...30, using: &random) * Self.day)
            } else {
                for index in entry.eligible {
                    let at = start + Int64.random(in: 5...200, using: &random) * Self.day
                    _ = try store.applyGrant(policy: policy.id, enterprise: registry[index].creditCode.text, now: at)
                }
            }
        }
        let grants = try store.grants()
        guard grants.count == expected else { throw ValidationError("\(grants.count) grants for \(expected) eligible pairs") }

        // Confirmed, approved, reserved by department and month, paid: 10 to 70 days after entry.
        var groups: [String: [(id: String, paidAt: Int64)]] = [:]
        for grant in grants {
            let created = grant.createdAt ?? Self.millis(2025, 1, 1)
            _ = try store.moveGrant(grant.id, .confirm, now: created + Self.day)
            _ = try store.moveGrant(grant.id, .approve, now: created + 3 * Self.day)
            let paidAt = created + Int64.random(in: 10...70, using: &random) * Self.day
            let month = CivilDate(epochMillis: paidAt)
            groups["PB-\(grant.department)-\(month.year)\(month.month < 10 ? "0" : "")\(month.month)", default: []].append(
                (grant.id, paidAt))
        }
        for (batch, members) in groups.sorted(by: { $0.key < $1.key }) {
            try store.transaction("cannot reserve the batch") { db in
                let session = WriteSession(store: store, db: db)
                for member in members {
                    _ = try session.local(
                        ["batch": .text(batch)], to: RecordKey(table: "grants", id: member.id), now: member.paidAt - Self.day)
                }
                try session.finish()
            }
            _ = try store.recordPaid(members.map(\.id), batch: batch, reference: "ZF-" + batch, now: members.map(\.paidAt).max()!)
        }
        let stats = try store.policyStats()
        let elapsed = ContinuousClock.now - started
        print(
            "data set: \(db), made in \(String(format: "%.1f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) s"
        )
        print(
            "policies \(stats.policies) · departments \(stats.departments) · enterprises \(stats.enterprises) · enterprise-times \(stats.enterpriseTimes) · paid \(Benefit.yuan(stats.paidFen))"
        )
        print("details: rain policy stats --db \(db) [--json]")
    }

    static func millis(_ date: CivilDate) -> Int64 { Int64(date.daysSinceEpoch) * day - 8 * 3_600_000 + 10 * 3_600_000 }

    static func millis(_ year: Int, _ month: Int, _ day: Int) -> Int64 { millis(CivilDate(year: year, month: month, day: day)!) }
}
