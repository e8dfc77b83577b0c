public import CaseDomain
import Foundation
public import GRDB
public import PolicyDomain
public import ReplicaStore
public import SyncCore

/// What `rain enterprise import` did.
public struct EnterpriseImportResult: Sendable {
    /// Rows written (new enterprises or changed ones).
    public var imported = 0
    /// Rows the registry already held exactly so (nothing written).
    public var unchanged = 0
    public var rejected: [(line: Int, reason: EnterpriseColumns.Rejection)] = []
}

extension ReplicaStore {
    // MARK: The enterprise registry

    /// Writes the good rows of `file` into the registry, all in one transaction: an
    /// enterprise's attributes (read by every office) and its account and contacts (kept
    /// by its street). A row naming a street outside this office's jurisdiction, or a
    /// credit code a row above already named, is rejected with its line. Unless `partial`,
    /// one rejected row refuses the whole file and nothing is written. A row the registry
    /// already holds exactly so writes nothing (importing a file twice changes nothing).
    public func importEnterprises(_ file: EnterpriseImport, partial: Bool, now: Int64 = ReplicaStore.nowMillis()) throws
        -> EnterpriseImportResult
    {
        let level = try officeLevel()
        if level == "community" || level == "department" {
            throw PolicyStoreError(
                .jurisdiction, zh: "无法导入企业：企业名录由街道办或区里维护，本办公室（\(identity.office)）不能写入",
                en: "cannot import enterprises: the registry is kept by street offices and the district, not by office \(identity.office)")
        }
        var result = EnterpriseImportResult()
        result.rejected = file.rejected.map { ($0.line, $0.reason) }
        var seen: [String: Int] = [:]
        var good: [EnterpriseImport.Row] = []
        for row in file.rows {
            let street = row.enterprise.street.uppercased()
            if level == "street", street != identity.office {
                result.rejected.append(
                    (
                        row.line,
                        EnterpriseColumns.Rejection(
                            zh: "街道 \(street) 不在本办公室（\(identity.office)）辖区内（street）",
                            en: "street \(street) is outside office \(identity.office)'s jurisdiction (street)")
                    ))
                continue
            }
            if let first = seen[row.enterprise.creditCode.text] {
                result.rejected.append(
                    (
                        row.line,
                        EnterpriseColumns.Rejection(
                            zh: "统一社会信用代码与第 \(first) 行重复（credit_code）", en: "the credit code repeats line \(first)'s (credit_code)")
                    ))
                continue
            }
            seen[row.enterprise.creditCode.text] = row.line
            good.append(row)
        }
        result.rejected.sort { $0.line < $1.line }
        if !partial, !result.rejected.isEmpty { return result }
        try transaction("cannot import the enterprises") { db in
            let session = WriteSession(store: self, db: db)
            for row in good {
                let enterprise = row.enterprise
                let street = enterprise.street.uppercased()
                var attributes: [String: Value] = [
                    "credit_code": .text(enterprise.creditCode.text), "name": .text(enterprise.name), "street": .text(street),
                ]
                attributes["industry"] = enterprise.industry.map(Value.text)
                attributes["size"] = enterprise.size.map { .text($0.rawValue) }
                attributes["founded"] = enterprise.founded.map { .text(PolicyDate.text($0)) }
                attributes["employees"] = enterprise.employees.map(Value.integer)
                attributes["revenue"] = enterprise.revenue.map(Value.integer)
                attributes["tax_paid"] = enterprise.taxPaid.map(Value.integer)
                attributes["tags"] = enterprise.tags.isEmpty ? nil : .text(enterprise.tags.joined(separator: ";"))
                var account: [String: Value] = ["credit_code": .text(enterprise.creditCode.text), "street": .text(street)]
                account["legal_rep"] = enterprise.legalRep.map(Value.text)
                account["bank"] = enterprise.bank.map(Value.text)
                account["account"] = enterprise.account.map(Value.text)
                account["contact"] = enterprise.contact.map(Value.text)
                let wrote = try Self.writeChanged(
                    attributes, table: "enterprises", id: EnterpriseKey.recordID(enterprise.creditCode), columns: file.columns, session, db,
                    now)
                let wroteAccount = try Self.writeChanged(
                    account, table: "enterprise_accounts", id: EnterpriseKey.accountID(enterprise.creditCode), columns: file.columns,
                    session, db,
                    now)
                if wrote || wroteAccount { result.imported += 1 } else { result.unchanged += 1 }
            }
            try session.finish()
        }
        return result
    }

