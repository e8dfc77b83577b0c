import ArgumentParser
import CaseDomain
import ConsoleText
import Foundation
import ReplicaStore
import SuggestionDomain
import SuggestionStore

/// A period as the summary and the figures take it: a month (`2026-11`) or two days,
/// as the bounds of [from, until) in epoch milliseconds (China time, UTC+8).
struct Period {
    let from: Int64
    let until: Int64
    let label: String

    static func start(_ day: CivilDate) -> Int64 { Int64(day.daysSinceEpoch) * 86_400_000 - 480 * 60_000 }

    init(period: String?, from: String?, to: String?) throws {
        switch (period, from, to) {
        case (let period?, nil, nil):
            let parts = period.split(separator: "-")
            guard parts.count == 2, let year = Int(parts[0]), let month = Int(parts[1]),
                let first = CivilDate(year: year, month: month, day: 1)
            else { throw ValidationError("--period must be a month YYYY-MM, not '\(period)'") }
            let next = month == 12 ? CivilDate(year: year + 1, month: 1, day: 1)! : CivilDate(year: year, month: month + 1, day: 1)!
            (self.from, until, label) = (Self.start(first), Self.start(next), period)
        case (nil, let from?, let to?):
            guard let first = CivilDate(parsing: from), let last = CivilDate(parsing: to) else {
                throw ValidationError("--from and --to must be days YYYY-MM-DD")
            }
            guard first <= last else { throw ValidationError("--to (\(last)) is before --from (\(first))") }
            (self.from, until, label) = (Self.start(first), Self.start(last) + 86_400_000, "\(first)–\(last)")
        default:
            throw ValidationError("give --period YYYY-MM, or --from YYYY-MM-DD and --to YYYY-MM-DD")
        }
    }
}

