import ArgumentParser
import CaseDomain
import CaseStore
import ConsoleText
import Foundation
import ReplicaStore
import SuggestionDomain
import SuggestionStore
import SyncCore

struct SuggestionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suggestion",
        abstract: "Work suggestions (建言献策): group, argue, select golden ideas (金点子), publish, reward, adopt.",
        discussion: """
            A suggestion is a case of kind suggestion (`rain case new --kind suggestion …`), and
            its pipeline: submitted → grouped → arguing (a department's opinion: value,
            feasibility and cost, 1–5, with a text) → selected or not_selected (with the reason
            sent back) → published → rewarded → adopted → implemented. Selecting, rejecting,
            publishing, rewarding, adoption and implementation are the district's. Every step
            syncs; the suggester sees each through the residents' follow-up (number + phone tail).
            A department arguing a suggestion reads its record — the title and a text checked
            for personal data — never the case.
            """,
        subcommands: [
            ListSuggestions.self, ShowSuggestion.self, SuggestionSummaryCommand.self, SimilarSuggestions.self, GroupSuggestions.self,
            ArgueSuggestion.self, ReviewSuggestion.self, SelectSuggestion.self, RejectSuggestion.self, PublishSuggestion.self,
            RewardSuggestion.self, AdoptSuggestion.self, ImplementSuggestion.self,
        ]
    )
}

/// A suggestion as `--json` prints it (no resident's data: that stays in the case).
func suggestionJSON(_ row: SuggestionRow) -> JSONOut.Node {
    .object([
        ("number", .string(row.number)), ("stage", .string(row.stageText)), ("id", .string(row.id)), ("title", .string(row.title)),
        ("category", .string(row.category)), ("theme", .string(row.theme)), ("group", .string(row.groupKey)),
        ("campaign", .string(row.campaign)), ("community", .string(row.community)), ("department", .string(row.department)),
        ("source", .string(row.source)), ("decision_reason", .string(row.decisionReason)), ("public_title", .string(row.publicTitle)),
        ("public_text", .string(row.publicText)), ("published_at", .integer(row.publishedAt)), ("reward_kind", .string(row.rewardKind)),
        ("reward_fen", .integer(row.rewardFen)), ("reward_note", .string(row.rewardNote)), ("implemented_by", .string(row.implementedBy)),
        ("implemented_on", .string(row.implementedOn)), ("created_at", .integer(row.createdAt)),
        ("stage_conflict", .bool(row.stageConflicted)),
    ])
}

