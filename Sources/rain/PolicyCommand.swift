import ArgumentParser
import CaseDomain
import ConsoleText
import Foundation
import PolicyDomain
import PolicyStore
import ReplicaStore

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Publish policies and let them find the enterprises that qualify (政策直达).",
        discussion: "The policy file format and the rule language are in README, \"Policy direct\".",
        subcommands: [PublishPolicy.self, ListPolicies.self, ShowPolicy.self, ClosePolicy.self, MatchPolicy.self, PolicyStatsCommand.self]
    )
}

/// A policy as `--json` prints it.
func policyJSON(_ policy: PolicyRow) -> JSONOut.Node {
    .object([
        ("id", .string(policy.id)), ("reference", .string(policy.reference)), ("title", .string(policy.title)),
        ("department", .string(policy.department)), ("document", .string(policy.document)), ("mode", .string(policy.mode)),
        ("valid_from", .string(policy.validFrom)), ("valid_to", .string(policy.validTo)), ("benefit", .string(policy.benefitJSON)),
        ("rule", .string(policy.rule)), ("period", .string(policy.period)), ("summary", .string(policy.summary)),
        ("status", .string(policy.status)), ("version", .integer(policy.version)), ("supersedes", .string(policy.supersedes)),
        ("created_at", .integer(policy.createdAt)), ("published_at", .integer(policy.publishedAt)),
        ("closed_at", .integer(policy.closedAt)), ("conflicts", .integer(Int64(policy.conflicts))),
    ])
}

func statusLabel(_ status: String, _ out: Output) -> String {
    switch status {
    case "draft": out.text("草稿", "draft")
    case "published": out.text("发布中", "published")
    case "closed": out.text("已关闭", "closed")
    default: status
    }
}

func printPolicy(_ policy: PolicyRow, _ out: Output) {
    let mode = policy.isAutomatic ? out.text("免申即享", "automatic (免申即享)") : out.text("申报", "application")
    let lines: [(String, String)] = [
        (out.text("编号", "reference"), policy.reference + "  (" + policy.id + ")"),
        (out.text("标题", "title"), policy.title), (out.text("部门", "department"), policy.department),
        (
            out.text("文号", "document"),
            policy.document + (policy.version > 1 ? out.text("（第 \(policy.version) 版）", " (version \(policy.version))") : "")
        ),
        (out.text("方式", "mode"), mode), (out.text("有效期", "valid"), policy.validFrom + " — " + policy.validTo),
        (out.text("兑付期", "period"), policy.period),
        (out.text("金额", "benefit"), policy.benefit?.summary(out.language) ?? policy.benefitJSON),
        (out.text("条件", "rule"), policy.rule), (out.text("状态", "status"), statusLabel(policy.status, out)),
    ]
    for (label, value) in lines { print(out.bold(label) + "  " + value) }
    if let summary = policy.summary { print(out.bold(out.text("说明", "summary")) + "  " + summary) }
    if policy.conflicts > 0 {
        print(
            out.yellow(out.text("有 \(policy.conflicts) 个字段冲突：rain conflicts", "\(policy.conflicts) field(s) in conflict: rain conflicts")))
    }
}

