import ArgumentParser
import CaseDomain
import CentralPostgres
import ConsoleText
import Foundation
import Hummingbird
import Logging
import PolicyDomain
import SuggestionDomain
import SyncCore
import SyncProtocol
import SyncServer

struct KindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kind",
        abstract: "Print a built-in record kind's declaration (tables, fields, merge rules, scope) as JSON.",
        discussion: """
            The format of Protocol/kinds/*.json and of `serve --kind FILE`. Without a name,
            lists the built-in kinds.
            """
    )

    @Argument(help: "The kind's name (e.g. cases).") var name: String?

    func run() throws {
        let kinds = BuiltInKinds.all
        guard let name else {
            for kind in kinds { print(kind.name + "\t" + kind.tables.map(\.name).joined(separator: ", ")) }
            return
        }
        guard let kind = kinds.first(where: { $0.name == name }) else {
            throw ValidationError("no built-in kind \(name): the built-in kinds are \(kinds.map(\.name).joined(separator: ", "))")
        }
        print(KindDeclarationV1.encode(kind), terminator: "")
    }
}

/// The record kinds this server is built with: cases, and policy direct (政策直达).
enum BuiltInKinds {
    static let all = [CaseRecords.kind, PolicyRecords.kind, SuggestionRecords.kind]
}
