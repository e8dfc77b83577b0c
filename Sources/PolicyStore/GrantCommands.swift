public import CaseDomain
import Foundation
public import GRDB
public import PolicyDomain
public import ReplicaStore
public import SyncCore

/// One enterprise measured against a policy's rule (`rain policy match`).
public struct PolicyMatch: Sendable {
    public let enterprise: EnterpriseRow
    public let match: EligibilityRule.Match
    /// The amount it would receive and how, or why it cannot be computed.
    public let amount: Result<Benefit.Amount, Benefit.Failure>?
    /// The grant this replica holds for it, if any.
    public let grant: String?
    /// Its grant's derived id under this policy (nil for a credit code that does not check).
    public let grantID: String?
}

/// What `rain policy match` found and did.
public struct MatchResult: Sendable {
    public let policy: PolicyRow
    /// Every eligible enterprise, then the near misses (one clause from eligible).
    public let eligible: [PolicyMatch]
    public let nearMisses: [PolicyMatch]
    /// Grants written now (an automatic policy's matches, within this office's jurisdiction).
    public let granted: [String]
    /// Eligible enterprises left without a grant here: outside this office's
    /// jurisdiction, or an amount that cannot be computed.
    public let notGranted: Int
    /// Whether the policy was in force on the day matched (no grant is made outside it).
    public let inForce: Bool
}

extension ReplicaStore {
    // MARK: Policy finds enterprise

    /// Checks every enterprise this replica holds against `policy`'s rule. For a published
    /// automatic policy (免申即享) each eligible enterprise without a grant becomes one,
    /// stage `matched`, unless `dryRun`: those this office may write (its department's
    /// policy, or its street's enterprise; the district all).
    public func matchPolicy(_ reference: String, dryRun: Bool = false, language: Language = .zh, now: Int64 = ReplicaStore.nowMillis())
        throws
        -> MatchResult
    {
        let policy = try findPolicy(reference)
        guard let rule = policy.eligibility, let benefit = policy.benefit else {
            throw PolicyStoreError(
                .input, zh: "无法匹配：政策的条件或金额规则无法读取（由更新版本写入？）",
                en: "cannot match: the policy's rule or benefit cannot be read (written by a newer version?)")
        }
        // The grants held, by their derived id: the same for every version of the policy,
        // so an enterprise granted under an earlier version is not granted again.
        let held = try reading("cannot read the grants") { db in Set(try String.fetchAll(db, sql: "SELECT id FROM grants")) }
        func found(_ enterprise: EnterpriseRow, _ match: EligibilityRule.Match, _ amount: Result<Benefit.Amount, Benefit.Failure>?)
            -> PolicyMatch
        {
            let id = (try? CreditCode(enterprise.creditCode)).map {
                GrantKey.recordID(policy: policy.grantKey, creditCode: $0, period: policy.period)
            }
            return PolicyMatch(
                enterprise: enterprise, match: match, amount: amount, grant: id.flatMap { held.contains($0) ? $0 : nil }, grantID: id)
        }
        var eligible: [PolicyMatch] = []
        var near: [PolicyMatch] = []
        for enterprise in try enterprises() {
            let match = rule.match(enterprise.facts)
            if match.eligible {
                let amount: Result<Benefit.Amount, Benefit.Failure> = Result { () throws(Benefit.Failure) in
                    try benefit.amount(for: enterprise.facts, language)
                }
                eligible.append(found(enterprise, match, amount))
            } else if !match.nearMisses.isEmpty {
                near.append(found(enterprise, match, nil))
            }
        }
        var granted: [String] = []
        var notGranted = 0
        let inForce = policy.isInForce(at: now)
        if policy.isAutomatic, policy.status == "published", inForce, !dryRun {
            let district = try actsForDistrict()
            let mine = eligible.filter { $0.grant == nil }
            try transaction("cannot record the grants") { db in
                let session = WriteSession(store: self, db: db)
                for candidate in mine {
                    guard district || policy.department == identity.office || candidate.enterprise.street == identity.office,
                        case .success(let amount)? = candidate.amount, let id = candidate.grantID
                    else {
                        notGranted += 1
                        continue
                    }
                    _ = try session.local(
                        Self.grantFields(policy, candidate.enterprise, stage: .matched, amount: amount, match: candidate.match, now: now),
                        to: RecordKey(table: "grants", id: id), now: now)
                    granted.append(id)
                }
                try session.finish()
            }
        }
        return MatchResult(policy: policy, eligible: eligible, nearMisses: near, granted: granted, notGranted: notGranted, inForce: inForce)
    }

    static func grantFields(
        _ policy: PolicyRow, _ enterprise: EnterpriseRow, stage: GrantStage, amount: Benefit.Amount, match: EligibilityRule.Match,
        now: Int64
    ) -> [String: Value] {
        [
            "policy": .text(policy.id), "credit_code": .text(enterprise.creditCode), "period": .text(policy.period),
            "department": .text(policy.department), "street": .text(enterprise.street), "stage": .text(stage.rawValue),
            "round": .integer(1), "amount_fen": .integer(amount.fen), "computation": .text(amount.computation),
            "reasons": .text(match.held.map { $0.reason(.zh) }.joined(separator: "；")), "created_at": .timestamp(now),
        ]
    }

