import CaseStore
import Foundation
import GRDB
import ReplicaStore
import SyncCore
import Testing

/// `rain sync` through a network that drops connections mid-request and mid-response,
/// truncates bodies, delays and stalls (``FaultProxy``): it retries within its bounds,
/// says clearly when it gives up, and converges once the network is back.
@Suite(.serialized) struct NetworkFaultTests {
    /// A replica enrolled with the server through `proxy`.
    func replica(_ deployment: Deployment, _ name: String, through proxy: FaultProxy) throws -> String {
        let path = deployment.scratch.file(name + ".sqlite")
        let run = try deployment.rain(
            ["init", "--office", "HSM", "--staff", "张三", "--server", proxy.url, "--token", try deployment.token("HSM")], db: path)
        try #require(run.status == 0, "\(run.stderr)")
        return path
    }

    func serverPort(_ deployment: Deployment) throws -> UInt16 {
        try #require(deployment.server.url.split(separator: ":").last.flatMap { UInt16($0) })
    }

    func caseIDs(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT id FROM cases ORDER BY id") }
    }

    @Test(arguments: Backend.allCases) func aSyncThroughABrokenNetworkRetriesAndConverges(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let proxy = try FaultProxy(upstreamPort: try serverPort(deployment))
        defer { proxy.close() }
        let a = try replica(deployment, "a", through: proxy)
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try writeCases(a, count: 60, prefix: "A")
        try writeCases(b, count: 25, prefix: "B")
        try deployment.sync(b)
        // Each new connection meets the next fault: a request cut in its headers and in its
        // body, an answer cut after the server committed (its body truncated), a refused
        // connection, a slow line.
        let faults: [FaultProxy.Fault] = [
            .cutRequest(after: 60), .cutRequest(after: 700), .cutResponse(after: 40), .refuse, .cutResponse(after: 150),
            .cutResponse(after: 300), .delay(milliseconds: 150),
        ]
        proxy.enqueue(faults)
        let run = try deployment.rain(
            ["sync", "--json", "--attempts", "8"], db: a, environment: ["RAIN_SYNC_BATCH": "10", "RAIN_SYNC_PAGE": "5"])
        #expect(run.status == 0, "the sync did not get through: \(run.stderr)\nfaults met: \(proxy.history)")
        #expect(proxy.pending == 0, "not every fault was met: \(proxy.history)")
        #expect(run.object["received"] as? Int == 25)
        try deployment.sync(b)
        #expect(try caseIDs(a) == caseIDs(b))
        #expect(try caseIDs(a).count == 85)
        // Nothing applied twice, nothing lost: the same changes everywhere.
        #expect(try count(a) == 85 && count(b) == 85 && count(deployment.server.db) == 85)
        let second = try deployment.rain(["sync", "--json"], db: a)
        #expect(second.object["sent"] as? Int == 0 && second.object["received"] as? Int == 0)
        for path in [a, b, deployment.server.db] {
            #expect(try integrity(path) == "ok")
        }
    }

    @Test(arguments: Backend.allCases) func aSyncGivesUpClearlyThenConvergesWhenTheNetworkIsBack(_ backend: Backend) throws {
        let deployment = try Deployment(backend: backend)
        let proxy = try FaultProxy(upstreamPort: try serverPort(deployment))
        defer { proxy.close() }
        let a = try replica(deployment, "a", through: proxy)
        let b = try deployment.replica("b", office: "HSM", staff: "李四")
        try writeCases(a, count: 30, prefix: "A")

        // Every connection refused: bounded retries, then a clear message and exit 6.
        proxy.setStanding(.refuse)
        let refused = try deployment.rain(["sync", "--attempts", "3"], db: a)
        #expect(refused.status == 6, "\(refused.stderr)")
        #expect(refused.stderr.contains("cannot reach the server") && refused.stderr.contains("tried 3 times"), "\(refused.stderr)")
        #expect(refused.stderr.contains("Your work is kept"), "\(refused.stderr)")

        // Every answer cut short after the server did the work: retried, then given up.
        proxy.setStanding(.cutResponse(after: 20))
        let cut = try deployment.rain(["sync", "--attempts", "2"], db: a, environment: ["RAIN_SYNC_BATCH": "10"])
        #expect(cut.status == 6, "\(cut.stderr)")

        // A line that accepts and never answers: the request's deadline, then given up.
        proxy.setStanding(.stall)
        let started = Date()
        let stalled = try deployment.rain(["sync", "--attempts", "2", "--timeout", "2"], db: a)
        #expect(stalled.status == 6, "\(stalled.stderr)")
        #expect(stalled.stderr.contains("tried 2 times"), "\(stalled.stderr)")
        #expect(Date().timeIntervalSince(started) < 30, "the stalled sync did not respect its deadline")

        // The network is back: everything arrives once.
        proxy.setStanding(nil)
        let back = try deployment.rain(["sync", "--json"], db: a)
        #expect(back.status == 0, "\(back.stderr)")
        try deployment.sync(b)
        #expect(try caseIDs(b).count == 30)
        #expect(try count(deployment.server.db) == 30 && count(b) == 30 && count(a) == 30)
        #expect(try officeReplica(a).unsyncedCount() == 0)
    }
}
