import ArgumentParser
import CaseDomain
import CaseStore
import ConsoleText
import Foundation
import ReplicaStore
import SyncClient
import SyncCore
import SyncProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs an async command body, printing any error in the user's language with its exit code.
func runningAsync(_ global: GlobalOptions, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        let (message, code) = describe(error, global.language)
        FileHandle.standardError.write(Data(("rain: " + message + "\n").utf8))
        throw ExitCode(code)
    }
}

/// How to reach the server: `--ca-file` and `--insecure`, taken by `init` and `enrol`.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "PEM certificates of the CA that signed the server's certificate (for https with the district's own CA).")
    var caFile: String?

    @Flag(help: "Allow plain http to a server that is not this machine (credentials and data travel unencrypted).")
    var insecure = false

    /// The CA certificates' text, read once: they are kept in the replica file.
    func caCertificates() throws -> String? {
        guard let caFile else { return nil }
        guard let data = FileManager.default.contents(atPath: caFile), let text = String(data: data, encoding: .utf8),
            text.contains("-----BEGIN CERTIFICATE-----")
        else { throw ValidationError("--ca-file: cannot read PEM certificates from \(caFile)") }
        return text
    }
}

/// Enrols `store` with the server: exchanges the token for a credential kept in the file.
func enrol(_ store: ReplicaStore, server: String, token: String, connection: ConnectionOptions, language: Language) async throws
    -> EnrolResponseV1
{
    do {
        return try await Enrolment.enrol(
            store, server: server, token: token, caCertificates: try connection.caCertificates(), insecure: connection.insecure)
    } catch let mismatch as Enrolment.WrongOffice {
        throw CommandFailure(
            message: language == .zh
                ? "无法登记：该登记码属于 \(mismatch.token)，而本副本属于 \(mismatch.replica)；请向区管理员索取 \(mismatch.replica) 的登记码"
                : "cannot enrol: the token is for office \(mismatch.token), this replica belongs to \(mismatch.replica); ask for a token of \(mismatch.replica)",
            code: 7)
    }
}

