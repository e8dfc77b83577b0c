public import CaseDomain
import Foundation
public import GRDB
public import ReplicaStore
public import SyncCore

/// A case as the materialised `cases` table holds it.
public struct CaseRow: Hashable, Sendable {
    public var id: String
    public var number: String?
    public var kind: String?
    public var category: String?
    public var title: String?
    public var description: String?
    public var citizenName: String?
    public var phone: String?
    public var address: String?
    public var status: String?
    public var round: Int?
    public var level: String?
    public var office: String?
    public var answer: String?
    public var rating: Int?
    public var createdAt: Int64?
    public var dueDate: String?
    public var updatedAt: Int64?
    public var closedAt: Int64?
    /// How the case came: `online` (a resident's submission), `enterprise` (an
    /// enterprise's problem or suggestion) or `counter` (staff).
    public var source: String
    /// The enterprise raising it (its credit code), for an enterprise's case.
    public var creditCode: String?
    public var conflicts: Int

    init(row: Row) {
        id = row["id"]
        number = row["number"]
        kind = row["kind"]
        category = row["category"]
        title = row["title"]
        description = row["description"]
        citizenName = row["citizen_name"]
        phone = row["phone"]
        address = row["address"]
        status = row["status"]
        round = row["round"]
        level = row["level"]
        office = row["office"]
        answer = row["answer"]
        rating = row["rating"]
        createdAt = row["created_at"]
        dueDate = row["due_date"]
        updatedAt = row["updated_at"]
        closedAt = row["closed_at"]
        source = (row["source"] as String?) ?? "counter"
        creditCode = row["credit_code"]
        conflicts = row["conflicts"] ?? 0
    }

    /// The workflow position the row shows.
    public var workflow: WorkflowState {
        WorkflowState(
            status: status.flatMap(CaseStatus.init(rawValue:)) ?? .received, round: round ?? 1,
            level: level.flatMap(HandlingLevel.init(rawValue:)) ?? .community)
    }

    /// The key of the case's record.
    public var key: RecordKey { RecordKey(table: "cases", id: id) }
}

/// An entry of a case's event list (`case_events`): a note, a site visit, a workflow
/// move with its reason, a rating.
public struct CaseEventRow: Hashable, Sendable {
    public var id: String
    public var type: String?
    public var text: String?
    public var score: Int?
    public var author: String?
    public var replica: String?
    public var at: Int64?
}

/// What `rain case new` records.
public struct NewCase: Sendable {
    public var kind: CaseKind
    public var category: String
    public var title: String
    public var description: String?
    public var citizenName: String?
    public var phone: String?
    public var address: String?
    /// An enterprise's case (企业诉求): its credit code; the case's source is then `enterprise`.
    public var creditCode: String?

    public init(
        kind: CaseKind, category: String, title: String, description: String? = nil, citizenName: String? = nil, phone: String? = nil,
        address: String? = nil, creditCode: String? = nil
    ) {
        self.creditCode = creditCode
        self.kind = kind
        self.category = category
        self.title = title
        self.description = description
        self.citizenName = citizenName
        self.phone = phone
        self.address = address
    }
}

/// What a case query selects.
public struct CaseFilter: Sendable {
    public var status: CaseStatus?
    public var kind: CaseKind?
    public var category: String?
    /// Only open cases past their due date on `today`.
    public var overdueOn: CivilDate?
    /// Only cases that came this way: `online` or `counter`.
    public var source: String?
    public var limit: Int

    public init(
        status: CaseStatus? = nil, kind: CaseKind? = nil, category: String? = nil, overdueOn: CivilDate? = nil, source: String? = nil,
        limit: Int = 50
    ) {
        self.source = source
        self.status = status
        self.kind = kind
        self.category = category
        self.overdueOn = overdueOn
        self.limit = limit
    }
}

/// Why a case operation was refused. Messages never contain residents' data.
public enum CaseInputError: Error, Hashable, Sendable {
    case unknownCategory(String)
    case emptyTitle
    case tooLong(field: String, bytes: Int, limit: Int)
    case caseNotFound(String)
    case ambiguousReference(String, matches: Int)
    case emptyText(String)

    /// A reference as it may be repeated in a message: one that looks like a phone number
    /// (seven digits or more) is masked, since people look cases up by phone too.
    static func shown(_ reference: String) -> String {
        let digits = reference.filter(\.isNumber)
        return digits.count >= 7 && digits.count == reference.count ? Masking.phone(reference) : reference
    }

    public func message(_ language: Language) -> String {
        switch (self, language) {
        case (.unknownCategory(let name), .zh): "未知的类别：\(name)（可用类别见 `rain case new --help`）"
        case (.unknownCategory(let name), .en): "unknown category: \(name) (see `rain case new --help` for the list)"
        case (.emptyTitle, .zh): "标题不能为空（--title）"
        case (.emptyTitle, .en): "the title must not be empty (--title)"
        case (.tooLong(let field, let bytes, let limit), .zh): "\(field) 过长：\(bytes) 字节，上限 \(limit) 字节"
        case (.tooLong(let field, let bytes, let limit), .en): "\(field) is too long: \(bytes) bytes, the limit is \(limit)"
        case (.caseNotFound(let reference), .zh): "找不到案件：\(Self.shown(reference))"
        case (.caseNotFound(let reference), .en): "no such case: \(Self.shown(reference))"
        case (.ambiguousReference(let reference, let matches), .zh): "案件编号不唯一：\(Self.shown(reference)) 匹配 \(matches) 个案件，请输入更多字符"
        case (.ambiguousReference(let reference, let matches), .en):
            "ambiguous case reference: \(Self.shown(reference)) matches \(matches) cases; type more of it"
        case (.emptyText(let option), .zh): "内容不能为空（\(option)）"
        case (.emptyText(let option), .en): "the text must not be empty (\(option))"
        }
    }
}
