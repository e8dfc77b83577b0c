import CaseDomain
import Foundation
import SuggestionDomain
import SyncCore
import SyncProtocol
import Testing

/// The `suggestions` kind's declaration: what `Protocol/kinds/suggestions.json` publishes.
@Suite struct SuggestionRecordsTests {
    static var protocolFile: String {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root.appendingPathComponent("Protocol/kinds/suggestions.json").path
    }

    @Test func protocolPublishesTheDeclarationAsItIs() throws {
        let published = try String(contentsOfFile: Self.protocolFile, encoding: .utf8)
        #expect(
            published == KindDeclarationV1.encode(SuggestionRecords.kind),
            "regenerate: rain-server kind suggestions > Protocol/kinds/suggestions.json")
        #expect(try KindDeclarationV1.decode(Array(published.utf8)).tables == SuggestionRecords.kind.tables)
    }

    @Test func theMergeRulesAreProtocolVersionOnes() {
        for (table, rules) in Schema(kinds: [SuggestionRecords.kind]).tables {
            #expect(Schema.timelyRain.tables[table] == rules, "\(table)")
        }
        let schema = Schema(kinds: [SuggestionRecords.kind])
        // Reviews are not a last-writer-wins field: each is a record of its own.
        #expect(schema.kind(of: "suggestion_reviews") == .appendOnly)
        #expect(schema.kind(of: "suggestion_steps") == .appendOnly)
        // Every stage the pure pipeline knows is a stage of the merge rule, in its order.
        #expect(SuggestionRecords.stages == SuggestionStage.allCases.map(\.rawValue))
        #expect(SuggestionStage.selected > .notSelected, "a concurrent selection wins over a rejection")
    }

    @Test func onlyTheDistrictWritesTheDecisionAndThePublication() throws {
        let table = try #require(SuggestionRecords.kind.tables.first { $0.name == "suggestions" })
        let restricted = Dictionary(uniqueKeysWithValues: table.fields.map { ($0.name, $0.writers) })
        #expect(restricted["stage"] == .district(except: ["submitted", "grouped", "arguing"]))
        for field in [
            "decision_reason", "public_title", "public_text", "published_at", "rejected_at", "reward_kind", "reward_fen", "reward_note",
            "implemented_by", "implemented_on",
        ] {
            #expect(restricted[field] == .district(except: []), "\(field)")
        }
        // The declaration's writers round-trip through the published form.
        let decoded = try KindDeclarationV1.decode(Array(KindDeclarationV1.encode(SuggestionRecords.kind).utf8))
        #expect(decoded.tables.first { $0.name == "suggestions" }?.fields.first { $0.name == "stage" }?.writers == restricted["stage"])
        // The server's views keep no resident's data and no suggestion's words.
        let columns = SuggestionRecords.suggestionView.columns.map(\.name)
        #expect(!columns.contains("text") && !columns.contains("title"))
    }
}

@Suite struct SuggestionPipelineTests {
    @Test func everyMoveIsLegalOnlyFromItsStagesAndTheRefusalNamesTheLegalOnes() {
        for stage in SuggestionStage.allCases {
            for move in SuggestionMove.allCases {
                let legal = move.sources.contains(stage)
                do {
                    try move.check(from: stage, number: "HSM-1")
                    #expect(legal, "\(move) from \(stage)")
                } catch {
                    #expect(!legal, "\(move) from \(stage)")
                    let names = SuggestionMove.legal(from: stage).map(\.rawValue)
                    for name in names { #expect(error.en.contains(name), "\(error.en)") }
                    #expect(error.zh.contains(stage.label(.zh)))
                    #expect(error.kind == .illegalMove)
                }
            }
        }
        // The pipeline the district runs, step by step.
        var stage = SuggestionStage.submitted
        for move in [SuggestionMove.group, .argue, .select, .publish, .reward, .adopt, .implement] {
            #expect(throws: Never.self) { try move.check(from: stage, number: "N") }
            stage = move.target
        }
        #expect(stage == .implemented)
        #expect(SuggestionMove.legal(from: .notSelected).isEmpty && SuggestionMove.legal(from: .implemented).isEmpty)
    }

    @Test func publishedTextsHoldNoPersonalData() {
        #expect(PersonalDataCheck.finding(in: "联系电话 138-1234-1234") == .phone)
        #expect(PersonalDataCheck.finding(in: "身份证 43010219900101123X") == .idNumber)
        #expect(PersonalDataCheck.finding(in: "账号 6222 0202 0011 2233") == .bankAccount)
        #expect(PersonalDataCheck.finding(in: "全角１３８１２３４１２３４") == .phone)
        #expect(PersonalDataCheck.finding(in: "王建国建议增设路灯", name: "王建国") == .name)
        #expect(PersonalDataCheck.finding(in: "在和平路88号3栋门口", address: "和平路88号3栋") == .address)
        #expect(PersonalDataCheck.finding(in: "在小区出入口增设信号灯，2026年完成，投入30万元", name: "王建国", address: "和平路88号") == nil)
    }
}

@Suite struct SuggestionSummaryTests {
    func item(
        _ number: String, _ title: String, office: String = "HSM", category: String = "交通出行", theme: String? = nil, group: String? = nil
    )
        -> SummaryItem
    {
        SummaryItem(number: number, community: office, category: category, theme: theme, groupKey: group, title: title, stage: .submitted)
    }

