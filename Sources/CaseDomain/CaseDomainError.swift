public import SyncCore

/// Why the case domain refused something. Messages never contain residents' data.
public enum CaseDomainError: RecordRuleError, Hashable {
    /// A move the workflow does not allow from the case's state; `legal` are the moves it does.
    case illegalMove(action: CaseAction, status: CaseStatus, level: HandlingLevel, legal: [CaseAction])
    /// A move that needs a reason got none.
    case reasonRequired(CaseAction)
    /// The case is already handled at the top of the office tree.
    case cannotEscalateFurther(HandlingLevel)
    /// A rating outside 1…5.
    case ratingOutOfRange(Int)
    /// A rating before the case was answered.
    case ratingBeforeReply(CaseStatus)
    /// A category name that is empty, too long or spans lines (its length in characters).
    case invalidCategoryName(Int)
    /// A phone number that is neither a mobile nor a landline number.
    case invalidPhone
    /// A holiday file line that cannot be read (line number, why).
    case invalidCalendarLine(Int, String)

    public var description: String { message(.en) }

    /// The message in `language`, of the form "what failed: why (where)".
    public func message(_ language: Language) -> String {
        switch (self, language) {
        case (.illegalMove(let action, let status, let level, let legal), .zh):
            "无法\(action.label(.zh))：案件当前为\(status.label(.zh))（\(level.label(.zh))）；可执行的操作："
                + (legal.isEmpty ? "无" : legal.map { $0.label(.zh) }.joined(separator: "、"))
        case (.illegalMove(let action, let status, let level, let legal), .en):
            "cannot \(action.phrase) the case: it is \(status.rawValue) (\(level.rawValue) level); legal moves: "
                + (legal.isEmpty ? "none" : legal.map(\.rawValue).joined(separator: ", "))
        case (.reasonRequired(let action), .zh): "无法\(action.label(.zh))：必须填写原因（--reason）"
        case (.reasonRequired(let action), .en): "cannot \(action.phrase) the case: a reason is required (--reason)"
        case (.cannotEscalateFurther(let level), .zh): "无法上报：案件已在\(level.label(.zh))办理，没有更高一级"
        case (.cannotEscalateFurther(let level), .en):
            "cannot escalate the case: it is handled at the \(level.rawValue) level, the top of the tree"
        case (.ratingOutOfRange(let score), .zh): "无法评价：评分必须在 1 到 5 之间（收到 \(score)）"
        case (.ratingOutOfRange(let score), .en): "cannot rate the case: the score must be 1 to 5 (got \(score))"
        case (.ratingBeforeReply(let status), .zh): "无法评价：案件尚未答复（当前为\(status.label(.zh))）"
        case (.ratingBeforeReply(let status), .en): "cannot rate the case: it has not been replied to yet (it is \(status.rawValue))"
        case (.invalidCategoryName(let length), .zh): "无法添加类别：名称须为 1 到 20 个字的单行文字（收到 \(length) 个字）"
        case (.invalidCategoryName(let length), .en):
            "cannot add the category: the name must be one line of 1 to 20 characters (got \(length))"
        case (.invalidPhone, .zh): "电话号码无效：须为 11 位手机号或带区号的固定电话"
        case (.invalidPhone, .en): "invalid phone number: expected an 11-digit mobile number or a landline with its area code"
        case (.invalidCalendarLine(let line, let why), .zh): "无法读取节假日文件：\(why)（第 \(line) 行）"
        case (.invalidCalendarLine(let line, let why), .en): "cannot read the holiday file: \(why) (line \(line))"
        }
    }
}
