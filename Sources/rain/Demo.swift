import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `rain demo`: a real `rain-server` on a free loopback port and three office replicas,
/// walked through offline work, sync, a conflict and its resolution. Every step is a
/// real command, printed before it runs.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk three offices through offline work, sync, a conflict and its resolution on a real rain-server.",
        discussion: """
            Starts `rain-server` (built beside rain: swift build --product rain-server) on a
            free loopback port with its database in a temporary folder, creates a district,
            a street and two communities, and runs each step as a real `rain` command on
            three replica files. Nothing outside the temporary folder is touched; --keep
            leaves the folder for inspection with sqlite3.
            """
    )

    @Flag(help: "Keep the temporary folder (server database, replica files) afterwards.") var keep = false
    @Option(help: "Language of the commands' output: zh or en (default: from $LANG).") var lang: String?

    func validate() throws {
        if let lang, lang != "zh", lang != "en" { throw ValidationError("--lang must be zh or en, not '\(lang)'") }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func run() throws {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let rain = me.path
        let serverPath = me.deletingLastPathComponent().appendingPathComponent("rain-server").path
        guard FileManager.default.isExecutableFile(atPath: serverPath) else {
            FileHandle.standardError.write(
                Data("rain demo: no rain-server beside rain (\(serverPath)); build it first: swift build --product rain-server\n".utf8))
            throw ExitCode(1)
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-demo-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let walk = Walk(rain: rain, server: serverPath, folder: folder)
        if let lang { walk.locale = lang == "en" ? "en_US.UTF-8" : "zh_CN.UTF-8" }
        defer {
            walk.stopServer()
            if keep {
                print("\nkept: \(folder)")
            } else {
                try? FileManager.default.removeItem(atPath: folder)
            }
        }
        try walk.run()
    }
}

/// The demo's steps.
final class Walk {
    let rain: String
    let server: String
    let folder: String
    var serverProcess: Process?
    var url = ""
    var locale: String?

    init(rain: String, server: String, folder: String) {
        self.rain = rain
        self.server = server
        self.folder = folder
    }

    func heading(_ text: String) {
        print("\n== \(text)")
    }

    /// Runs a command, printing it and its output; fails the demo if it fails.
    @discardableResult
    func step(_ executable: String, _ arguments: [String], show: Bool = true) throws -> String {
        let name = (executable as NSString).lastPathComponent
        if show { print("$ " + ([name] + arguments).map(Self.quoted).joined(separator: " ")) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "RAIN_DB")
        if let locale {
            environment["LANG"] = locale
            environment.removeValue(forKey: "LC_ALL")
        }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if show, !output.isEmpty {
            print(
                output.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n").trimmingSuffix())
        }
        guard process.terminationStatus == 0 else {
            throw Demo.Failure(description: "rain demo: step failed (\(name) \(arguments.first ?? "")): \(errors)")
        }
        return output
    }

    static func quoted(_ word: String) -> String {
        word.contains(" ") || word.isEmpty ? "'\(word)'" : word
    }

    func startServer() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = ["serve", "--db", "central.sqlite", "--port", "0", "--log-level", "warning"]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        serverProcess = process
        var text = ""
        while !text.contains("\n") {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { throw Demo.Failure(description: "rain demo: rain-server did not start") }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let range = text.range(of: "listening on "), let end = text[range.upperBound...].firstIndex(of: " ") else {
            throw Demo.Failure(description: "rain demo: rain-server did not say where it listens")
        }
        url = String(text[range.upperBound..<end])
        print("$ rain-server serve --db central.sqlite --port 0 &")
        print("  " + text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func stopServer() {
        guard let process = serverProcess, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    func token(_ output: String) -> String {
        output.split(separator: "\n").last.map(String.init) ?? ""
    }

    func run() throws {
        print("TimelyRain demo in \(folder)")
        heading("1. The district starts its server and registers offices")
        try startServer()
        try step(server, ["office", "add", "HSD", "--name", "和盛区", "--level", "district", "--db", "central.sqlite"])
        try step(server, ["office", "add", "JD1", "--name", "和平街道", "--level", "street", "--parent", "HSD", "--db", "central.sqlite"])
        let hsm = token(
            try step(
                server, ["office", "add", "HSM", "--name", "和盛社区", "--level", "community", "--parent", "JD1", "--db", "central.sqlite"]))
        try step(server, ["office", "add", "XQ", "--name", "新桥社区", "--level", "community", "--parent", "JD1", "--db", "central.sqlite"])
        let street = token(try step(server, ["office", "token", "JD1", "--db", "central.sqlite"]))
        let second = token(try step(server, ["office", "token", "HSM", "--db", "central.sqlite"]))

        let xq = token(try step(server, ["office", "token", "XQ", "--db", "central.sqlite"]))

        heading("2. Four laptops enrol: two at 和盛社区 (HSM), one at 新桥社区 (XQ), one at 和平街道 (JD1, their street)")
        try step(rain, ["init", "--db", "zhang.sqlite", "--office", "HSM", "--staff", "张三", "--server", url, "--token", hsm])
        try step(rain, ["init", "--db", "li.sqlite", "--office", "HSM", "--staff", "李四", "--server", url, "--token", second])
        try step(rain, ["init", "--db", "zhao.sqlite", "--office", "XQ", "--staff", "赵六", "--server", url, "--token", xq])
        try step(rain, ["init", "--db", "wang.sqlite", "--office", "JD1", "--staff", "王五", "--server", url, "--token", street])

        heading("3. Offline: the communities record residents' requests with no network")
        let first = try step(
            rain,
            [
                "case", "new", "--db", "zhang.sqlite", "--kind", "help", "--category", "社会救助", "--title", "独居老人需要助餐",
                "--citizen", "王秀英", "--phone", "13812345678", "--address", "和平路88号3栋",
            ]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        try step(rain, ["case", "new", "--db", "li.sqlite", "--kind", "complaint", "--category", "环境卫生", "--title", "楼道堆放杂物"])
        try step(rain, ["case", "new", "--db", "zhao.sqlite", "--kind", "suggestion", "--category", "城市管理", "--title", "建议增设非机动车停车棚"])

        heading("4. End of day: every office syncs; each sees what its jurisdiction allows")
        for db in ["zhang.sqlite", "li.sqlite", "zhao.sqlite", "wang.sqlite", "zhang.sqlite"] { try step(rain, ["sync", "--db", db]) }
        print("  (the street sees both communities' cases; 新桥社区 sees only its own)")
        try step(rain, ["case", "list", "--db", "wang.sqlite"])
        try step(rain, ["case", "list", "--db", "zhao.sqlite"])

        heading("5. Next day, offline again: two staff edit the same case")
        try step(rain, ["case", "edit", first, "--db", "zhang.sqlite", "--title", "独居老人需要每日助餐"])
        try step(rain, ["case", "edit", first, "--db", "li.sqlite", "--title", "独居老人助餐（午餐）"])
        try step(rain, ["case", "note", first, "上门核实：老人行动不便", "--visit", "--db", "li.sqlite"])
        for db in ["zhang.sqlite", "li.sqlite", "wang.sqlite", "zhang.sqlite"] { try step(rain, ["sync", "--db", db]) }

        heading("6. The conflict is visible on every replica that holds the case, with the same winner")
        try step(rain, ["conflicts", "--db", "wang.sqlite"])

        heading("7. The street settles it once; after a sync it is settled everywhere")
        try step(rain, ["resolve", first, "title", "--value", "独居老人需要每日午餐助餐", "--db", "wang.sqlite"])
        for db in ["wang.sqlite", "zhang.sqlite", "li.sqlite"] { try step(rain, ["sync", "--db", db]) }
        try step(rain, ["conflicts", "--db", "li.sqlite"])
        let shown = try ["zhang.sqlite", "li.sqlite", "wang.sqlite"].map {
            try step(rain, ["case", "show", first, "--json", "--db", $0], show: false)
        }
        print(Set(shown).count == 1 ? "  the three replicas show the case identically" : "  the replicas differ!")
        try step(rain, ["case", "show", first, "--db", "wang.sqlite"])
        try step(rain, ["status", "--db", "wang.sqlite"])
        guard Set(shown).count == 1 else { throw Demo.Failure(description: "rain demo: the replicas did not converge") }

        heading("Done. The server stops now (SIGTERM, graceful).")
    }
}

extension String {
    func trimmingSuffix() -> String {
        var text = self
        while text.hasSuffix("\n") || text.hasSuffix(" ") { text.removeLast() }
        return text
    }
}
