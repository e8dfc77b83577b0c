import Foundation
import GRDB
import NIOHTTP1
import ReplicaStore
import SyncCore
import Testing

/// The server's database on a full disk and on a read-only one — a small tmpfs mounted
/// for the test (the tests run as root here; without the right to mount, they fail and
/// say so): requests fail with a clear 503 and a log line, nothing is partially written,
/// and service resumes once the disk is back, without a restart.
@Suite(.serialized) struct StorageFaultTests {
    /// A tmpfs of `megabytes` mounted at a new folder of `scratch`.
    static func mount(in scratch: Scratch, megabytes: Int) throws -> String {
        let disk = scratch.file("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let run = try execute("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", disk], in: scratch.path)
        try #require(run.status == 0, "cannot mount a small tmpfs for the storage-fault tests (needs root): \(run.stderr)")
        return disk
    }

    static func unmount(_ disk: String) {
        _ = try? execute("/bin/umount", ["-l", disk], in: "/")
    }

    static func write(_ path: String, cases count: Int, prefix: String, size: Int) throws {
        let store = try ReplicaStore.open(at: path)
        let filler = String(repeating: "情况说明", count: size / 12)
        try store.write(
            batch: (0..<count).map { index in
                (
                    [
                        "number": .text("\(prefix)-\(index)"), "kind": .text("help"), "category": .text("社会救助"),
                        "title": .text("案件 \(prefix) \(index)"), "description": .text(filler), "status": .text("received"),
                        "created_at": .timestamp(1_795_651_200_000), "office": .text("HSM"), "community": .text("HSM"),
                    ], RecordKey(table: "cases", id: "\(prefix)-\(index)")
                )
            })
    }

    static func count(_ path: String, _ sql: String = "SELECT count(*) FROM changes") throws -> Int {
        try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    static func integrity(_ path: String) throws -> String {
        try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: ";") }
    }

    @Test func aFullDiskGets503AndNothingPartialThenServiceResumes() throws {
        var disk = ""
        let deployment = try Deployment { scratch in
            disk = try Self.mount(in: scratch, megabytes: 8)
            return disk + "/central.sqlite"
        }
        defer {
            deployment.server.kill9()
            Self.unmount(disk)
        }
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try Self.write(a, cases: 20, prefix: "A", size: 2_000)
        try deployment.sync(a)

        // Fill the disk to the last block.
        _ = try execute("/bin/sh", ["-c", "dd if=/dev/zero of='\(disk)/filler' bs=64k; sync"], in: disk)
        var space = statvfs()
        #expect(statvfs(disk, &space) == 0 && space.f_bavail < 16, "the disk is not full: \(space.f_bavail) blocks free")
        try Self.write(a, cases: 200, prefix: "F", size: 4_000)
        let full = try deployment.rain(["sync", "--attempts", "2"], db: a, environment: ["RAIN_SYNC_BATCH": "20"])
        #expect(full.status == 6, "\(full.stderr)")
        #expect(full.stderr.contains("HTTP 503") && full.stderr.contains("disk is full"), "\(full.stderr)")
        let log = deployment.server.log
        #expect(log.contains("storage failed") && log.contains("database or disk is full"), "no clear log line:\n\(log.suffix(2_000))")
        // Whole batches or nothing: every counter the server holds, it holds completely.
        let held = try Self.count(deployment.server.db)
        #expect((held - 20) % 20 == 0, "a partial batch: \(held) changes")
        #expect(try Self.integrity(deployment.server.db) == "ok")

        // Space returns: the same server, no restart, takes everything.
        try FileManager.default.removeItem(atPath: disk + "/filler")
        let back = try deployment.rain(["sync", "--json"], db: a, environment: ["RAIN_SYNC_BATCH": "20"])
        #expect(back.status == 0, "\(back.stderr)")
        try deployment.sync(b)
        #expect(try Self.count(deployment.server.db) == 220 && Self.count(b) == 220)
        #expect(try Self.count(b, "SELECT count(*) FROM cases") == 220)
        for path in [a, b, deployment.server.db] { #expect(try Self.integrity(path) == "ok") }
    }

    @Test func aReadOnlyDiskGets503UntilItIsWritableAgain() async throws {
        var disk = ""
        let deployment = try Deployment { scratch in
            disk = try Self.mount(in: scratch, megabytes: 16)
            return disk + "/central.sqlite"
        }
        defer {
            deployment.server.kill9()
            Self.unmount(disk)
        }
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try Self.write(a, cases: 10, prefix: "A", size: 200)
        try deployment.sync(a)

        // The server restarts on a disk that came back read-only.
        deployment.server.stop()
        let readOnly = try execute("/bin/mount", ["-o", "remount,ro", disk], in: "/")
        try #require(readOnly.status == 0, "\(readOnly.stderr)")
        try deployment.server.start()
        let health = try await ServerHTTPTests.send(.GET, deployment.server.url + "/healthz", protocolVersion: nil)
        #expect(health.status == 503)
        try Self.write(a, cases: 10, prefix: "R", size: 200)
        let refused = try deployment.rain(["sync", "--attempts", "2"], db: a)
        #expect(refused.status == 6, "\(refused.stderr)")
        #expect(refused.stderr.contains("HTTP 503") && refused.stderr.contains("read-only"), "\(refused.stderr)")
        // Logged with SQLite's own words: the database opened read-only, or not at all.
        let log = deployment.server.log
        #expect(
            log.contains("storage") && (log.contains("readonly") || log.contains("unable to open")),
            "no clear log line:\n\(log.suffix(2_000))")

        // Writable again: the running server opens its database and serves.
        let writable = try execute("/bin/mount", ["-o", "remount,rw", disk], in: "/")
        try #require(writable.status == 0, "\(writable.stderr)")
        let healthy = try await ServerHTTPTests.send(.GET, deployment.server.url + "/healthz", protocolVersion: nil)
        #expect(healthy.status == 200)
        let back = try deployment.rain(["sync", "--json"], db: a)
        #expect(back.status == 0, "\(back.stderr)")
        try deployment.sync(b)
        #expect(try Self.count(b) == 20 && Self.count(deployment.server.db) == 20)
        #expect(try Self.integrity(deployment.server.db) == "ok")
    }
}
