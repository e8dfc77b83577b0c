import ArgumentParser
import CaseDomain
import CentralPostgres
import ConsoleText
import Foundation
import Hummingbird
import Logging
import SyncCore
import SyncProtocol
import SyncServer

struct ReplicaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica",
        abstract: "List and revoke enrolled replicas.",
        subcommands: [ListReplicas.self, RevokeReplica.self]
    )
}

func replicaJSON(_ replica: EnrolledReplica) -> JSONText {
    .object([
        ("id", .string(replica.id.rawValue)), ("office", .string(replica.office)), ("staff", .string(replica.staff)),
        ("enrolled_at", .integer(replica.enrolledAt)), ("revoked_at", replica.revokedAt.map(JSONText.integer) ?? .null),
        ("last_seen_at", replica.lastSeenAt.map(JSONText.integer) ?? .null), ("holds", .integer(Int64(replica.holds))),
        ("predecessor", replica.predecessor.map { .string($0.rawValue) } ?? .null),
        ("superseded_by", replica.supersededBy.map { .string($0.rawValue) } ?? .null),
    ])
}

struct ListReplicas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the enrolled replicas.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print an array of replicas as JSON.") var json = false

    func run() async throws {
        let replicas = try await database.with { try await $0.replicas() }
        if json {
            print(JSONText.array(replicas.map(replicaJSON)))
            return
        }
        if replicas.isEmpty {
            print("no replicas enrolled")
            return
        }
        printTable(
            ["replica", "office", "staff", "enrolled", "last seen", "changes", "state"],
            replicas.map {
                [
                    $0.id.rawValue, $0.office, $0.staff, LocalTime.format($0.enrolledAt),
                    $0.lastSeenAt.map(LocalTime.format) ?? "-",
                    String($0.holds),
                    $0.revokedAt != nil ? "revoked" : $0.supersededBy.map { "re-issued as " + $0.rawValue } ?? "active",
                ]
            })
    }
}

struct RevokeReplica: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a replica's credential; its very next request is refused.",
        discussion: "The changes it already pushed stay. The office can enrol again with a new token (`rain enrol`)."
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The replica id (`rain-server replica list`).") var id: String
    @Flag(help: "Print the replica as JSON.") var json = false

    func run() async throws {
        let replica = try await database.with { try await $0.revoke(replica: ReplicaID(id), now: ReplicaStoreTime.now()) }
        if json {
            print(JSONOut.render(replicaJSON(replica)))
        } else {
            print("replica \(replica.id) of \(replica.office) revoked")
        }
    }
}
