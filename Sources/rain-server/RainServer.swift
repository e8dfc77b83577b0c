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

/// `rain-server`: the central sync server and its administration.
@main
struct RainServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rain-server",
        abstract: "TimelyRain (及时雨) central server: enrols offices and merges every replica's changes.",
        discussion: """
            The database is --db PATH_OR_URL, else $RAIN_SERVER_DB, else
            ./rain-central.sqlite: a file path is SQLite (created with mode 0600 when
            missing), a postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE URL is PostgreSQL
            (several servers may share it). The administration commands work on the same
            database while servers run.

            Exit codes: 0 ok; 1 failure (storage); 2 usage or bad input; 3 no such office
            or replica; 4 already exists, or still in use (an office with cases).
            """,
        subcommands: [
            Serve.self, OfficeCommand.self, ReplicaCommand.self, ImportChanges.self, MigrateDatabase.self, MarkRestored.self,
            KindCommand.self, StaffCommand.self,
        ]
    )

    /// Parses and runs; usage errors exit with 2, like `rain`.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as ServerError {
            FileHandle.standardError.write(Data(("rain-server: " + error.message + "\n").utf8))
            Foundation.exit(exitCode(for: error))
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    static func exitCode(for error: ServerError) -> Int32 {
        switch error.status {
        case 400, 413: 2
        case 404: 3
        case 409: 4
        default: 1
        }
    }
}

/// `--db`, taken by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The server database: a file path (SQLite) or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require&pool=N] (default: $RAIN_SERVER_DB, else ./rain-central.sqlite).",
            valueName: "path-or-url"))
    var db: String?

    var text: String {
        if let db { return db }
        if let value = ProcessInfo.processInfo.environment["RAIN_SERVER_DB"], !value.isEmpty { return value }
        return "rain-central.sqlite"
    }

    /// Where the database is; a bad URL is a usage error naming what is wrong.
    func location() throws -> DatabaseLocation {
        do {
            return try DatabaseLocation(parsing: text)
        } catch {
            throw ValidationError(error.message + (db == nil ? " ($RAIN_SERVER_DB)" : " (--db)"))
        }
    }

    /// Runs `body` on the database, closing it afterwards; administration commands create
    /// it too, so that offices can be added before the first `serve`.
    func with<T>(_ body: (any CentralStorage) async throws -> T) async throws -> T {
        try await CentralDatabase.with(try location(), kinds: BuiltInKinds.all, logger: adminLogger(), body)
    }
}

/// The administration commands log nothing below warnings (their output is the answer).
func adminLogger() -> Logger {
    var logger = Logger(label: "rain-server") { label in StreamLogHandler.standardError(label: label) }
    logger.logLevel = .warning
    return logger
}

// MARK: - Output

/// The administration commands' `--json` output (ConsoleText's, as `rain` prints it).
typealias JSONText = JSONOut.Node

extension JSONOut.Node {
    static var null: JSONOut.Node { .string(nil) }
}

/// Prints a JSON node on one line.
func print(_ node: JSONOut.Node) {
    Swift.print(JSONOut.render(node))
}

func printTable(_ header: [String], _ rows: [[String]]) {
    for line in tableLines(header, rows) { Swift.print(line) }
}

enum ReplicaStoreTime {
    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
