import ArgumentParser
import ConsoleText
import Dashboard
import Foundation
import SyncServer

#if canImport(Glibc)
    import Glibc
#endif

struct StaffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff",
        abstract: "Staff accounts of the district's dashboard (/dashboard) and its statistics API (GET /stats).",
        discussion: """
            District and street staff sign in with these accounts: the district sees every
            office, a street its own communities. Passwords (at least 10 characters) are read
            from standard input when it is not a terminal (one line), else asked for twice
            without echo; they are stored as scrypt hashes. Five wrong passwords in a row lock
            an account for 15 minutes. Every sign-in, reveal and export is audited
            (`rain-server staff audit`).
            """,
        subcommands: [AddStaff.self, StaffPassword.self, RemoveStaff.self, StaffToken.self, ListStaff.self, StaffAudit.self]
    )
}

/// Reads a new password: a line of standard input when it is not a terminal, else twice
/// from the terminal without echo.
func readPassword() throws -> String {
    if isatty(STDIN_FILENO) == 0 {
        guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("cannot read the password: standard input is empty (give it on one line)")
        }
        return line
    }
    guard let first = getpass("New password: ").map({ String(cString: $0) }),
        let second = getpass("Again: ").map({ String(cString: $0) })
    else { throw ValidationError("cannot read the password from the terminal") }
    guard first == second else { throw ValidationError("cannot set the password: the two entries differ") }
    return first
}

struct AddStaff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a staff account for the district or a street (password from standard input or the terminal).")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The name they sign in with: letters, digits, '.', '_' or '-'.") var name: String
    @Option(help: "Their office: the district's or a street's code.") var office: String

    func run() async throws {
        let password = try readPassword()
        let member = try await database.with { storage in
            try await StaffAccounts(storage: storage).add(name: name, office: office, password: password, now: ReplicaStoreTime.now())
        }
        Swift.print("added staff \(member.name) of \(member.office)")
    }
}

struct StaffPassword: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd", abstract: "Set a staff member's password (their sessions end).")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The staff member's name.") var name: String

    func run() async throws {
        let password = try readPassword()
        try await database.with { storage in try await StaffAccounts(storage: storage).setPassword(name: name, password: password) }
        Swift.print("password set for \(name)")
    }
}

struct RemoveStaff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a staff account: its sessions and API token stop working at once.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The staff member's name.") var name: String

    func run() async throws {
        try await database.with { storage in try await StaffAccounts(storage: storage).remove(name: name) }
        Swift.print("removed staff \(name)")
    }
}

struct StaffToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue an API token for scripts (GET /stats with Authorization: Bearer TOKEN), printed on the last line.",
        discussion: "It is shown once; a new one replaces the previous one.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The staff member's name.") var name: String

    func run() async throws {
        let token = try await database.with { storage in try await StaffAccounts(storage: storage).issueToken(name: name) }
        Swift.print("API token for \(name) (shown once):")
        Swift.print(token)
    }
}

struct ListStaff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the staff accounts.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print as JSON.") var json = false

    func run() async throws {
        let members = try await database.with { storage in try await StaffAccounts(storage: storage).list() }
        if json {
            print(
                .array(
                    members.map {
                        .object([
                            ("name", .string($0.name)), ("office", .string($0.office)), ("token", .bool($0.hasToken)),
                            ("created_at", .string(LocalTime.format($0.createdAt))),
                        ])
                    }))
            return
        }
        printTable(
            ["name", "office", "token", "created"],
            members.map { [$0.name, $0.office, $0.hasToken ? "yes" : "-", LocalTime.format($0.createdAt)] })
    }
}

struct StaffAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The audit of sign-ins, reveals and exports, newest first.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "At most this many lines.") var limit = 100
    @Flag(help: "Print as JSON.") var json = false

    func run() async throws {
        let lines = try await database.with { storage in try await StaffAccounts(storage: storage).auditLines(limit: limit) }
        if json {
            print(
                .array(
                    lines.map {
                        .object([
                            ("at", .string(LocalTime.format($0.at))), ("staff", .string($0.staff)), ("action", .string($0.action)),
                            ("subject", .string($0.subject)), ("address", .string($0.address)),
                        ])
                    }))
            return
        }
        // Names and subjects as typed: no control character reaches the terminal.
        func shown(_ text: String?) -> String {
            String((text ?? "").unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        }
        printTable(
            ["at", "staff", "action", "subject", "address"],
            lines.map { [LocalTime.format($0.at), shown($0.staff), $0.action, shown($0.subject), shown($0.address)] })
    }
}