    @Test func aPeriodGroupsByThemeThenByLikeness() {
        let themes = SuggestionSummary.themes([
            item("A1", "小区门口增设红绿灯", office: "HSM"),
            item("A2", "建议小区门口装红绿灯", office: "XQ"),
            item("A3", "小区门口红绿灯", office: "XQ"),
            item("A4", "公交站增加候车亭", office: "HSM"),
            item("B1", "社区开设老年食堂", category: "社会救助", theme: "养老"),
            item("B2", "增加社区养老床位", category: "医疗卫生", theme: "养老", group: "B1"),
        ])
        #expect(themes.map(\.theme) == ["交通出行", "养老"])
        #expect(themes[0].isCategory && !themes[1].isCategory)
        let traffic = themes[0].groups
        #expect(traffic.map(\.count) == [3, 1])
        #expect(Set(traffic[0].numbers) == ["A1", "A2", "A3"])
        #expect(traffic[0].offices.map(\.office) == ["XQ", "HSM"] && traffic[0].offices.map(\.count) == [2, 1])
        #expect(traffic[0].representative == "A3", "the title likest the others'")
        // A person's grouping joins what the titles alone would not.
        #expect(themes[1].groups.count == 1 && themes[1].groups[0].count == 2)
    }

    @Test func oneIdeaForManyEstatesIsOneGroupAndManyIdeasForOneEstateAreNot() {
        #expect(SuggestionSummary.content("关于幸福小区增设红绿灯的建议") == "增设红绿灯")
        #expect(SuggestionSummary.content("希望在东湖花园增设红绿灯") == "增设红绿灯")
        #expect(SuggestionSummary.content("建议") == "建议", "a title of nothing but a wording stays itself")
        let themes = SuggestionSummary.themes([
            item("C1", "关于幸福小区增设红绿灯的建议"), item("C2", "希望在东湖花园增设红绿灯"), item("C3", "建议金桂家园增设红绿灯"),
            item("C4", "幸福小区开设老年食堂"), item("C5", "关于幸福小区增加停车位的建议"),
            // Half about traffic lights: it joins the likest leader, and nothing chains through it.
            item("C6", "增设停车位和红绿灯"),
        ])
        let groups = themes[0].groups
        #expect(groups.map(\.count) == [4, 1, 1], "\(groups.map(\.numbers))")
        #expect(Set(groups[0].numbers) == ["C1", "C2", "C3", "C6"])
    }

    @Test func campaignFiguresCountEachStageReached() {
        let items = [
            FigureItem(office: "HSM", theme: "交通", stage: .submitted, reviewed: false, rewarded: false),
            FigureItem(office: "HSM", theme: "交通", stage: .notSelected, reviewed: true, rewarded: false),
            FigureItem(office: "HSM", theme: "交通", stage: .implemented, reviewed: true, rewarded: true),
            FigureItem(office: "XQ", theme: "养老", stage: .published, reviewed: true, rewarded: false),
        ]
        let (rows, total) = CampaignFigures.compute(items)
        #expect(rows.map(\.office) == ["HSM", "XQ"])
        func figures(_ f: CampaignFigures) -> [Int] { [f.received, f.grouped, f.argued, f.selected, f.rewarded, f.adopted] }
        #expect(figures(rows[0]) == [3, 2, 2, 1, 1, 1])
        #expect(figures(total) == [4, 3, 3, 2, 1, 1])
    }
}
