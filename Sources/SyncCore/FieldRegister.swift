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
    // Almost every field has one value: keep it inline, and the rare siblings in `rest`.
    private var first: Sibling?
    private var rest: [Sibling]
    /// The union of the contexts of every change applied to this field.
    public private(set) var context: VersionVector

    /// An unwritten field.
    public init() {
        first = nil
        rest = []
        context = VersionVector()
    }

    /// A register rebuilt from stored siblings and context.
    public init(siblings: [Sibling], context: VersionVector) {
        let sorted = siblings.sorted { $0.dot < $1.dot }
        first = sorted.first
        rest = Array(sorted.dropFirst())
        self.context = context
    }

    /// A field as its first write leaves it.
    @inline(__always)
    init(first sibling: consuming Sibling, context: VersionVector) {
        first = sibling
        rest = []
        self.context = context
    }

    /// Values that no applied change supersedes, sorted by dot; never empty once written.
    public var siblings: [Sibling] {
        guard let first else { return [] }
        return [first] + rest
    }

    /// Calls `body` with each value, sorted by dot, without building an array.
    public func forEachSibling(_ body: (Sibling) throws -> Void) rethrows {
        guard let first else { return }
        try body(first)
        for sibling in rest { try body(sibling) }
    }

    /// How many values the field has.
    public var siblingCount: Int { first == nil ? 0 : 1 + rest.count }

    /// True when concurrent writes left more than one value.
    public var isConflicted: Bool { !rest.isEmpty }

    /// Applies one change's write of this field (`Protocol/PROTOCOL.md` §3.2).
    ///
    /// The change's context removes every sibling it covers and joins the register's
    /// context — even when the change itself is already superseded. Contexts are exact
    /// per record, not transitively closed: a writer that saw `c` need not have seen what
    /// `c` superseded, so skipping a superseded change entirely would make the result
    /// depend on delivery order.
    ///
    /// - Complexity: O(s + c) for s siblings and c context entries.
    public mutating func apply(_ sibling: Sibling, context changeContext: VersionVector) {
        let superseded = context.covers(sibling.dot)
        // Fast paths: the first write, and a write that covers the single value.
        if first == nil {
            if !superseded { first = sibling }
        } else if rest.isEmpty, let dot = first?.dot, changeContext.covers(dot) {
            first = superseded ? nil : sibling
        } else {
            var all = siblings
            if !changeContext.isEmpty { all.removeAll { changeContext.covers($0.dot) } }
            if !superseded {
                var index = all.endIndex
                while index > all.startIndex, sibling.dot < all[index - 1].dot { index -= 1 }
                if index == all.startIndex || all[index - 1].dot != sibling.dot { all.insert(sibling, at: index) }
            }
            first = all.first
            rest = Array(all.dropFirst())
        }
        if !changeContext.isEmpty {
            if context.isEmpty { context = changeContext } else { context.merge(changeContext) }
        }
    }

    /// The sibling `rule` chooses for display and queries; `nil` only for an unwritten field.
    public func winner(under rule: FieldRule) -> Sibling? {
        guard var best = first else { return nil }
        for candidate in rest where Self.beats(candidate, best, under: rule) { best = candidate }
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
