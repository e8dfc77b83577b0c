import ArgumentParser
import CaseDomain
import CaseStore
import Foundation
import PolicyStore
import ReplicaStore
import SuggestionDomain
import SuggestionStore
import SyncClient
import Synchronization

/// `rain`: the office client. Every command works offline on the office's own replica.
@main
struct Rain: AsyncParsableCommand {
    /// Parses and runs; a usage error exits with 2 (README, "Exit codes"), not
    /// swift-argument-parser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "rain",
        abstract: "TimelyRain (及时雨) office client: record and work residents' cases and policy direct (政策直达) offline.",
        discussion: """
            Every command works without a network, on this office's replica file.
            The replica is --db PATH, else $RAIN_DB, else $XDG_DATA_HOME/rain/replica.sqlite,
            else ~/.local/share/rain/replica.sqlite.

            Exit codes: 0 ok; 1 failure (database, file system); 2 usage or bad input;
            3 no such case, policy, grant, enterprise, suggestion or campaign, or an ambiguous reference; 4 a move the workflow does not allow;
            5 no replica, or a replica file that is damaged or from a newer version;
            6 the server cannot be reached (the work is kept: sync again later);
            7 the server refused (wrong or revoked credential, enrolment token, protocol too old).
            """,
        subcommands: [
            Init.self, CaseCommand.self, Conflicts.self, Resolve.self, Report.self, Status.self, Enrol.self, Sync.self, Rekey.self,
            Export.self, Demo.self, PolicyCommand.self, EnterpriseCommand.self, GrantCommand.self, SuggestionCommand.self,
            CampaignCommand.self,
        ]
    )
}

/// Options every command takes.
/// The replica's high-water mark on this machine (``ReplicaStore/checkHighWater(in:now:)``):
/// checked when a command opens the file, raised when the process exits.
enum HighWater {
    /// `$RAIN_STATE_DIR`, else `$XDG_STATE_HOME/rain/high-water`, else `~/.local/state/rain/high-water`.
    static var directory: String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["RAIN_STATE_DIR"], !path.isEmpty { return path }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/rain/high-water" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "."
        return home + "/.local/state/rain/high-water"
    }

    /// The store whose mark is raised at exit (nil before the first `track`).
    private static let tracked = Mutex<ReplicaStore?>(nil)

    /// Raises the mark of `store` when the process exits, however it exits (but killed).
    static func track(_ store: ReplicaStore) {
        let replaced = tracked.withLock { current in
            defer { current = store }
            return current
        }
        if let replaced {
            // A store replaced (a recovery reopens the file): its mark first, then closed,
            // or its connection would keep the write-ahead log beside the file.
            replaced.recordHighWater(in: directory)
            replaced.close()
        } else {
            atexit { HighWater.flush() }
        }
    }

    static func flush() {
        guard let store = tracked.withLock({ $0 }) else { return }
        store.recordHighWater(in: directory)
        // Swift runs no deinitialiser at exit: without this the connection stayed open
        // until the process died, and its write-ahead log stayed beside the file.
        store.close()
    }
}

struct GlobalOptions: ParsableArguments {
    @Option(help: "The replica file (default: $RAIN_DB, else $XDG_DATA_HOME/rain/replica.sqlite, else ~/.local/share/rain/replica.sqlite).")
    var db: String?

    @Option(help: "Language of labels and messages: zh or en (default: from $LANG).")
    var lang: String?

    @Option(help: "A holiday file for deadlines: lines 'YYYY-MM-DD holiday|workday [note]', '#' comments (default: $RAIN_HOLIDAYS).")
    var holidays: String?

    @Option(help: "A file of the district's extra categories, one per line (default: $RAIN_CATEGORIES).")
    var categories: String?

    func validate() throws {
        if let lang, lang != "zh", lang != "en" { throw ValidationError("--lang must be zh or en, not '\(lang)'") }
    }

    var language: Language {
        if let lang { return lang == "en" ? .en : .zh }
        // POSIX: an empty LC_ALL is as if unset, and LANG then decides.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        return Language(locale: environment["LC_ALL"] ?? environment["LANG"])
    }

    var path: String { ReplicaPath.resolve(option: db, environment: ProcessInfo.processInfo.environment) }

    var output: Output { Output(language: language) }

