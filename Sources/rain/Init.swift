import ArgumentParser
import Foundation
import ReplicaStore
import SyncCore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create this office's replica (offline; enrolment with a server comes later).",
        discussion: "Creates the replica file with mode 0600 and a fresh random 128-bit replica id."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "The office code, e.g. HSM (letters and digits; it starts every case number).")
    var office: String

    @Option(help: "Your name, recorded as the author of your changes.")
    var staff: String

    @Flag(help: "Print {\"replica\": …, \"office\": …, \"path\": …} as JSON.")
    var json = false

    func validate() throws {
        guard !office.isEmpty, office.count <= 12, office.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw ValidationError("--office must be 1 to 12 letters or digits, e.g. HSM")
        }
        guard !staff.trimmingCharacters(in: .whitespaces).isEmpty, staff.count <= 40 else {
            throw ValidationError("--staff must be your name (1 to 40 characters)")
        }
    }

    func run() throws {
        try running(global) {
            let store = try ReplicaStore.create(
                at: global.path, office: office.uppercased(), staff: staff.trimmingCharacters(in: .whitespaces))
            let out = global.output
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("replica", .string(store.identity.replica.rawValue)), ("office", .string(store.identity.office)),
                            ("path", .string(store.path)),
                        ])))
            } else {
                print(out.text("已创建副本：\(store.path)", "created the replica: \(store.path)"))
                print(
                    out.text(
                        "副本编号 \(store.identity.replica.rawValue) · 社区 \(store.identity.office) · 工作人员 \(store.identity.staff)",
                        "replica \(store.identity.replica.rawValue) · office \(store.identity.office) · staff \(store.identity.staff)"))
            }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show this replica: id, office, staff, changes not yet synced.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print as JSON.")
    var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let unsynced = try store.ownChangeCount()
            let cases = try store.caseCount()
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("replica", .string(store.identity.replica.rawValue)), ("office", .string(store.identity.office)),
                            ("staff", .string(store.identity.staff)), ("path", .string(store.path)),
                            ("unsynced", .integer(Int64(unsynced))), ("cases", .integer(Int64(cases))),
                        ])))
            } else {
                let out = global.output
                print(out.text("副本：", "replica: ") + store.identity.replica.rawValue)
                print(out.text("社区：", "office:  ") + store.identity.office)
                print(out.text("人员：", "staff:   ") + store.identity.staff)
                print(out.text("文件：", "file:    ") + store.path)
                print(out.text("案件：\(cases)", "cases:   \(cases)"))
                print(out.text("未同步的变更：\(unsynced)", "changes not yet synced: \(unsynced)"))
            }
        }
    }
}
