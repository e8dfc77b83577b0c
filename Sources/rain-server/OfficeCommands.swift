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

struct OfficeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "office",
        abstract: "Register offices and issue enrolment tokens.",
        subcommands: [AddOffice.self, ListOffices.self, IssueToken.self, MoveOffice.self, RetireOffice.self]
    )
}

struct TokenOptions: ParsableArguments {
    @Option(help: "Hours the enrolment token stays valid.") var expiresIn = 72

    func validate() throws {
        guard (1...24 * 90).contains(expiresIn) else { throw ValidationError("--expires-in must be from 1 to 2160 hours") }
    }

    var lifetime: Int64 { Int64(expiresIn) * 3_600_000 }
}

struct AddOffice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Register an office and print a one-time enrolment token for its first replica.",
        discussion: """
            The token is on the last line of the output: give it to the office, which runs
            `rain init --server URL --office CODE --token TOKEN --staff NAME`. It is shown
            once, works once, and expires (--expires-in).
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The office code: 1 to 12 letters or digits (e.g. HSM); it starts the office's case numbers.") var code: String
    @Option(help: "The office's name (e.g. 和盛社区).") var name: String
    @Option(help: "district, street, community or department (a bureau publishing policies, under the district).") var level: String
    @Option(help: "The parent office's code (a street's or a department's district, a community's street).") var parent: String?
    @OptionGroup var token: TokenOptions
    @Flag(help: "Print {\"office\": …, \"token\": …} as JSON.") var json = false

    func validate() throws {
        guard OfficeLevel(rawValue: level) != nil else {
            throw ValidationError("--level must be district, street, community or department, not '\(level)'")
        }
    }

    func run() async throws {
        let now = ReplicaStoreTime.now()
        let (office, issued) = try await database.with { storage in
            let office = try await storage.addOffice(code: code, name: name, level: OfficeLevel(rawValue: level)!, parent: parent, now: now)
            return (office, try await storage.issueToken(office: office.code, lifetime: token.lifetime, now: now))
        }
        if json {
            print(
                JSONText.object([
                    ("office", .string(office.code)), ("token", .string(issued.token)), ("expires_at", .integer(issued.expiresAt)),
                ]))
        } else {
            print(
                "office \(office.code) (\(office.name), \(office.level.rawValue)) added; enrolment token, valid until \(LocalTime.format(issued.expiresAt)):"
            )
            print(issued.token)
        }
    }
}

struct ListOffices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the offices.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print an array of offices as JSON.") var json = false

    func run() async throws {
        let offices = try await database.with { try await $0.offices() }
        if json {
            print(
                JSONText.array(
                    offices.map { office in
                        .object([
                            ("code", .string(office.code)), ("name", .string(office.name)), ("level", .string(office.level.rawValue)),
                            ("parent", office.parent.map(JSONText.string) ?? .null),
                            ("retired_at", office.retiredAt.map(JSONText.integer) ?? .null),
                        ])
                    }))
            return
        }
        if offices.isEmpty {
            print("no offices; add one with `rain-server office add`")
            return
        }
        printTable(
            ["code", "name", "level", "parent", "state"],
            offices.map { [$0.code, $0.name, $0.level.rawValue, $0.parent ?? "-", $0.retiredAt == nil ? "active" : "retired"] })
    }
}

struct IssueToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a new one-time enrolment token for another replica of an office (on the last line)."
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The office code.") var code: String
    @OptionGroup var token: TokenOptions
    @Flag(help: "Print {\"office\": …, \"token\": …} as JSON.") var json = false

    func run() async throws {
        let issued = try await database.with {
            try await $0.issueToken(office: code, lifetime: token.lifetime, now: ReplicaStoreTime.now())
        }
        if json {
            print(
                JSONText.object([
                    ("office", .string(issued.office)), ("token", .string(issued.token)), ("expires_at", .integer(issued.expiresAt)),
                ]))
        } else {
            print("enrolment token for \(issued.office), valid until \(LocalTime.format(issued.expiresAt)):")
            print(issued.token)
        }
    }
}

struct MoveOffice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move",
        abstract: "Move an office under another parent (a community to another street).",
        discussion: """
            A community's cases change street with it: at their next sync the new street's
            replicas receive them with their whole history, and the old street's purge them.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The office code.") var code: String
    @Option(help: "The new parent office's code.") var parent: String
    @Flag(help: "Print the office as JSON.") var json = false

    func run() async throws {
        let office = try await database.with { try await $0.moveOffice(code: code, parent: parent, now: ReplicaStoreTime.now()) }
        if json {
            print(JSONText.object([("code", .string(office.code)), ("parent", office.parent.map(JSONText.string) ?? .null)]))
        } else {
            print("office \(office.code) is now under \(office.parent ?? "-")")
        }
    }
}

struct RetireOffice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire",
        abstract: "Retire an office that has no active office under it and no case.",
        discussion: """
            Its replicas are revoked at once and its unused enrolment tokens stop working; its
            code is never reused. Reassign its cases (rain case reassign) and move or retire
            the offices under it first.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The office code.") var code: String
    @Flag(help: "Print the office as JSON.") var json = false

    func run() async throws {
        let office = try await database.with { try await $0.retireOffice(code: code, now: ReplicaStoreTime.now()) }
        if json {
            print(JSONText.object([("code", .string(office.code)), ("retired", .string("true"))]))
        } else {
            print("office \(office.code) retired; its replicas are revoked")
        }
    }
}