struct ListSuggestions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List suggestions, oldest first.",
        discussion: """
            --json prints an array of objects with number, stage (submitted, grouped, arguing,
            selected, not_selected, published, rewarded, adopted, implemented), title, category,
            theme, group, campaign, community, department, and the decision, publication, reward
            and implementation fields. A suggestion case recorded by an earlier release (or sent
            online) that no step has touched yet is listed at stage submitted.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this stage.") var stage: String?
    @Option(help: "Only this campaign (its code).") var campaign: String?
    @Option(help: "Only this theme.") var theme: String?
    @Flag(help: "Print as JSON.") var json = false

    func validate() throws {
        if let stage, SuggestionStage(rawValue: stage) == nil {
            throw ValidationError("unknown stage '\(stage)': use " + SuggestionStage.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }

    func run() throws {
        try running(global) {
            let out = global.output
            let rows = try global.open().suggestions(
                SuggestionFilter(stage: stage.flatMap(SuggestionStage.init(rawValue:)), campaign: campaign, theme: theme))
            if json {
                print(JSONOut.render(.array(rows.map(suggestionJSON))))
                return
            }
            guard !rows.isEmpty else {
                print(out.text("没有建议", "no suggestion"))
                return
            }
            out.table(
                [
                    out.text("编号", "number"), out.text("阶段", "stage"), out.text("主题", "theme"), out.text("活动", "campaign"),
                    out.text("社区", "community"), out.text("标题", "title"),
                ],
                rows.map {
                    [
                        $0.number, $0.stage.label(out.language) + ($0.stageConflicted ? out.text("（冲突）", " (conflict)") : ""),
                        $0.theme ?? $0.category, $0.campaign ?? "", $0.community, $0.title,
                    ]
                })
        }
    }
}

struct ShowSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a suggestion: its stage, every step its suggester hears, the opinions.",
        discussion: """
            --json prints {"suggestion": {…}, "steps": [{"type", "text", "at"}], "reviews":
            [{"office", "value", "feasibility", "cost", "text", "at"}], "average": {…}}.
            The resident's name, phone and address stay in the case (`rain case show`).
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A suggestion's number, an id, or a unique prefix of either.") var reference: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let out = global.output
            let row = try store.findSuggestion(reference)
            let steps = try store.steps(ofSuggestion: row.id)
            let reviews = try store.reviews(ofSuggestion: row.id)
            func average(_ scores: [Int]) -> String? {
                scores.isEmpty ? nil : String(format: "%.1f", Double(scores.reduce(0, +)) / Double(scores.count))
            }
            let averages = [
                ("value", average(reviews.map(\.value))), ("feasibility", average(reviews.map(\.feasibility))),
                ("cost", average(reviews.map(\.cost))),
            ]
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("suggestion", suggestionJSON(row)),
                            (
                                "steps",
                                .array(
                                    steps.map {
                                        .object([("type", .string($0.type)), ("text", .string($0.text)), ("at", .integer($0.at))])
                                    })
                            ),
                            (
                                "reviews",
                                .array(
                                    reviews.map {
                                        .object([
                                            ("office", .string($0.office)), ("value", .integer(Int64($0.value))),
                                            ("feasibility", .integer(Int64($0.feasibility))), ("cost", .integer(Int64($0.cost))),
                                            ("text", .string($0.text)), ("at", .integer($0.at)),
                                        ])
                                    })
                            ),
                            ("average", .object(averages.map { ($0.0, .string($0.1)) })),
                        ])))
                return
            }
            print(out.bold(row.number + "  " + row.title))
            let lines: [(String, String?)] = [
                (
                    out.text("阶段", "stage"),
                    row.stage.label(out.language) + (row.stageConflicted ? out.text("（并发冲突，待处理）", " (concurrent stages: settle)") : "")
                ),
                (out.text("类别", "category"), row.category), (out.text("主题", "theme"), row.theme),
                (out.text("活动", "campaign"), row.campaign), (out.text("社区", "community"), row.community),
                (out.text("论证部门", "department"), row.department), (out.text("受理", "received"), formatTime(row.createdAt)),
                (out.text("内容", "text"), row.text), (out.text("决定说明", "decision"), row.decisionReason),
                (out.text("公示标题", "published title"), row.publicTitle), (out.text("公示内容", "published text"), row.publicText),
                (
                    out.text("奖励", "reward"),
                    row.rewardKind.map { kind in
                        (RewardKind(rawValue: kind)?.label(out.language) ?? kind) + (row.rewardFen.map { " " + Fen.yuanSign($0) } ?? "")
                            + (row.rewardNote.map { " · " + $0 } ?? "")
                    }
                ),
                (out.text("实施", "implemented"), row.implementedBy.map { $0 + " " + (row.implementedOn ?? "") }),
            ]
            let width = lines.map { displayWidth($0.0) }.max() ?? 0
            for (label, value) in lines {
                guard let value, !value.isEmpty else { continue }
                print(label + String(repeating: " ", count: width - displayWidth(label)) + "  " + value)
            }
            if !steps.isEmpty {
                print("")
                out.table(
                    [out.text("时间", "time"), out.text("步骤", "step"), out.text("说明", "text")],
                    steps.map { [formatTime($0.at), SuggestionStage(rawValue: $0.type)?.label(out.language) ?? $0.type, $0.text ?? ""] })
            }
            if !reviews.isEmpty {
                print("")
                out.table(
                    [
                        out.text("时间", "time"), out.text("部门", "office"), out.text("价值", "value"), out.text("可行性", "feasibility"),
                        out.text("成本", "cost"), out.text("意见", "opinion"),
                    ],
                    reviews.map { [formatTime($0.at), $0.office, String($0.value), String($0.feasibility), String($0.cost), $0.text] }
                        + [[out.text("平均", "average"), "", averages[0].1 ?? "", averages[1].1 ?? "", averages[2].1 ?? "", ""]])
            }
        }
    }
}

