import ArgumentParser
import CaseDomain
import ConsoleText
import Foundation
import PolicyDomain
import PolicyStore
import ReplicaStore
import SyncClient
import SyncCore

/// The bank file of a payment batch: `name, credit_code, bank, account, amount_fen` (what
/// the bank needs), then `grant` and `batch` (what `rain grant paid` reads back), UTF-8
/// with a BOM (so that a spreadsheet shows the Chinese names).
enum BatchFile {
    static let columns = ["name", "credit_code", "bank", "account", "amount_fen", "grant", "batch"]

    static func cell(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func text(batch: String, lines: [PaymentBatchWire.Line]) -> String {
        var text = "\u{FEFF}" + columns.joined(separator: ",") + "\r\n"
        for line in lines {
            text +=
                [line.name ?? "", line.creditCode, line.bank ?? "", line.account ?? "", String(line.amountFen), line.id, batch].map(cell)
                .joined(separator: ",") + "\r\n"
        }
        return text
    }

    /// The batch and its grants, read back; or why the file is not a batch file.
    static func read(_ bytes: [UInt8], _ out: Output) throws -> (batch: String, grants: [String]) {
        func refuse(_ zh: String, _ en: String) -> CommandFailure {
            CommandFailure(message: out.text("无法读取批次文件：" + zh, "cannot read the batch file: " + en), code: 2)
        }
        let table: CSVTable
        do { table = try CSVTable(try TextDecoding.decode(bytes).text) } catch let error as TextDecoding.Failure {
            throw refuse(error.message(true), error.message(false))
        } catch let error as CSVTable.Failure {
            throw refuse(error.message(true), error.message(false))
        }
        let header = table.header.fields.map { String($0.trimmingSpaces).lowercased() }
        guard let grant = header.firstIndex(of: "grant"), let batchColumn = header.firstIndex(of: "batch") else {
            throw refuse(
                "缺少 grant 或 batch 列（应为 rain grant export 写出的文件）", "it has no grant or batch column (is it a file rain grant export wrote?)")
        }
        var batches: Set<String> = []
        var grants: [String] = []
        for row in table.rows {
            guard row.fields.count > max(grant, batchColumn) else { throw refuse("第 \(row.line) 行缺少列", "line \(row.line) lacks columns") }
            grants.append(String(row.fields[grant].trimmingSpaces))
            batches.insert(String(row.fields[batchColumn].trimmingSpaces))
        }
        guard batches.count == 1, let batch = batches.first, !batch.isEmpty else {
            throw refuse("文件中应只有一个批次", "the file must hold exactly one batch")
        }
        return (batch, grants)
    }
}

struct ExportGrants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Reserve the approved, unpaid grants on the server and write the bank's payment file.",
        discussion: """
            Needs the server: offline replicas cannot know what another office exported, so
            the server reserves the batch's grants atomically — two offices exporting at the
            same moment never share a grant, and no grant is ever in two batches. The
            command syncs first (so the server sees this office's approvals), reserves,
            writes FILE, and syncs again (so the replica holds the reservation). Offline it
            refuses and writes nothing.
            FILE has the columns name, credit_code, bank, account, amount_fen (for the bank),
            then grant and batch (for `rain grant paid`); UTF-8 with a BOM. An existing FILE
            is never overwritten. --again BATCH writes a batch reserved before once more.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("batch"), help: "The payment file to write (CSV).") var file: String
    @Option(help: "Write this batch, reserved before, again instead of reserving a new one.") var again: String?
    @Flag(help: "Print {\"batch\", \"grants\", \"amount_fen\", \"file\"} as JSON.") var json = false

    func run() async throws {
        try await runningAsync(global) {
            let store = try global.open()
            let out = global.output
            guard !FileManager.default.fileExists(atPath: file) else {
                throw CommandFailure(message: out.text("文件已存在，不会覆盖（\(file)）", "the file exists and is not overwritten (\(file))"), code: 2)
            }
            let state = try store.syncState()
            guard let server = state.server, let credential = state.credential else {
                throw CommandFailure(
                    message: out.text(
                        "无法生成兑付批次：需要服务器预留资金（防止两个办公室支付同一笔），而本副本尚未登记到服务器",
                        "cannot produce a payment batch: the server must reserve its grants (so that two offices never pay the same one), and this replica is not enrolled with a server"
                    ), code: 2)
            }
            let transport = try HTTPTransport(
                server: server, credential: credential, caCertificates: state.caCertificates, insecure: state.insecure)
            try await shuttingDown(transport) {
                func offline(_ reason: String) -> CommandFailure {
                    CommandFailure(
                        message: out.text(
                            "无法生成兑付批次：连不上服务器（\(reason)）。批次必须由服务器预留，离线时不能生成；联网后重试。未写出任何文件（若连接中断前服务器已预留批次，下次同步后 rain grant list --json 可见其批次号，用 --again 批次号 写出）",
                            "cannot produce a payment batch: the server cannot be reached (\(reason)). A batch must be reserved by the server, so none is made offline; try again when online. No file was written (if the server had reserved one before the connection broke, rain grant list --json shows its batch after the next sync: write it with --again BATCH)"
                        ), code: 6)
                }
                let driver = SyncDriver(store: store, transport: transport, policy: .init(attempts: 3))
                do { _ = try await driver.run { _ in } } catch let failure as SyncFailure { throw offline(failure.message) }
                let answer: (batch: String?, lines: [PaymentBatchWire.Line])
                do {
                    let bytes = try await transport.post("/payment-batches", json: PaymentBatchWire.encodeRequest(batch: again))
                    answer = try PaymentBatchWire.decodeResponse(bytes)
                } catch let error as SyncClientError {
                    if case .unreachable(_, let reason) = error { throw offline(reason) }
                    throw CommandFailure(message: out.text("服务器拒绝：", "the server refused: ") + error.description, code: 7)
                } catch let error as PaymentBatchWire.Invalid {
                    throw CommandFailure(message: "cannot read the server's answer: \(error.description)", code: 1)
                }
                guard let batch = answer.batch, !answer.lines.isEmpty else {
                    if json {
                        print(
                            JSONOut.render(
                                .object([
                                    ("batch", .string(nil)), ("grants", .integer(0)), ("amount_fen", .integer(0)), ("file", .string(nil)),
                                ])))
                    } else {
                        print(
                            out.text(
                                "没有可兑付的资金（已审批、未兑付、未在其他批次中）；未写出文件", "no grant to pay (approved, unpaid, in no other batch); no file written")
                        )
                    }
                    return
                }
                let total = answer.lines.reduce(Int64(0)) { $0 + $1.amountFen }
                do {
                    try Data(BatchFile.text(batch: batch, lines: answer.lines).utf8).write(
                        to: URL(fileURLWithPath: file), options: .withoutOverwriting)
                } catch {
                    throw CommandFailure(
                        message: out.text(
                            "批次 \(batch) 已预留，但无法写出文件（\(file)）：\(error.localizedDescription)；用 --again \(batch) 重新写出",
                            "batch \(batch) is reserved, but the file cannot be written (\(file)): \(error.localizedDescription); write it with --again \(batch)"
                        ),
                        code: 1)
                }
                // The reservation into this replica (a failure here loses nothing: the next sync brings it).
                _ = try? await driver.run { _ in }
                if json {
                    print(
                        JSONOut.render(
                            .object([
                                ("batch", .string(batch)), ("grants", .integer(Int64(answer.lines.count))), ("amount_fen", .integer(total)),
                                ("file", .string(file)),
                            ])))
                } else {
                    print(
                        out.text(
                            "兑付批次 \(batch)：\(answer.lines.count) 笔，共 \(Benefit.yuan(total))，已写出 \(file)",
                            "payment batch \(batch): \(answer.lines.count) grant(s), \(Benefit.yuan(total)) in all, written to \(file)"))
                }
            }
        }
    }
}

struct RecordPaid: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paid",
        abstract: "Record a payment batch the bank paid, with the bank's reference.",
        discussion: """
            Reads the file `rain grant export` wrote. Every grant in it must be reserved for
            its batch, approved and never paid; otherwise nothing is recorded. Works offline:
            the same batch recorded on two replicas becomes a conflict that blocks the grants
            until a person settles it (rain conflicts, rain resolve).
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("batch"), help: "The batch file rain grant export wrote.") var file: String
    @Option(help: "The bank's reference for the payment (付款凭证号).") var reference: String
    @Flag(help: "Print {\"batch\", \"grants\", \"amount_fen\"} as JSON.") var json = false

    func run() throws {
        try running(global) {
            let out = global.output
            guard let data = FileManager.default.contents(atPath: file), data.count <= 64 << 20 else {
                throw CommandFailure(message: out.text("无法读取文件 \(file)", "cannot read the file \(file)"), code: 2)
            }
            let (batch, grants) = try BatchFile.read(Array(data), out)
            let paid = try global.open().recordPaid(grants, batch: batch, reference: reference)
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("batch", .string(paid.batch)), ("grants", .integer(Int64(paid.grants))),
                            ("amount_fen", .integer(paid.amountFen)),
                        ])))
            } else {
                print(
                    out.text(
                        "已登记兑付：批次 \(paid.batch)，\(paid.grants) 笔，共 \(Benefit.yuan(paid.amountFen))",
                        "recorded as paid: batch \(paid.batch), \(paid.grants) grant(s), \(Benefit.yuan(paid.amountFen)) in all"))
            }
        }
    }
}

/// Runs `body`, then shuts `transport` down, however `body` ends.
func shuttingDown<T>(_ transport: HTTPTransport, _ body: () async throws -> T) async throws -> T {
    do {
        let result = try await body()
        await transport.shutdown()
        return result
    } catch {
        await transport.shutdown()
        throw error
    }
}
