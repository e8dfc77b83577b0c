public import CaseDomain
import Foundation
import GRDB
public import ReplicaStore
public import SuggestionDomain
import SyncCore
import SyncProtocol

extension ReplicaStore {
    // MARK: Campaigns

    /// Sets up a campaign (征集活动: a theme and a period, the offices collecting; none
    /// named: every office), open at once. The district's or a street's. Its id is derived
    /// from its code: two offices setting up the same code write one record.
    public func newCampaign(
        code: String, theme: String, starts: String, ends: String, offices: [String], now: Int64 = ReplicaStore.nowMillis()
    ) throws -> CampaignRow {
        let level = try officeLevel()
        guard level == nil || level == "district" || level == "street" else {
            throw SuggestionError(
                .jurisdiction, zh: "只有区级或街道可以发起征集活动",
                en: "cannot set up a campaign: only the district or a street may, not office \(identity.office)")
        }
        let code = code.trimmingCharacters(in: .whitespaces)
        guard !code.isEmpty, code.count <= 40, !code.contains(where: { $0.isWhitespace || $0 == ";" }) else {
            throw SuggestionError(
                .input, zh: "活动代码须为 1–40 个字符、不含空格", en: "cannot set up the campaign: the code must be 1–40 characters without spaces (CODE)"
            )
        }
        let theme = try Self.checkedLine(theme, what: "theme", zh: "主题")
        guard let first = CivilDate(parsing: starts), let last = CivilDate(parsing: ends) else {
            throw SuggestionError(.input, zh: "日期须为 YYYY-MM-DD", en: "cannot set up the campaign: --from and --to must be dates YYYY-MM-DD")
        }
        guard first <= last else {
            throw SuggestionError(
                .input, zh: "结束日期早于开始日期", en: "cannot set up the campaign: it ends (\(last)) before it starts (\(first)) (--to)")
        }
        for office in offices where office.isEmpty || !office.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
            throw SuggestionError(
                .input, zh: "办公室代码「\(office)」无效", en: "cannot set up the campaign: \(office) is not an office code (--offices)")
        }
        let id = DerivedID.make(["campaign", code])
        if try findCampaignRow(code) != nil {
            throw SuggestionError(.input, zh: "活动代码 \(code) 已存在", en: "cannot set up the campaign: campaign \(code) exists (CODE)")
        }
        var fields: [String: Value] = [
            "code": .text(code), "theme": .text(theme), "starts": .text(first.description), "ends": .text(last.description),
            "owner": .text(identity.office), "status": .text("open"), "round": .integer(1), "created_at": .timestamp(now),
        ]
        if !offices.isEmpty { fields["offices"] = .text(offices.joined(separator: ";")) }
        try write(fields, to: RecordKey(table: "campaigns", id: id), now: now)
        return try findCampaign(code)
    }

    /// Every campaign this replica holds (every office holds every campaign), newest first.
    public func campaigns() throws -> [CampaignRow] {
        try reading("cannot read the campaigns") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM campaigns ORDER BY starts DESC, code").map(CampaignRow.init(row:))
        }
    }

    /// The campaign with `code`.
    public func findCampaign(_ code: String) throws -> CampaignRow {
        guard let row = try findCampaignRow(code) else {
            throw SuggestionError(.notFound, zh: "没有代码为 \(code) 的征集活动", en: "no campaign has code \(code) (CODE)")
        }
        return row
    }

    func findCampaignRow(_ code: String) throws -> CampaignRow? {
        try reading("cannot read the campaigns") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM campaigns WHERE code = ? OR id = ?", arguments: [code, code]).map(
                CampaignRow.init(row:))
        }
    }

    /// Closes a campaign: it takes no more suggestions.
    public func closeCampaign(_ code: String, now: Int64 = ReplicaStore.nowMillis()) throws -> CampaignRow {
        let campaign = try findCampaign(code)
        let level = try officeLevel()
        guard campaign.owner == identity.office || level == nil || level == "district" else {
            throw SuggestionError(
                .jurisdiction, zh: "活动 \(campaign.code) 由 \(campaign.owner) 发起，只有它或区级可以结束",
                en: "cannot close campaign \(campaign.code): it is office \(campaign.owner)'s (or the district's) to close")
        }
        guard campaign.status == "open" else {
            throw SuggestionError(
                .illegalMove, zh: "活动 \(campaign.code) 已结束", en: "cannot close campaign \(campaign.code): it is closed already (status)")
        }
        try write(
            ["status": .text("closed"), "round": .integer(1), "closed_at": .timestamp(now)],
            to: RecordKey(table: "campaigns", id: campaign.id), now: now)
        return try findCampaign(campaign.id)
    }

    /// Refuses a campaign that does not take a suggestion here today.
    func checkCampaignOpen(_ code: String, now: Int64) throws {
        let campaign = try findCampaign(code)
        let today = CivilDate(epochMillis: now).description
        guard campaign.status == "open", campaign.starts <= today, today <= campaign.ends else {
            throw SuggestionError(
                .input, zh: "活动 \(campaign.code) 今天不征集（\(campaign.starts)–\(campaign.ends)，\(campaign.status == "open" ? "进行中" : "已结束")）",
                en:
                    "cannot join campaign \(campaign.code): it runs \(campaign.starts) to \(campaign.ends) and is \(campaign.status) (--campaign)"
            )
        }
        guard campaign.offices.isEmpty || campaign.offices.contains(identity.office) else {
            throw SuggestionError(
                .input, zh: "本办公室 \(identity.office) 不参加活动 \(campaign.code)",
                en: "cannot join campaign \(campaign.code): office \(identity.office) is not one of its offices (--campaign)")
        }
    }

    /// A campaign's figures by office and theme, and in total (README, "Suggestions").
    public func campaignFigures(_ code: String) throws -> (campaign: CampaignRow, rows: [CampaignFigures], total: CampaignFigures) {
        let campaign = try findCampaign(code)
        let reviewed = try reviewedSuggestions()
        let items = try suggestions(SuggestionFilter(campaign: campaign.code)).map {
            FigureItem(
                office: $0.community, theme: $0.theme ?? campaign.theme, stage: $0.stage, reviewed: reviewed.contains($0.id),
                rewarded: $0.rewardKind != nil)
        }
        let figures = CampaignFigures.compute(items)
        return (campaign, figures.rows, figures.total)
    }

    /// The periodic summary of the suggestions received in [`from`, `until`).
    public func suggestionSummary(from: Int64, until: Int64) throws -> (count: Int, themes: [SummaryTheme]) {
        let rows = try suggestions(SuggestionFilter(from: from, until: until))
        let items = rows.map {
            SummaryItem(
                number: $0.number, community: $0.community, category: $0.category, theme: $0.theme, groupKey: $0.groupKey,
                title: $0.title, stage: $0.stage)
        }
        return (rows.count, SuggestionSummary.themes(items))
    }
}