struct SimilarSuggestions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar", abstract: "List suggestions that may be duplicates of one, with the reasons.",
        discussion: similarityRules + """


            Only suggestion cases are listed. --json prints an array of {"number", "reasons", …}
            as `rain case similar --json` does. Link duplicates with `rain case link`.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A suggestion's number, an id, or a unique prefix of either.") var reference: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) { try printSimilar(reference, kind: .suggestion, global: global, json: json) }
    }
}

/// What a pipeline command prints: the suggestions moved and their stage.
func printMoved(_ rows: [SuggestionRow], global: GlobalOptions, json: Bool) {
    if json {
        print(JSONOut.render(.array(rows.map(suggestionJSON))))
    } else {
        for row in rows { print(row.number + "  " + row.stage.label(global.output.language)) }
    }
}

struct GroupSuggestions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "Group and classify suggestions under a theme (归类); the first named leads the group.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "The theme.") var theme: String
    @Argument(help: "The suggestions (all or none are grouped).") var references: [String]
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) { printMoved(try global.open().groupSuggestions(references, theme: theme), global: global, json: json) }
    }
}

struct ArgueSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "argue", abstract: "Send a suggestion to a department for argument (论证); it reads it from its next sync.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The suggestion.") var reference: String
    @Option(help: "The department's office code.") var department: String
    @Option(
        help:
            "What the department reads besides the title (checked: no personal data). Default: the case's description when it holds none."
    ) var text: String?
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            printMoved([try global.open().argueSuggestion(reference, department: department, text: text)], global: global, json: json)
        }
    }
}

struct ReviewSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review", abstract: "Record this office's opinion of a suggestion under argument (论证意见).",
        discussion: "Scores are 1 to 5, higher is better (cost: 5 is cheapest). Every opinion counts: two recorded offline both stay.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The suggestion.") var reference: String
    @Option(help: "Value, 1–5.") var value: Int
    @Option(help: "Feasibility, 1–5.") var feasibility: Int
    @Option(help: "Cost, 1 (costly) – 5 (cheap).") var cost: Int
    @Option(help: "The opinion.") var text: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            let row = try global.open().reviewSuggestion(reference, value: value, feasibility: feasibility, cost: cost, text: text)
            printMoved([row], global: global, json: json)
        }
    }
}

struct SelectSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "select", abstract: "Select a suggestion under argument as a golden idea (金点子); the district's.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The suggestion.") var reference: String
    @Option(help: "A note on the decision.") var note: String?
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) { printMoved([try global.open().selectSuggestion(reference, note: note)], global: global, json: json) }
    }
}

struct RejectSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject", abstract: "Do not select a suggestion; the reason is sent back to its suggester. The district's.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The suggestion.") var reference: String
    @Option(help: "Why (the suggester reads it: no personal data).") var reason: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) { printMoved([try global.open().rejectSuggestion(reference, reason: reason)], global: global, json: json) }
    }
}

struct PublishSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", abstract: "Publish a golden idea (公示) on the server's public page and GET /ideas. The district's.",
        discussion: """
            The title and text are what the public reads: they are refused when they hold a
            run of seven digits or more (a phone, an identity or account number) or the
            suggester's name or address.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The suggestion.") var reference: String
    @Option(help: "The published title.") var title: String
    @Option(help: "The published text.") var text: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            printMoved([try global.open().publishSuggestion(reference, title: title, text: text)], global: global, json: json)
        }
    }
}

struct RewardSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward", abstract: "Record a published golden idea's reward. The district's.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The suggestion.") var reference: String
    @Option(help: "certificate, money or other.") var kind: String
    @Option(help: "A money reward's amount, in fen (integer).") var fen: Int64?
    @Option(help: "What the reward is.") var note: String
    @Flag(help: "Print as JSON.") var json = false

    func validate() throws {
        guard RewardKind(rawValue: kind) != nil else {
            throw ValidationError("unknown reward kind '\(kind)': use certificate, money or other")
        }
    }

    func run() throws {
        try running(global) {
            let row = try global.open().rewardSuggestion(reference, kind: RewardKind(rawValue: kind) ?? .other, fen: fen, note: note)
            printMoved([row], global: global, json: json)
        }
    }
}

struct AdoptSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "adopt", abstract: "Record that a published golden idea was adopted.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The suggestion.") var reference: String
    @Option(help: "A note.") var note: String?
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) { printMoved([try global.open().adoptSuggestion(reference, note: note)], global: global, json: json) }
    }
}

struct ImplementSuggestion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "implement", abstract: "Record that an adopted idea was implemented: by which office, on which day.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The suggestion.") var reference: String
    @Option(help: "The implementing office's code.") var office: String
    @Option(help: "The day, YYYY-MM-DD.") var on: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            printMoved([try global.open().implementSuggestion(reference, office: office, on: on)], global: global, json: json)
        }
    }
}
