public import CaseDomain
public import CaseStore
import Foundation
import GRDB
public import ReplicaStore
import SuggestionDomain
import SyncCore
import SyncProtocol

/// A link a person made between two cases that may be duplicates.
public struct CaseLinkRow: Sendable, Hashable {
    /// The other case's number.
    public var number: String
    public var reasons: [String]
    public var linked: Bool
    public var at: Int64
}

extension ReplicaStore {
    // MARK: Linking duplicates

    /// Links two cases a person judged duplicates (or, with `linked` false, takes the link
    /// back): a record of its own that syncs to both cases' communities. The cases stay
    /// separate: each resident still gets an answer.
    public func linkCases(_ first: String, _ second: String, linked: Bool = true, now: Int64 = ReplicaStore.nowMillis()) throws
        -> CaseLinkRow
    {
        let (a, b) = (try findCase(first), try findCase(second))
        guard a.id != b.id else {
            throw SuggestionError(
                .input, zh: "不能把案件与自己关联", en: "cannot link: \(a.number ?? first) and \(b.number ?? second) are the same case (REF)")
        }
        let (low, high) = a.id < b.id ? (a, b) : (b, a)
        let id = DerivedID.make(["case-link", low.id, high.id])
        let reasons =
            try similarCases(to: low.id, limit: 1000).candidates.first { $0.row.id == high.id }?.match.reasons.map(\.rawValue) ?? []
        if !linked, try links(ofCase: low.id).first(where: { $0.number == (high.number ?? high.id) })?.linked != true {
            throw SuggestionError(
                .notFound, zh: "这两件案件没有关联", en: "cannot unlink: \(a.number ?? first) and \(b.number ?? second) are not linked")
        }
        var fields: [String: Value] = [
            "case_a": .text(low.id), "case_b": .text(high.id), "number_a": .text(low.number ?? low.id),
            "number_b": .text(high.number ?? high.id), "community_a": .text(try community(ofCase: low)),
            "community_b": .text(try community(ofCase: high)), "state": .text(linked ? "linked" : "unlinked"), "at": .timestamp(now),
        ]
        if linked { fields["reasons"] = .text(reasons.joined(separator: ";")) }
        try write(fields, to: RecordKey(table: "case_links", id: id), now: now)
        return CaseLinkRow(number: (a.id == low.id ? high : low).number ?? "", reasons: reasons, linked: linked, at: now)
    }

    /// The links of case `id` this replica holds (linked and taken back).
    public func links(ofCase id: String) throws -> [CaseLinkRow] {
        try reading("cannot read the links") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM case_links WHERE case_a = ? OR case_b = ? ORDER BY at", arguments: [id, id]).map {
                row in
                let other: String? = row["case_a"] == id ? row["number_b"] : row["number_a"]
                return CaseLinkRow(
                    number: other ?? "", reasons: ((row["reasons"] as String?) ?? "").split(separator: ";").map(String.init),
                    linked: row["state"] == "linked", at: row["at"] ?? 0)
            }
        }
    }
}
