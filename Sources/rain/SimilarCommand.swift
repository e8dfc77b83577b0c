import ArgumentParser
import CaseDomain
import CaseStore
import ConsoleText
import Foundation
import ReplicaStore
import SuggestionStore

/// The likeness rules as `--help` tells them (README, "Similarity rules").
let similarityRules = """
    A candidate shares with the case at least one of: the same phone; the same place (the
    address without province, city or district, full-width as half-width, 三栋/3号楼/3幢/3座
    as 3栋, 3-2-501 as 3栋2单元501, 室 dropped; only a place with a number counts); titles
    alike (Chinese character bigrams, Dice ≥ 0.5); or the same category within 14 days
    with titles at least 0.3 alike. Only the cases this replica holds are compared: a
    community's replica its own, a street's its communities', the district's all.
    """

/// A candidate as `--json` prints it.
func similarJSON(_ found: SimilarCase, links: Set<String>) -> JSONOut.Node {
    .object([
        ("number", .string(found.row.number ?? found.row.id)), ("reasons", .array(found.match.reasons.map { .string($0.rawValue) })),
        ("similarity", .string(String(format: "%.2f", found.match.similarity))), ("kind", .string(found.row.kind)),
        ("category", .string(found.row.category)), ("office", .string(found.row.office)), ("status", .string(found.row.status)),
        ("title", .string(found.row.title)), ("created_at", .integer(found.row.createdAt)),
        ("linked", .bool(links.contains(found.row.number ?? ""))),
    ])
}

/// Prints the candidates of `reference` (of `kind` only, if given).
func printSimilar(_ reference: String, kind: CaseKind?, global: GlobalOptions, json: Bool) throws {
    let store = try global.open()
    let out = global.output
    let (subject, candidates) = try store.similarCases(to: reference, kind: kind)
    let links = Set(try store.links(ofCase: subject.id).filter(\.linked).map(\.number))
    if json {
        print(JSONOut.render(.array(candidates.map { similarJSON($0, links: links) })))
        return
    }
    guard !candidates.isEmpty else {
        print(out.text("没有疑似重复的\(kind == .suggestion ? "建议" : "案件")", "no likely duplicate found"))
        return
    }
    out.table(
        [
            out.text("编号", "number"), out.text("理由", "reasons"), out.text("相似度", "likeness"), out.text("办公室", "office"),
            out.text("受理", "received"), out.text("标题", "title"), out.text("已关联", "linked"),
        ],
        candidates.map {
            [
                $0.row.number ?? $0.row.id, $0.match.reasons.map { $0.label(out.language) }.joined(separator: "、"),
                String(format: "%.2f", $0.match.similarity), $0.row.office ?? "", formatTime($0.row.createdAt), $0.row.title ?? "",
                links.contains($0.row.number ?? "") ? out.text("是", "yes") : "",
            ]
        })
}

struct SimilarCases: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar", abstract: "List cases that may be duplicates of one case, with the reasons.",
        discussion: similarityRules + """


            --json prints an array of {"number", "reasons", "similarity", "kind", "category",
            "office", "status", "title", "created_at", "linked"}; reasons are same_phone,
            same_place, similar_text, same_category_window. Link a duplicate with `rain case link`.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A case number, an id, or a unique prefix of either.") var reference: String
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        try running(global) { try printSimilar(reference, kind: nil, global: global, json: json) }
    }
}

struct LinkCases: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link", abstract: "Link two cases judged duplicates (or take a link back with --undo).",
        discussion: """
            A link is a record of its own: it syncs to both cases' communities. The cases stay
            separate cases and each resident still gets an answer.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "One case.") var first: String
    @Argument(help: "The other case.") var second: String
    @Flag(help: "Take the link back.") var undo = false
    @Flag(help: "Print the link as JSON.") var json = false

    func run() throws {
        try running(global) {
            let out = global.output
            let link = try global.open().linkCases(first, second, linked: !undo)
            if json {
                print(
                    JSONOut.render(
                        .object([
                            ("number", .string(link.number)), ("reasons", .array(link.reasons.map { .string($0) })),
                            ("linked", .bool(link.linked)),
                        ])))
            } else {
                print(undo ? out.text("已取消关联", "unlinked") : out.text("已关联", "linked"))
            }
        }
    }
}
