/// One value of a field, as written by one change.
public struct Sibling: Hashable, Sendable {
    /// The change that wrote it.
    public let dot: Dot
    public let value: Value
    /// The writing change's timestamp.
    public let hlc: HLC
    /// The writing change's author.
    public let author: String
    /// For workflow fields: the round the writing change was in (its round field, else 1).
    /// 0 for every other rule.
    public let round: Int64

    public init(dot: Dot, value: Value, hlc: HLC, author: String, round: Int64 = 0) {
        self.dot = dot
        self.value = value
        self.hlc = hlc
        self.author = author
        self.round = round
    }
}

/// A multi-value register with causal context: the state of one field
/// (`Protocol/PROTOCOL.md` §3.2).
///
/// `siblings` are the values no known change supersedes, sorted by dot. `context` is
/// the union of the contexts of every change applied to the field: a change whose
/// dot it covers was superseded and adds no sibling on arrival.
///
/// The result of applying a set of changes does not depend on their order or on
/// repetitions: siblings are exactly the changes whose dot no applied change's
/// context covers, and the context is the union of their contexts.
public struct FieldRegister: Hashable, Sendable {
    /// Values that no applied change supersedes, sorted by dot; never empty once written.
    public private(set) var siblings: [Sibling]
    /// The union of the contexts of every change applied to this field.
    public private(set) var context: VersionVector

    /// An unwritten field.
    public init() {
        siblings = []
        context = VersionVector()
    }

    /// True when concurrent writes left more than one value.
    public var isConflicted: Bool { siblings.count > 1 }

    /// Applies one change's write of this field (`Protocol/PROTOCOL.md` §3.2).
    ///
    /// The change's context removes every sibling it covers and joins the register's
    /// context — even when the change itself is already superseded. Contexts are exact
    /// per record, not transitively closed: a writer that saw `c` need not have seen what
    /// `c` superseded, so skipping a superseded change entirely would make the result
    /// depend on delivery order.
    ///
    /// - Returns: whether the register changed.
    /// - Complexity: O(s + c) for s siblings and c context entries.
    @discardableResult
    public mutating func apply(_ sibling: Sibling, context changeContext: VersionVector) -> Bool {
        var changed = false
        if !changeContext.isEmpty, !siblings.isEmpty {
            let before = siblings.count
            siblings.removeAll { changeContext.covers($0.dot) }
            changed = siblings.count != before
        }
        // Added unless an applied change supersedes it; kept sorted by dot; a
        // re-delivered change is already present.
        if !context.covers(sibling.dot) {
            var index = siblings.endIndex
            while index > siblings.startIndex, sibling.dot < siblings[index - 1].dot { index -= 1 }
            if index == siblings.startIndex || siblings[index - 1].dot != sibling.dot {
                siblings.insert(sibling, at: index)
                changed = true
            }
        }
        if !changeContext.isEmpty, !context.covers(changeContext) {
            context.merge(changeContext)
            changed = true
        }
        return changed
    }

    /// The sibling `rule` chooses for display and queries; `nil` only for an unwritten field.
    public func winner(under rule: FieldRule) -> Sibling? {
        guard var best = siblings.first else { return nil }
        for candidate in siblings.dropFirst() where Self.beats(candidate, best, under: rule) {
            best = candidate
        }
        return best
    }

    /// True when `a` wins over `b` under `rule` (`Protocol/PROTOCOL.md` §5).
    public static func beats(_ a: Sibling, _ b: Sibling, under rule: FieldRule) -> Bool {
        switch rule {
        case .lastWriterWins:
            break
        case .workflow(let stages, _):
            if a.round != b.round { return a.round > b.round }
            let rankA = stageRank(a.value, stages)
            let rankB = stageRank(b.value, stages)
            if rankA != rankB { return rankA > rankB }
        case .maximum:
            switch (a.value.integer, b.value.integer) {
            case (let x?, let y?) where x != y: return x > y
            case (.some, nil): return true
            case (nil, .some): return false
            default: break
            }
        }
        if a.hlc != b.hlc { return a.hlc > b.hlc }
        if a.dot.replica != b.dot.replica { return b.dot.replica < a.dot.replica }
        return a.dot.counter > b.dot.counter
    }

    private static func stageRank(_ value: Value, _ stages: [String]) -> Int {
        guard let text = value.text, let index = stages.firstIndex(of: text) else { return -1 }
        return index
    }
}
