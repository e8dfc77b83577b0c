import ArgumentParser
import CaseDomain
import CaseStore
import ConsoleText
import Foundation
import ReplicaStore
import SuggestionDomain
import SuggestionStore
import SyncCore

/// Masks the fields that hold residents' personal data.
func masked(_ text: String, field: String) -> String {
    switch field {
    case "citizen_name": Masking.name(text)
    case "phone": Masking.phone(text)
    case "address": Masking.address(text)
    default: text
    }
}

func display(_ value: Value, field: String, reveal: Bool, language: Language) -> String {
    switch value {
    case .null: return language == .zh ? "（空）" : "(empty)"
    case .bool(let flag): return flag ? "true" : "false"
    case .integer(let number): return String(number)
    case .timestamp(let millis): return formatTime(millis)
    case .text(let text): return reveal ? text : masked(text, field: field)
    }
}

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every field whose concurrent edits left more than one value.",
        discussion: """
            Each value is shown with its author, the office and replica that wrote it and when; the
            current winner is the value every replica shows until someone settles the
            conflict with `rain resolve`. Personal data is masked unless --reveal.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Show residents' data unmasked.") var reveal = false
    @Flag(help: "Print an array of {\"case\", \"field\", \"values\", \"winner\"} as JSON.") var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let out = global.output
            let offices = try store.replicaOffices()
            var rows: [(number: String, field: String, values: [(index: Int, sibling: Sibling)], winner: Int)] = []
            let conflicts = try store.conflicts()
            if reveal {
                let cases = Set(conflicts.filter { $0.record.table == "cases" }.map(\.record.id)).sorted()
                try store.recordReveal(ofCases: cases, command: "conflicts")
            }
            for conflict in conflicts {
                let number =
                    switch conflict.record.table {
                    case "cases": (try? store.findCase(conflict.record.id))?.number ?? conflict.record.id
                    // A suggestion by its case's number for the fields only it has (`rain resolve
                    // NUMBER stage …`); by TABLE/ID for those a case has too (title, category…).
                    case "suggestions" where !Resolve.caseFields.contains(conflict.field):
                        (try? store.findSuggestion(conflict.record.id))?.number ?? conflict.record.description
                    default: conflict.record.description
                    }
                let winner = (conflict.siblings.firstIndex { $0.dot == conflict.winner.dot } ?? 0) + 1
                rows.append((number, conflict.field, conflict.siblings.enumerated().map { ($0.offset + 1, $0.element) }, winner))
            }
            if json {
                print(
                    JSONOut.render(
                        .array(
                            rows.map { row in
                                .object([
                                    ("case", .string(row.number)), ("field", .string(row.field)),
                                    (
                                        "values",
                                        .array(
                                            row.values.map { entry in
                                                .object([
                                                    ("keep", .integer(Int64(entry.index))),
                                                    (
                                                        "value",
                                                        .string(
                                                            display(
                                                                entry.sibling.value, field: row.field, reveal: reveal,
                                                                language: out.language))
                                                    ),
                                                    ("author", .string(entry.sibling.author)),
                                                    ("replica", .string(entry.sibling.dot.replica.rawValue)),
                                                    ("office", .string(offices[entry.sibling.dot.replica])),
                                                    ("at", .integer(Int64(entry.sibling.hlc.wall))),
                                                ])
                                            })
                                    ),
                                    ("winner", .integer(Int64(row.winner))),
                                ])
                            })))
                return
            }
            if rows.isEmpty {
                print(out.text("没有冲突", "no conflicts"))
                return
            }
            out.table(
                [
                    out.text("案件", "case"), out.text("字段", "field"), "#", out.text("值", "value"), out.text("人员", "by"),
                    out.text("单位", "office"), out.text("副本", "replica"), out.text("时间", "when"),
                ],
                rows.flatMap { row in
                    row.values.map { entry in
                        [
                            row.number, row.field, String(entry.index) + (entry.index == row.winner ? "*" : ""),
                            display(entry.sibling.value, field: row.field, reveal: reveal, language: out.language), entry.sibling.author,
                            offices[entry.sibling.dot.replica] ?? "?", String(entry.sibling.dot.replica.rawValue.prefix(8)),
                            formatTime(Int64(entry.sibling.hlc.wall)),
                        ]
                    }
                })
            print(
                out.dim(
                    out.text(
                        "* 当前显示的值；用 rain resolve 案件 字段 --keep N 或 --value 值 解决",
                        "* the value shown now; settle with rain resolve CASE FIELD --keep N or --value V")))
        }
    }
}

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Settle a conflicted field: keep one of its values, or write a new one.",
        discussion: "The resolution supersedes every value listed, so the conflict is gone everywhere once synced."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(
        help:
            "A case number, an id, or a unique prefix; for a suggestion's pipeline field (stage, decision_reason, …) the suggestion's number; for another record TABLE/ID as `rain conflicts` lists it."
    ) var reference: String
    @Argument(help: "The field, as `rain conflicts` names it (e.g. title, phone, status, stage).") var field: String
    @Option(help: "Write this text as the field's value.") var value: String?
    @Option(help: "Keep value number N as `rain conflicts` numbers them.") var keep: Int?

    func validate() throws {
        guard (value == nil) != (keep == nil) else { throw ValidationError("give exactly one of --value and --keep") }
        if let keep, keep < 1 { throw ValidationError("--keep must be 1 or more") }
    }

    func run() throws {
        try running(global) {
            let store = try global.open()
            let key = try Self.record(reference, field: field, in: store)
            let resolution: Resolution = keep.map { .keep($0) } ?? .value(.text(value ?? ""))
            let out = global.output
            do {
                try store.resolve(field, of: key.key, with: resolution)
                if key.key.table == "suggestions", field == "stage" { try store.settledSuggestionStage(key.key.id) }
            } catch let error as ReplicaStoreError {
                if case .sync(.noSuchSibling(_, _, let number)) = error {
                    throw CommandFailure(
                        message: out.text(
                            "无法解决：字段 \(field) 没有第 \(number) 个值", "cannot resolve: field \(field) has no value number \(number)"),
                        code: 2)
                }
                if case .sync(.unknownField) = error {
                    throw CommandFailure(
                        message: out.text("无法解决：案件没有字段 \(field)", "cannot resolve: the case has no field \(field)"), code: 2)
                }
                throw error
            }
            print(global.output.text("已解决 ", "settled ") + key.label + " · " + field)
        }
    }

    /// The fields of a case (a suggestion's fields of the same names are named TABLE/ID).
    static let caseFields = Set(CaseRecords.kind.tables[0].fields.map(\.name))

    /// The record `reference` names for `field`: `TABLE/ID`; a suggestion's pipeline record
    /// for a field only suggestions have; else a case.
    static func record(_ reference: String, field: String, in store: ReplicaStore) throws -> (key: RecordKey, label: String) {
        let tables = Set(store.schema.tables.keys)
        if let slash = reference.firstIndex(of: "/"), tables.contains(String(reference[..<slash])) {
            let key = RecordKey(table: String(reference[..<slash]), id: String(reference[reference.index(after: slash)...]))
            return (key, reference)
        }
        let suggestionFields = Set(SuggestionRecords.kind.tables.first { $0.name == "suggestions" }?.fields.map(\.name) ?? [])
        if !caseFields.contains(field), suggestionFields.contains(field) {
            let row = try store.findSuggestion(reference)
            return (row.key, row.number)
        }
        let row = try store.findCase(reference)
        return (row.key, row.number ?? row.id)
    }
}
