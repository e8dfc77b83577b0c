import CaseStore
import Foundation
import GRDB
import PolicyStore
import ReplicaStore
import SuggestionStore
import SyncCore
import Testing

/// End-to-end tests of the built `rain` executable on real replica files.
@Suite(.serialized) struct RainCLITests {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `rain` built beside this test bundle.
    static let executable: String = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [runner.appendingPathComponent("rain").path]
        var folder = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { folder.deleteLastPathComponent() }
        candidates.append(folder.appendingPathComponent(".build/debug/rain").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    /// A scratch folder removed when the test ends.
    final class Scratch {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rain-cli-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    let scratch: Scratch
    var folder: String { scratch.path }
    var db: String { scratch.path + "/replica.sqlite" }

    init() throws {
        scratch = try Scratch()
    }

    @discardableResult
    func rain(_ arguments: [String], lang: String = "zh") throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["RAIN_DB"] = db
        environment["RAIN_STATE_DIR"] = scratch.path + "/.state"
        environment["LANG"] = lang == "en" ? "en_US.UTF-8" : "zh_CN.UTF-8"
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    func initialise() throws {
        let result = try rain(["init", "--office", "HSM", "--staff", "李娜"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    func newCase(_ extra: [String] = []) throws -> (id: String, number: String) {
        let result = try rain(
            [
                "case", "new", "--kind", "complaint", "--category", "环境卫生", "--title", "楼道堆放杂物", "--citizen", "张三", "--phone",
                "13812341234",
                "--address", "和平路88号3栋", "--json",
            ] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: String]
        return (object?["id"] ?? "", object?["number"] ?? "")
    }

    func unsynced() throws -> Int {
        let result = try rain(["status", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return object?["unsynced"] as? Int ?? -1
    }

    @Test func theExecutableIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.executable), "build rain first: swift build --product rain")
    }

    @Test func initCreatesAPrivateReplicaAndCaseNewPrintsTheNumber() throws {
        try initialise()
        let attributes = try FileManager.default.attributesOfItem(atPath: db)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let plain = try rain(["case", "new", "--kind", "help", "--category", "社会救助", "--title", "独居老人需要助餐"])
        #expect(plain.status == 0)
        #expect(plain.stdout.range(of: #"^HSM-\d{8}-\d{4}-[2-9A-HJKMNP-Z]{3}\n$"#, options: .regularExpression) != nil, "\(plain.stdout)")
        let created = try newCase()
        #expect(created.number.hasPrefix("HSM-"))
        #expect(created.id.count == 36)
        // The materialised table answers plain SQL.
        let rows = try DatabaseQueue(path: db).read { db in
            try Row.fetchAll(db, sql: "SELECT number, status, title FROM cases ORDER BY created_at, number")
        }
        #expect(rows.count == 2)
        #expect(rows.map { $0["status"] as String } == ["received", "received"])
        #expect(Set(rows.map { $0["title"] as String }) == ["独居老人需要助餐", "楼道堆放杂物"])
    }

    @Test func listingsMaskPersonalDataUnlessRevealed() throws {
        try initialise()
        _ = try newCase()
        let masked = try rain(["case", "list"])
        #expect(masked.stdout.contains("张*"))
        #expect(!masked.stdout.contains("张三"))
        #expect(!masked.stdout.contains("13812341234"))
        let revealed = try rain(["case", "find", "1234", "--reveal"])
        #expect(revealed.stdout.contains("张三"))
        let json = try rain(["case", "list", "--json"])
        #expect(json.stdout.contains("\"phone\":\"138****1234\""))
        #expect(json.stdout.contains("\"address\":\"和平路**号*栋\""))
        let english = try rain(["case", "list"], lang: "en")
        #expect(english.stdout.hasPrefix("number"))
        #expect(english.stdout.contains("complaint"))
        let chinese = try rain(["case", "list"])
        #expect(chinese.stdout.hasPrefix("编号"))
        #expect(chinese.stdout.contains("投诉"))
    }

    @Test func headersAlignByDisplayWidth() throws {
        try initialise()
        _ = try newCase()
        let lines = try rain(["case", "list"]).stdout.split(separator: "\n").map(String.init)
        // The status column starts at the same display column in the header and the row.
        func column(of text: String, in line: String) -> Int? {
            guard let range = line.range(of: text) else { return nil }
            return line[..<range.lowerBound].unicodeScalars.reduce(0) { $0 + ($1.value >= 0x2E80 ? 2 : 1) }
        }
        #expect(column(of: "状态", in: lines[0]) == column(of: "已受理", in: lines[1]))
    }

    @Test func theWorkflowRunsAndIllegalMovesNameTheLegalOnes() throws {
        try initialise()
        let created = try newCase()
        let illegal = try rain(["case", "close", created.number])
        #expect(illegal.status == 4)
        #expect(illegal.stderr == "rain: 无法办结：案件当前为已受理（社区）；可执行的操作：核实\n")
        let illegalEnglish = try rain(["case", "close", created.number, "--lang", "en"])
        #expect(illegalEnglish.stderr == "rain: cannot close the case: it is received (community level); legal moves: verify\n")
        for arguments in [
            ["verify", "--note", "上门核实"], ["escalate", "--reason", "需街道协调", "--to", "hpj"], ["handle"], ["reply", "--answer", "已清理"],
            ["close"],
        ] {
            let result = try rain(["case", arguments[0], created.number] + arguments.dropFirst())
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        let shown = try rain(["case", "show", created.number, "--json"])
        #expect(shown.stdout.contains("\"status\":\"closed\""))
        #expect(shown.stdout.contains("\"level\":\"street\""))
        #expect(shown.stdout.contains("\"office\":\"HPJ\""))
        #expect(try rain(["case", "rate", created.number, "--score", "5", "--comment", "满意"]).status == 0)
        let reopened = try rain(["case", "reopen", created.number, "--reason", "问题复发"])
        #expect(reopened.status == 0)
        #expect(try rain(["case", "show", created.number, "--json"]).stdout.contains("\"round\":2"))
        let history = try rain(["case", "show", created.number, "--history"])
        #expect(history.stdout.contains("李娜"))
    }

    @Test(arguments: ["zh", "en"])
    func badInputGetsAClearMessageAndWritesNothing(lang: String) throws {
        try initialise()
        let created = try newCase()
        _ = try newCase()
        let before = try unsynced()
        let big = folder + "/description.txt"
        try String(repeating: "雨", count: 350_000).write(toFile: big, atomically: true, encoding: .utf8)
        let new = ["case", "new", "--kind", "help", "--category", "其他", "--title"]
        // (arguments, exit status, the first line of standard error in Chinese, in English)
        let cases: [([String], Int32, String, String)] = [
            (
                ["case", "new", "--kind", "praise", "--category", "其他", "--title", "x"], 2,
                "Error: unknown kind 'praise': use complaint, consultation, help or suggestion",
                "Error: unknown kind 'praise': use complaint, consultation, help or suggestion"
            ),
            (
                ["case", "new", "--kind", "help", "--category", "不存在", "--title", "x"], 2,
                "rain: 未知的类别：不存在（可用类别见 `rain case new --help`）",
                "rain: unknown category: 不存在 (see `rain case new --help` for the list)"
            ),
            (new + ["  "], 2, "rain: 标题不能为空（--title）", "rain: the title must not be empty (--title)"),
            (
                new + ["x", "--phone", "12345"], 2, "rain: 电话号码无效：须为 11 位手机号或带区号的固定电话",
                "rain: invalid phone number: expected an 11-digit mobile number or a landline with its area code"
            ),
            (
                new + ["x", "--description-file", big], 2, "rain: description 过长：1050000 字节，上限 65536 字节",
                "rain: description is too long: 1050000 bytes, the limit is 65536"
            ),
            (
                ["case", "show", "HSM-20991231-0000-ZZZ"], 3, "rain: 找不到案件：HSM-20991231-0000-ZZZ",
                "rain: no such case: HSM-20991231-0000-ZZZ"
            ),
            (
                ["case", "show", "HSM"], 3, "rain: 案件编号不唯一：HSM 匹配 2 个案件，请输入更多字符",
                "rain: ambiguous case reference: HSM matches 2 cases; type more of it"
            ),
            (
                ["case", "rate", created.number, "--score", "9"], 2, "rain: 无法评价：评分必须在 1 到 5 之间（收到 9）",
                "rain: cannot rate the case: the score must be 1 to 5 (got 9)"
            ),
            (
                ["case", "rate", created.number, "--score", "4"], 4, "rain: 无法评价：案件尚未答复（当前为已受理）",
                "rain: cannot rate the case: it has not been replied to yet (it is received)"
            ),
            (
                ["case", "escalate", created.number, "--reason", "x"], 4, "rain: 无法上报：案件当前为已受理（社区）；可执行的操作：核实",
                "rain: cannot escalate the case: it is received (community level); legal moves: verify"
            ),
            (
                ["case", "reply", created.number, "--answer", "x"], 4, "rain: 无法答复：案件当前为已受理（社区）；可执行的操作：核实",
                "rain: cannot reply to the case: it is received (community level); legal moves: verify"
            ),
            (
                ["case", "list", "--status", "lost"], 2,
                "Error: unknown status 'lost': use received, verifying, handling, replied or closed",
                "Error: unknown status 'lost': use received, verifying, handling, replied or closed"
            ),
            (["case", "list", "--limit", "0"], 2, "Error: --limit must be at least 1", "Error: --limit must be at least 1"),
            (["case", "list", "--lang", "fr"], 2, "Error: --lang must be zh or en, not 'fr'", "Error: --lang must be zh or en, not 'fr'"),
            // A phone number typed as a reference is not repeated in clear.
            (["case", "show", "13812341234"], 3, "rain: 找不到案件：138****1234", "rain: no such case: 138****1234"),
        ]
        for (arguments, status, zh, en) in cases {
            let result = try rain(arguments, lang: lang)
            #expect(result.status == status, "\(arguments.prefix(3)): \(result.stderr)")
            let firstLine = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            #expect(firstLine == (lang == "zh" ? zh : en), "\(arguments.prefix(3))")
            #expect(result.stdout.isEmpty, "\(arguments.prefix(3)): \(result.stdout)")
            #expect(!result.stderr.contains("13812341234"))
        }
        #expect(try unsynced() == before)
    }

    @Test func missingDamagedAndNewerReplicasAreRefused() throws {
        let missing = try rain(["case", "list"])
        #expect(missing.status == 5)
        #expect(missing.stderr.contains("rain init"))
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: db))
        let damaged = try rain(["case", "list"], lang: "en")
        #expect(damaged.status == 5)
        #expect(
            damaged.stderr.contains("not a TimelyRain replica or is damaged") || damaged.stderr.contains("not an SQLite database"),
            "\(damaged.stderr)")
        try FileManager.default.removeItem(atPath: db)
        try initialise()
        try DatabaseQueue(path: db).write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-future')") }
        let newer = try rain(["case", "list"], lang: "en")
        #expect(newer.status == 5)
        #expect(newer.stderr.contains("written by a newer version of rain"))
        let again = try rain(["init", "--office", "HSM", "--staff", "李娜"])
        #expect(again.status == 1)
    }

    @Test func findMatchesChineseSubstringsAndPhoneTails() throws {
        try initialise()
        _ = try newCase()
        _ = try rain(["case", "new", "--kind", "help", "--category", "社会救助", "--title", "独居老人需要助餐", "--phone", "13900005678"])
        #expect(try rain(["case", "find", "堆放杂"]).stdout.contains("楼道堆放杂物"))
        #expect(try rain(["case", "find", "杂物"]).stdout.contains("楼道堆放杂物"))
        let byPhone = try rain(["case", "find", "5678"])
        #expect(byPhone.stdout.contains("独居老人需要助餐"))
        #expect(!byPhone.stdout.contains("楼道堆放杂物"))
        #expect(try rain(["case", "find", "不存在的内容"]).stdout.contains("没有案件"))
    }
}

extension RainCLITests {
    @Test func aWriterKilledInsideItsTransactionLeavesBothOrNeither() throws {
        try initialise()
        let kept = try newCase()
        // kill -9 after the change and its rows are written, before the commit.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["case", "new", "--kind", "help", "--category", "其他", "--title", "不应留下"]
        var environment = ProcessInfo.processInfo.environment
        environment["RAIN_DB"] = db
        environment["RAIN_STATE_DIR"] = scratch.path + "/.state"
        environment["RAIN_FAILPOINT"] = "before-commit"
        process.environment = environment
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)
        let queue = try DatabaseQueue(path: db)
        let (cases, changes, integrity) = try queue.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM cases") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM changes") ?? -1,
                try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? ""
            )
        }
        #expect(cases == 1)
        #expect(changes == 1)
        #expect(integrity == "ok")
        // The replica works on: the next write succeeds and the first case is intact.
        let next = try rain(["case", "new", "--kind", "help", "--category", "其他", "--title", "之后的案件", "--json"])
        #expect(next.status == 0)
        #expect(try rain(["case", "show", kept.number]).status == 0)
    }
}

