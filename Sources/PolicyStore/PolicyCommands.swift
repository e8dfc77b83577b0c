public import CaseDomain
import Foundation
public import GRDB
public import PolicyDomain
public import ReplicaStore
public import SyncCore

extension ReplicaStore {
    // MARK: Policies

    /// Writes `file` as a new policy: published at once, or a draft. A file naming the
    /// document of a published policy of the same department is its next version: the
    /// old one is closed in the same transaction (a published rule and benefit are never
    /// edited).
    ///
    /// - Throws: ``PolicyStoreError`` (another department's policy; a document already a
    ///   draft), ``ReplicaStoreError``.
    public func publishPolicy(_ file: PolicyFile, draft: Bool = false, now: Int64 = ReplicaStore.nowMillis()) throws -> PolicyRow {
        let department = file.department.uppercased()
        if try !actsForDistrict(), department != identity.office {
            throw PolicyStoreError(
                .jurisdiction, zh: "无法发布政策：部门 \(department) 不是本办公室（\(identity.office)）",
                en: "cannot publish the policy: department \(department) is not this office (\(identity.office))")
        }
        let id = Self.newRecordID(now: now)
        try transaction("cannot publish the policy") { db in
            let earlier = try Row.fetchAll(
                db, sql: "SELECT * FROM policies WHERE department = ? AND document = ? ORDER BY version DESC",
                arguments: [department, file.document]
            ).map(PolicyRow.init(row:))
            if let open = earlier.first(where: { $0.status == "draft" }) {
                throw PolicyStoreError(
                    .input, zh: "无法发布政策：文号 \(file.document) 已有草稿 \(open.reference)；请发布或关闭该草稿",
                    en: "cannot publish the policy: document \(file.document) already has draft \(open.reference); publish or close it")
            }
            let replaced = earlier.first(where: { $0.status == "published" })
            let session = WriteSession(store: self, db: db)
            var fields: [String: Value] = [
                "title": .text(file.title), "department": .text(department), "document": .text(file.document),
                "mode": .text(file.mode.rawValue), "valid_from": .text(PolicyDate.text(file.validFrom)),
                "valid_to": .text(PolicyDate.text(file.validTo)), "benefit": .text(file.benefit.json), "rule": .text(file.rule.source),
                "period": .text(file.period), "status": .text(draft ? "draft" : "published"), "round": .integer(1),
                "version": .integer((earlier.map(\.version).max() ?? 0) + 1), "created_at": .timestamp(now),
            ]
            if let summary = file.summary { fields["summary"] = .text(summary) }
            if !draft { fields["published_at"] = .timestamp(now) }
            if let replaced { fields["supersedes"] = .text(replaced.id) }
            _ = try session.local(fields, to: RecordKey(table: "policies", id: id), now: now)
            if let replaced, !draft {
                _ = try session.local(
                    ["status": .text("closed"), "closed_at": .timestamp(now)], to: RecordKey(table: "policies", id: replaced.id), now: now)
            }
            try session.finish()
        }
        return try findPolicy(id)
    }

    /// Publishes a draft, or closes a policy (`move`: `published` or `closed`).
    ///
    /// - Throws: ``PolicyStoreError`` (not found, an illegal move, another department's).
    public func movePolicy(_ reference: String, to move: String, now: Int64 = ReplicaStore.nowMillis()) throws -> PolicyRow {
        let policy = try findPolicy(reference)
        if try !actsForDistrict(), policy.department != identity.office {
            throw PolicyStoreError(
                .jurisdiction, zh: "无法修改政策：它属于部门 \(policy.department)",
                en: "cannot change the policy: it is department \(policy.department)'s")
        }
        switch (policy.status, move) {
        case ("draft", "published"), ("draft", "closed"), ("published", "closed"): break
        default:
            throw PolicyStoreError(
                .illegalMove, zh: "无法将政策从 \(policy.status) 改为 \(move)（\(policy.reference)）",
                en: "cannot move the policy from \(policy.status) to \(move) (\(policy.reference))")
        }
        try transaction("cannot change the policy") { db in
            let session = WriteSession(store: self, db: db)
            let stamp = move == "published" ? "published_at" : "closed_at"
            _ = try session.local(
                ["status": .text(move), stamp: .timestamp(now)], to: RecordKey(table: "policies", id: policy.id), now: now)
            // A draft of a new version, once published, closes the version it replaces: one
            // version of a document is in force at a time.
            if move == "published", let old = policy.supersedes,
                try String.fetchOne(db, sql: "SELECT status FROM policies WHERE id = ?", arguments: [old]) == "published"
            {
                _ = try session.local(
                    ["status": .text("closed"), "closed_at": .timestamp(now)], to: RecordKey(table: "policies", id: old), now: now)
            }
            try session.finish()
        }
        return try findPolicy(policy.id)
    }

