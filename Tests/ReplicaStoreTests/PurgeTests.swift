import CaseDomain
import Foundation
import GRDB
import SyncCore
import TestSupport
import Testing

@testable import CaseStore
@testable import ReplicaStore

/// A case that leaves the office's jurisdiction leaves no byte of its residents' data
/// behind (§9.6, README Security): not in a table, not in free pages, not in the search
/// index's segments, not in the write-ahead log — read as raw bytes of the file and of
/// everything beside it.
@Suite struct PurgeTests {
    /// Values of one resident, chosen so that no other case shares a three-character run.
    struct Resident {
        let id: String
        let name: String
        let phone: String
        let address: String
        let title: String
        let description: String
        let note: String
        var planted: [String] { [name, phone, address, title, description, note] }
    }

    static let first = Resident(
        id: "c-purged", name: "欧阳龘靐", phone: "13900001234", address: "齉麤鱻路88号", title: "龘靐家漏水",
        description: "欧阳龘靐反映楼上齉麤鱻漏水三天", note: "已电话联系欧阳龘靐")
    static let second = Resident(
        id: "c-later", name: "司马爨籲", phone: "13900005678", address: "鬱讟灩巷6号", title: "爨籲家停电",
        description: "司马爨籲家鬱讟灩停电两天", note: "已上门看望司马爨籲")

    static let third = Resident(
        id: "c-fresh", name: "令狐鼗鼙", phone: "13900009999", address: "鼯鼷鼹巷9号", title: "鼗鼙家漏电",
        description: "令狐鼗鼙家鼯鼷鼹漏电", note: "已联系令狐鼗鼙")

    /// The changes that write `resident`'s case and a note on it, written by `writer`.
    func changes(of resident: Resident, by writer: ReplicaStore) throws -> [Change] {
        [
            try writer.write(
                [
                    "number": .text("HSM-\(resident.id)"), "kind": .text("help"), "category": .text("社会救助"), "title": .text(resident.title),
                    "description": .text(resident.description), "citizen_name": .text(resident.name), "phone": .text(resident.phone),
                    "address": .text(resident.address),
                    "status": .text("received"), "community": .text("HSM"), "office": .text("HSM"),
                ], to: RecordKey(table: "cases", id: resident.id)),
            try writer.write(
                ["case_id": .text(resident.id), "type": .text("note"), "text": .text(resident.note)],
                to: RecordKey(table: "case_events", id: resident.id + "-note")),
        ]
    }

    /// Trigrams of the title, description and address that the search index's shadow
    /// table holds whole in its blocks' bytes (the positive control: what the scan must no
    /// longer find). FTS5 stores terms prefix-compressed, so only the trigrams written out
    /// in full are found — a subset, required non-empty; the rest of the index is covered
    /// by FTS5's own integrity check against the rows.
    func indexedTrigrams(of resident: Resident, in path: String) throws -> [String] {
        let blocks = try DatabaseQueue(path: path).read { db in try Data.fetchAll(db, sql: "SELECT block FROM cases_fts_data") }
        let bytes = blocks.reduce(into: Data()) { $0.append($1) }
        return [resident.title, resident.description, resident.address].flatMap(FileResidue.trigrams(of:))
            .filter { bytes.range(of: Data($0.utf8)) != nil }
    }

