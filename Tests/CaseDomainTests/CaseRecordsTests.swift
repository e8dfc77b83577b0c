import CaseDomain
import Foundation
import SyncCore
import SyncProtocol
import Testing

/// The `cases` kind's declaration: the one place its tables, fields, merge rules and scope
/// are stated, and what `Protocol/kinds/cases.json` publishes.
@Suite struct CaseRecordsTests {
    static var protocolFile: String {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root.appendingPathComponent("Protocol/kinds/cases.json").path
    }

    @Test func theMergeRulesAreProtocolVersionOnes() {
        // The protocol's schema also holds the policy kind's tables (PolicyRecordsTests).
        for (table, rules) in Schema(kinds: [CaseRecords.kind]).tables { #expect(Schema.timelyRain.tables[table] == rules, "\(table)") }
    }

    @Test func protocolPublishesTheDeclarationAsItIs() throws {
        let published = try String(contentsOfFile: Self.protocolFile, encoding: .utf8)
        #expect(published == KindDeclarationV1.encode(CaseRecords.kind), "regenerate: rain-server kind cases > Protocol/kinds/cases.json")
        // The views are the server's read model, not part of the published declaration.
        #expect(try KindDeclarationV1.decode(Array(published.utf8)).tables == CaseRecords.kind.tables)
    }

    /// What a client needs to create a case that the server accepts and every replica
    /// shows: the fields a new case writes are the declared required ones.
    @Test func aNewCaseWritesEveryRequiredField() throws {
        let cases = try #require(CaseRecords.kind.tables.first { $0.name == "cases" })
        #expect(
            Set(cases.fields.filter(\.required).map(\.name)) == [
                "number", "kind", "category", "title", "status", "round", "level", "office", "community", "created_at",
            ])
        #expect(cases.scopeFields == ["community", "office"])
        for table in CaseRecords.kind.tables {
            for field in table.scopeFields { #expect(table.fields.contains { $0.name == field }, "\(table.name).\(field)") }
        }
    }
}
