import ArgumentParser
import CaseDomain
import CaseStore
import ConsoleText
import Foundation
import PolicyStore
import ReplicaStore
import SuggestionStore
import SyncCore

struct CaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case",
        abstract: "Record, find and work cases.",
        subcommands: [
            NewCaseCommand.self, ListCases.self, ShowCase.self, FindCases.self, EditCase.self, NoteCase.self,
            MoveCase.Verify.self, MoveCase.Handle.self, MoveCase.Reply.self, MoveCase.Close.self, MoveCase.Escalate.self,
            MoveCase.Reopen.self, RateCase.self, ReassignCase.self, SimilarCases.self, LinkCases.self,
        ]
    )
}

/// How a case is shown: residents' data masked unless revealed.
struct CaseView {
    let row: CaseRow
    let reveal: Bool
    let language: Language
    var calendar = WorkCalendar()

    var citizen: String? { row.citizenName.map { reveal ? $0 : Masking.name($0) } }
    var phone: String? { row.phone.map { reveal ? $0 : Masking.phone($0) } }
    var address: String? { row.address.map { reveal ? $0 : Masking.address($0) } }
    var kind: String { row.kind.flatMap(CaseKind.init(rawValue:))?.label(language) ?? (row.kind ?? "") }
    var status: String { row.status.flatMap(CaseStatus.init(rawValue:))?.label(language) ?? (row.status ?? "") }
    var level: String { row.level.flatMap(HandlingLevel.init(rawValue:))?.label(language) ?? (row.level ?? "") }

    var deadline: DeadlineState? {
        guard let due = row.dueDate.flatMap(CivilDate.init(parsing:)) else { return nil }
        let today = CivilDate(epochMillis: ReplicaStore.nowMillis())
        return DeadlinePolicy(calendar: calendar).state(due: due, today: today, isClosed: row.status == CaseStatus.closed.rawValue)
    }

    var json: JSONOut.Node {
        .object([
            ("id", .string(row.id)), ("number", .string(row.number)), ("kind", .string(row.kind)), ("category", .string(row.category)),
            ("title", .string(row.title)), ("description", .string(row.description)), ("citizen", .string(citizen)),
            ("phone", .string(phone)), ("address", .string(address)), ("status", .string(row.status)),
            ("round", .integer(row.round.map(Int64.init))), ("level", .string(row.level)), ("office", .string(row.office)),
            ("answer", .string(row.answer)), ("rating", .integer(row.rating.map(Int64.init))), ("created_at", .integer(row.createdAt)),
            ("due_date", .string(row.dueDate)), ("deadline", .string(deadline?.rawValue)), ("closed_at", .integer(row.closedAt)),
            ("conflicts", .integer(Int64(row.conflicts))), ("source", .string(row.source)), ("credit_code", .string(row.creditCode)),
        ])
    }
}

func formatTime(_ millis: Int64?) -> String {
    millis.map(LocalTime.format) ?? ""
}

func printCases(_ rows: [CaseRow], global: GlobalOptions, json: Bool, reveal: Bool) throws {
    let out = global.output
    let calendar = try global.calendar()
    let views = rows.map { CaseView(row: $0, reveal: reveal, language: out.language, calendar: calendar) }
    if json {
        print(JSONOut.render(.array(views.map(\.json))))
        return
    }
    if rows.isEmpty {
        print(out.text("没有案件", "no cases"))
        return
    }
    out.table(
        [
            out.text("编号", "number"), out.text("类型", "kind"), out.text("类别", "category"), out.text("状态", "status"),
            out.text("期限", "due"), out.text("居民", "citizen"), out.text("标题", "title"), out.text("来源", "source"),
        ],
        views.map { view in
            var due = view.row.dueDate ?? ""
            if view.deadline == .overdue { due = out.red(due) } else if view.deadline == .dueSoon { due = out.yellow(due) }
            return [
                view.row.number ?? view.row.id, view.kind, view.row.category ?? "", view.status, due, view.citizen ?? "",
                view.row.title ?? "",
                view.row.source == "online"
                    ? out.text("网上", "online") : view.row.source == "enterprise" ? out.text("企业", "enterprise") : out.text("窗口", "counter"),
            ]
        })
}