    // MARK: Grants

    /// Enters an enterprise's application to an `application` policy, the enterprise named
    /// as staff type it (a name or a credit code): its code, street and figures come from
    /// the registry; the rule is checked and the amount computed. The grant's id is the
    /// policy's, code's and period's, so the same application entered twice — here or on
    /// another replica — is one grant.
    public func applyGrant(policy reference: String, enterprise text: String, now: Int64 = ReplicaStore.nowMillis()) throws -> GrantRow {
        let policy = try findPolicy(reference)
        guard policy.status == "published" else {
            throw PolicyStoreError(
                .illegalMove, zh: "无法申报：政策未在发布中（\(policy.status)）", en: "cannot apply: the policy is not published (\(policy.status))")
        }
        guard !policy.isAutomatic else {
            throw PolicyStoreError(
                .input, zh: "无法申报：这是免申即享政策，运行 rain policy match 即生成资金",
                en: "cannot apply: the policy is automatic (免申即享); rain policy match creates its grants")
        }
        guard policy.isInForce(at: now) else {
            throw PolicyStoreError(
                .illegalMove, zh: "无法申报：政策不在有效期内（\(policy.validFrom) 至 \(policy.validTo)）",
                en: "cannot apply: the policy is not in force (\(policy.validFrom) to \(policy.validTo))")
        }
        let enterprise = try self.enterprise(text)
        guard try actsForDistrict() || policy.department == identity.office || enterprise.street == identity.office else {
            throw PolicyStoreError(
                .jurisdiction, zh: "无法申报：企业属于街道 \(enterprise.street)，政策属于部门 \(policy.department)，都不是本办公室",
                en:
                    "cannot apply: the enterprise is street \(enterprise.street)'s and the policy department \(policy.department)'s, neither this office's"
            )
        }
        guard let rule = policy.eligibility, let benefit = policy.benefit, let code = try? CreditCode(enterprise.creditCode) else {
            throw PolicyStoreError(.input, zh: "无法申报：政策无法读取", en: "cannot apply: the policy cannot be read")
        }
        let match = rule.match(enterprise.facts)
        guard match.eligible else {
            let failed = match.failed.map { $0.reason(.zh) }.joined(separator: "；")
            let failedEn = match.failed.map { $0.reason(.en) }.joined(separator: "; ")
            throw PolicyStoreError(
                .input, zh: "无法申报：\(enterprise.name) 不符合条件：\(failed)", en: "cannot apply: \(enterprise.name) is not eligible: \(failedEn)")
        }
        let amount: Benefit.Amount
        do { amount = try benefit.amount(for: enterprise.facts) } catch {
            throw PolicyStoreError(.input, zh: "无法申报：" + error.message(.zh), en: "cannot apply: " + error.message(.en))
        }
        let id = GrantKey.recordID(policy: policy.grantKey, creditCode: code, period: policy.period)
        if let existing = try? findGrant(id) {
            throw PolicyStoreError(
                .input, zh: "无法申报：该企业本期已有这项资金（\(existing.reference)，\(existing.stage)）",
                en: "cannot apply: the enterprise already has this grant for the period (\(existing.reference), \(existing.stage))")
        }
        try transaction("cannot record the application") { db in
            let session = WriteSession(store: self, db: db)
            _ = try session.local(
                Self.grantFields(policy, enterprise, stage: .applied, amount: amount, match: match, now: now),
                to: RecordKey(table: "grants", id: id), now: now)
            try session.finish()
        }
        return try findGrant(id)
    }

    /// Confirms, approves or rejects a grant (the department's, or the district's), by the
    /// workflow's rules; a rejection needs a reason.
    public func moveGrant(_ reference: String, _ move: GrantMove, reason: String? = nil, now: Int64 = ReplicaStore.nowMillis()) throws
        -> GrantRow
    {
        try moveGrants([reference], move, reason: reason, now: now)[0]
    }

    /// Moves several grants at once: every one is found and checked first, then all are
    /// written in one transaction — one refusal writes nothing.
    public func moveGrants(_ references: [String], _ move: GrantMove, reason: String? = nil, now: Int64 = ReplicaStore.nowMillis()) throws
        -> [GrantRow]
    {
        let district = try actsForDistrict()
        var writes: [(id: String, fields: [String: Value])] = []
        for reference in references {
            let grant = try findGrant(reference)
            if !district, grant.department != identity.office {
                throw PolicyStoreError(
                    .jurisdiction, zh: "无法\(move.label(.zh))：只有部门 \(grant.department) 或区里可以（\(grant.reference)）",
                    en: "cannot \(move.rawValue): only department \(grant.department) or the district may (\(grant.reference))")
            }
            guard !writes.contains(where: { $0.id == grant.id }) else { continue }
            let stage: GrantStage
            do { stage = try GrantWorkflow.stage(after: move, from: grant.state, reason: reason) } catch {
                throw PolicyStoreError(
                    .illegalMove, zh: error.message(.zh) + "（\(grant.reference)）", en: error.message(.en) + " (\(grant.reference))")
            }
            var fields: [String: Value] = [:]
            if move == .reject {
                fields["rejection"] = .text(String(reason!.trimmingSpaces))
            } else {
                fields["stage"] = .text(stage.rawValue)
                fields["round"] = .integer(1)
            }
            writes.append((grant.id, fields))
        }
        try transaction("cannot change the grants") { db in
            let session = WriteSession(store: self, db: db)
            for write in writes { _ = try session.local(write.fields, to: RecordKey(table: "grants", id: write.id), now: now) }
            try session.finish()
        }
        return try writes.map { try findGrant($0.id) }
    }

