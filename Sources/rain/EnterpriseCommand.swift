import ArgumentParser
import CaseDomain
import ConsoleText
import Foundation
import PolicyDomain
import PolicyStore
import ReplicaStore

struct EnterpriseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enterprise",
        abstract: "Import and find enterprises of the registry (企业名录).",
        subcommands: [ImportEnterprises.self, FindEnterprises.self]
    )
}

struct ImportEnterprises: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import enterprises from a CSV file (UTF-8 with or without BOM, or GB18030).",
        discussion: """
            A header row names the columns, in any order: name, credit_code, street (required),
            industry, size, founded, employees, revenue, tax_paid, tags (separated by ; or ；),
            legal_rep, bank, account, contact; other columns are ignored with a warning. Every
            row is checked (the credit code by GB 32100-2015) before anything is written; a
            rejected row is listed with its line and reason, and then nothing is imported
            unless --partial. A street office imports its own street's enterprises.
            --json prints {"imported": N, "unchanged": N, "rejected": [{"line": L, "reason": "…"}]}.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The CSV file.") var file: String
    @Flag(help: "Import the good rows even when some are rejected.") var partial = false
    @Flag(help: "Print the outcome as JSON.") var json = false

    /// Larger files are refused before reading: a district's registry is far smaller.
    static let maximumBytes = 64 << 20

    func run() throws {
        try running(global) {
            let out = global.output
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            guard let size = attributes?[.size] as? Int, attributes?[.type] as? FileAttributeType == .typeRegular else {
                throw CommandFailure(message: out.text("无法读取文件 \(file)", "cannot read the file \(file)"), code: 2)
            }
            guard size <= Self.maximumBytes, let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure(
                    message: out.text("无法导入：文件超过 64 MiB 或不可读（\(file)）", "cannot import: the file is over 64 MiB or unreadable (\(file))"),
                    code: 2)
            }
            let parsed: EnterpriseImport
            do { parsed = try EnterpriseImport(Array(data)) } catch let error as EnterpriseImport.Failure {
                throw CommandFailure(message: error.message(out.language) + " (\(file))", code: 2)
            }
            for column in parsed.ignoredColumns {
                FileHandle.standardError.write(
                    Data(("rain: " + out.text("忽略未知的列 \(column)", "ignoring the unknown column \(column)") + "\n").utf8))
            }
            let result = try global.open().importEnterprises(parsed, partial: partial)
            let refused = !partial && !result.rejected.isEmpty
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("imported", .integer(Int64(result.imported))), ("unchanged", .integer(Int64(result.unchanged))),
                            (
                                "rejected",
                                .array(
                                    result.rejected.map {
                                        .object([("line", .integer(Int64($0.line))), ("reason", .string($0.reason.message(out.language)))])
                                    })
                            ),
                        ])))
            } else {
                for rejected in result.rejected {
                    print(out.text("第 \(rejected.line) 行：", "line \(rejected.line): ") + rejected.reason.message(out.language))
                }
                if refused {
                    print(
                        out.text(
                            "未导入：\(result.rejected.count) 行被拒绝；改正后重试，或加 --partial 只导入合格的行",
                            "nothing imported: \(result.rejected.count) row(s) rejected; fix them, or add --partial to import the good rows"
                        ))
                } else {
                    print(
                        out.text(
                            "导入 \(result.imported) 家企业，\(result.unchanged) 家未变，拒绝 \(result.rejected.count) 行",
                            "\(result.imported) enterprise(s) imported, \(result.unchanged) unchanged, \(result.rejected.count) row(s) rejected"
                        ))
                }
            }
            if refused { throw ExitCode(2) }
        }
    }
}

/// An enterprise as `--json` prints it: account and contacts masked unless revealed.
func enterpriseJSON(_ row: EnterpriseRow, reveal: Bool) -> JSONOut.Node {
    .object([
        ("credit_code", .string(row.creditCode)), ("name", .string(row.name)), ("street", .string(row.street)),
        ("industry", .string(row.industry)), ("size", .string(row.size)), ("founded", .string(row.founded)),
        ("employees", .integer(row.employees)), ("revenue", .integer(row.revenue)), ("tax_paid", .integer(row.taxPaid)),
        ("tags", .array(row.tags.map { .string($0) })), ("legal_rep", .string(reveal ? row.legalRep : row.maskedLegalRep)),
        ("bank", .string(row.bank)), ("account", .string(reveal ? row.account : row.maskedAccount)),
        ("contact", .string(reveal ? row.contact : row.contact.map { _ in "****" })),
    ])
}

struct FindEnterprises: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find",
        abstract: "Find enterprises by name, credit code or code prefix.",
        discussion: """
            A name matches however it is written: 有限公司 or 有限责任公司, full- or half-width
            brackets, with or without a province or city before it. Bank accounts, legal
            representatives and contacts are masked; --reveal shows them and is recorded
            (synced to the district) for each enterprise shown.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A name, a credit code or its first characters.") var text: String
    @Flag(help: "Show accounts and contacts unmasked (recorded).") var reveal = false
    @Flag(help: "Print an array of enterprises as JSON.") var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let out = global.output
            let rows = try store.findEnterprises(text)
            if reveal { try store.recordEnterpriseReveal(rows, command: "enterprise find") }
            if json {
                print(JSONOut.render(.array(rows.map { enterpriseJSON($0, reveal: reveal) })))
                return
            }
            if rows.isEmpty {
                print(out.text("没有找到企业", "no enterprise found"))
                return
            }
            out.table(
                [
                    out.text("统一社会信用代码", "credit code"), out.text("名称", "name"), out.text("街道", "street"), out.text("规模", "size"),
                    out.text("开户行", "bank"), out.text("账号", "account"), out.text("标签", "tags"),
                ],
                rows.map {
                    [
                        $0.creditCode, $0.name, $0.street, $0.size.flatMap(EnterpriseSize.init(rawValue:))?.label(out.language) ?? "",
                        $0.bank ?? "", (reveal ? $0.account : $0.maskedAccount) ?? "", $0.tags.joined(separator: ";"),
                    ]
                })
        }
    }
}