struct NewCaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Record a new case; prints its number.",
        discussion: """
            Kinds: complaint 投诉, consultation 咨询, help 求助, suggestion 建议.
            Categories: \(CategoryList.defaults.joined(separator: ", ")).
            Limits: title 600 bytes, description 64 KiB (65,536 bytes).
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "complaint, consultation, help or suggestion (or 投诉, 咨询, 求助, 建议).") var kind: String
    @Option(help: "One of the categories listed above.") var category: String
    @Option(help: "A short title.") var title: String
    @Option(help: "What the resident reported.") var description: String?
    @Option(help: "Read the description from this file ('-' for standard input).") var descriptionFile: String?
    @Option(help: "The resident's name.") var citizen: String?
    @Option(help: "The resident's phone: an 11-digit mobile or a landline with area code.") var phone: String?
    @Option(help: "The address concerned.") var address: String?
    @Option(
        help:
            "An enterprise's problem or suggestion (企业诉求): the enterprise's name as typed or its credit code, found in the registry; the case's source is then enterprise."
    ) var enterprise: String?
    @Option(help: "A suggestion's campaign (its code): one open today that this office collects for.") var campaign: String?
    @Flag(help: "Print {\"id\": …, \"number\": …} as JSON.") var json = false

    func validate() throws {
        guard CaseKind(parsing: kind) != nil else {
            throw ValidationError("unknown kind '\(kind)': use complaint, consultation, help or suggestion")
        }
        if description != nil, descriptionFile != nil { throw ValidationError("give --description or --description-file, not both") }
        if campaign != nil, CaseKind(parsing: kind) != .suggestion {
            throw ValidationError("--campaign is for suggestions: add --kind suggestion or leave --campaign out")
        }
    }

    func run() throws {
        try running(global) {
            var text = description
            if let descriptionFile {
                let data: Data?
                if descriptionFile == "-" {
                    data = FileHandle.standardInput.readDataToEndOfFile()
                } else {
                    data = FileManager.default.contents(atPath: descriptionFile)
                }
                guard let data else { throw ValidationError("cannot read --description-file \(descriptionFile)") }
                guard let decoded = String(data: data, encoding: .utf8) else {
                    throw ValidationError("--description-file \(descriptionFile) is not UTF-8 text")
                }
                text = decoded
            }
            let store = try global.open()
            let company = try enterprise.map { try store.enterprise($0) }
            let input = NewCase(
                kind: CaseKind(parsing: kind) ?? .consultation, category: category, title: title, description: text,
                citizenName: citizen, phone: phone, address: address, creditCode: company?.creditCode)
            // A suggestion starts the suggestions' pipeline too (stage submitted).
            let created =
                input.kind == .suggestion
                ? try store.newSuggestion(input, campaign: campaign, categories: try global.categoryList())
                : try store.newCase(input, categories: try global.categoryList())
            if json {
                print(JSONOut.render(.object([("id", .string(created.id)), ("number", .string(created.number))])))
            } else {
                print(created.number)
            }
        }
    }
}

struct ListCases: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List cases, newest first.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this status: received, verifying, handling, replied, closed.") var status: String?
    @Option(help: "Only this kind.") var kind: String?
    @Option(help: "Only this category.") var category: String?
    @Flag(help: "Only open cases past their due date.") var overdue = false
    @Option(
        help:
            "Only cases that came this way: online (residents' own submissions), enterprise (enterprises' problems and suggestions) or counter (recorded by staff)."
    )
    var source: String?
    @Option(help: "At most this many cases.") var limit = 50
    @Flag(help: "Show residents' names, phones and addresses unmasked.") var reveal = false
    @Flag(help: "Print as JSON.") var json = false

    func validate() throws {
        if let status, CaseStatus(parsing: status) == nil {
            throw ValidationError("unknown status '\(status)': use received, verifying, handling, replied or closed")
        }
        if let kind, CaseKind(parsing: kind) == nil { throw ValidationError("unknown kind '\(kind)'") }
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        if let source, source != "online", source != "counter", source != "enterprise" {
            throw ValidationError("unknown source '\(source)': use online, counter or enterprise")
        }
    }

    func run() throws {
        try running(global) {
            let store = try global.open()
            let filter = CaseFilter(
                status: status.flatMap(CaseStatus.init(parsing:)), kind: kind.flatMap(CaseKind.init(parsing:)), category: category,
                overdueOn: overdue ? CivilDate(epochMillis: ReplicaStore.nowMillis()) : nil, source: source, limit: limit)
            let rows = try store.cases(filter)
            // Every reveal is recorded (who, when, which case) before anything is shown.
            if reveal { try store.recordReveal(ofCases: rows.map(\.id), command: "case list") }
            try printCases(rows, global: global, json: json, reveal: reveal)
        }
    }
}

struct FindCases: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find", abstract: "Find cases by text in title, description or address, or by the tail of a phone number.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The text to look for (Chinese substrings work), or the last digits of a phone number.") var text: String
    @Flag(help: "Show residents' data unmasked.") var reveal = false
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let rows = try store.search(text)
            if reveal { try store.recordReveal(ofCases: rows.map(\.id), command: "case find") }
            try printCases(rows, global: global, json: json, reveal: reveal)
        }
    }
}

struct ShowCase: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one case.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A case number, an id, or a unique prefix of either.") var reference: String
    @Flag(help: "Also list every change of the case: who, replica, when, what.") var history = false
    @Flag(help: "Show residents' data unmasked.") var reveal = false
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let row = try store.findCase(reference)
            let out = global.output
            if reveal { try store.recordReveal(ofCases: [row.id], command: "case show") }
            let view = CaseView(row: row, reveal: reveal, language: out.language, calendar: try global.calendar())
            let events = try store.events(ofCase: row.id)
            let changes = history ? try store.history(of: row.key) : []
            if json {
                var members: [(String, JSONOut.Node)] = [("case", view.json)]
                members.append(
                    (
                        "events",
                        .array(
                            events.map {
                                .object([
                                    ("type", .string($0.type)), ("text", .string($0.text)), ("score", .integer($0.score.map(Int64.init))),
                                    ("author", .string($0.author)), ("at", .integer($0.at)),
                                ])
                            })
                    ))
                if history {
                    members.append(
                        (
                            "history",
                            .array(
                                changes.map { change in
                                    .object([
                                        ("dot", .string(change.dot.description)), ("author", .string(change.author)),
                                        ("at", .integer(Int64(change.hlc.wall))),
                                        ("fields", .array(change.fields.keys.sorted().map { .string($0) })),
                                    ])
                                })
                        ))
                }
                print(JSONOut.render(.object(members)))
                return
            }
            print(out.bold((row.number ?? row.id) + "  " + (row.title ?? "")))
            let lines: [(String, String?)] = [
                (out.text("类型", "kind"), view.kind), (out.text("类别", "category"), row.category),
                (
                    out.text("状态", "status"),
                    view.status + " · " + out.text("第 \(row.round ?? 1) 轮", "round \(row.round ?? 1)") + " · " + view.level
                ),
                (out.text("受理", "received"), formatTime(row.createdAt)),
                (out.text("期限", "due"), row.dueDate.map { $0 + (view.deadline.map { " (" + $0.label(out.language) + ")" } ?? "") }),
                (out.text("居民", "citizen"), view.citizen), (out.text("电话", "phone"), view.phone), (out.text("地址", "address"), view.address),
                (out.text("描述", "description"), row.description), (out.text("答复", "answer"), row.answer),
                (out.text("评价", "rating"), row.rating.map(String.init)),
                (out.text("冲突", "conflicts"), row.conflicts > 0 ? String(row.conflicts) : nil),
                ("id", row.id),
            ]
            let width = lines.map { displayWidth($0.0) }.max() ?? 0
            for (label, value) in lines {
                guard let value, !value.isEmpty else { continue }
                print(label + String(repeating: " ", count: width - displayWidth(label)) + "  " + value)
            }
            if !events.isEmpty {
                print("")
                out.table(
                    [out.text("时间", "time"), out.text("事项", "event"), out.text("人员", "by"), out.text("内容", "text")],
                    events.map {
                        [
                            formatTime($0.at), $0.type.map { CaseEventType.label($0, out.language) } ?? "", $0.author ?? "",
                            ($0.score.map { "\($0)★ " } ?? "") + ($0.text ?? ""),
                        ]
                    })
            }
            if history {
                print("")
                out.table(
                    [out.text("变更", "change"), out.text("人员", "by"), out.text("时间", "when"), out.text("字段", "fields")],
                    changes.map {
                        [$0.dot.description, $0.author, formatTime(Int64($0.hlc.wall)), $0.fields.keys.sorted().joined(separator: ", ")]
                    })
            }
        }
    }
}

struct EditCase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit", abstract: "Change a case's title, description, category or the resident's details.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A case number, an id, or a unique prefix of either.") var reference: String
    @Option var title: String?
    @Option var description: String?
    @Option var category: String?
    @Option var citizen: String?
    @Option var phone: String?
    @Option var address: String?

    func validate() throws {
        if [title, description, category, citizen, phone, address].allSatisfy({ $0 == nil }) {
            throw ValidationError(
                "nothing to change: give at least one of --title, --description, --category, --citizen, --phone, --address")
        }
    }

    func run() throws {
        try running(global) {
            var fields: [String: String] = [:]
            fields["title"] = title
            fields["description"] = description
            fields["category"] = category
            fields["citizen_name"] = citizen
            fields["phone"] = phone
            fields["address"] = address
            let row = try global.open().editCase(reference, fields: fields, categories: try global.categoryList())
            print(global.output.text("已修改 ", "changed ") + (row.number ?? row.id))
        }
    }
}

struct NoteCase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "note", abstract: "Add a note to a case; --visit marks an on-site verification.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A case number, an id, or a unique prefix of either.") var reference: String
    @Argument(help: "The note.") var text: String
    @Flag(help: "The note records an on-site visit.") var visit = false

    func run() throws {
        try running(global) {
            let row = try global.open().addNote(reference, text: text, visit: visit)
            print(global.output.text(visit ? "已记录走访 " : "已添加备注 ", visit ? "visit recorded on " : "note added to ") + (row.number ?? row.id))
        }
    }
}

/// The workflow moves, one subcommand each.
enum MoveCase {
    static func run(_ global: GlobalOptions, _ reference: String, _ action: CaseAction, _ text: String?, office: String? = nil) throws {
        try running(global) {
            let row = try global.open().move(reference, action, text: text, office: office)
            let out = global.output
            let status = row.status.flatMap(CaseStatus.init(rawValue:))?.label(out.language) ?? ""
            print(
                (row.number ?? row.id) + " → " + status
                    + (action == .escalate ? " · " + (row.level.flatMap(HandlingLevel.init(rawValue:))?.label(out.language) ?? "") : ""))
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start verifying a received case (received → verifying).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A case number, an id, or a unique prefix.") var reference: String
        @Option(help: "A note recorded with the move.") var note: String?
        func run() throws { try MoveCase.run(global, reference, .verify, note) }
    }

    struct Handle: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start handling a verified case (verifying → handling).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A case number, an id, or a unique prefix.") var reference: String
        @Option(help: "A note recorded with the move.") var note: String?
        func run() throws { try MoveCase.run(global, reference, .handle, note) }
    }

    struct Reply: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record the answer given to the resident (handling → replied).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A case number, an id, or a unique prefix.") var reference: String
        @Option(help: "The answer.") var answer: String
        func run() throws { try MoveCase.run(global, reference, .reply, answer) }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an answered case (replied → closed).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A case number, an id, or a unique prefix.") var reference: String
        @Option(help: "A note recorded with the move.") var note: String?
        func run() throws { try MoveCase.run(global, reference, .close, note) }
    }

    struct Escalate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Escalate a verifying or handling case one level up (community → street → district).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A case number, an id, or a unique prefix.") var reference: String
        @Option(help: "Why the case needs the level above (required).") var reason: String
        @Option(help: "The code of the office that takes the case over (e.g. the street office).") var to: String?
        func validate() throws {
            if let to, to.isEmpty || to.count > 12 || !to.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                throw ValidationError("--to must be an office code: 1 to 12 letters or digits")
            }
        }
        func run() throws { try MoveCase.run(global, reference, .escalate, reason, office: to?.uppercased()) }
    }

    struct Reopen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a replied or closed case: a new round in handling.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A case number, an id, or a unique prefix.") var reference: String
        @Option(help: "Why the case is reopened (required).") var reason: String
        func run() throws { try MoveCase.run(global, reference, .reopen, reason) }
    }
}

struct ReassignCase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reassign",
        abstract: "Hand a case over to another community (street and district offices only).",
        discussion: """
            The case's community and handling office become --to. After a sync the new
            community receives the case with its whole history, and the old one keeps only
            its number and status (its residents' data purged). The server refuses a
            reassignment from a community office.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A case number, an id, or a unique prefix.") var reference: String
    @Option(help: "The code of the community that takes the case over.") var to: String
    @Option(help: "Why (required).") var reason: String

    func validate() throws {
        guard !to.isEmpty, to.count <= 12, to.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw ValidationError("--to must be an office code: 1 to 12 letters or digits")
        }
    }

    func run() throws {
        try running(global) {
            // A suggestion's pipeline record and the case's links follow it.
            let row = try global.open().reassignCase(reference, to: to.uppercased(), reason: reason)
            print(
                global.output.text(
                    "已移交 \(row.number ?? row.id) 给 \(to.uppercased())", "reassigned \(row.number ?? row.id) to \(to.uppercased())"))
        }
    }
}

struct RateCase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate", abstract: "Record the resident's rating of an answered case (1 to 5).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A case number, an id, or a unique prefix.") var reference: String
    @Option(help: "The score, 1 (very dissatisfied) to 5 (very satisfied).") var score: Int
    @Option(help: "The resident's comment.") var comment: String?

    func run() throws {
        try running(global) {
            let row = try global.open().rate(reference, score: score, comment: comment)
            print(global.output.text("已记录评价 ", "rating recorded on ") + (row.number ?? row.id) + " · \(score)★")
        }
    }
}