    /// The grant `reference` names: its id, or a unique beginning or end of it (four or
    /// more characters; `rain` shows the last eight).
    public func findGrant(_ reference: String) throws -> GrantRow {
        let text = String(reference.trimmingSpaces).lowercased()
        let found = try reading("cannot read the grants") { db -> [GrantRow] in
            if let row = try Row.fetchOne(db, sql: GrantRow.select + " WHERE g.id = ?", arguments: [text]) { return [GrantRow(row: row)] }
            guard text.count >= 4, text.allSatisfy({ $0.isHexDigit || $0 == "-" }) else { return [] }
            return try Row.fetchAll(
                db, sql: GrantRow.select + " WHERE g.id LIKE ?1 || '%' OR g.id LIKE '%' || ?1 LIMIT 2", arguments: [text]
            )
            .map(GrantRow.init(row:))
        }
        guard let first = found.first else { throw PolicyStoreError(.notFound, zh: "找不到资金 \(text)", en: "no grant \(text) is held here") }
        guard found.count == 1 else {
            throw PolicyStoreError(.notFound, zh: "\(text) 对应多项资金，请多输入几位", en: "\(text) names more than one grant: type more of it")
        }
        return first
    }

    /// Grants, newest first; those of one policy or stage when given.
    public func grants(policy: String? = nil, stage: String? = nil) throws -> [GrantRow] {
        let policyID = try policy.map { try findPolicy($0).id }
        return try reading("cannot read the grants") { db in
            try Row.fetchAll(
                db,
                sql: GrantRow.select
                    + " WHERE (?1 IS NULL OR g.policy = ?1) AND (?2 IS NULL OR g.stage = ?2) ORDER BY g.created_at DESC, g.id",
                arguments: [policyID, stage]
            ).map(GrantRow.init(row:))
        }
    }
}

/// What `rain grant paid` recorded.
public struct PaidBatch: Sendable {
    public let batch: String
    public let grants: Int
    public let amountFen: Int64
}

extension ReplicaStore {
    // MARK: Payments

    /// Records `ids`, the grants of payment batch `batch`, as paid under the bank's
    /// `reference`, in one transaction — only when every one is held here, reserved for
    /// this batch, approved, unrejected and never paid (``PaymentBatch/checkPaid(_:states:batch:)``);
    /// otherwise nothing is written. Works offline: a payment recorded on two replicas at
    /// once becomes a conflict on the grant's `payment`, which blocks it until settled.
    public func recordPaid(_ ids: [String], batch: String, reference: String, now: Int64 = ReplicaStore.nowMillis()) throws -> PaidBatch {
        let reference = String(reference.trimmingSpaces)
        guard !reference.isEmpty, reference.utf8.count <= 200, !reference.contains(where: \.isNewline) else {
            throw PolicyStoreError(
                .input, zh: "无法登记兑付：付款凭证号应为一行、1 到 200 字节（--reference）",
                en: "cannot record the batch as paid: the reference must be one line of 1 to 200 bytes (--reference)")
        }
        if try !actsForDistrict(), try officeLevel() != "department" {
            throw PolicyStoreError(
                .jurisdiction, zh: "无法登记兑付：只有部门或区里兑付资金",
                en: "cannot record the batch as paid: only a department or the district pays grants")
        }
        return try transaction("cannot record the payment") { db in
            var states: [String: GrantState] = [:]
            var amount: Int64 = 0
            for id in Set(ids) {
                guard let row = try Row.fetchOne(db, sql: GrantRow.select + " WHERE g.id = ?", arguments: [id]) else { continue }
                let grant = GrantRow(row: row)
                states[id] = grant.state
                amount += grant.amountFen
            }
            do { try PaymentBatch.checkPaid(ids, states: states, batch: batch) } catch let error as PaymentBatch.Refusal {
                throw PolicyStoreError(.illegalMove, zh: error.message(.zh), en: error.message(.en))
            }
            let session = WriteSession(store: self, db: db)
            for id in ids {
                _ = try session.local(
                    [
                        "stage": .text(GrantStage.paid.rawValue), "round": .integer(1), "payment": .text(reference),
                        "paid_at": .timestamp(now),
                    ],
                    to: RecordKey(table: "grants", id: id), now: now)
            }
            try session.finish()
            return PaidBatch(batch: batch, grants: ids.count, amountFen: amount)
        }
    }
}
