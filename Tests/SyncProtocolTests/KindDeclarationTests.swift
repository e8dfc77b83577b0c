import SyncCore
import SyncProtocol
import Testing

/// Kind declarations (`Protocol/kinds/*.json`): read strictly, written back alike.
@Suite struct KindDeclarationTests {
    static let sample = RecordKind(
        name: "bulletins",
        tables: [
            TableDeclaration(
                "bulletins", kind: .mutable, scope: .fields(["office", "street"]),
                fields: [
                    FieldDeclaration("office", .text, required: true, "where \"it\" is\n"),
                    FieldDeclaration("street", .text, "the street"),
                    FieldDeclaration(
                        "stage", .text, rule: .workflow(stages: ["draft", "posted"], roundField: "round"), "its stage"),
                    FieldDeclaration("round", .integer, rule: .maximum, "rounds"),
                    FieldDeclaration("posted_at", .timestamp, "when"),
                    FieldDeclaration("pinned", .bool, "pinned"),
                ]),
            TableDeclaration(
                "bulletin_reads", kind: .appendOnly, scope: .parent(table: "bulletins", field: "bulletin_id"),
                fields: [FieldDeclaration("bulletin_id", .text, required: true, "")]),
            TableDeclaration("bulletin_stats", kind: .mutable, scope: .district, fields: []),
        ])

    @Test func aDeclarationReadsBackAsWritten() throws {
        let text = KindDeclarationV1.encode(Self.sample)
        #expect(try KindDeclarationV1.decode(Array(text.utf8)) == Self.sample)
        #expect(Schema(kinds: [Self.sample]).rule(table: "bulletins", field: "round") == .maximum)
        #expect(Schema(kinds: [Self.sample]).kind(of: "bulletin_reads") == .appendOnly)
    }

    @Test func aSharedScopeReadsBackAsWritten() throws {
        let kind = RecordKind(
            name: "notices",
            tables: [
                TableDeclaration(
                    "notices", kind: .mutable, scope: .sharedFields(["office"], once: .init(field: "state", values: ["out", "gone"])),
                    fields: [
                        FieldDeclaration("office", .text, required: true, ""),
                        FieldDeclaration("state", .text, writers: .home(except: ["out"]), ""),
                        FieldDeclaration("stamp", .text, writers: .server, ""),
                    ]),
                TableDeclaration(
                    "boards", kind: .mutable, scope: .sharedFields(["office"], once: nil), writerLevels: ["street", "district"],
                    fields: [FieldDeclaration("office", .text, "")]),
            ])
        let text = KindDeclarationV1.encode(kind)
        #expect(text.contains(#""scope": {"fields": ["office"], "shared": {"field": "state", "values": ["out", "gone"]}}"#))
        #expect(text.contains(#""scope": {"fields": ["office"], "shared": "always"}"#))
        #expect(text.contains(#""writers": {"home_except": ["out"]}"#) && text.contains(#""writers": "server""#))
        #expect(text.contains(#""writer_levels": ["street", "district"]"#))
        #expect(try KindDeclarationV1.decode(Array(text.utf8)) == kind)
        let badField =
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": {"fields": ["o"], "shared": {"field": "s", "values": ["x"]}}, "fields": [{"name": "o", "type": "text", "merge": "maximum"}]}]}"#
        let fieldError = #expect(throws: KindDeclarationV1.Invalid.self) { try KindDeclarationV1.decode(Array(badField.utf8)) }
        #expect(fieldError?.path == "$.tables[0].scope.shared.field")
        #expect(fieldError?.reason == "names field s, which the table does not declare")
        let noValues =
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": {"fields": ["o"], "shared": {"field": "o", "values": []}}, "fields": [{"name": "o", "type": "text", "merge": "maximum"}]}]}"#
        let valuesError = #expect(throws: KindDeclarationV1.Invalid.self) { try KindDeclarationV1.decode(Array(noValues.utf8)) }
        #expect(valuesError?.path == "$.tables[0].scope.shared.values")
        let sharedAlone = #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": {"shared": "always"}, "fields": []}]}"#
        #expect(throws: KindDeclarationV1.Invalid.self) { try KindDeclarationV1.decode(Array(sharedAlone.utf8)) }
    }

    static let minimal = #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": "district", "fields": []}]}"#

    @Test(arguments: [
        ("[]", "$", "must be an object, not an array"),
        ("{", "$", "not JSON"),
        (#"{"kind": "k", "tables": []}"#, "$.tables", "must be a non-empty array"),
        (#"{"kind": "k", "tables": [], "extra": 1}"#, "$.extra", "unknown member"),
        (#"{"kind": "", "tables": [1]}"#, "$.kind", "must be a non-empty string"),
        (
            #"{"kind": "k", "tables": [{"name": "t", "records": "sometimes", "scope": "district", "fields": []}]}"#, "$.tables[0].records",
            "must be mutable or append-only"
        ),
        (
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": {"fields": ["office"]}, "fields": []}]}"#,
            "$.tables[0].scope", "names field office, which the table does not declare"
        ),
        (
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": "everyone", "fields": []}]}"#, "$.tables[0].scope",
            "must be an object"
        ),
        (
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": "district", "fields": [{"name": "a", "type": "float", "merge": "maximum"}]}]}"#,
            "$.tables[0].fields[0].type", "must be text, integer, bool or timestamp"
        ),
        (
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": "district", "fields": [{"name": "a", "type": "text", "merge": "first"}]}]}"#,
            "$.tables[0].fields[0].merge", "must be last-writer-wins, maximum"
        ),
        (
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": "district", "fields": [{"name": "a", "type": "text", "merge": "maximum", "required": "yes"}]}]}"#,
            "$.tables[0].fields[0].required", "must be true or false"
        ),
        (
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": "district", "fields": [{"name": "a", "type": "text", "merge": "maximum"}, {"name": "a", "type": "text", "merge": "maximum"}]}]}"#,
            "$.tables[0].fields[1].name", "field a is declared twice"
        ),
        (
            #"{"kind": "k", "tables": [{"name": "t", "records": "mutable", "scope": "district", "fields": []}, {"name": "t", "records": "mutable", "scope": "district", "fields": []}]}"#,
            "$.tables[1].name", "table t is declared twice"
        ),
    ])
    func aBadDeclarationIsRefusedNamingWhereAndWhy(text: String, path: String, reason: String) {
        #expect(throws: KindDeclarationV1.Invalid.self) { try KindDeclarationV1.decode(Array(text.utf8)) }
        do {
            _ = try KindDeclarationV1.decode(Array(text.utf8))
        } catch {
            #expect(error.path == path)
            #expect(error.reason.hasPrefix(reason), "\(error.reason)")
        }
        #expect(throws: Never.self) { try KindDeclarationV1.decode(Array(Self.minimal.utf8)) }
    }
}