struct PublishPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a policy from a JSON file, or publish a draft.",
        discussion: """
            FILE is one JSON object (README, "Policy file"); it is checked whole — an unknown
            member, a wrong type, a fractional amount, a rule that does not parse — before
            anything is written. A file naming the document of a policy already published
            by the department is its next version: the old one is closed (a published rule
            or benefit is never edited). With --draft the policy is saved as a draft; give a
            draft's reference instead of a file to publish it.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The policy file (JSON), or a draft's reference.") var source: String
    @Flag(help: "Save as a draft: not matched, not shown to other offices.") var draft = false
    @Flag(help: "Print the policy as JSON.") var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let out = global.output
            let policy: PolicyRow
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), !isDirectory.boolValue {
                guard let data = FileManager.default.contents(atPath: source), data.count <= 1 << 20 else {
                    throw CommandFailure(
                        message: out.text(
                            "无法读取政策文件（\(source)）：不可读或超过 1 MiB", "cannot read the policy file \(source): unreadable or over 1 MiB"),
                        code: 2)
                }
                let file: PolicyFile
                do { file = try PolicyFile(Array(data)) } catch let error as PolicyFile.Failure {
                    throw CommandFailure(message: error.message(out.language) + " (\(source))", code: 2)
                }
                policy = try store.publishPolicy(file, draft: draft)
            } else {
                if draft {
                    throw CommandFailure(message: out.text("找不到政策文件 \(source)", "no policy file \(source)"), code: 2)
                }
                policy = try store.movePolicy(source, to: "published")
            }
            if json {
                print(JSONOut.render(policyJSON(policy)))
            } else {
                print(
                    policy.status == "draft"
                        ? out.text("已保存草稿 \(policy.reference)", "draft \(policy.reference) saved")
                        : out.text("已发布政策 \(policy.reference)", "policy \(policy.reference) published"))
                printPolicy(policy, out)
            }
        }
    }
}

struct ListPolicies: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the policies this replica holds.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this status: draft, published or closed.") var status: String?
    @Flag(help: "Print an array of policies as JSON.") var json = false

    func validate() throws {
        if let status, !PolicyRecords.policyStages.contains(status) {
            throw ValidationError("--status must be draft, published or closed, not '\(status)'")
        }
    }

    func run() throws {
        try running(global) {
            let rows = try global.open().policies(status: status)
            let out = global.output
            if json {
                print(JSONOut.render(.array(rows.map(policyJSON))))
                return
            }
            if rows.isEmpty {
                print(out.text("没有政策", "no policies"))
                return
            }
            out.table(
                [
                    out.text("编号", "ref"), out.text("部门", "dept"), out.text("文号", "document"), out.text("方式", "mode"),
                    out.text("状态", "status"), out.text("标题", "title"),
                ],
                rows.map {
                    [
                        $0.reference, $0.department, $0.document,
                        $0.isAutomatic ? out.text("免申即享", "automatic") : out.text("申报", "application"),
                        statusLabel($0.status, out), $0.title,
                    ]
                })
        }
    }
}

struct ShowPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one policy.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The policy's reference (its first characters), id or document number.") var reference: String
    @Flag(help: "Print the policy as JSON.") var json = false

    func run() throws {
        try running(global) {
            let policy = try global.open().findPolicy(reference)
            if json { print(JSONOut.render(policyJSON(policy))) } else { printPolicy(policy, global.output) }
        }
    }
}

struct ClosePolicy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "close", abstract: "Close a policy (or a draft): no new grants; grants already made go on.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The policy's reference, id or document number.") var reference: String
    @Flag(help: "Print the policy as JSON.") var json = false

    func run() throws {
        try running(global) {
            let policy = try global.open().movePolicy(reference, to: "closed")
            if json {
                print(JSONOut.render(policyJSON(policy)))
            } else {
                print(global.output.text("已关闭政策 \(policy.reference)", "policy \(policy.reference) closed"))
            }
        }
    }
}

struct MatchPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "List the enterprises a policy's rule selects, with the reasons, and the near misses.",
        discussion: """
            Works offline on the registry this replica holds. For a published automatic
            policy (免申即享) each eligible enterprise without a grant gets one, stage
            matched, where this office may write it (its department's policy or its street's
            enterprise; the district all) — unless --dry-run.
            --json prints a list of objects: credit_code, name, street, eligible, reasons,
            failed (near misses: the clause that failed), amount_fen, computation, grant.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The policy's reference, id or document number.") var reference: String
    @Flag(help: "Only list: write no grant.") var dryRun = false
    @Flag(help: "Print a list of objects as JSON.") var json = false

    func run() throws {
        try running(global) {
            let out = global.output
            let result = try global.open().matchPolicy(reference, dryRun: dryRun, language: out.language)
            if json {
                var items: [JSONOut.Node] = []
                for item in result.eligible {
                    let amount = try? item.amount?.get()
                    items.append(
                        .object([
                            ("credit_code", .string(item.enterprise.creditCode)), ("name", .string(item.enterprise.name)),
                            ("street", .string(item.enterprise.street)), ("eligible", .bool(true)),
                            ("reasons", .array(item.match.held.map { .string($0.reason(out.language)) })), ("failed", .array([])),
                            ("amount_fen", .integer(amount?.fen)), ("computation", .string(amount?.computation)),
                            ("grant", .string(item.grant ?? item.grantID.flatMap { result.granted.contains($0) ? $0 : nil })),
                        ]))
                }
                for item in result.nearMisses {
                    items.append(
                        .object([
                            ("credit_code", .string(item.enterprise.creditCode)), ("name", .string(item.enterprise.name)),
                            ("street", .string(item.enterprise.street)), ("eligible", .bool(false)),
                            ("reasons", .array(item.match.held.map { .string($0.reason(out.language)) })),
                            ("failed", .array(item.match.nearMisses.map { .string($0.reason(out.language)) })),
                            ("amount_fen", .integer(nil)), ("computation", .string(nil)), ("grant", .string(item.grant)),
                        ]))
                }
                print(JSONOut.render(.array(items)))
                return
            }
            print(
                out.bold(
                    out.text(
                        "\(result.policy.title)：符合 \(result.eligible.count) 家，差一项 \(result.nearMisses.count) 家",
                        "\(result.policy.title): \(result.eligible.count) eligible, \(result.nearMisses.count) near misses")))
            for item in result.eligible {
                let amount = (try? item.amount?.get()).map { Benefit.yuan($0.fen) } ?? out.text("金额无法计算", "amount unknown")
                print("✓ \(item.enterprise.name)  \(item.enterprise.creditCode)  \(amount)")
                print("    " + item.match.held.map { $0.reason(out.language) }.joined(separator: out.text("；", "; ")))
            }
            for item in result.nearMisses {
                print("✗ \(item.enterprise.name)  \(item.enterprise.creditCode)")
                print(
                    "    " + out.text("未满足：", "failed: ")
                        + item.match.nearMisses.map { $0.reason(out.language) }.joined(separator: out.text("；", "; ")))
            }
            if result.policy.isAutomatic, result.policy.status == "published", !result.inForce {
                print(
                    out.text(
                        "政策不在有效期内（\(result.policy.validFrom) 至 \(result.policy.validTo)），未生成资金",
                        "the policy is not in force (\(result.policy.validFrom) to \(result.policy.validTo)): no grant created"))
            }
            if !result.granted.isEmpty || result.notGranted > 0 {
                print(
                    out.text(
                        "生成资金 \(result.granted.count) 项（免申即享）"
                            + (result.notGranted > 0 ? "；\(result.notGranted) 项不在本办公室辖区或金额无法计算，未生成" : ""),
                        "\(result.granted.count) grant(s) created (automatic)"
                            + (result.notGranted > 0
                                ? "; \(result.notGranted) outside this office's jurisdiction or without a computable amount, not created"
                                : "")))
            }
        }
    }
}

