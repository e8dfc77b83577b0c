public import SyncCore

/// The policy-direct kind (政策直达): policies, the enterprise registry (its public
/// attributes and, apart, its accounts and contacts), and grants — tables, fields, merge
/// rules and scope, declared once (DESIGN §8). `Protocol/kinds/policy.json` holds the
/// same; a test compares the two.
///
/// Scopes: a policy is its department's, and every office reads it once published; an
/// enterprise's attributes are its street's to write and every office's to read (matching
/// works on any replica); its bank account, legal representative and contact stay with its
/// street (and the district); a grant is the policy's department's and the enterprise's
/// street's.
public enum PolicyRecords {
    /// A policy's stages, in workflow order.
    public static let policyStages = Schema.policyStages
    /// A grant's stages, in workflow order (the furthest wins a concurrent write).
    public static let grantStages = Schema.grantStages

    /// The tables of the `policy` kind.
    public static let kind = RecordKind(
        name: "policy",
        tables: [
            TableDeclaration(
                "policies", kind: .mutable,
                scope: .sharedFields(["department"], once: .init(field: "status", values: ["published", "closed"])),
                writerLevels: ["department", "district"],
                fields: [
                    FieldDeclaration("title", .text, required: true, "the policy's title"),
                    FieldDeclaration("department", .text, required: true, "the publishing department's office code (scope, its home)"),
                    FieldDeclaration("document", .text, required: true, "the document number (文号)"),
                    FieldDeclaration("mode", .text, required: true, "automatic (免申即享: a match is a grant) or application"),
                    FieldDeclaration("valid_from", .text, required: true, "first day in force, YYYY-MM-DD"),
                    FieldDeclaration("valid_to", .text, required: true, "last day in force, YYYY-MM-DD"),
                    FieldDeclaration(
                        "benefit", .text, required: true,
                        "the benefit as canonical JSON: {\"type\":\"fixed\",\"amount_fen\":N}, percent of a base or per unit, amounts in fen"
                    ),
                    FieldDeclaration("rule", .text, required: true, "the eligibility rule, in the rule language (README)"),
                    FieldDeclaration("period", .text, required: true, "the payout round a grant belongs to (part of its key)"),
                    FieldDeclaration("summary", .text, "what the policy is for"),
                    FieldDeclaration(
                        "status", .text, required: true, rule: .workflow(stages: policyStages, roundField: "round"),
                        "draft, published or closed; once published every office reads the policy (scope)"),
                    FieldDeclaration("round", .integer, rule: .maximum, "the workflow round (always 1: a policy is never reopened)"),
                    FieldDeclaration("version", .integer, required: true, "1, or one more than the policy it replaces"),
                    FieldDeclaration("supersedes", .text, "the record id of the published policy this version replaces"),
                    FieldDeclaration("created_at", .timestamp, required: true, "when it was written"),
                    FieldDeclaration("published_at", .timestamp, "when it was published"),
                    FieldDeclaration("closed_at", .timestamp, "when it was closed"),
                ]),
            TableDeclaration(
                "enterprises", kind: .mutable, scope: .sharedFields(["street"], once: nil), writerLevels: ["street", "district"],
                fields: [
                    FieldDeclaration("credit_code", .text, required: true, "the unified social credit code (GB 32100-2015)"),
                    FieldDeclaration("name", .text, required: true, "the registered name"),
                    FieldDeclaration("street", .text, required: true, "the registered street's office code (scope)"),
                    FieldDeclaration("industry", .text, "GB/T 4754 code"),
                    FieldDeclaration("size", .text, "micro, small, medium or large"),
                    FieldDeclaration("founded", .text, "founding date, YYYY-MM-DD"),
                    FieldDeclaration("employees", .integer, "employees"),
                    FieldDeclaration("revenue", .integer, "revenue, 元"),
                    FieldDeclaration("tax_paid", .integer, "tax paid, 元"),
                    FieldDeclaration("tags", .text, "tags separated by `;` (新四板挂牌;高新技术企业)"),
                    FieldDeclaration("updated_at", .timestamp, required: true, "when the registry last wrote it"),
                ]),
            TableDeclaration(
                "enterprise_accounts", kind: .mutable, scope: .fields(["street"]), writerLevels: ["street", "district"],
                fields: [
                    FieldDeclaration("credit_code", .text, required: true, "the enterprise's credit code"),
                    FieldDeclaration("street", .text, required: true, "the registered street's office code (scope)"),
                    FieldDeclaration("legal_rep", .text, "the legal representative (personal data)"),
                    FieldDeclaration("bank", .text, "the bank's name"),
                    FieldDeclaration("account", .text, "the bank account number (personal data)"),
                    FieldDeclaration("contact", .text, "a contact person or phone (personal data)"),
                    FieldDeclaration("updated_at", .timestamp, required: true, "when the registry last wrote it"),
                ]),
            TableDeclaration(
                "enterprise_reveals", kind: .appendOnly, scope: .parent(table: "enterprise_accounts", field: "account_id"),
                fields: [
                    FieldDeclaration("account_id", .text, required: true, "the account record whose data was shown (scope)"),
                    FieldDeclaration("command", .text, required: true, "the command that showed it"),
                    FieldDeclaration("at", .timestamp, required: true, "when"),
                ]),
            TableDeclaration(
                "grants", kind: .mutable, scope: .fields(["department", "street"]), writerLevels: ["department", "street", "district"],
                fields: [
                    FieldDeclaration("policy", .text, required: true, "the policy's record id"),
                    FieldDeclaration("credit_code", .text, required: true, "the enterprise's credit code"),
                    FieldDeclaration("period", .text, required: true, "the policy's payout round (the id is policy, code and period)"),
                    FieldDeclaration("department", .text, required: true, "the policy's department (scope, its home)"),
                    FieldDeclaration("street", .text, required: true, "the enterprise's street (scope)"),
                    FieldDeclaration(
                        "stage", .text, required: true, rule: .workflow(stages: grantStages, roundField: "round"),
                        writers: .home(except: ["matched", "applied"]),
                        "matched (免申即享) or applied, confirmed, approved, paid: beyond applied, the department's (or the district's) to write"
                    ),
                    FieldDeclaration("round", .integer, rule: .maximum, "the workflow round (always 1)"),
                    FieldDeclaration("amount_fen", .integer, required: true, "the amount, fen"),
                    FieldDeclaration("computation", .text, required: true, "how the amount was computed"),
                    FieldDeclaration("reasons", .text, "the rule's clauses that held, with the values"),
                    FieldDeclaration(
                        "rejection", .text, writers: .home(except: []),
                        "why it was rejected (a rejected grant is never paid; the department's)"),
                    FieldDeclaration("batch", .text, writers: .server, "the payment batch the server reserved it for (the server's only)"),
                    FieldDeclaration(
                        "payment", .text, writers: .home(except: []),
                        "the payment's reference (the department's); concurrent references are a conflict that blocks the grant until settled"
                    ),
                    FieldDeclaration("created_at", .timestamp, required: true, "when it was matched or entered"),
                    FieldDeclaration("paid_at", .timestamp, writers: .home(except: []), "when its payment was recorded"),
                ]),
        ],
        views: [policyView, grantView, enterpriseView, accountView])

