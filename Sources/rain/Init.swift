import ArgumentParser
import CaseDomain
import CaseStore
import ConsoleText
import Foundation
import PolicyStore
import ReplicaStore
import SuggestionStore
import SyncCore
import SyncProtocol

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create this office's replica, offline or enrolled with a server.",
        discussion: """
            Creates the replica file with mode 0600 and a fresh random 128-bit replica id.
            With --server and --token it also enrols with the server (the token comes from
            `rain-server office add` or `office token`); without them the replica works
            offline and can enrol later with `rain enrol`, keeping its work.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "The office code, e.g. HSM (letters and digits; it starts every case number).")
    var office: String

    @Option(help: "Your name, recorded as the author of your changes.")
    var staff: String

    @Option(help: "The server to enrol with, e.g. http://127.0.0.1:8080 (with --token).")
    var server: String?

    @Option(help: "The one-time enrolment token (with --server).")
    var token: String?

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Print {\"replica\": …, \"office\": …, \"path\": …} as JSON.")
    var json = false

    func validate() throws {
        guard !office.isEmpty, office.count <= 12, office.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw ValidationError("--office must be 1 to 12 letters or digits, e.g. HSM")
        }
        guard !staff.trimmingCharacters(in: .whitespaces).isEmpty, staff.count <= 40 else {
            throw ValidationError("--staff must be your name (1 to 40 characters)")
        }
        if (server == nil) != (token == nil) { throw ValidationError("--server and --token go together") }
        if let server { try checkServer(server, insecure: connection.insecure) }
    }

    func run() async throws {
        try await runningAsync(global) {
            let store = try ReplicaStore.create(
                at: global.path, office: office.uppercased(), staff: staff.trimmingCharacters(in: .whitespaces),
                also: [PolicyProjection(), SuggestionProjection()])
            // Closed on the way out: no write-ahead log left beside the new file.
            defer { store.close() }
            let out = global.output
            var enrolled: String?
            if let server, let token {
                do {
                    let answer = try await enrol(store, server: server, token: token, connection: connection, language: out.language)
                    enrolled = answer.officeName
                } catch {
                    // Nothing was recorded in the new file: remove it, so that `rain init` can be run again.
                    try? FileManager.default.removeItem(atPath: store.path)
                    for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store.path + suffix) }
                    throw error
                }
            }
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("replica", .string(store.identity.replica.rawValue)), ("office", .string(store.identity.office)),
                            ("path", .string(store.path)), ("server", .string(server)),
                        ])))
            } else {
                print(out.text("已创建副本：\(store.path)", "created the replica: \(store.path)"))
                let officeKind = officeLabel(level: try store.syncState().officeLevel, .zh)
                print(
                    out.text(
                        "副本编号 \(store.identity.replica.rawValue) · \(officeKind) \(store.identity.office) · 工作人员 \(store.identity.staff)",
                        "replica \(store.identity.replica.rawValue) · office \(store.identity.office) · staff \(store.identity.staff)"))
                if let server, let enrolled {
                    print(out.text("已登记到 \(server)（\(enrolled)）；用 rain sync 同步", "enrolled with \(server) (\(enrolled)); run rain sync"))
                }
            }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show this replica: id, office, staff, server, last sync, changes not yet synced, conflicts.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print as JSON.")
    var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let unsynced = try store.unsyncedCount()
            let cases = try store.caseCount()
            let sync = try store.syncState()
            let conflicts = try store.conflicts().count
            let withheld = try store.withheldChanges()
            let former = try store.formerIdentities()
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("replica", .string(store.identity.replica.rawValue)), ("office", .string(store.identity.office)),
                            ("staff", .string(store.identity.staff)), ("path", .string(store.path)),
                            ("unsynced", .integer(Int64(unsynced))), ("cases", .integer(Int64(cases))),
                            ("server", .string(sync.server)), ("last_sync", .integer(sync.lastSyncAt)),
                            ("conflicts", .integer(Int64(conflicts))), ("withheld", .integer(Int64(withheld.count))),
                            ("restored", .bool(sync.restoredAt != nil || sync.successor != nil)),
                            (
                                "former_identities",
                                .array(
                                    former.map {
                                        .object([
                                            ("replica", .string($0.predecessor.rawValue)), ("reissued", .integer(Int64($0.reissued))),
                                            ("at", .integer($0.at)),
                                        ])
                                    })
                            ),
                        ])))
            } else {
                let out = global.output
                print(out.text("副本：", "replica: ") + store.identity.replica.rawValue)
                print(out.text("\(officeLabel(level: sync.officeLevel, .zh))：", "office:  ") + store.identity.office)
                print(out.text("人员：", "staff:   ") + store.identity.staff)
                print(out.text("文件：", "file:    ") + store.path)
                print(out.text("案件：\(cases)", "cases:   \(cases)"))
                print(out.text("服务器：", "server:  ") + (sync.server ?? out.text("未登记（离线）", "not enrolled (offline)")))
                print(
                    out.text("上次同步：", "last sync: ")
                        + (sync.lastSyncAt.map(formatTime) ?? out.text("从未", "never")))
                print(out.text("未同步的变更：\(unsynced)", "changes not yet synced: \(unsynced)"))
                print(out.text("冲突：\(conflicts)", "conflicts: \(conflicts)"))
                if sync.restoredAt != nil || sync.successor != nil {
                    print(
                        out.text(
                            "本文件是其自身的旧副本（从备份恢复？）：下次 rain sync 将以新身份重新签发此后的工作",
                            "this file is an older copy of itself (restored from a backup?): the next rain sync re-issues the work done since under a fresh identity"
                        ))
                }
                for identity in former {
                    print(
                        out.text(
                            "曾用身份：\(identity.predecessor)（恢复后于 \(formatTime(identity.at)) 重新签发 \(identity.reissued) 项变更）",
                            "former identity: \(identity.predecessor) (\(identity.reissued) changes re-issued after a restore, \(formatTime(identity.at)))"
                        ))
                }
                if !withheld.isEmpty {
                    let cases = Array(Set(withheld.map { $0.number ?? $0.record })).sorted()
                    print(
                        out.text(
                            "被服务器拒绝的变更：\(withheld.count)（超出本单位管辖范围：\(cases.joined(separator: "、"))）",
                            "changes the server refused: \(withheld.count) (outside this office's jurisdiction: \(cases.joined(separator: ", ")))"
                        ))
                    print(
                        out.text(
                            "  这些变更保留在本机、不会再发送；如确需修改，请联系负责该案件的单位或区管理员",
                            "  they are kept here and not sent again; to change these cases, ask the office handling them or the district administrator"
                        ))
                }
            }
        }
    }
}
