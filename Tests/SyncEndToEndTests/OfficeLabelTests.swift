import Foundation
import Testing

/// What `rain` prints names an office by its level, and a case's events in the reader's
/// language (two slips seen when tried as a new user would).
@Suite(.serialized) struct OfficeLabelTests {
    @Test func aStreetReplicaIsCalledAStreetAndEventsAreShownInChinese() throws {
        let deployment = try Deployment()
        let zh = ["LANG": "zh_CN.UTF-8", "LC_ALL": ""]
        let path = deployment.scratch.file("jd1.sqlite")
        let created = try deployment.rain(
            ["init", "--office", "JD1", "--staff", "王五", "--server", deployment.server.url, "--token", try deployment.token("JD1")],
            db: path, environment: zh)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("· 街道 JD1 ·") && !created.stdout.contains("社区 JD1"), "\(created.stdout)")
        let status = try deployment.rain(["status"], db: path, environment: zh)
        #expect(status.stdout.contains("街道：JD1") && !status.stdout.contains("社区：JD1"), "\(status.stdout)")
        let community = try deployment.replica("hsm", office: "HSM", staff: "李娜")
        #expect(try deployment.rain(["status"], db: community, environment: zh).stdout.contains("社区：HSM"))
        // Offline, the level is not known yet: a neutral word, never a wrong one.
        let offline = deployment.scratch.file("offline.sqlite")
        let made = try deployment.rain(["init", "--office", "JD1", "--staff", "王五"], db: offline, environment: zh)
        #expect(made.stdout.contains("· 单位 JD1 ·"), "\(made.stdout)")

        let number = try deployment.newCase(community, title: "楼道灯不亮")
        #expect(try deployment.rain(["case", "verify", number, "--note", "已核实"], db: community).status == 0)
        #expect(try deployment.rain(["case", "note", number, "已上门查看", "--visit"], db: community).status == 0)
        let shown = try deployment.rain(["case", "show", number], db: community, environment: zh)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("核实") && shown.stdout.contains("上门走访"), "\(shown.stdout)")
        #expect(!shown.stdout.contains(" verify ") && !shown.stdout.contains(" visit "), "\(shown.stdout)")
        let english = try deployment.rain(["case", "show", number], db: community, environment: ["LANG": "en_US.UTF-8", "LC_ALL": ""])
        #expect(english.stdout.contains("verify") && english.stdout.contains("visit"), "\(english.stdout)")
    }
}