    /// What the central server keeps of each policy for the district's figures (the
    /// dashboard's policies and departments, `PolicyStats`' definitions).
    public static let policyView = ViewDeclaration(
        "policy_view", of: "policies", version: 1, columns: [.init("department", .text), .init("status", .text)], indexes: [])

    /// What the central server keeps of each grant to reserve payment batches (under its
    /// write lock, so that two exports never share a grant) and for statistics.
    public static let grantView = ViewDeclaration(
        "grant_view", of: "grants", version: 1,
        columns: [
            .init("policy", .text), .init("credit_code", .text), .init("period", .text), .init("department", .text),
            .init("street", .text), .init("stage", .text), .init("amount_fen", .integer), .init("rejection", .text),
            .init("batch", .text), .init("payment", .text), .init("created_at", .timestamp), .init("paid_at", .timestamp),
        ],
        indexes: [["stage"], ["batch"], ["department"]])

    /// An enterprise's name by credit code (a payment batch's `name` column).
    public static let enterpriseView = ViewDeclaration(
        "enterprise_view", of: "enterprises", version: 1,
        columns: [.init("credit_code", .text), .init("name", .text), .init("street", .text)], indexes: [["credit_code"]])

    /// An enterprise's bank and account by credit code: the server gives them to the
    /// department paying a batch (the only way an account reaches a department), never to
    /// a public route.
    public static let accountView = ViewDeclaration(
        "enterprise_account_view", of: "enterprise_accounts", version: 1,
        columns: [.init("credit_code", .text), .init("street", .text), .init("bank", .text), .init("account", .text)],
        indexes: [["credit_code"]])
}
