import CaseDomain
import Foundation
import PolicyDomain
import SyncCore
import SyncProtocol
import Testing

/// The `policy` kind's declaration: what `Protocol/kinds/policy.json` publishes.
@Suite struct PolicyRecordsTests {
    static var protocolFile: String {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root.appendingPathComponent("Protocol/kinds/policy.json").path
    }

    @Test func protocolPublishesTheDeclarationAsItIs() throws {
        let published = try String(contentsOfFile: Self.protocolFile, encoding: .utf8)
        #expect(
            published == KindDeclarationV1.encode(PolicyRecords.kind), "regenerate: rain-server kind policy > Protocol/kinds/policy.json")
        // The views are the server's read model, not part of the published declaration.
        #expect(try KindDeclarationV1.decode(Array(published.utf8)).tables == PolicyRecords.kind.tables)
    }

    @Test func theMergeRulesAreProtocolVersionOnes() {
        for (table, rules) in Schema(kinds: [PolicyRecords.kind]).tables { #expect(Schema.timelyRain.tables[table] == rules, "\(table)") }
    }

    @Test func scopesNameDeclaredFieldsAndTheMergeRulesAreAsDocumented() throws {
        for table in PolicyRecords.kind.tables {
            for field in table.scopeFields { #expect(table.fields.contains { $0.name == field }, "\(table.name).\(field)") }
            if case .sharedFields(_, let once?) = table.scope { #expect(table.fields.contains { $0.name == once.field }) }
        }
        let schema = Schema(kinds: [PolicyRecords.kind])
        #expect(schema.rule(table: "grants", field: "stage") == .workflow(stages: PolicyRecords.grantStages, roundField: "round"))
        #expect(schema.rule(table: "grants", field: "payment") == .lastWriterWins, "concurrent payments stay listed as a conflict")
        #expect(schema.rule(table: "grants", field: "payment").listsConflicts)
        #expect(schema.kind(of: "enterprise_reveals") == .appendOnly)
        // Every stage the pure workflow knows is a stage of the merge rule, in its order.
        #expect(PolicyRecords.grantStages == GrantStage.allCases.map(\.rawValue))
        // Bank accounts are not in the table every office reads.
        let shared = try #require(PolicyRecords.kind.tables.first { $0.name == "enterprises" })
        #expect(!shared.fields.contains { ["account", "bank", "legal_rep", "contact"].contains($0.name) })
    }

    @Test func benefitsRoundTripThroughTheirStoredForm() throws {
        let benefits: [Benefit] = [
            .fixed(amountFen: 10_000_000), .percent(of: .taxPaid, basisPoints: 250, capFen: 20_000_000),
            .percent(of: .revenue, basisPoints: 1, capFen: nil), .perUnit(of: .employees, amountFen: 100_000, capFen: 5_000_000),
            .perUnit(of: .employees, amountFen: 1, capFen: nil),
        ]
        for benefit in benefits {
            #expect(Benefit(json: benefit.json) == benefit, "\(benefit.json)")
        }
        #expect(Benefit(json: "{\"type\":\"fixed\",\"amount_fen\":1.5}") == nil)
        #expect(Benefit(json: "not json") == nil)
    }

    @Test func recordIDsAreDerivedAndDistinct() throws {
        let code = try CreditCode("91440300MA5F000007")
        let other = try CreditCode("91440300MA5F00001A")
        #expect(EnterpriseKey.recordID(code) == EnterpriseKey.recordID(code))
        let ids = [
            EnterpriseKey.recordID(code), EnterpriseKey.accountID(code), EnterpriseKey.recordID(other),
            GrantKey.recordID(policy: "p", creditCode: code, period: "2026"),
            GrantKey.recordID(policy: "p", creditCode: code, period: "2027"),
        ]
        #expect(Set(ids).count == ids.count)
        // As PROTOCOL §10.3 describes them, computed independently (Python's hashlib).
        #expect(GrantKey.recordID(policy: "p", creditCode: code, period: "2026") == "2a22286f-858f-8d8b-88c2-50ec6fadbaab")
        #expect(EnterpriseKey.recordID(code) == "7ea62b38-89e7-86b5-8793-61c1aa7b0326")
        #expect(EnterpriseKey.accountID(code) == "b05bf169-93f5-8914-ad59-377ae18a3a51")
        for id in ids {
            let parts = id.split(separator: "-")
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
            #expect(parts[2].first == "8", "a version-8 UUID")
            #expect("89ab".contains(parts[3].first!), "the RFC 9562 variant")
        }
    }
}
