import SyncCore

/// Where a case is in its workflow (`Protocol/PROTOCOL.md` §5.2 ranks these stages).
public enum CaseStatus: String, Sendable, CaseIterable, Codable, Comparable {
    case received
    case verifying
    case handling
    case replied
    case closed

    /// The label shown to staff.
    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.received, .zh): "已受理"
        case (.verifying, .zh): "核实中"
        case (.handling, .zh): "办理中"
        case (.replied, .zh): "已答复"
        case (.closed, .zh): "已办结"
        case (_, .en): rawValue
        }
    }

    /// The status named by `text`: its code or its Chinese label.
    public init?(parsing text: String) {
        if let status = CaseStatus(rawValue: text.lowercased()) {
            self = status
        } else if let status = CaseStatus.allCases.first(where: { $0.label(.zh) == text }) {
            self = status
        } else {
            return nil
        }
    }

    public static func < (lhs: CaseStatus, rhs: CaseStatus) -> Bool {
        (Schema.caseStages.firstIndex(of: lhs.rawValue) ?? 0) < (Schema.caseStages.firstIndex(of: rhs.rawValue) ?? 0)
    }
}

/// Which level of the office tree handles a case.
public enum HandlingLevel: String, Sendable, CaseIterable, Codable, Comparable {
    case community
    case street
    case district

    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.community, .zh): "社区"
        case (.street, .zh): "街道"
        case (.district, .zh): "区"
        case (_, .en): rawValue
        }
    }

    /// The level above, if any.
    public var above: HandlingLevel? {
        switch self {
        case .community: .street
        case .street: .district
        case .district: nil
        }
    }

    public static func < (lhs: HandlingLevel, rhs: HandlingLevel) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// A move of the workflow, as `rain case <action>` names it.
public enum CaseAction: String, Sendable, CaseIterable {
    case verify
    case handle
    case reply
    case close
    case escalate
    case reopen

    public func label(_ language: Language) -> String {
        switch (self, language) {
        case (.verify, .zh): "核实"
        case (.handle, .zh): "办理"
        case (.reply, .zh): "答复"
        case (.close, .zh): "办结"
        case (.escalate, .zh): "上报"
        case (.reopen, .zh): "重新办理"
        case (_, .en): rawValue
        }
    }

    /// The English verb phrase of error messages: "cannot \(phrase) the case".
    public var phrase: String { self == .reply ? "reply to" : rawValue }

    /// Whether the move needs a reason.
    public var needsReason: Bool { self == .escalate || self == .reopen }
}

/// A case's workflow position: status, round (1, then +1 per reopen) and handling level.
public struct WorkflowState: Hashable, Sendable {
    public var status: CaseStatus
    public var round: Int
    public var level: HandlingLevel

    public init(status: CaseStatus = .received, round: Int = 1, level: HandlingLevel = .community) {
        self.status = status
        self.round = round
        self.level = level
    }
}

/// The legal moves of a case (issue 3):
///
/// ```
/// received ─verify→ verifying ─handle→ handling ─reply→ replied ─close→ closed
///                   verifying, handling ─escalate (reason)→ same status, one level up
///                   replied, closed ─reopen (reason)→ handling, next round
/// ```
public enum Workflow {
    /// The moves allowed from `state`.
    public static func legalActions(from state: WorkflowState) -> [CaseAction] {
        var actions: [CaseAction] = []
        switch state.status {
        case .received: actions.append(.verify)
        case .verifying: actions.append(.handle)
        case .handling: actions.append(.reply)
        case .replied: actions.append(.close)
        case .closed: break
        }
        if state.status == .verifying || state.status == .handling, state.level.above != nil { actions.append(.escalate) }
        if state.status == .replied || state.status == .closed { actions.append(.reopen) }
        return actions
    }

    /// The state after `action`.
    ///
    /// - Throws: ``CaseDomainError/illegalMove(action:status:level:legal:)`` naming the
    ///   legal moves, ``CaseDomainError/reasonRequired(_:)``,
    ///   ``CaseDomainError/cannotEscalateFurther(_:)``.
    public static func apply(_ action: CaseAction, to state: WorkflowState, reason: String? = nil) throws(CaseDomainError) -> WorkflowState
    {
        if action == .escalate, state.level.above == nil, state.status == .verifying || state.status == .handling {
            throw .cannotEscalateFurther(state.level)
        }
        let legal = legalActions(from: state)
        guard legal.contains(action) else {
            throw .illegalMove(action: action, status: state.status, level: state.level, legal: legal)
        }
        if action.needsReason, (reason ?? "").trimmingSpaces.isEmpty { throw .reasonRequired(action) }
        var next = state
        switch action {
        case .verify: next.status = .verifying
        case .handle: next.status = .handling
        case .reply: next.status = .replied
        case .close: next.status = .closed
        case .escalate: next.level = state.level.above ?? state.level
        case .reopen:
            next.status = .handling
            next.round = state.round + 1
        }
        return next
    }

    /// Checks a resident's rating: a score of 1…5, once the case has been answered.
    public static func checkRating(_ score: Int, status: CaseStatus) throws(CaseDomainError) {
        guard (1...5).contains(score) else { throw .ratingOutOfRange(score) }
        guard status == .replied || status == .closed else { throw .ratingBeforeReply(status) }
    }
}

/// What a case event records (`case_events.type`): a workflow move, a note, a site visit,
/// a rating or a reassignment.
public enum CaseEventType {
    /// The type as staff read it; a type this release does not know (written by a newer
    /// one) is shown as it is.
    public static func label(_ type: String, _ language: Language) -> String {
        if let action = CaseAction(rawValue: type) { return action.label(language) }
        guard language == .zh else { return type }
        switch type {
        case "note": return "备注"
        case "visit": return "上门走访"
        case "rating": return "评价"
        case "reassign": return "转办"
        case "message": return "居民留言"
        default: return type
        }
    }
}

/// How an office of a level is called: 社区, 街道, 区 — or, before the server has said
/// (an offline replica), the neutral "office".
public func officeLabel(level: String?, _ language: Language) -> String {
    if let level = level.flatMap(HandlingLevel.init(rawValue:)) { return level.label(language) }
    return language == .zh ? "单位" : "office"
}
