public import CaseDomain
public import SyncCore

/// A grant's stage: matched (免申即享) or applied → confirmed by the department →
/// approved → paid. A rejection is kept beside the stage (it has a reason), so a
/// rejection and an approval made offline at once both survive the merge and the grant
/// reads as rejected until a person decides; nothing rejected or in conflict is paid.
public enum GrantStage: String, CaseIterable, Comparable, Hashable, Sendable {
    case matched, applied, confirmed, approved, paid

    /// Order for the workflow merge rule (furthest stage wins); matched and applied are
    /// both the first stage.
    public var rank: Int {
        switch self {
        case .matched, .applied: 0
        case .confirmed: 1
        case .approved: 2
        case .paid: 3
        }
    }

    public static func < (lhs: GrantStage, rhs: GrantStage) -> Bool { lhs.rank < rhs.rank }

    public func label(_ language: Language) -> String {
        guard language == .zh else { return rawValue }
        return switch self {
        case .matched: "已匹配"
        case .applied: "已申报"
        case .confirmed: "已确认"
        case .approved: "已审批"
        case .paid: "已兑付"
        }
    }
}

/// What staff do to a grant.
public enum GrantMove: String, CaseIterable, Hashable, Sendable {
    case confirm, approve, reject, pay

    public func label(_ language: Language) -> String {
        guard language == .zh else { return rawValue }
        return switch self {
        case .confirm: "确认"
        case .approve: "审批"
        case .reject: "驳回"
        case .pay: "兑付"
        }
    }
}

/// A grant as the workflow and the payment rules see it (a replica's merged record).
public struct GrantState: Hashable, Sendable {
    public var id: String
    public var stage: GrantStage
    /// The rejection's reason, when rejected.
    public var rejection: String?
    public var amountFen: Int64
    /// How many payment references the merged record holds: 0 unpaid, 1 paid, more than
    /// one — payments recorded concurrently on different replicas — a conflict that blocks
    /// the grant until a person settles it.
    public var paymentCount: Int
    /// The payment batch the server reserved the grant for, if any.
    public var batch: String?

    public init(id: String, stage: GrantStage, rejection: String? = nil, amountFen: Int64, paymentCount: Int = 0, batch: String? = nil) {
        self.id = id
        self.stage = stage
        self.rejection = rejection
        self.amountFen = amountFen
        self.paymentCount = paymentCount
        self.batch = batch
    }

    public var isRejected: Bool { rejection != nil }
}

extension GrantState {
    /// A grant as the server's read model shows it (`grant_view`: each field's winner): a
    /// payment recorded, whatever its siblings, counts — the grant is never reserved again.
    public init(viewRow row: [String: SyncCore.Value]) {
        self.init(
            id: row["id"]?.text ?? "", stage: row["stage"]?.text.flatMap(GrantStage.init(rawValue:)) ?? .matched,
            rejection: row["rejection"]?.text, amountFen: row["amount_fen"]?.integer ?? 0,
            paymentCount: row["payment"]?.text == nil ? 0 : 1, batch: row["batch"]?.text)
    }
}

/// Why a move is refused, in both languages ("what failed: why").
public struct GrantMoveError: Error, Hashable, Sendable {
    public let move: GrantMove
    public let zh: String
    public let en: String

    public func message(_ language: Language) -> String {
        language == .zh ? "无法\(move.label(.zh))：\(zh)" : "cannot \(move.rawValue) the grant: \(en)"
    }
}

/// The grant workflow's legal moves, pure.
public enum GrantWorkflow {
    /// The stage a move leads to from `state`, or why it is refused. A rejection needs a
    /// reason; a payment needs the grant approved, in one batch, never paid before.
    public static func stage(after move: GrantMove, from state: GrantState, reason: String? = nil) throws(GrantMoveError) -> GrantStage {
        func refuse(_ zh: String, _ en: String) -> GrantMoveError { GrantMoveError(move: move, zh: zh, en: en) }
        if state.paymentCount > 1 {
            throw refuse("该资金已有多笔兑付记录（冲突），须先处理冲突", "it has more than one payment record (a conflict): settle it first")
        }
        if state.stage == .paid || state.paymentCount == 1 {
            throw refuse("该资金已兑付", "it is already paid")
        }
        if state.isRejected, move != .reject {
            throw refuse("该资金已被驳回", "it was rejected")
        }
        switch move {
        case .confirm:
            guard state.stage == .matched || state.stage == .applied else {
                throw refuse(
                    "当前为\(state.stage.label(.zh))，只有已匹配或已申报的可确认",
                    "it is \(state.stage.rawValue); only matched or applied grants are confirmed")
            }
            return .confirmed
        case .approve:
            guard state.stage == .confirmed else {
                throw refuse("当前为\(state.stage.label(.zh))，须先由部门确认", "it is \(state.stage.rawValue); the department confirms it first")
            }
            return .approved
        case .reject:
            guard let reason, !reason.trimmingSpaces.isEmpty else { throw refuse("必须填写驳回原因（--reason）", "a reason is required (--reason)") }
            guard !state.isRejected else { throw refuse("该资金已被驳回", "it was already rejected") }
            // The bank may already hold its batch: a rejection now would keep the batch
            // from being recorded as paid.
            if let batch = state.batch {
                throw refuse("该资金已在兑付批次 \(batch) 中，不能驳回", "it is in payment batch \(batch) and can no longer be rejected")
            }
            return state.stage
        case .pay:
            guard state.stage == .approved else {
                throw refuse("当前为\(state.stage.label(.zh))，只有已审批的可兑付", "it is \(state.stage.rawValue); only approved grants are paid")
            }
            return .paid
        }
    }
}