struct PolicyStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Policies published, departments, enterprises benefited, enterprise-times and amounts paid.",
        discussion: """
            Over what this replica holds (a department's replica: its own; the district's:
            the district's). A policy counts once published; enterprise-times are paid
            grants, enterprises the distinct ones among them; amounts in fen (yuan shown).
            By department, policy, street and month of payment (Beijing time), and the days
            from match (or application) to payment: median and 90th percentile.
            --json: {"policies", "departments", "grants", "enterprises", "enterprise_times",
            "paid_fen", "median_days_to_payment", "p90_days_to_payment", "by_department",
            "by_policy", "by_street", "by_month"}; each breakdown a list of {"key",
            "enterprise_times", "enterprises", "paid_fen"} (by_policy adds "title").
            """
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print the figures as JSON.") var json = false

    func run() throws {
        try running(global) {
            let store = try global.open()
            let stats = try store.policyStats()
            let titles = Dictionary(try store.policies().map { ($0.id, $0.title) }, uniquingKeysWith: { first, _ in first })
            let out = global.output
            func days(_ value: Double?) -> String? { value.map { String(format: "%.1f", $0) } }
            if json {
                func lines(_ lines: [PolicyStats.Line], titled: Bool = false) -> JSONOut.Node {
                    .array(
                        lines.map { line in
                            var members: [(String, JSONOut.Node)] = [("key", .string(line.key))]
                            if titled { members.append(("title", .string(titles[line.key]))) }
                            members += [
                                ("enterprise_times", .integer(Int64(line.enterpriseTimes))),
                                ("enterprises", .integer(Int64(line.enterprises))),
                                ("paid_fen", .integer(line.paidFen)),
                            ]
                            return .object(members)
                        })
                }
                print(
                    JSONOut.render(
                        .object([
                            ("policies", .integer(Int64(stats.policies))), ("departments", .integer(Int64(stats.departments))),
                            ("grants", .integer(Int64(stats.grants))), ("enterprises", .integer(Int64(stats.enterprises))),
                            ("enterprise_times", .integer(Int64(stats.enterpriseTimes))), ("paid_fen", .integer(stats.paidFen)),
                            ("median_days_to_payment", .string(days(stats.medianDaysToPayment))),
                            ("p90_days_to_payment", .string(days(stats.p90DaysToPayment))),
                            ("by_department", lines(stats.byDepartment)), ("by_policy", lines(stats.byPolicy, titled: true)),
                            ("by_street", lines(stats.byStreet)), ("by_month", lines(stats.byMonth)),
                        ])))
                return
            }
            out.table(
                [out.text("指标", "figure"), out.text("数值", "value")],
                [
                    [out.text("发布政策", "policies published"), String(stats.policies)],
                    [out.text("发布部门", "departments"), String(stats.departments)],
                    [out.text("受益企业", "enterprises benefited"), String(stats.enterprises)],
                    [out.text("受益企业（家次）", "enterprise-times"), String(stats.enterpriseTimes)],
                    [out.text("兑付金额", "amount paid"), Benefit.yuan(stats.paidFen)],
                    [out.text("匹配至兑付（天，中位数）", "match to payment, median days"), days(stats.medianDaysToPayment) ?? "-"],
                    [out.text("匹配至兑付（天，90%）", "match to payment, p90 days"), days(stats.p90DaysToPayment) ?? "-"],
                ])
            for (title, lines) in [
                (out.text("按部门", "by department"), stats.byDepartment), (out.text("按街道", "by street"), stats.byStreet),
                (out.text("按月份", "by month"), stats.byMonth),
            ] where !lines.isEmpty {
                print("\n" + out.bold(title))
                out.table(
                    ["", out.text("家次", "times"), out.text("企业", "enterprises"), out.text("金额", "paid")],
                    lines.map { [$0.key, String($0.enterpriseTimes), String($0.enterprises), Benefit.yuan($0.paidFen)] })
            }
        }
    }
}
