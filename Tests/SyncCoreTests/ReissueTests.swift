import SyncCore
import Testing

/// Re-issuing a restored replica's work under a fresh id (`Protocol/PROTOCOL.md` §9.8).
@Suite struct ReissueTests {
    let old = ReplicaID("r-old")
    let new = ReplicaID("r-new")
    let c1 = RecordKey(table: "cases", id: "c1")
    let c2 = RecordKey(table: "cases", id: "c2")

    @Test func contextsClaimExactlyWhatTheOriginalsClaimed() throws {
        // Before the backup: create c1, edit it.
        var original = ReplicaState()
        let created = try original.write(
            ["title": .text("一"), "phone": .text("13812345678")], to: c1, by: old, author: "李娜", at: HLC(wall: 1))
        let edited = try original.write(["phone": .text("13900001111")], to: c1, by: old, author: "李娜", at: HLC(wall: 2))
        let backup = original
        // After the backup, synced before the disk died: another title.
        let lost = try original.write(["title": .text("二")], to: c1, by: old, author: "李娜", at: HLC(wall: 3))
        var server = ReplicaState()
        try server.apply(batch: [created, edited, lost])

        // On the restored copy: a title, a new case, a description — reusing dots 3, 4, 5.
        var restored = backup
        let title = try restored.write(["title": .text("三")], to: c1, by: old, author: "李娜", at: HLC(wall: 10))
        let other = try restored.write(["title": .text("新")], to: c2, by: old, author: "李娜", at: HLC(wall: 11))
        let description = try restored.write(["description": .text("补充")], to: c1, by: old, author: "李娜", at: HLC(wall: 12))
        #expect(title.dot == lost.dot && title != lost)

        let rewritten = Reissue.rewrite([title, other, description], kept: [c1: [1, 2], c2: []], from: old, as: new)
        #expect(rewritten.map(\.dot) == [Dot(new, 1), Dot(new, 2), Dot(new, 3)])
        #expect(rewritten[0].context == VersionVector([old: 2]))
        #expect(rewritten[1].context.isEmpty)
        #expect(rewritten[2].context == VersionVector([old: 2, new: 1]))
        #expect(rewritten.map(\.fields) == [title.fields, other.fields, description.fields])
        #expect(rewritten.map(\.hlc) == [title.hlc, other.hlc, description.hlc])

        // The server takes the re-issued work: the two titles written without seeing each
        // other are siblings, nothing else conflicts, and any delivery order agrees.
        try server.apply(batch: rewritten)
        var elsewhere = ReplicaState()
        try elsewhere.apply(batch: rewritten.reversed() + [lost, edited, created])
        #expect(server == elsewhere)
        #expect(server.conflicts().map(\.field) == ["title"])
        #expect(server.value("description", of: c1) == .text("补充"))
        #expect(server.value("phone", of: c1) == .text("13900001111"))
        #expect(server.value("title", of: c2) == .text("新"))
        // The restored copy rebuilt from what stays plus the re-issue, then the lost change,
        // ends where the server is.
        var rebuilt = ReplicaState()
        try rebuilt.apply(batch: [created, edited] + rewritten + [lost])
        #expect(rebuilt == server)
    }
}