    /// Writes the fields of `fields` that differ from the row's (all, and `updated_at`, for
    /// a new record); a field of a column the file has, left empty, is cleared; a field of a
    /// column it lacks is left as it is. False when nothing differed.
    private static func writeChanged(
        _ fields: [String: Value], table: String, id: String, columns: Set<String>, _ session: WriteSession, _ db: Database, _ now: Int64
    ) throws -> Bool {
        // `credit_code` and `street` are required columns: always in the file.
        let declared = PolicyRows.rows.tables[table]!.fields.map(\.name).filter { $0 != "updated_at" && columns.contains($0) }
        var changed: [String: Value] = [:]
        if let row = try Row.fetchOne(db, sql: "SELECT * FROM \(table) WHERE id = ?", arguments: [id]) {
            for name in declared {
                let held = row[name] as DatabaseValue
                let wanted = fields[name]
                let same: Bool
                switch (wanted, held.storage) {
                case (nil, .null): same = true
                case (.text(let text)?, .string(let heldText)): same = text == heldText
                case (.integer(let number)?, .int64(let heldNumber)): same = number == heldNumber
                default: same = false
                }
                if !same { changed[name] = wanted ?? .null }
            }
            if (row["conflicts"] as Int? ?? 0) > 0 {
                // Siblings stay until a person settles them: a re-import writes nothing over them.
                changed = changed.filter { fields[$0.key] != nil }
            }
        } else {
            changed = fields
        }
        guard !changed.isEmpty else { return false }
        changed["updated_at"] = .timestamp(now)
        _ = try session.local(changed, to: RecordKey(table: table, id: id), now: now)
        return true
    }

    /// Enterprises matching `text`: a full credit code, a code prefix (four or more
    /// letters and digits), or a name — tolerant of 有限公司 / 有限责任公司, full- and
    /// half-width brackets and a city or province before it — best matches first.
    public func findEnterprises(_ text: String, limit: Int = 20) throws -> [EnterpriseRow] {
        let typed = String(text.trimmingSpaces)
        guard !typed.isEmpty else { return [] }
        let upper = typed.uppercased()
        return try reading("cannot read the registry") { db in
            if upper.count >= 4, upper.count <= 18, upper.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                let rows = try Row.fetchAll(
                    db, sql: EnterpriseRow.select + " WHERE e.credit_code LIKE ? ORDER BY e.credit_code LIMIT ?",
                    arguments: [upper + "%", limit])
                if !rows.isEmpty { return rows.map(EnterpriseRow.init(row:)) }
            }
            let wanted = CompanyName(typed)
            var scored: [(score: Int, row: EnterpriseRow)] = []
            for row in try Row.fetchAll(db, sql: EnterpriseRow.select) {
                let candidate = CompanyName(row["name"] ?? "")
                if let score = wanted.score(against: candidate) { scored.append((score, EnterpriseRow(row: row))) }
            }
            return scored.sorted { ($0.score, $1.row.name.count, $1.row.creditCode) > ($1.score, $0.row.name.count, $0.row.creditCode) }
                .prefix(limit).map(\.row)
        }
    }

    /// The one enterprise `text` names (a code, or a name that picks one company), or why not.
    public func enterprise(_ text: String) throws -> EnterpriseRow {
        let found = try findEnterprises(text, limit: 5)
        guard let first = found.first else {
            throw PolicyStoreError(.notFound, zh: "名录中找不到企业 \(text)", en: "no enterprise \(text) in the registry held here")
        }
        if found.count > 1, first.creditCode != String(text.trimmingSpaces).uppercased() {
            let exact = found.filter { CompanyName(text).score(against: CompanyName($0.name)) == 2 }
            if exact.count == 1 { return exact[0] }
            let names = found.map { "\($0.name)（\($0.creditCode)）" }.joined(separator: "、")
            throw PolicyStoreError(
                .notFound, zh: "\(text) 对应多家企业：\(names)；请输入统一社会信用代码",
                en: "\(text) names more than one enterprise: \(names); give the credit code")
        }
        return first
    }

    /// Records that `command` showed these enterprises' accounts and contacts unmasked: one
    /// append-only `enterprise_reveals` record per enterprise whose account this replica
    /// holds, synced like any change, so the district sees every reveal.
    public func recordEnterpriseReveal(_ rows: [EnterpriseRow], command: String, now: Int64 = ReplicaStore.nowMillis()) throws {
        let accounts = rows.filter { $0.account != nil || $0.legalRep != nil || $0.contact != nil }
        guard !accounts.isEmpty else { return }
        try transaction("cannot record the reveal") { db in
            let session = WriteSession(store: self, db: db)
            for row in accounts {
                guard let code = try? CreditCode(row.creditCode) else { continue }
                let fields: [String: Value] = [
                    "account_id": .text(EnterpriseKey.accountID(code)), "command": .text(command), "at": .timestamp(now),
                ]
                _ = try session.local(fields, to: RecordKey(table: "enterprise_reveals", id: Self.newRecordID(now: now)), now: now)
            }
            try session.finish()
        }
    }

    /// Every enterprise held, by credit code.
    public func enterprises() throws -> [EnterpriseRow] {
        try reading("cannot read the registry") { db in
            try Row.fetchAll(db, sql: EnterpriseRow.select + " ORDER BY e.credit_code").map(EnterpriseRow.init(row:))
        }
    }
}