struct Enrol: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enrol this replica with a server, keeping the work recorded offline.",
        discussion: """
            Exchanges a one-time enrolment token (from `rain-server office add` or
            `rain-server office token`) for this replica's credential, kept in the replica
            file (mode 0600). The token must be for this replica's office. Then `rain sync`.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The server, e.g. http://127.0.0.1:8080.") var server: String
    @Option(help: "The one-time enrolment token.") var token: String
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        try checkServer(server, insecure: connection.insecure)
    }

    func run() async throws {
        try await runningAsync(global) {
            let store = try global.open()
            let out = global.output
            if let existing = try store.syncState().server {
                throw CommandFailure(
                    message: out.text(
                        "本副本已登记到 \(existing)；无需再次登记", "this replica is already enrolled with \(existing); nothing to do"), code: 2)
            }
            let answer = try await enrol(store, server: server, token: token, connection: connection, language: out.language)
            print(
                out.text(
                    "已登记：\(answer.officeName)（\(answer.office)）· 服务器 \(server)；用 rain sync 同步",
                    "enrolled: \(answer.officeName) (\(answer.office)) · server \(server); run rain sync"))
        }
    }
}

/// Validates a server URL for `--server`.
func checkServer(_ server: String, insecure: Bool) throws {
    do {
        try HTTPTransport.validate(server: server, insecure: insecure)
    } catch {
        throw ValidationError("--server: \(error.description)")
    }
}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send this replica's changes to the server and receive everyone else's.",
        discussion: """
            Pushes what the server has not acknowledged, then pulls what this replica lacks,
            in batches. Each page is applied in one transaction with its position, so an
            interrupted sync (network, power, Ctrl-C) loses nothing and the next `rain sync`
            resumes where it stopped. Network failures are retried with a growing wait
            (--attempts). On a terminal, a progress line appears for syncs longer than a second.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print {\"sent\", \"received\", \"conflicts\"} as JSON.") var json = false
    @Option(help: "Attempts per request before giving up (1 to 20).") var attempts = 5
    @Option(help: "Seconds to wait for each request.") var timeout = 60

    func validate() throws {
        guard (1...20).contains(attempts) else { throw ValidationError("--attempts must be from 1 to 20") }
        guard (1...600).contains(timeout) else { throw ValidationError("--timeout must be from 1 to 600 seconds") }
    }

    func run() async throws {
        try await runningAsync(global) {
            var store = try global.open()
            let out = global.output
            let state = try store.syncState()
            guard let server = state.server, let credential = state.credential else {
                throw CommandFailure(
                    message: out.text(
                        "本副本尚未登记到服务器；先运行 rain enrol --server 地址 --token 登记码",
                        "this replica is not enrolled with a server; run rain enrol --server URL --token TOKEN first"), code: 2)
            }
            var transport = try HTTPTransport(
                server: server, credential: credential, timeoutSeconds: Int64(timeout), caCertificates: state.caCertificates,
                insecure: state.insecure)
            let terminal = isatty(STDERR_FILENO) == 1
            let started = ContinuousClock.now
            let progressLine = ProgressLine(enabled: terminal, language: out.language)
            var recovery: RecoveryReport?
            // A file that is an older copy of itself (§9.8) first takes a fresh identity.
            func recover() async throws {
                let report = try await SyncDriver.recover(store: store, transport: transport)
                store = report.store
                transport = report.transport
                recovery = report
                HighWater.track(report.store)
                if !json { print(Self.explain(report, language: out.language)) }
            }
            let report: SyncReport
            do {
                if state.restoredAt != nil || state.successor != nil { try await recover() }
                while true {
                    var driver = SyncDriver(store: store, transport: transport, policy: .init(attempts: attempts))
                    driver.pushChanges = Self.environmentInteger("RAIN_SYNC_BATCH") ?? driver.pushChanges
                    driver.pullChanges = Self.environmentInteger("RAIN_SYNC_PAGE") ?? driver.pullChanges
                    do {
                        report = try await driver.run { progress in
                            if ContinuousClock.now - started > .seconds(1) { progressLine.show(progress) }
                        }
                        break
                    } catch let failure as SyncFailure where failure.restored && recovery == nil {
                        progressLine.clear()
                        try await recover()
                    }
                }
            } catch let failure as SyncFailure {
                await transport.shutdown()
                progressLine.clear()
                throw CommandFailure(message: Self.explain(failure, server: server, language: out.language), code: Self.exitCode(failure))
            } catch {
                await transport.shutdown()
                progressLine.clear()
                throw error
            }
            await transport.shutdown()
            // What arrived is committed; the search index catches up after it, off the
            // sync's transactions (a failure here loses nothing: `case find` retries it).
            if terminal, try store.pendingSearchCount() > 2_000 {
                try store.updateSearchIndex { done in
                    FileHandle.standardError.write(
                        Data(("\r\u{1B}[K" + out.text("更新检索索引：\(done) 件", "updating the search index: \(done) cases")).utf8))
                }
                FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            } else {
                try store.updateSearchIndex()
            }
            progressLine.clear()
            if json {
                print(
                    JSONOut.render(
                        .object(
                            [
                                ("sent", .integer(Int64(report.sent))), ("received", .integer(Int64(report.received))),
                                ("conflicts", .integer(Int64(report.conflicts))),
                                // Own changes the server refused as outside this office's
                                // jurisdiction (kept here; `rain status` lists them).
                                ("withheld", .integer(Int64(report.withheld))),
                            ]
                                + (recovery.map { recovery in
                                    [
                                        (
                                            "recovered",
                                            JSONOut.Node.object([
                                                ("from", .string(recovery.result.predecessor.rawValue)),
                                                ("replica", .string(recovery.result.successor.rawValue)),
                                                ("reissued", .integer(Int64(recovery.result.reissued))),
                                                ("same", .integer(Int64(recovery.result.same))),
                                            ])
                                        )
                                    ]
                                } ?? []))))
            } else {
                print(
                    out.text(
                        "已发送 \(report.sent) · 已接收 \(report.received) · 冲突 \(report.conflicts)",
                        "sent \(report.sent) · received \(report.received) · conflicts \(report.conflicts)"))
                if report.conflicts > 0 {
                    print(out.dim(out.text("用 rain conflicts 查看冲突", "see them with rain conflicts")))
                }
                if report.withheld > 0 {
                    print(
                        out.text(
                            "服务器拒绝了 \(report.withheld) 项超出本单位管辖范围的变更，已保留在本机；用 rain status 查看",
                            "the server refused \(report.withheld) changes outside this office's jurisdiction; they are kept here: see rain status"
                        ))
                }
            }
        }
    }

    static func environmentInteger(_ name: String) -> Int? {
        guard let text = ProcessInfo.processInfo.environment[name], let value = Int(text), value >= 1 else { return nil }
        return value
    }

    static func exitCode(_ failure: SyncFailure) -> Int32 {
        guard let error = failure.error else { return 1 }
        return error.isTransient ? 6 : 7
    }

    /// What a recovery did, in one paragraph.
    static func explain(_ recovery: RecoveryReport, language: Language) -> String {
        let result = recovery.result
        let back = recovery.holds > result.same ? recovery.holds - result.same : 0
        return language == .zh
            ? "本副本文件是其自身的旧副本（从备份恢复？）：恢复后新做的 \(result.reissued) 项变更已以新身份 \(result.successor) 重新签发，什么也没有丢失；服务器上本文件缺少的 \(back) 项旧变更将随本次同步取回"
            : "this replica file is an older copy of itself (restored from a backup?): the \(result.reissued) changes made on it since were re-issued under a fresh identity \(result.successor), nothing is lost; the \(back) earlier changes the server holds and this file lacked come back with this sync"
    }

    /// What happened and what to do, for each failure a user will meet.
    static func explain(_ failure: SyncFailure, server: String, language: Language) -> String {
        let zh = language == .zh
        let done =
            failure.progress.sent + failure.progress.received > 0
            ? (zh
                ? "（此前已发送 \(failure.progress.sent)、已接收 \(failure.progress.received)，均已保存）"
                : " (sent \(failure.progress.sent) and received \(failure.progress.received) before that, all kept)") : ""
        if failure.serverAhead {
            return zh
                ? "同步停止：服务器保存的本副本变更比本文件多——本文件可能是从备份恢复的。请勿继续在本副本上工作，联系区管理员\(done)"
                : "sync stopped: the server holds more of this replica's changes than this file does — was it restored from a backup? Stop working on this replica and contact the district administrator\(done)"
        }
        switch failure.error {
        case .unreachable(_, let reason)?:
            return zh
                ? "无法连接服务器（\(server)）：\(reason)；已尝试 \(failure.attempts) 次。工作已保存在本机，网络恢复后再运行 rain sync\(done)"
                : "cannot reach the server (\(server)): \(reason); tried \(failure.attempts) times. Your work is kept on this machine: run rain sync again when the network is back\(done)"
        case .serverFailed(let status, let message)?:
            // The server's message says which failure (a full disk, a read-only database);
            // it never holds residents' data or secrets.
            let said = message.isEmpty ? "" : (zh ? "（服务器说明：\(message)）" : " (the server says: \(message))")
            return zh
                ? "服务器出错（HTTP \(status)），已尝试 \(failure.attempts) 次\(said)；工作已保存，稍后再运行 rain sync\(done)"
                : "the server failed (HTTP \(status)) \(failure.attempts) times\(said); your work is kept: run rain sync again later\(done)"
        case .refusedCredential(let code, _)?:
            if code == "superseded" {
                return zh
                    ? "服务器拒绝了本副本：它在一次恢复后已以新身份同步过，本文件是更早的旧副本。工作已保存在本机：用 rain export --pending 文件 导出未同步的变更交给区管理员（rain-server import）\(done)"
                    : "the server refused this replica: after a restore it was re-issued under a new identity that has synced since, and this file is an even older copy. Your work is kept on this machine: write the unsynced changes to a file with rain export --pending FILE for the district administrator (rain-server import)\(done)"
            }
            if code == "revoked" {
                return zh
                    ? "服务器拒绝了本副本：其凭据已被吊销。工作已保存在本机：用 rain export --pending 文件 导出未同步的变更交给区管理员（rain-server import），再用新的登记码建立新副本（rain init）\(done)"
                    : "the server refused this replica: its credential was revoked; your work is kept on this machine: write the unsynced changes to a file with rain export --pending FILE for the district administrator (rain-server import), then start a new replica with a new token (rain init)\(done)"
            }
            return zh
                ? "服务器拒绝了本副本的凭据（错误或已失效）。请向区管理员索取新的登记码；工作已保存在本机\(done)"
                : "the server refused this replica's credential (wrong or no longer valid). Ask the district administrator for a new enrolment token; your work is kept on this machine\(done)"
        case .tls(_, let reason)?:
            return zh
                ? "无法与服务器建立安全连接：\(reason)；工作已保存在本机\(done)"
                : "cannot connect securely to the server: \(reason); your work is kept on this machine\(done)"
        case .protocolTooOld(let message)?:
            return zh
                ? "服务器不支持此版本的 rain，请升级 rain 后再同步（\(message)）\(done)"
                : "the server does not speak this version of rain: upgrade rain, then sync again (\(message))\(done)"
        case let error?:
            return (zh ? "同步失败：" : "sync failed: ") + error.description + done
        case nil:
            return zh ? "同步失败\(done)" : "sync failed\(done)"
        }
    }
}

