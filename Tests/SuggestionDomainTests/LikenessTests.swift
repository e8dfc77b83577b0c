import CaseDomain
import Testing

@Suite struct LikenessKeysTests {
    @Test func placesWrittenDifferentlyAreOnePlace() {
        let forms = ["幸福小区3栋2单元501室", "幸福小区三栋二单元五〇一", "湖南省长沙市雨花区幸福小区3号楼2单元501", "幸福小区3-2-501", "幸福小区 ３栋２单元５０１"]
        let keys = Set(forms.map { LikenessKeys.place($0) })
        #expect(keys == [Optional("幸福小区3栋2单元501")])
        #expect(LikenessKeys.place("幸福小区") == nil, "a place without a number is not precise enough")
        #expect(LikenessKeys.place("幸福小区3栋2单元502") != LikenessKeys.place("幸福小区3栋2单元501"))
        #expect(LikenessKeys.place("长沙市雨花区幸福小区二十三栋") == "幸福小区23栋")
    }

    @Test func phonesCompareByTheirDigits() {
        #expect(LikenessKeys.phone("138 1234 1234") == "13812341234")
        #expect(LikenessKeys.phone("１３８１２３４１２３４") == "13812341234")
        #expect(LikenessKeys.phone("0731-8888888") == "07318888888")
        #expect(LikenessKeys.phone("12345") == nil)
        #expect(LikenessKeys.phone(nil) == nil)
    }

    @Test func chineseTitlesThatSayTheSameAreAlike() {
        let a = LikenessKeys.grams("小区门口路灯不亮")
        let b = LikenessKeys.grams("小区门口的路灯坏了不亮")
        let c = LikenessKeys.grams("建议增设社区图书室")
        #expect(LikenessKeys.dice(a, b) >= 0.5)
        #expect(LikenessKeys.dice(a, c) < 0.2)
        #expect(LikenessKeys.dice(a, a) == 1)
        #expect(LikenessKeys.grams("ＡＢ，ab") == LikenessKeys.grams("ab ab"), "width and punctuation do not count")
    }

    @Test func reasonsNameEveryRuleThatHeld() {
        let day: Int64 = 86_400_000
        func subject(_ id: String, _ title: String, phone: String? = nil, place: String? = nil, category: String = "城市管理", day n: Int64 = 0)
            -> LikenessSubject
        {
            LikenessSubject(
                id: id, number: "N-" + id, category: category, createdAt: n * day, community: "HSM", phone: phone, place: place,
                grams: LikenessKeys.grams(title))
        }
        let rules = LikenessRules()
        let me = subject("1", "小区门口路灯不亮", phone: "13812341234", place: "幸福小区3栋")
        #expect(rules.compare(me, subject("2", "噪音扰民", phone: "13812341234", category: "环境卫生", day: 40))?.reasons == [.samePhone])
        #expect(rules.compare(me, subject("3", "楼道堆物", place: "幸福小区3栋", day: 3))?.reasons == [.samePlace, .sameCategoryWindow])
        #expect(rules.compare(me, subject("4", "小区门口的路灯坏了不亮", category: "其他", day: 90))?.reasons == [.similarText])
        #expect(rules.compare(me, subject("5", "小区门口有积水", day: 2))?.reasons == [.sameCategoryWindow], "weaker text, same category, near")
        #expect(rules.compare(me, subject("6", "小区门口有积水", day: 30)) == nil, "weaker text outside the window")
        #expect(rules.compare(me, subject("7", "建议增设图书室", day: 1)) == nil, "same category alone is not a candidate")
        #expect(rules.compare(me, me) == nil)
    }
}