extension RainCLITests {
    @Test func reportCountsAndRates() throws {
        try initialise()
        let first = try newCase()
        _ = try newCase()
        for arguments in [["verify"], ["handle"], ["reply", "--answer", "已处理"], ["close"]] {
            #expect(try rain(["case", arguments[0], first.number] + arguments.dropFirst()).status == 0)
        }
        #expect(try rain(["case", "rate", first.number, "--score", "4"]).status == 0)
        let result = try rain(["report", "--json"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("\"received\":2"))
        #expect(result.stdout.contains("\"by_status\":{\"received\":1,\"verifying\":0,\"handling\":0,\"replied\":0,\"closed\":1}"))
        #expect(result.stdout.contains("\"completion_rate\":\"0.5000\""))
        #expect(result.stdout.contains("\"on_time_rate\":\"1.0000\""))
        #expect(result.stdout.contains("\"satisfaction_rate\":\"1.0000\""))
        #expect(result.stdout.contains("\"community_rate\":\"1.0000\""))
        #expect(result.stdout.contains("\"median_working_days\":\"0.0000\""))
        let text = try rain(["report"], lang: "en")
        #expect(text.stdout.contains("completion rate"))
        #expect(try rain(["report", "--from", "2026-13-01"]).status == 2)
    }
}

extension RainCLITests {
    @Test func holidayAndCategoryFilesShapeDeadlinesAndChoices() throws {
        try initialise()
        // Today and the next 30 days are holidays: a help case (5 working days) is due later.
        var lines = ""
        let calendar = Calendar(identifier: .gregorian)
        var components = calendar.dateComponents(in: TimeZone(secondsFromGMT: 8 * 3600)!, from: Date())
        components.hour = 12
        var day = calendar.date(from: components)!
        for _ in 0..<30 {
            let parts = calendar.dateComponents(in: TimeZone(secondsFromGMT: 8 * 3600)!, from: day)
            lines += String(format: "%04d-%02d-%02d holiday\n", parts.year!, parts.month!, parts.day!)
            day = day.addingTimeInterval(86_400)
        }
        let holidays = folder + "/holidays.txt"
        try lines.write(toFile: holidays, atomically: true, encoding: .utf8)
        let plain = try rain(["case", "new", "--kind", "help", "--category", "其他", "--title", "无假期", "--json"])
        let withHolidays = try rain([
            "case", "new", "--kind", "help", "--category", "其他", "--title", "有假期", "--json", "--holidays", holidays,
        ])
        #expect(plain.status == 0 && withHolidays.status == 0)
        let list = try rain(["case", "list", "--json"]).stdout
        let cases = try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]] ?? []
        let due = Dictionary(uniqueKeysWithValues: cases.map { ($0["title"] as? String ?? "", $0["due_date"] as? String ?? "") })
        #expect((due["有假期"] ?? "") > (due["无假期"] ?? "~"), "\(due)")
        try "2026-13-01 holiday\n".write(toFile: holidays, atomically: true, encoding: .utf8)
        let bad = try rain(["case", "list", "--holidays", holidays], lang: "en")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("cannot read the holiday file: not a date of the form YYYY-MM-DD (line 1)"))

        let categories = folder + "/categories.txt"
        try "# the district's own\n养老服务\n".write(toFile: categories, atomically: true, encoding: .utf8)
        #expect(try rain(["case", "new", "--kind", "help", "--category", "养老服务", "--title", "x"]).status == 2)
        #expect(try rain(["case", "new", "--kind", "help", "--category", "养老服务", "--title", "x", "--categories", categories]).status == 0)
    }
}