    /// The policy `reference` names: its id, a unique beginning or end of it (four or more
    /// characters; `rain` shows the last eight), or its document number (the latest version).
    public func findPolicy(_ reference: String) throws -> PolicyRow {
        let text = String(reference.trimmingSpaces)
        let found = try reading("cannot read the policies") { db -> [PolicyRow] in
            if let row = try Row.fetchOne(
                db,
                // By document: the version in force, else the latest.
                sql: "SELECT * FROM policies WHERE id = ? OR document = ? ORDER BY status = 'published' DESC, version DESC LIMIT 1",
                arguments: [text, text])
            {
                return [PolicyRow(row: row)]
            }
            guard text.count >= 4, text.allSatisfy({ $0.isHexDigit || $0 == "-" }) else { return [] }
            return try Row.fetchAll(
                db, sql: "SELECT * FROM policies WHERE id LIKE ?1 || '%' OR id LIKE '%' || ?1 LIMIT 2", arguments: [text.lowercased()]
            ).map(PolicyRow.init(row:))
        }
        guard let first = found.first else {
            throw PolicyStoreError(.notFound, zh: "找不到政策 \(text)", en: "no policy \(text) is held here")
        }
        guard found.count == 1 else {
            throw PolicyStoreError(.notFound, zh: "\(text) 对应多项政策，请多输入几位", en: "\(text) names more than one policy: type more of it")
        }
        return first
    }

    /// Policies, newest first; only those of `status` when given.
    public func policies(status: String? = nil) throws -> [PolicyRow] {
        try reading("cannot read the policies") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM policies WHERE ?1 IS NULL OR status = ?1 ORDER BY created_at DESC, id", arguments: [status]
            ).map(PolicyRow.init(row:))
        }
    }
}

extension ReplicaStore {
    /// The figures over the policies and grants this replica holds (``PolicyStats``): a
    /// department's replica gives its own policies (every office holds every published
    /// one), the district's and a street's every department's.
    public func policyStats() throws -> PolicyStats {
        let department = try officeLevel() == "department" ? identity.office : nil
        return try reading("cannot read the policies") { db in
            let policies = try Row.fetchAll(
                db, sql: "SELECT id, department, status FROM policies WHERE ?1 IS NULL OR department = ?1", arguments: [department]
            ).map {
                PolicyStats.Policy(id: $0["id"], department: $0["department"] ?? "", status: $0["status"] ?? "")
            }
            let grants = try Row.fetchAll(
                db,
                sql:
                    "SELECT policy, department, street, credit_code, amount_fen, rejection, payments, stage, created_at, paid_at FROM grants"
            ).map { row in
                PolicyStats.Grant(
                    policy: row["policy"] ?? "", department: row["department"] ?? "", street: row["street"] ?? "",
                    creditCode: row["credit_code"] ?? "", amountFen: row["amount_fen"] ?? 0, rejected: (row["rejection"] as String?) != nil,
                    paid: (row["payments"] as Int? ?? 0) > 0, createdAt: row["created_at"], paidAt: row["paid_at"])
            }
            return PolicyStats(policies: policies, grants: grants)
        }
    }
}
