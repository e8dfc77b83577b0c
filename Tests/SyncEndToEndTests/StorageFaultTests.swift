import CaseStore
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

    /// A deployment whose server keeps its database on a tmpfs of `megabytes`, with
    /// two replicas of HSM; the server is killed and the disk unmounted after `body`.
    static func onSmallDisk(megabytes: Int, _ body: (Deployment, _ disk: String, _ a: String, _ b: String) async throws -> Void)
        async throws
    {
        var disk = ""
        let deployment = try Deployment { scratch in
            disk = try Self.mount(in: scratch, megabytes: megabytes)
            return disk + "/central.sqlite"
        }
        defer {
            deployment.server.kill9()
            Self.unmount(disk)
        }
        let a = try deployment.replica("a", office: "HSM", staff: "张三")
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try await body(deployment, disk, a, b)
    }

    @Test func aFullDiskGets503AndNothingPartialThenServiceResumes() async throws {
        try await Self.onSmallDisk(megabytes: 8) { deployment, disk, a, b in
            try writeCases(a, count: 20, prefix: "A", description: String(repeating: "情况说明", count: 2_000 / 12))
            try deployment.sync(a)

            // Fill the disk to the last block.
            _ = try execute("/bin/sh", ["-c", "dd if=/dev/zero of='\(disk)/filler' bs=64k; sync"], in: disk)
            var space = statvfs()
            #expect(statvfs(disk, &space) == 0 && space.f_bavail < 16, "the disk is not full: \(space.f_bavail) blocks free")
            try writeCases(a, count: 200, prefix: "F", description: String(repeating: "情况说明", count: 4_000 / 12))
            let full = try deployment.rain(["sync", "--attempts", "2"], db: a, environment: ["RAIN_SYNC_BATCH": "20"])
            #expect(full.status == 6, "\(full.stderr)")
            #expect(full.stderr.contains("HTTP 503") && full.stderr.contains("disk is full"), "\(full.stderr)")
            let log = deployment.server.log
            #expect(log.contains("storage failed") && log.contains("database or disk is full"), "no clear log line:\n\(log.suffix(2_000))")
            // Whole batches or nothing: every counter the server holds, it holds completely.
            let held = try count(deployment.server.db)
            #expect((held - 20) % 20 == 0, "a partial batch: \(held) changes")
            #expect(try integrity(deployment.server.db) == "ok")

            // Space returns: the same server, no restart, takes everything.
            try FileManager.default.removeItem(atPath: disk + "/filler")
            let back = try deployment.rain(["sync", "--json"], db: a, environment: ["RAIN_SYNC_BATCH": "20"])
            #expect(back.status == 0, "\(back.stderr)")
            try deployment.sync(b)
            #expect(try count(deployment.server.db) == 220 && count(b) == 220)
            #expect(try count(b, "SELECT count(*) FROM cases") == 220)
            for path in [a, b, deployment.server.db] { #expect(try integrity(path) == "ok") }
        }
    }

    @Test func aReadOnlyDiskGets503UntilItIsWritableAgain() async throws {
        try await Self.onSmallDisk(megabytes: 16) { deployment, disk, a, b in
            try writeCases(a, count: 10, prefix: "A", description: String(repeating: "情况说明", count: 200 / 12))
            try deployment.sync(a)

            // The server restarts on a disk that came back read-only.
            deployment.server.stop()
            let readOnly = try execute("/bin/mount", ["-o", "remount,ro", disk], in: "/")
            try #require(readOnly.status == 0, "\(readOnly.stderr)")
            try deployment.server.start()
            let health = try await ServerHTTPTests.send(.GET, deployment.server.url + "/healthz", protocolVersion: nil)
            #expect(health.status == 503)
            try writeCases(a, count: 10, prefix: "R", description: String(repeating: "情况说明", count: 200 / 12))
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
            #expect(try count(b) == 20 && count(deployment.server.db) == 20)
            #expect(try integrity(deployment.server.db) == "ok")
        }
    }
}