extension RainCLITests {
    /// Two offices edit the same case offline; the changes are exchanged through the
    /// store library (sync comes with issue 4); `rain conflicts` lists the conflict and
    /// `rain resolve` settles it.
    @Test func conflictsAreListedAndResolved() throws {
        try initialise()
        let created = try newCase()
        let here = try officeReplica(db)
        let there = try ReplicaStore.create(at: folder + "/other.sqlite", office: "HSM", staff: "王伟")
        let key = RecordKey(table: "cases", id: created.id)
        try there.apply(batch: try here.history(of: key))
        let now = ReplicaStore.nowMillis()
        try here.write(["title": .text("本处改的标题"), "phone": .text("13900002222")], to: key, now: now)
        // A minute later on the other office's clock: its HLC is the later one.
        let theirs = try there.write(["title": .text("对方改的标题"), "phone": .text("13900003333")], to: key, now: now + 60_000)
        try here.apply(batch: [theirs])

        let listed = try rain(["conflicts", "--json"])
        #expect(listed.status == 0)
        let conflicts = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(conflicts.map { $0["field"] as? String } == ["phone", "title"])
        #expect(conflicts.allSatisfy { $0["case"] as? String == created.number })
        let phones = (conflicts.first?["values"] as? [[String: Any]] ?? []).map { $0["value"] as? String ?? "" }
        #expect(Set(phones) == ["139****2222", "139****3333"])
        // The later HLC (the other office's) is shown until someone decides.
        let title = conflicts.last ?? [:]
        let titleValues = title["values"] as? [[String: Any]] ?? []
        let winner = title["winner"] as? Int ?? 0
        #expect(titleValues[winner - 1]["value"] as? String == "对方改的标题")
        #expect(try rain(["conflicts"]).stdout.contains("本处改的标题"))
        #expect(try rain(["conflicts", "--reveal"]).stdout.contains("13900002222"))

        let keep = titleValues.firstIndex { $0["value"] as? String == "本处改的标题" }.map { $0 + 1 } ?? 0
        #expect(try rain(["resolve", created.number, "title", "--keep", String(keep)]).status == 0)
        #expect(try rain(["resolve", created.number, "phone", "--value", "13900004444"]).status == 0)
        #expect(try rain(["conflicts"]).stdout == "没有冲突\n")
        #expect(try rain(["case", "show", created.number, "--json", "--reveal"]).stdout.contains("\"title\":\"本处改的标题\""))
        // The resolution supersedes both values on the other replica too.
        try there.apply(batch: try here.history(of: key))
        #expect(try there.conflicts().isEmpty)
        #expect(try there.findCase(created.number).title == "本处改的标题")

        let bad = try rain(["resolve", created.number, "title", "--keep", "7"], lang: "en")
        #expect(bad.status == 2)
        #expect(bad.stderr == "rain: cannot resolve: field title has no value number 7\n")
        #expect(try rain(["resolve", created.number, "title"]).status == 2)
    }
}

/// A replica file as `rain` opens it: every kind the office client holds.
func officeReplica(_ path: String) throws -> ReplicaStore {
    try ReplicaStore.open(at: path, also: [PolicyProjection(), SuggestionProjection()])
}
