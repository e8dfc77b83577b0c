public import CaseDomain

/// The district's policy-direct figures (`rain policy stats`), pure: computed from the
/// policies and grants a replica holds.
///
/// Definitions: a policy counts once published (published or closed); a department when
/// it published one; a grant is *paid* when it holds a payment (concurrent payments of the
/// same batch are one payment: the grant is paid once); **enterprise-times** are paid
/// grants, **enterprises** the distinct credit codes among them, **paid** their amounts
/// in fen. By month: the month of the payment (Beijing time). Match to payment: days from
/// the grant's creation (match or application) to its payment, median and 90th percentile.
public struct PolicyStats: Hashable, Sendable {
    /// A policy as the figures need it.
    public struct Policy: Hashable, Sendable {
        public var id: String
        public var department: String
        public var status: String

        public init(id: String, department: String, status: String) {
            self.id = id
            self.department = department
            self.status = status
        }
    }

    /// A grant as the figures need it.
    public struct Grant: Hashable, Sendable {
        public var policy: String
        public var department: String
        public var street: String
        public var creditCode: String
        public var amountFen: Int64
        public var rejected: Bool
        public var paid: Bool
        public var createdAt: Int64?
        public var paidAt: Int64?

        public init(
            policy: String, department: String, street: String, creditCode: String, amountFen: Int64, rejected: Bool, paid: Bool,
            createdAt: Int64?, paidAt: Int64?
        ) {
            self.policy = policy
            self.department = department
            self.street = street
            self.creditCode = creditCode
            self.amountFen = amountFen
            self.rejected = rejected
            self.paid = paid
            self.createdAt = createdAt
            self.paidAt = paidAt
        }
    }

    /// One line of a breakdown.
    public struct Line: Hashable, Sendable {
        public var key: String
        public var enterpriseTimes = 0
        public var enterprises = 0
        public var paidFen: Int64 = 0
    }

    public var policies = 0
    public var departments = 0
    /// Grants not rejected, paid or not.
    public var grants = 0
    public var enterprises = 0
    public var enterpriseTimes = 0
    public var paidFen: Int64 = 0
    public var byDepartment: [Line] = []
    public var byPolicy: [Line] = []
    public var byStreet: [Line] = []
    public var byMonth: [Line] = []
    /// Days from match (or application) to payment.
    public var medianDaysToPayment: Double?
    public var p90DaysToPayment: Double?

    public init(policies: [Policy], grants: [Grant]) {
        let published = policies.filter { $0.status == "published" || $0.status == "closed" }
        self.policies = published.count
        departments = Set(published.map(\.department)).count
        self.grants = grants.filter { !$0.rejected }.count
        let paid = grants.filter(\.paid)
        enterpriseTimes = paid.count
        enterprises = Set(paid.map(\.creditCode)).count
        paidFen = paid.reduce(0) { $0 + $1.amountFen }
        byDepartment = Self.lines(paid) { $0.department }
        byPolicy = Self.lines(paid) { $0.policy }
        byStreet = Self.lines(paid) { $0.street }
        byMonth = Self.lines(paid) { grant in
            grant.paidAt.map { millis in
                let date = CivilDate(epochMillis: millis)
                return String(date.year) + "-" + (date.month < 10 ? "0" : "") + String(date.month)
            } ?? "unknown"
        }
        let days = paid.compactMap { grant -> Double? in
            guard let created = grant.createdAt, let at = grant.paidAt, at >= created else { return nil }
            return Double(at - created) / 86_400_000
        }.sorted()
        medianDaysToPayment = days.isEmpty ? nil : CaseReport.percentile(days, 0.5)
        p90DaysToPayment = days.isEmpty ? nil : CaseReport.percentile(days, 0.9)
    }

    static func lines(_ paid: [Grant], by key: (Grant) -> String) -> [Line] {
        var lines: [String: Line] = [:]
        var codes: [String: Set<String>] = [:]
        for grant in paid {
            let name = key(grant)
            lines[name, default: Line(key: name)].enterpriseTimes += 1
            lines[name, default: Line(key: name)].paidFen += grant.amountFen
            codes[name, default: []].insert(grant.creditCode)
        }
        return lines.values.map { line in
            var line = line
            line.enterprises = codes[line.key]?.count ?? 0
            return line
        }.sorted { $0.key < $1.key }
    }

}
