import ArgumentParser
import CaseDomain
import CaseStore
import Foundation
import GRDB
import PolicyDomain
import PolicyStore
import ReplicaStore
import SuggestionStore
import SyncCore

/// `rain-bench similar`: duplicate detection on a district replica of 100,000 cases (issue
/// 19: the candidates for one case in ≤ 100 ms), beside raw SQLite over the same file; the
/// data set also holds a month of 1,000 suggestions from 30 offices for
/// `rain suggestion summary`.
struct SimilarBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar",
        abstract: "Find the likely duplicates of cases on a district replica of 100,000 cases, beside raw SQLite.",
        discussion: """
            Makes a district replica (--db, a new file) of --cases cases over a year from --offices
            communities, written through the store as pulled changes are (so the likeness index
            is kept as in use): titles from templates (mostly an estate of 200, a place, a problem, a wording), phones from a
            pool where some residents call again, addresses from 200 estates written in several
            forms. The last --suggestions are suggestions received in 2026-11, from the same offices,
            on 40 ideas worded variously. Then, for --lookups cases chosen at random: the time of
            `similarCases` (what `rain case similar` runs: index reads, then the rules), and raw
            SQLite over the same file: the bigram index query alone, and a scan of every title
            (LIKE, what a replica without the index would do for one bigram). Medians, p95 and max.
            Afterwards: rain suggestion summary --period 2026-11 --db FILE.
            """)

    @Option(help: "The replica file to create (must not exist).") var db: String
    @Option(help: "Cases in all.") var cases = 100_000
    @Option(help: "Of them, suggestions received in 2026-11.") var suggestions = 1_000
    @Option(help: "Community offices.") var offices = 30
    @Option(help: "Lookups timed.") var lookups = 200
    @Option(help: "The generator's seed.") var seed: UInt64 = 2_026

    static let day: Int64 = 86_400_000
    static let estates = (0..<200).map { index in
        [
            "幸福", "和平", "东湖", "西城", "南苑", "北辰", "金桂", "银杏", "雨花", "井湾", "洞井", "高桥", "黎托", "同升", "左家塘", "砂子塘", "圭塘",
            "侯家塘", "东塘", "红星",
        ][index % 20]
            + ["小区", "花园", "家园", "新村", "苑", "公寓", "雅苑", "名城", "佳园", "社区"][index / 20]
    }
    static let places = ["小区门口", "东门", "北门", "楼下", "菜市场旁", "学校门口", "公交站", "公园里", "地下车库", "楼道里", "电梯间", "健身广场"]
    static let problems = [
        "路灯不亮", "垃圾堆放", "噪音扰民", "积水严重", "停车难", "井盖缺失", "树木遮挡视线", "违章搭建", "电梯故障", "屋顶漏水", "占道经营", "油烟扰民",
        "下水道堵塞", "共享单车乱停", "宠物扰民",
    ]
    // Most residents name their estate; some do not.
    static let wordings = ["{e}{p}{q}", "{e}{p}{q}，请尽快处理", "反映{e}{p}{q}", "{p}长期{q}", "{q}（{e}{p}）", "{p}又{q}了"]
    static let ideas = [
        "增设红绿灯", "开设老年食堂", "增加停车位", "建设口袋公园", "开设四点半课堂", "增设充电桩", "加装电梯", "设置快递柜", "增设公共厕所", "开通社区巴士",
        "增设健身器材", "建设篮球场", "开设社区图书室", "设置垃圾分类亭", "增设无障碍通道", "建设社区菜园", "开设便民维修点", "增加公交班次", "设置儿童游乐区",
        "建设社区食堂", "改造老旧管网", "增设休息座椅", "设立志愿服务站", "开设老年大学", "增设母婴室", "建设自行车道", "设置夜间照明", "改造农贸市场",
        "开设托育中心", "增设消防通道标识", "建设雨水花园", "增设监控探头", "开设法律咨询点", "增设宠物便便箱", "设立二手交换角", "增设遮阳棚", "建设屋顶花园",
        "开设心理咨询室", "改造背街小巷", "增设饮水点",
    ]
    static let ideaWordings = ["建议{e}{i}", "{e}应该{i}", "希望在{e}{i}", "关于{e}{i}的建议", "{i}，方便居民", "恳请{i}"]

    func run() throws {
        guard !FileManager.default.fileExists(atPath: db) else { throw ValidationError("\(db) exists: give a new file (--db)") }
        guard suggestions <= cases, offices >= 1, lookups >= 1 else { throw ValidationError("need --suggestions ≤ --cases, --offices ≥ 1") }
        var random = SplitMix64(seed: seed)
        let codes = (1...offices).map { String(format: "C%02d", $0) }
        let store = try ReplicaStore.create(at: db, office: "HSD", staff: "数据生成", also: [PolicyProjection(), SuggestionProjection()])
        defer { store.close() }
        let categories = CategoryList.defaults
        let phones = (0..<40_000).map { _ in
            "1" + String(Int.random(in: 3...9, using: &random)) + String(format: "%09d", Int.random(in: 0..<1_000_000_000, using: &random))
        }
        let yearStart = Int64(CivilDate(year: 2025, month: 12, day: 1)!.daysSinceEpoch) * Self.day - 8 * 3_600_000
        let november = Int64(CivilDate(year: 2026, month: 11, day: 1)!.daysSinceEpoch) * Self.day - 8 * 3_600_000
        func address() -> String {
            let estate = Self.estates.randomElement(using: &random)!
            let (building, unit, room) = (
                Int.random(in: 1...30, using: &random), Int.random(in: 1...4, using: &random),
                Int.random(in: 1...18, using: &random) * 100 + Int.random(in: 1...4, using: &random)
            )
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return "\(estate)\(building)栋\(unit)单元\(room)室"
            case 1: return "\(estate)\(building)号楼\(unit)单元\(room)"
            default: return "\(estate)\(building)-\(unit)-\(room)"
            }
        }
        let made = ContinuousClock.now
        var batch: [(fields: [String: Value], record: RecordKey)] = []
        for index in 0..<cases {
            let suggestion = index >= cases - suggestions
            let office = codes.randomElement(using: &random)!
            let created =
                suggestion
                ? november + Int64.random(in: 0..<(30 * Self.day), using: &random)
                : yearStart + Int64.random(in: 0..<(365 * Self.day), using: &random)
            let title: String
            var category = categories[Int.random(in: 0..<categories.count, using: &random)]
            if suggestion {
                let ideaIndex = Int.random(in: 0..<Self.ideas.count, using: &random)
                let idea = Self.ideas[ideaIndex]
                // An idea falls under one category, as staff would file it.
                category = categories[ideaIndex % categories.count]
                title = Self.ideaWordings.randomElement(using: &random)!.replacingOccurrences(
                    of: "{e}", with: Self.estates.randomElement(using: &random)!
                )
                .replacingOccurrences(of: "{i}", with: idea)
            } else {
                title = Self.wordings.randomElement(using: &random)!.replacingOccurrences(
                    of: "{p}", with: Self.places.randomElement(using: &random)!
                )
                .replacingOccurrences(of: "{q}", with: Self.problems.randomElement(using: &random)!)
                .replacingOccurrences(of: "{e}", with: Self.estates.randomElement(using: &random)!)
            }
            let day = CivilDate(epochMillis: created)
            let number = "\(office)-\(String(format: "%04d%02d%02d", day.year, day.month, day.day))-0000-BEN-\(index)"
            var fields: [String: Value] = [
                "number": .text(number), "kind": .text(suggestion ? "suggestion" : ["complaint", "consultation", "help"][index % 3]),
                "category": .text(category), "title": .text(title),
                "status": .text("received"), "round": .integer(1), "level": .text("community"), "office": .text(office),
                "community": .text(office), "created_at": .timestamp(created), "address": .text(address()),
                // A resident calls again now and then: a pool of 40,000 phones for 100,000 cases.
                "phone": .text(phones[Int.random(in: 0..<phones.count, using: &random)]),
            ]
            if suggestion { fields["source"] = .text(index % 4 == 0 ? "online" : "counter") }
            batch.append((fields, RecordKey(table: "cases", id: ReplicaStore.newRecordID(now: created))))
            if batch.count == 5_000 {
                try store.write(batch: batch, now: created)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try store.write(batch: batch, now: november) }
        let making = seconds(ContinuousClock.now - made)
        let ids = try DatabaseQueue(path: db).read { try String.fetchAll($0, sql: "SELECT id FROM cases ORDER BY rowid") }
        let chosen = (0..<lookups).map { _ in ids[Int.random(in: 0..<ids.count, using: &random)] }

        // Ours: what `rain case similar` runs.
        var ours: [Double] = []
        var found = 0
        for id in chosen {
            let (result, time) = try timed { try store.similarCases(to: id) }
            ours.append(time)
            found += result.candidates.count
        }
        // Raw SQLite over the same file: the index query alone, and a scan for one bigram.
        let raw = try DatabaseQueue(path: db)
        var index: [Double] = []
        var scan: [Double] = []
        for id in chosen {
            let title = try raw.read { try String.fetchOne($0, sql: "SELECT title FROM cases WHERE id = ?", arguments: [id]) } ?? ""
            let grams = LikenessKeys.grams(title).map(String.init).joined(separator: ",")
            index.append(
                try timed {
                    try raw.read { db in
                        try Row.fetchAll(
                            db,
                            sql:
                                "SELECT case_rowid, COUNT(*) FROM case_grams WHERE gram IN (\(grams)) GROUP BY case_rowid HAVING COUNT(*) >= 2"
                        )
                        .count
                    }
                }.1)
            let bigram = String(title.prefix(2))
            scan.append(
                try timed {
                    try raw.read { db in
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM cases WHERE title LIKE ?", arguments: ["%" + bigram + "%"])
                    }
                }
                .1)
        }
        func p95(_ values: [Double]) -> Double { values.sorted()[min(values.count - 1, Int(Double(values.count) * 0.95))] }
        let size = (try? FileManager.default.attributesOfItem(atPath: db)[.size] as? Int) ?? 0
        print(
            "\(cases) cases (\(suggestions) suggestions in 2026-11) from \(offices) offices, written in \(format(making, 1)) s; file \(size / 1_048_576) MiB; \(lookups) lookups, \(format(Double(found) / Double(lookups), 1)) candidates each on average"
        )
        printTable(
            ["", "median ms", "p95 ms", "max ms"],
            [
                [
                    "similarCases (rain case similar): index reads + rules", format(median(ours) * 1000, 2), format(p95(ours) * 1000, 2),
                    format(ours.max()! * 1000, 2),
                ],
                [
                    "raw SQLite: the bigram index query alone", format(median(index) * 1000, 2), format(p95(index) * 1000, 2),
                    format(index.max()! * 1000, 2),
                ],
                [
                    "raw SQLite: LIKE scan of every title for one bigram", format(median(scan) * 1000, 2), format(p95(scan) * 1000, 2),
                    format(scan.max()! * 1000, 2),
                ],
            ])
        print("target: the candidates for one case in ≤ 100 ms; peak memory \(format(peakResidentMiB(), 0)) MiB")
    }
}
