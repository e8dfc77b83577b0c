import Foundation
import ReplicaStore
import SyncCore
import TestSupport
import Testing

/// Three `rain-server` processes on one PostgreSQL database behind a round-robin TCP
/// proxy (any load balancer, no sticky sessions), replicas syncing through it, and one
/// server SIGKILLed in the middle of a push — before its transaction commits, or after
/// it committed and before it answered. `rain` retries through the proxy onto another
/// server and everything converges: nothing lost, nothing held twice.
@Suite(.serialized) struct MultiServerTests {
    static func port(_ server: ServerProcess) -> UInt16 {
        UInt16(server.url.split(separator: ":").last.map(String.init) ?? "") ?? 0
    }

    @Test(arguments: ["before-commit", "server-after-commit"])
    func serversBehindARoundRobinProxyLoseNothingWhenOneIsKilledMidPush(_ point: String) throws {
        let deployment = try Deployment(backend: .postgres)
        let db = deployment.server.db
        let second = try ServerProcess(folder: deployment.scratch.path, db: db)
        // The third dies at the second push it is about to commit (or has committed).
        let third = try ServerProcess(folder: deployment.scratch.path, db: db, environment: ["RAIN_FAILPOINT": "\(point):2"])
        let servers = [deployment.server, second, third]
        let proxy = try FaultProxy(upstreamPorts: servers.map(Self.port))
        let a = try deployment.replica("a", office: "HSM", staff: "张三", server: proxy.url)
        let b = try deployment.replica("b", office: "HSM", staff: "李四", server: proxy.url)
        let c = try deployment.replica("c", office: "XQ", staff: "王五", server: proxy.url)
        let district = try deployment.replica("d", office: "HSD", staff: "赵六", server: proxy.url)
        // Small batches: a sync is many pushes, spread over the servers.
        let small = ["RAIN_SYNC_BATCH": "5", "RAIN_SYNC_PAGE": "7"]
        var written = 0
        var round = 0
        var failedSyncs: [String] = []
        while round < 12 {
            defer { round += 1 }
            for (index, replica) in [a, b, c].enumerated() {
                try writeCases(replica, count: 12, prefix: "R\(round)-\(index)")
                written += 12
            }
            for replica in [a, b, c, district] {
                let run = try deployment.rain(["sync", "--json"], db: replica, environment: small)
                if run.status != 0 { failedSyncs.append(run.stderr) }
            }
            if round >= 3, !third.process.isRunning { break }
        }
        #expect(third.waitForExit(seconds: 5), "the third server was never killed at \(point)")
        #expect(failedSyncs.isEmpty, "a sync gave up instead of retrying on another server: \(failedSyncs)")
        // Two quiet rounds: every replica has everything it may hold.
        for _ in 0..<2 {
            for replica in [a, b, c, district] { try deployment.sync(replica) }
        }
        let held = try count(db)
        #expect(held == written, "the server holds \(held) changes of \(written) written")
        #expect(try integrity(db) == "ok")
        let hsm = try deployment.numbers(a)
        #expect(try deployment.numbers(b) == hsm, "two replicas of one office differ")
        let (inA, inB) = (try count(a), try count(b))
        #expect(inA == inB)
        #expect(try deployment.numbers(district).count == written, "the district lacks cases")
        #expect(try count(district) == written, "the district holds a change twice or lacks one")
        #expect(Set(try deployment.numbers(c)).isDisjoint(with: hsm), "a community received another's cases")
        // The proxy spread the connections over every server.
        let served = proxy.served
        #expect(servers.allSatisfy { (served[Self.port($0)] ?? 0) > 0 }, "a server took no connection: \(served)")
        proxy.close()
        second.kill9()
    }
}