/// The one-line progress display on a terminal (standard error, rewritten in place).
final class ProgressLine: Sendable {
    let enabled: Bool
    let language: Language
    private let shown = Mutex(false)

    init(enabled: Bool, language: Language) {
        self.enabled = enabled
        self.language = language
    }

    func show(_ progress: SyncProgress) {
        guard enabled else { return }
        shown.withLock { $0 = true }
        let kib = progress.bytes / 1024
        let line =
            language == .zh
            ? "同步中：已发送 \(progress.sent) · 已接收 \(progress.received) · \(kib) KiB"
            : "syncing: sent \(progress.sent) · received \(progress.received) · \(kib) KiB"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    func clear() {
        guard enabled, shown.withLock({ $0 }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

struct Rekey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rotate this replica's credential: the server issues a new one, kept in the replica file.",
        discussion: """
            The old credential keeps working until the new one is first used, so an
            interruption between the server's answer and saving it cannot lock the office out.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await runningAsync(global) {
            let store = try global.open()
            let out = global.output
            do {
                try await Enrolment.rekey(store)
            } catch is Enrolment.NotEnrolled {
                throw CommandFailure(
                    message: out.text("本副本尚未登记到服务器；无凭据可轮换", "this replica is not enrolled; there is no credential to rotate"), code: 2)
            }
            print(out.text("已轮换本副本的凭据；旧凭据已失效", "rotated this replica's credential; the old one no longer works"))
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write this replica's changes the server has not acknowledged to a file.",
        discussion: """
            For a replica whose credential was revoked, or that cannot reach its server: the
            file is a change batch (Protocol/PROTOCOL.md §7.2) holding every own change above
            what the server acknowledged, created with mode 0600 (it holds residents' data).
            Nothing is removed from the replica.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The file to write (it must not exist).") var pending: String
    @Flag(help: "Print {\"file\", \"changes\"} as JSON.") var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let out = global.output
            guard !FileManager.default.fileExists(atPath: pending) else {
                throw CommandFailure(
                    message: out.text("文件已存在，不会覆盖：\(pending)", "the file exists and is not overwritten: \(pending)"), code: 1)
            }
            let acked = try store.syncState().acked
            let changes = try store.ownChanges(after: acked, limit: Int.max, maximumBytes: Int.max)
            let batch = ChangeBatchV1.encode(canonicalBodies: changes.map(\.body)) + Array("\n".utf8)
            guard FileManager.default.createFile(atPath: pending, contents: Data(batch), attributes: [.posixPermissions: 0o600])
            else {
                throw CommandFailure(message: out.text("无法写入文件：\(pending)", "cannot write the file: \(pending)"), code: 1)
            }
            if json {
                print(JSONOut.render(.object([("file", .string(pending)), ("changes", .integer(Int64(changes.count)))])))
            } else {
                print(
                    out.text(
                        "已导出 \(changes.count) 项未同步的变更到 \(pending)（含居民信息，请妥善保管）",
                        "exported \(changes.count) unsynced changes to \(pending) (it holds residents' data: keep it safe)"))
            }
        }
    }
}
