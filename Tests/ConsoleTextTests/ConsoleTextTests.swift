import CaseDomain
import ConsoleText
import Testing

/// What `rain` and `rain-server` print, in one module: one width, one time zone.
@Suite struct ConsoleTextTests {
    @Test(arguments: [
        ("HSM", 3), ("和盛社区", 8), ("A和B", 4), ("e\u{301}", 1), ("a\u{200B}b", 2), ("（全角）", 8), ("🙂", 2), ("", 0),
    ])
    func displayWidthCountsColumns(text: String, width: Int) {
        #expect(displayWidth(text) == width)
    }

    @Test func tablesAlignMixedScripts() {
        let lines = tableLines(["代码", "名称", "级别"], [["HSM", "和盛社区", "社区"], ["JD1", "和平街道办事处", "街道"]])
        #expect(lines == ["代码  名称            级别", "HSM   和盛社区        社区", "JD1   和平街道办事处  街道"])
        #expect(Set(lines.dropLast().map { displayWidth($0) }).count == 1)
    }

    /// China Standard Time whatever the machine's zone, agreeing with the case numbers'
    /// civil dates (CaseDomain) on every day boundary.
    @Test(arguments: [
        (Int64(0), "1970-01-01 08:00"), (1_795_651_200_000, "2026-11-26 08:00"), (1_795_622_399_999, "2026-11-25 23:59"),
        (-1, "1970-01-01 07:59"), (-28_800_001, "1969-12-31 23:59"), (951_753_600_000, "2000-02-29 00:00"),
        (4_107_513_600_000, "2100-03-01 00:00"),
    ])
    func localTimeIsChinaStandardTime(millis: Int64, text: String) {
        #expect(LocalTime.format(millis) == text)
        #expect(String(text.prefix(10)) == CivilDate(epochMillis: millis).description)
    }

    @Test func jsonIsOneDeterministicLine() {
        let node = JSONOut.Node.object([
            ("name", .string("和盛\"社区\"\n\u{1}")), ("n", .integer(-3)), ("none", .string(nil)), ("ok", .bool(true)),
            ("list", .array([.integer(1), .integer(nil)])),
        ])
        #expect(JSONOut.render(node) == #"{"name":"和盛\"社区\"\n\u0001","n":-3,"none":null,"ok":true,"list":[1,null]}"#)
    }
}
