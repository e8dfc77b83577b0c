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

struct ImportChanges: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Apply a file of one replica's changes (from `rain export --pending`) to the server.",
        discussion: """
            For the work of a revoked replica, or of one that cannot reach the server: the
            file is validated like a push (every change from one replica, continuing what
            the server holds without a gap) and applied in one transaction, idempotently.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The file written by `rain export --pending FILE`.") var file: String
    @Flag(help: "Print {\"replica\", \"accepted\", \"duplicates\"} as JSON.") var json = false

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ServerError(status: 400, code: "invalid", message: "cannot import: cannot read the file (\(file))")
        }
        let changes: [Change]
        do {
            changes = try ChangeBatchV1.decode(Array(data))
        } catch {
            throw ServerError(status: 400, code: "invalid", message: "cannot import: \(error.message) (\(file))")
        }
        guard let replica = changes.first?.dot.replica else {
            print(json ? "{\"replica\":null,\"accepted\":0,\"duplicates\":0}" : "nothing to import")
            return
        }
        let (enrolled, answer) = try await database.with { storage in
            guard let enrolled = try await storage.replicas().first(where: { $0.id == replica }) else {
                throw ServerError(
                    status: 404, code: "not_found",
                    message: "cannot import: the changes were written by replica \(replica), which was never enrolled here")
            }
            return (
                enrolled,
                try await storage.push(changes, from: Caller(replica: replica, office: enrolled.office), now: ReplicaStoreTime.now())
            )
        }
        if json {
            print(
                JSONText.object([
                    ("replica", .string(replica.rawValue)), ("accepted", .integer(Int64(answer.accepted))),
                    ("duplicates", .integer(Int64(answer.duplicates))),
                ]))
        } else {
            print("imported \(answer.accepted) changes of replica \(replica) (\(enrolled.office)); \(answer.duplicates) were already held")
        }
    }
}

struct MigrateDatabase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy the server's database to another (SQLite to PostgreSQL, or back) and check the copy.",
        discussion: """
            Copies everything — the change log with its positions, merge states and scopes,
            offices, enrolment tokens, replicas with their credential digests and restore
            links, refusals, scope moves and listings — then reads both databases back and
            compares each table's row count and digest. Replicas keep syncing afterwards
            with their credentials and cursors unchanged.

            Stop every server on the source first, migrate into an empty database, then start
            the servers with --db naming the destination. A copy that finds the source
            changed under it stops and says so (the destination is then to be emptied).
            """
    )

    @Option(help: ArgumentHelp("The database to copy: a file path or a postgres:// URL.", valueName: "path-or-url"))
    var from: String
    @Option(help: ArgumentHelp("The empty database to copy into: a file path or a postgres:// URL.", valueName: "path-or-url"))
    var to: String
    @Flag(help: "Print the tables copied, with their rows and digests, as JSON.") var json = false

    func run() async throws {
        let source: DatabaseLocation
        let destination: DatabaseLocation
        do {
            source = try DatabaseLocation(parsing: from)
            destination = try DatabaseLocation(parsing: to)
        } catch {
            throw ValidationError(error.message)
        }
        if case .sqlite(let path) = source, !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("cannot migrate: no database file \(path) (--from)")
        }
        let report = try await DatabaseMove.run(from: source, to: destination, kinds: BuiltInKinds.all, logger: adminLogger())
        if json {
            print(
                JSONText.array(
                    report.tables.map { table in
                        .object([("table", .string(table.name)), ("rows", .integer(Int64(table.rows))), ("sha256", .string(table.digest))])
                    }))
            return
        }
        printTable(["table", "rows", "sha256"], report.tables.map { [$0.name, String($0.rows), String($0.digest.prefix(16)) + "…"] })
        print("copied and checked: every table's rows and digest match")
    }
}

struct MarkRestored: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restored",
        abstract: "Record that the PostgreSQL database was just restored from a backup (run it before starting the servers).",
        discussion: """
            A restore takes the change log back to the backup, while replicas keep the pull
            positions they reached after it. From now on, every new change and move is
            numbered above every number handed out before the restore, so no replica's
            position has passed them: the changes the restore lost come back as their
            writers push them again (the server's answer tells each replica where to resume),
            and every replica receives them. Run it once per restore, with no server running.
            """
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        guard case .postgres(let location) = try database.location() else {
            throw ValidationError(
                "rain-server restored is for a PostgreSQL database; an SQLite file restored from a copy is not supported yet (--db)")
        }
        let storage = try await PostgresCentralStorage.open(location, kinds: BuiltInKinds.all, logger: adminLogger())
        do {
            let floor = try await storage.markRestored(now: ReplicaStoreTime.now())
            await storage.close()
            print("restore recorded: new changes are numbered from \(floor) on")
        } catch {
            await storage.close()
            throw error
        }
    }
}
