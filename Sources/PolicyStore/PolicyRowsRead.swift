public import CaseDomain
public import GRDB
public import PolicyDomain

/// A policy as a replica's `policies` row shows it.
public struct PolicyRow: Hashable, Sendable {
    public let id: String
    public let title: String
    public let department: String
    public let document: String
    public let mode: String
    public let validFrom: String
    public let validTo: String
    public let benefitJSON: String
    public let rule: String
    public let period: String
    public let summary: String?
    public let status: String
    public let version: Int64
    public let supersedes: String?
    public let createdAt: Int64?
    public let publishedAt: Int64?
    public let closedAt: Int64?
    public let conflicts: Int

    init(row: Row) {
        id = row["id"]
        title = row["title"] ?? ""
        department = row["department"] ?? ""
        document = row["document"] ?? ""
        mode = row["mode"] ?? ""
        validFrom = row["valid_from"] ?? ""
        validTo = row["valid_to"] ?? ""
        benefitJSON = row["benefit"] ?? ""
        rule = row["rule"] ?? ""
        period = row["period"] ?? ""
        summary = row["summary"]
        status = row["status"] ?? ""
        version = row["version"] ?? 1
        supersedes = row["supersedes"]
        createdAt = row["created_at"]
        publishedAt = row["published_at"]
        closedAt = row["closed_at"]
        conflicts = row["conflicts"] ?? 0
    }

    /// The benefit, read back (nil when the record holds a benefit this version cannot read).
    public var benefit: Benefit? { Benefit(json: benefitJSON) }
    /// The rule, parsed (nil when it does not parse: a record written by a newer version).
    public var eligibility: EligibilityRule? { try? EligibilityRule(rule) }
    /// What a grant's id is made from besides the code and period (PROTOCOL §10.3): the
    /// department and document, the same for every version, so a new version never
    /// grants an enterprise again for the same period.
    public var grantKey: String { department + "/" + document }
    /// Whether the policy is in force on the day of `millis` (Beijing time).
    public func isInForce(at millis: Int64) -> Bool {
        guard let from = PolicyDate.parse(validFrom), let to = PolicyDate.parse(validTo) else { return false }
        let day = CivilDate(epochMillis: millis)
        return from <= day && day <= to
    }
    /// 免申即享.
    public var isAutomatic: Bool { mode == PolicyFile.Mode.automatic.rawValue }
    /// A short reference people type: the id's last eight characters (its random part;
    /// the first ones are the time it was written, shared by policies written together).
    public var reference: String { String(id.suffix(8)) }
}

/// An enterprise as a replica holds it: its public attributes and, where this office's
/// jurisdiction has them, its account and contacts.
public struct EnterpriseRow: Hashable, Sendable {
    public let id: String
    public let name: String
    public let creditCode: String
    public let street: String
    public let industry: String?
    public let size: String?
    public let founded: String?
    public let employees: Int64?
    public let revenue: Int64?
    public let taxPaid: Int64?
    public let tags: [String]
    public let legalRep: String?
    public let bank: String?
    public let account: String?
    public let contact: String?

    init(row: Row) {
        id = row["id"]
        name = row["name"] ?? ""
        creditCode = row["credit_code"] ?? ""
        street = row["street"] ?? ""
        industry = row["industry"]
        size = row["size"]
        founded = row["founded"]
        employees = row["employees"]
        revenue = row["revenue"]
        taxPaid = row["tax_paid"]
        tags = (row["tags"] as String?).map { $0.split(separator: ";").map(String.init) } ?? []
        legalRep = row["legal_rep"]
        bank = row["bank"]
        account = row["account"]
        contact = row["contact"]
    }

    /// What eligibility rules are checked against.
    public var facts: EnterpriseFacts {
        EnterpriseFacts(
            industry: industry, size: size.flatMap(EnterpriseSize.init(rawValue:)), street: street,
            founded: founded.flatMap(PolicyDate.parse),
            employees: employees, revenue: revenue, taxPaid: taxPaid, tags: Set(tags))
    }

    /// The account as listings show it: the last four digits only.
    public var maskedAccount: String? {
        account.map { $0.count <= 4 ? "****" : String(repeating: "*", count: min($0.count - 4, 12)) + $0.suffix(4) }
    }

    /// The legal representative as listings show it (张*).
    public var maskedLegalRep: String? { legalRep.map(Masking.name) }

    static let select = """
        SELECT e.*, a.legal_rep, a.bank, a.account, a.contact FROM enterprises e
        LEFT JOIN enterprise_accounts a ON a.credit_code = e.credit_code
        """
}

/// A grant as a replica's `grants` row shows it.
public struct GrantRow: Hashable, Sendable {
    public let id: String
    public let policy: String
    public let creditCode: String
    public let period: String
    public let department: String
    public let street: String
    public let stage: String
    public let amountFen: Int64
    public let computation: String
    public let reasons: String?
    public let rejection: String?
    public let batch: String?
    public let payment: String?
    /// Payment references the merged record holds (more than one: a conflict).
    public let payments: Int
    public let createdAt: Int64?
    public let paidAt: Int64?
    public let conflicts: Int
    /// The enterprise's name and the policy's title, when this replica holds them.
    public let enterpriseName: String?
    public let policyTitle: String?

    init(row: Row) {
        id = row["id"]
        policy = row["policy"] ?? ""
        creditCode = row["credit_code"] ?? ""
        period = row["period"] ?? ""
        department = row["department"] ?? ""
        street = row["street"] ?? ""
        stage = row["stage"] ?? ""
        amountFen = row["amount_fen"] ?? 0
        computation = row["computation"] ?? ""
        reasons = row["reasons"]
        rejection = row["rejection"]
        batch = row["batch"]
        payment = row["payment"]
        payments = row["payments"] ?? 0
        createdAt = row["created_at"]
        paidAt = row["paid_at"]
        conflicts = row["conflicts"] ?? 0
        enterpriseName = row["enterprise_name"]
        policyTitle = row["policy_title"]
    }

    /// The workflow's and the payment rules' view of it.
    public var state: GrantState {
        GrantState(
            id: id, stage: GrantStage(rawValue: stage) ?? .matched, rejection: rejection, amountFen: amountFen, paymentCount: payments,
            batch: batch)
    }

    /// A short reference people type: the id's last eight characters.
    public var reference: String { String(id.suffix(8)) }

    static let select = """
        SELECT g.*, e.name AS enterprise_name, p.title AS policy_title FROM grants g
        LEFT JOIN enterprises e ON e.credit_code = g.credit_code LEFT JOIN policies p ON p.id = g.policy
        """
}