    func open() throws -> ReplicaStore {
        let store = try ReplicaStore.open(
            at: path, deadlines: DeadlinePolicy(calendar: try calendar()), also: [PolicyProjection(), SuggestionProjection()])
        if try store.checkHighWater(in: HighWater.directory).newly {
            FileHandle.standardError.write(
                Data(
                    ("rain: "
                        + output.text(
                            "本副本文件比本机上次见到的旧（从备份恢复？）。可以继续工作；下次 rain sync 会以新身份重新签发此后的工作，什么也不会丢失",
                            "this replica file is older than this machine last saw it (restored from a backup?). Keep working: the next rain sync re-issues the work done since under a fresh identity, and nothing is lost"
                        ) + "\n").utf8))
        }
        HighWater.track(store)
        return store
    }

    private func setting(_ option: String?, _ variable: String) -> String? {
        if let option { return option }
        let value = ProcessInfo.processInfo.environment[variable]
        return value?.isEmpty == false ? value : nil
    }

    private func read(_ path: String, _ what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("cannot read the \(what) file \(path)")
        }
        return text
    }

    /// The working-day calendar: the holiday file's, else Monday to Friday.
    func calendar() throws -> WorkCalendar {
        guard let path = setting(holidays, "RAIN_HOLIDAYS") else { return WorkCalendar() }
        return try WorkCalendar(parsing: try read(path, "holiday"))
    }

    /// The categories: the defaults and the district's extra ones.
    func categoryList() throws -> CategoryList {
        var list = CategoryList()
        guard let path = setting(categories, "RAIN_CATEGORIES") else { return list }
        for line in try read(path, "categories").split(whereSeparator: \.isNewline) {
            let name = line.trimmingCharacters(in: .whitespaces)
            if !name.isEmpty, !name.hasPrefix("#") { try list.add(name) }
        }
        return list
    }
}

/// Runs a command body, printing any error in the user's language with its exit code.
func running(_ global: GlobalOptions, _ body: () throws -> Void) throws {
    do {
        try body()
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

/// A failure a command explains itself, with its exit code.
struct CommandFailure: Error {
    let message: String
    let code: Int32
}

/// The message and exit code for an error (README, "Exit codes").
func describe(_ error: any Error, _ language: Language) -> (String, Int32) {
    let zh = language == .zh
    switch error {
    case let error as CommandFailure:
        return (error.message, error.code)
    case let error as CaseInputError:
        switch error {
        case .caseNotFound, .ambiguousReference: return (error.message(language), 3)
        default: return (error.message(language), 2)
        }
    case let error as CommandRefusal:  // PolicyStoreError, SuggestionError
        switch error.kind {
        case .notFound: return (error.message(language), 3)
        case .illegalMove: return (error.message(language), 4)
        case .input, .jurisdiction: return (error.message(language), 2)
        }
    case let error as CaseDomainError:
        switch error {
        case .illegalMove, .cannotEscalateFurther, .ratingBeforeReply: return (error.message(language), 4)
        default: return (error.message(language), 2)
        }
    case let error as ReplicaStoreError:
        switch error {
        case .noReplica(let path):
            return (zh ? "找不到副本文件（\(path)）；请先运行 `rain init`" : error.description, 5)
        case .alreadyExists(let path):
            return (zh ? "副本文件已存在（\(path)）；不会覆盖" : error.description, 1)
        case .notAReplica(let path, _):
            return (zh ? "无法打开副本：文件不是及时雨副本或已损坏（\(path)）" : error.description, 5)
        case .newerVersion(let path):
            return (zh ? "无法打开副本：它由更新版本的 rain 写入，请升级 rain（\(path)）" : error.description, 5)
        case .rule(let rule): return describe(rule, language)
        default: return (error.description, 1)
        }
    case let error as SyncClientError:
        switch error {
        case .refusedCredential(let code, let message):
            if code == "invalid_token" {
                return (
                    zh
                        ? "无法登记：登记码无效（未知、已用过或已过期）；请向区管理员索取新的登记码（rain-server office token）"
                        : "cannot enrol: the enrolment token is not valid (unknown, already used or expired); ask the district administrator for a new one (rain-server office token)",
                    7
                )
            }
            return ((zh ? "服务器拒绝：" : "the server refused: ") + message, 7)
        case .unreachable(let server, let reason):
            return (zh ? "无法连接服务器（\(server)）：\(reason)" : error.description, 6)
        default:
            return (error.description, error.isTransient ? 6 : 7)
        }
    default:
        return (String(describing: error), 1)
    }
}
