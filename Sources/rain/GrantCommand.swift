import ArgumentParser
import CaseDomain
import ConsoleText
import Foundation
import PolicyDomain
import PolicyStore
import ReplicaStore

struct GrantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant",
        abstract: "Enter applications and move grants: confirm, approve, reject.",
        discussion: """
            A grant is one enterprise's benefit under one policy for one period; its id is
            made from those three, so the same grant matched or entered on two replicas
            offline is one grant after sync. Stages: matched (免申即享) or applied →
            confirmed (by the department) → approved → paid; or rejected with a reason.
            """,
        subcommands: [
            ListGrants.self, ApplyGrant.self, MoveGrant.Confirm.self, MoveGrant.Approve.self, MoveGrant.Reject.self, ExportGrants.self,
            RecordPaid.self,
        ]
    )
}

func stageLabel(_ grant: GrantRow, _ out: Output) -> String {
    if grant.payments > 1 { return out.text("兑付冲突", "payment conflict") }
    if grant.rejection != nil { return out.text("已驳回", "rejected") }
    return GrantStage(rawValue: grant.stage)?.label(out.language) ?? grant.stage
}

func grantJSON(_ grant: GrantRow) -> JSONOut.Node {
    .object([
        ("id", .string(grant.id)), ("reference", .string(grant.reference)), ("policy", .string(grant.policy)),
        ("policy_title", .string(grant.policyTitle)), ("credit_code", .string(grant.creditCode)), ("name", .string(grant.enterpriseName)),
        ("period", .string(grant.period)), ("department", .string(grant.department)), ("street", .string(grant.street)),
        ("stage", .string(grant.stage)), ("rejected", .bool(grant.rejection != nil)), ("rejection", .string(grant.rejection)),
        ("amount_fen", .integer(grant.amountFen)), ("computation", .string(grant.computation)), ("reasons", .string(grant.reasons)),
        ("batch", .string(grant.batch)), ("payment", .string(grant.payment)), ("payment_conflict", .bool(grant.payments > 1)),
        ("created_at", .integer(grant.createdAt)), ("paid_at", .integer(grant.paidAt)), ("conflicts", .integer(Int64(grant.conflicts))),
    ])
}

func printGrant(_ grant: GrantRow, _ out: Output) {
    print(
        out.bold(grant.reference) + "  " + (grant.enterpriseName ?? grant.creditCode) + "  " + stageLabel(grant, out) + "  "
            + Benefit.yuan(grant.amountFen))
    print("    " + grant.computation)
    if let rejection = grant.rejection { print("    " + out.text("驳回原因：", "rejected: ") + rejection) }
}

struct ListGrants: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the grants this replica holds.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this policy's (reference, id or document number).") var policy: String?
    @Option(help: "Only this stage: matched, applied, confirmed, approved or paid.") var stage: String?
    @Flag(help: "Print an array of grants as JSON.") var json = false

    func validate() throws {
        if let stage, GrantStage(rawValue: stage) == nil {
            throw ValidationError("--stage must be matched, applied, confirmed, approved or paid, not '\(stage)'")
        }
    }

    func run() throws {
        try running(global) {
            let rows = try global.open().grants(policy: policy, stage: stage)
            let out = global.output
            if json {
                print(JSONOut.render(.array(rows.map(grantJSON))))
                return
            }
            if rows.isEmpty {
                print(out.text("没有资金", "no grants"))
                return
            }
            out.table(
                [
                    out.text("编号", "ref"), out.text("企业", "enterprise"), out.text("政策", "policy"), out.text("状态", "stage"),
                    out.text("金额", "amount"),
                ],
                rows.map {
                    [
                        $0.reference, $0.enterpriseName ?? $0.creditCode, $0.policyTitle ?? String($0.policy.prefix(8)),
                        stageLabel($0, out), Benefit.yuan($0.amountFen),
                    ]
                })
        }
    }
}

struct ApplyGrant: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Enter an enterprise's application to a policy, typing its name or credit code.",
        discussion: """
            The credit code, street and figures come from the registry; the rule is checked
            (an enterprise that does not qualify is refused with the clause that failed) and
            the amount computed from the benefit.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The policy's reference, id or document number.") var policy: String
    @Argument(help: "The enterprise's name (as typed) or credit code.") var enterprise: String
    @Flag(help: "Print the grant as JSON.") var json = false

    func run() throws {
        try running(global) {
            let grant = try global.open().applyGrant(policy: policy, enterprise: enterprise)
            if json { print(JSONOut.render(grantJSON(grant))) } else { printGrant(grant, global.output) }
        }
    }
}

enum MoveGrant {
    /// Moves every grant named, or — when one is refused — none.
    static func run(_ global: GlobalOptions, _ references: [String], _ move: GrantMove, reason: String?, json: Bool) throws {
        try running(global) {
            let moved = try global.open().moveGrants(references, move, reason: reason)
            if json {
                print(JSONOut.render(moved.count == 1 ? grantJSON(moved[0]) : .array(moved.map(grantJSON))))
            } else {
                for grant in moved { printGrant(grant, global.output) }
            }
        }
    }

    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm", abstract: "Confirm a matched or applied grant (the department).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The grants' references (the last characters rain shows) or ids.") var references: [String]
        @Flag(help: "Print the grant (an array for several) as JSON.") var json = false
        func run() throws { try MoveGrant.run(global, references, .confirm, reason: nil, json: json) }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "approve", abstract: "Approve a confirmed grant for payment.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The grants' references or ids.") var references: [String]
        @Flag(help: "Print the grant (an array for several) as JSON.") var json = false
        func run() throws { try MoveGrant.run(global, references, .approve, reason: nil, json: json) }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a grant, with a reason: it is never paid.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The grant's reference or id.") var reference: String
        @Option(help: "Why (shown to the street and the enterprise).") var reason: String
        @Flag(help: "Print the grant as JSON.") var json = false
        func run() throws { try MoveGrant.run(global, [reference], .reject, reason: reason, json: json) }
    }
}