    @Test func aPurgedCaseLeavesNoByteOfItsResidentsDataInTheFileOrBesideIt() throws {
        let folder = TemporaryFolder()
        let writer = try ReplicaStore.create(at: folder.file("writer.sqlite"), office: "HSM", staff: "李娜")
        let path = folder.file("office.sqlite")
        var office: ReplicaStore? = try ReplicaStore.create(at: path, office: "HSM", staff: "王五")
        let offices = [writer.identity.replica: "HSM"]
        #expect(try office?.read("") { db in try Int.fetchOne(db, sql: "PRAGMA secure_delete") } == 1)
        // Thirty other cases, so that the resident's rows share pages with rows that stay.
        var others: [Change] = []
        for index in 0..<30 {
            others.append(
                try writer.write(
                    ["title": .text("路灯不亮\(index)"), "address": .text("北苑路口\(index)"), "citizen_name": .text("住户\(index)")],
                    to: RecordKey(table: "cases", id: "other-\(index)")))
        }
        try office?.applyPulled(others + changes(of: Self.first, by: writer), cursor: "v1.1", offices: offices)
        try office?.updateSearchIndex()
        // An edit pending for the index when the purge comes: its note holds the old title.
        try office?.applyPulled(
            [try writer.write(["title": .text(Self.first.title + "二次")], to: RecordKey(table: "cases", id: Self.first.id))],
            cursor: "v1.2", offices: offices)
        #expect(try office?.pendingSearchCount() == 1)

        let held = try FileResidue(of: path)
        #expect(held.found(Self.first.planted) == Self.first.planted, "the scan finds what the file holds")
        let indexed = try indexedTrigrams(of: Self.first, in: path)
        #expect(indexed.count >= 3, "the search index holds the case's trigrams: \(indexed)")

        // The purge; then the process dies before its sync ends (no scrub yet): the next
        // process to close the file scrubs it.
        try office?.applyPulled([], cursor: "v1.3", offices: offices, purge: [RecordKey(table: "cases", id: Self.first.id)])
        #expect(try office?.scrubDue() == true)
        #expect(try office?.pendingSearchCount() == 0, "nothing of the purged case waits in search_pending")
        // The negative control: before the scrub, copies remain (the log's older frames,
        // the index's older segments) — what the scrub is for.
        #expect(!(try FileResidue(of: path)).found(Self.first.planted + indexed).isEmpty, "nothing left to scrub: the test is blind")
        office = nil
        let reopened = try ReplicaStore.open(at: path)
        #expect(try reopened.scrubDue() == true)
        reopened.close()
        let left = try FileResidue(of: path)
        #expect(left.files == ["office.sqlite"], "closed cleanly: no write-ahead log or shared memory left")
        #expect(left.found(Self.first.planted + indexed).isEmpty, "left behind: \(left.found(Self.first.planted + indexed))")
        #expect(left.found(["路灯不亮29", "北苑路口29", "住户29"]).count == 3, "the other cases stay")

        // A sync that ends normally scrubs while the file is open: its log is emptied too.
        let store = try ReplicaStore.open(at: path)
        #expect(try store.scrubDue() == false)
        try store.applyPulled(try changes(of: Self.second, by: writer), cursor: "v1.4", offices: offices)
        try store.updateSearchIndex()
        let later = try indexedTrigrams(of: Self.second, in: path)
        #expect(later.count >= 3)
        #expect(try FileResidue(of: path).found(Self.second.planted) == Self.second.planted)
        try store.applyPulled([], cursor: "v1.5", offices: offices, purge: [RecordKey(table: "cases", id: Self.second.id)])
        try store.scrubPurged()
        #expect(try store.scrubDue() == false)
        let open = try FileResidue(of: path)
        #expect(open.found(Self.second.planted + later).isEmpty, "left behind while open: \(open.found(Self.second.planted + later))")
        #expect(try store.search("路灯不亮2").count == 11 && store.search(Self.second.address).isEmpty)
        #expect(try searchIndexIsExact(path))

        // A case that arrives and leaves before the index ever held it (its note says "not
        // indexed"): purged alike, and the index stays exact.
        let third = try changes(of: Self.third, by: writer)
        try store.applyPulled(third, cursor: "v1.6", offices: offices)
        #expect(try store.pendingSearchCount() == 1)
        try store.applyPulled([], cursor: "v1.7", offices: offices, purge: [RecordKey(table: "cases", id: Self.third.id)])
        #expect(try store.pendingSearchCount() == 0)
        try store.scrubPurged()
        #expect(try FileResidue(of: path).found(Self.third.planted).isEmpty)
        #expect(try searchIndexIsExact(path))
        // A purged case that comes back (the server sends its whole history again): indexed
        // as any case.
        #expect(try store.applyPulled(third, cursor: "v1.8", offices: offices).applied == third.count)
        #expect(try store.search(Self.third.address).map(\.id) == [Self.third.id])
        #expect(try searchIndexIsExact(path))
        let moved = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT number FROM cases WHERE moved_at IS NOT NULL AND title IS NULL ORDER BY number")
        }
        #expect(moved == ["HSM-c-later", "HSM-c-purged"], "the purged cases keep their numbers")
    }
}