struct SuggestionSummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary", abstract: "The periodic summary (定期汇总分类): a period's suggestions by theme and by likeness.",
        discussion: """
            Suggestions received in the period, by theme (or, not yet grouped, by category);
            within each, groups of like suggestions — those a person grouped together, then
            each other one joins the group whose leader suggests the likest thing (Chinese
            character bigrams, Dice ≥ 0.5, the wordings of a suggestion and estates' names left
            out) or leads a new one — biggest first, each with its count, the offices it came
            from, and a representative (the member likest the others). --json prints {"period", "count",
            "themes": [{"theme", "is_category", "count", "groups": [{"representative",
            "title", "count", "offices": [{"office", "count"}], "numbers"}]}]}; --csv prints
            theme,representative,count,offices,title,numbers (UTF-8).
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "A month, YYYY-MM.") var period: String?
    @Option(help: "The first day, YYYY-MM-DD (with --to).") var from: String?
    @Option(help: "The last day, YYYY-MM-DD (with --from).") var to: String?
    @Flag(help: "Print as JSON.") var json = false
    @Flag(help: "Print as CSV.") var csv = false

    func validate() throws {
        _ = try Period(period: period, from: from, to: to)
        if json, csv { throw ValidationError("give --json or --csv, not both") }
    }

    func run() throws {
        try running(global) {
            let out = global.output
            let span = try Period(period: period, from: from, to: to)
            let (count, themes) = try global.open().suggestionSummary(from: span.from, until: span.until)
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("period", .string(span.label)), ("count", .integer(Int64(count))),
                            (
                                "themes",
                                .array(
                                    themes.map { theme in
                                        .object([
                                            ("theme", .string(theme.theme)), ("is_category", .bool(theme.isCategory)),
                                            ("count", .integer(Int64(theme.count))),
                                            ("groups", .array(theme.groups.map(groupJSON))),
                                        ])
                                    })
                            ),
                        ])))
                return
            }
            if csv {
                print("theme,representative,count,offices,title,numbers")
                for theme in themes {
                    for group in theme.groups {
                        let offices = group.offices.map { "\($0.office):\($0.count)" }.joined(separator: ";")
                        print(
                            [
                                theme.theme, group.representative, String(group.count), offices, group.representativeTitle,
                                group.numbers.joined(separator: ";"),
                            ]
                            .map(BatchFile.cell).joined(separator: ","))
                    }
                }
                return
            }
            print(
                out.bold(
                    out.text(
                        "建议汇总 \(span.label)：共 \(count) 条，\(themes.count) 个主题/类别",
                        "Suggestions \(span.label): \(count) in \(themes.count) theme(s) or categories")))
            for theme in themes {
                print("")
                print(
                    out.bold(
                        theme.theme + (theme.isCategory ? out.text("（类别）", " (category)") : "") + "  "
                            + out.text("\(theme.count) 条", "\(theme.count)")))
                out.table(
                    [
                        out.text("条数", "count"), out.text("代表编号", "representative"), out.text("来自", "offices"),
                        out.text("代表内容", "representative text"),
                    ],
                    theme.groups.map { group in
                        [
                            String(group.count), group.representative,
                            group.offices.prefix(4).map { "\($0.office)×\($0.count)" }.joined(separator: " ")
                                + (group.offices.count > 4 ? " …" : ""),
                            group.representativeTitle,
                        ]
                    })
            }
        }
    }
}

func groupJSON(_ group: SummaryGroup) -> JSONOut.Node {
    .object([
        ("representative", .string(group.representative)), ("title", .string(group.representativeTitle)),
        ("count", .integer(Int64(group.count))),
        ("offices", .array(group.offices.map { .object([("office", .string($0.office)), ("count", .integer(Int64($0.count)))]) })),
        ("numbers", .array(group.numbers.map { .string($0) })),
    ])
}

struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign", abstract: "Suggestion campaigns (征集活动, 我为雨花献一策): a theme, a period, the offices collecting.",
        subcommands: [NewCampaign.self, ListCampaigns.self, CloseCampaign.self, CampaignFiguresCommand.self])
}

func campaignJSON(_ row: CampaignRow) -> JSONOut.Node {
    .object([
        ("code", .string(row.code)), ("theme", .string(row.theme)), ("from", .string(row.starts)), ("to", .string(row.ends)),
        ("offices", .array(row.offices.map { .string($0) })), ("owner", .string(row.owner)), ("status", .string(row.status)),
    ])
}

struct NewCampaign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Set up a campaign (the district's or a street's); every office reads it from its next sync.",
        discussion: "Suggestions join it with `rain case new --kind suggestion --campaign CODE …` while it is open and in its period.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The campaign's code (e.g. 2026-献策).") var code: String
    @Option(help: "The theme.") var theme: String
    @Option(help: "The first day, YYYY-MM-DD.") var from: String
    @Option(help: "The last day, YYYY-MM-DD.") var to: String
    @Option(help: "The offices collecting, codes separated by commas (default: every office).") var offices: String?
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            let list = offices.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            let row = try global.open().newCampaign(code: code, theme: theme, starts: from, ends: to, offices: list)
            print(json ? JSONOut.render(campaignJSON(row)) : row.code)
        }
    }
}

struct ListCampaigns: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List campaigns, newest first.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            let out = global.output
            let rows = try global.open().campaigns()
            if json {
                print(JSONOut.render(.array(rows.map(campaignJSON))))
                return
            }
            guard !rows.isEmpty else {
                print(out.text("没有征集活动", "no campaign"))
                return
            }
            out.table(
                [
                    out.text("代码", "code"), out.text("主题", "theme"), out.text("期间", "period"), out.text("办公室", "offices"),
                    out.text("状态", "status"),
                ],
                rows.map {
                    [
                        $0.code, $0.theme, $0.starts + "–" + $0.ends,
                        $0.offices.isEmpty ? out.text("全部", "all") : $0.offices.joined(separator: ","),
                        $0.status == "open" ? out.text("进行中", "open") : out.text("已结束", "closed"),
                    ]
                })
        }
    }
}

struct CloseCampaign: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "close", abstract: "Close a campaign: it takes no more suggestions.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The campaign's code.") var code: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            let row = try global.open().closeCampaign(code)
            print(json ? JSONOut.render(campaignJSON(row)) : global.output.text("已结束 \(row.code)", "closed \(row.code)"))
        }
    }
}

struct CampaignFiguresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "figures", abstract: "A campaign's figures by office and theme.",
        discussion: """
            received: every suggestion of the campaign; grouped: past submitted; argued: at
            least one department's opinion; selected: a golden idea; rewarded: a reward
            recorded; adopted: adopted or implemented. Counted over the suggestions this
            replica holds (the district's: all). --json prints {"campaign", "rows": [{"office",
            "theme", "received", …}], "total": {…}}.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The campaign's code.") var code: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) {
            let out = global.output
            let (campaign, rows, total) = try global.open().campaignFigures(code)
            func node(_ figures: CampaignFigures) -> JSONOut.Node {
                .object(
                    [("office", .string(figures.office)), ("theme", .string(figures.theme))]
                        + [
                            ("received", figures.received), ("grouped", figures.grouped), ("argued", figures.argued),
                            ("selected", figures.selected), ("rewarded", figures.rewarded), ("adopted", figures.adopted),
                        ].map { ($0.0, JSONOut.Node.integer(Int64($0.1))) })
            }
            if json {
                print(
                    JSONOut.render(
                        .object([("campaign", campaignJSON(campaign)), ("rows", .array(rows.map(node))), ("total", node(total))])))
                return
            }
            print(out.bold(campaign.code + "  " + campaign.theme + "  " + campaign.starts + "–" + campaign.ends))
            out.table(
                [
                    out.text("办公室", "office"), out.text("主题", "theme"), out.text("收到", "received"), out.text("归类", "grouped"),
                    out.text("论证", "argued"), out.text("入选", "selected"), out.text("奖励", "rewarded"), out.text("采纳", "adopted"),
                ],
                (rows + [total]).map {
                    [
                        $0.office == "*" ? out.text("合计", "total") : $0.office, $0.theme == "*" ? "" : $0.theme, String($0.received),
                        String($0.grouped), String($0.argued), String($0.selected), String($0.rewarded), String($0.adopted),
                    ]
                })
        }
    }
}
