public import SyncCore

/// What a push decides before it writes (`Protocol/PROTOCOL.md` §9.4, §9.6), pure: which
/// changes are new, whether each is within its writer's jurisdiction, the scope every
/// record it touches has afterwards, which records move, and (once the merge has logged
/// the changes) under which offices each is listed. Every backend runs it: the storage
/// only looks up the scopes it asks for and writes what it answers.
public struct PushPlan: Sendable {
    /// A record the batch touches or whose scope it reads (a child's parent).
    public struct Touched: Sendable {
        public let key: RecordKey
        /// Its scope before the batch (nil: none, or a record the server has not seen).
        public let original: RecordScope?
        /// Whether the server held the record before this batch.
        public let existed: Bool
        /// Its scope after the changes judged so far.
        public var current: RecordScope?
        /// A child record's parent id, as its first change names it.
        public var parent: String?
    }

    /// What the storage holds of a record before the batch.
    public struct Stored: Sendable {
        public var existed: Bool
        public var scope: RecordScope?

        public init(existed: Bool, scope: RecordScope?) {
            self.existed = existed
            self.scope = scope
        }
    }

    public private(set) var touched: [Touched] = []
    private var position: [RecordKey: Int] = [:]
    /// The counters of the new changes (not held yet, or refused before and sent again).
    public private(set) var fresh: [UInt64] = []
    /// The entry of each fresh change's record, in the order of `fresh`.
    public private(set) var freshEntries: [Int] = []
    /// The new changes outside the writer's jurisdiction.
    public private(set) var refused: [ServerError.Refused] = []

    /// Judges `changes` of a writer at `office` that the server holds up to `holds`
    /// (less `refusedBefore`), asking `lookup` once for each record it needs.
    public init(
        _ changes: [Change], holds: UInt64, refusedBefore: Set<UInt64>, office: OfficeScope, scopes: ScopeRules,
        lookup: (RecordKey) throws -> Stored
    ) throws {
        fresh.reserveCapacity(changes.count)
        freshEntries.reserveCapacity(changes.count)
        // The rule of the table of the change before (a batch is mostly one table's).
        var ruleTable = ""
        var rule = ScopeRule.district
        for change in changes {
            // Held already (a replay): its scope was judged when it came.
            if change.dot.counter <= holds, !refusedBefore.contains(change.dot.counter) { continue }
            let index = try entry(change.record, lookup)
            if ruleTable != change.record.table {
                ruleTable = change.record.table
                rule = scopes.rule(for: ruleTable)
            }
            let before = touched[index].current
            let after: RecordScope?
            if case .parent(let table, let field) = rule {
                // A child: its parent's scope, looked up (and kept) like any record's.
                var lookupError: (any Error)?
                after = RecordScope.after(change, rule: rule, before: before) { id in
                    do { return touched[try entry(RecordKey(table: table, id: id), lookup)].current } catch {
                        lookupError = error
                        return nil
                    }
                }
                if let lookupError { throw lookupError }
                if touched[index].parent == nil, case .text(let parent)? = change.fields[field] { touched[index].parent = parent }
            } else {
                after = RecordScope.after(change, rule: rule, before: before) { _ in nil }
            }
            guard Self.namesOfficeCodes(change, rule), office.mayWrite(before: before, after: after),
                office == .server || scopes.writerLevels(of: ruleTable)?.contains(office.level.rawValue) ?? true,
                Self.mayWriteFields(
                    change, office: office, home: (before ?? after)?.home, restricted: scopes.restrictedFields(of: ruleTable))
            else {
                refused.append(ServerError.Refused(table: change.record.table, record: change.record.id, counter: change.dot.counter))
                continue
            }
            if after != before { touched[index].current = after }
            fresh.append(change.dot.counter)
            freshEntries.append(index)
        }
        // A child follows its parent (§9.6): one whose parent's scope changed later in the
        // batch ends with the parent's final scope, as it would had the changes come one
        // push each (a new case escalated in the batch that wrote its events: no move is
        // recorded for it, so its events must not keep its first scope).
        for index in touched.indices {
            guard let parent = touched[index].parent, case .parent(let table, _) = scopes.rule(for: touched[index].key.table),
                let entry = position[RecordKey(table: table, id: parent)], let final = touched[entry].current,
                touched[index].current != final
            else { continue }
            touched[index].current = final
        }
    }

    /// Whether every scope field `change` writes names an office code (letters and digits):
    /// a `*` or a comma would read as the shared marker or a second code (§9.6).
    static func namesOfficeCodes(_ change: Change, _ rule: ScopeRule) -> Bool {
        let names: [String]
        switch rule {
        case .fields(let fields), .sharedFields(let fields, _): names = fields
        case .parent, .district: return true
        }
        for name in names {
            guard case .text(let code)? = change.fields[name] else { continue }
            guard !code.isEmpty, code.utf8.count <= 32,
                code.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
            else { return false }
        }
        return true
    }

    /// Whether `office` may write the restricted fields `change` writes (§9.6): a home
    /// field only from an office holding the record's `home` (or the district, or one of
    /// its allowed values); a server field only from the server's own writer.
    static func mayWriteFields(_ change: Change, office: OfficeScope, home: String?, restricted: [(field: String, writers: FieldWriters)])
        -> Bool
    {
        for (field, writers) in restricted {
            guard let value = change.fields[field] else { continue }
            switch writers {
            case .anyone: continue
            case .server: if office != .server { return false }
            case .home(let except):
                if office.level == .district || office.covers(RecordScope([home])) { continue }
                guard case .text(let text) = value, except.contains(text) else { return false }
            case .district(let except):
                if office == .server || office.level == .district { continue }
                guard case .text(let text) = value, except.contains(text) else { return false }
            }
        }
        return true
    }

    private mutating func entry(_ key: RecordKey, _ lookup: (RecordKey) throws -> Stored) throws -> Int {
        if let known = position[key] { return known }
        let stored = try lookup(key)
        touched.append(Touched(key: key, original: stored.scope, existed: stored.existed, current: stored.scope))
        position[key] = touched.count - 1
        return touched.count - 1
    }

    /// A record whose scope the batch changed, and whether it moved: a record held
    /// before whose scope changes — or that gets its first scope (its earlier changes
    /// are listed nowhere) — moves, and whoever it enters gets its history.
    public struct Rescoped: Sendable {
        public var key: RecordKey
        public var was: RecordScope?
        public var scope: RecordScope
        public var parent: String?
        public var moved: Bool
    }

    /// Whether the server held `key` before the batch (false for a record it never named).
    public func existed(_ key: RecordKey) -> Bool {
        position[key].map { touched[$0].existed } ?? false
    }

    /// Every touched record whose scope is new or changed (a record whose scope was only
    /// read is unchanged).
    public func rescoped(scopes: ScopeRules) -> [Rescoped] {
        touched.compactMap { record in
            guard let value = record.current, record.original != value else { return nil }
            let moves: Bool
            switch scopes.rule(for: record.key.table) {
            case .fields, .parent, .sharedFields: moves = record.existed
            case .district: moves = false
            }
            return Rescoped(key: record.key, was: record.original, scope: value, parent: record.parent, moved: moves)
        }
    }

    /// Whether any change of the batch is to a record with a scope (only those are
    /// listed: the district reads the whole log).
    public var listsAny: Bool { touched.contains { $0.current != nil } }

    /// The listing runs of the changes the merge logged, `logged` in arrival order:
    /// each fresh change (less repeats of one in the batch), in the order of `fresh`.
    public func listing(_ logged: [(arrived: Int64, record: RecordKey)]) -> [ListingRuns.Run] {
        var runs = ListingRuns()
        if logged.count == freshEntries.count {
            // One to one (no repeat in the batch).
            for ((arrived, key), entry) in zip(logged, freshEntries) {
                assert(touched[entry].key == key, "the merge logged a change the plan did not judge new")
                runs.list(arrived, under: touched[entry].current?.offices ?? [])
            }
            return runs.finish()
        }
        // Found by walking the fresh changes alongside (the listing depends on the record
        // only, so any entry of the same record answers); by hash otherwise.
        var walk = 0
        for (arrived, key) in logged {
            while walk < freshEntries.count, touched[freshEntries[walk]].key != key { walk += 1 }
            let entry = walk < freshEntries.count ? freshEntries[walk] : position[key]
            runs.list(arrived, under: entry.flatMap { touched[$0].current }?.offices ?? [])
            if walk >= freshEntries.count { walk = 0 }
        }
        return runs.finish()
    }
}

// The refusals every backend answers alike, worded once.
extension PushPlan {
    /// A replica writes only under its own id (§9.4): checked before anything is read;
    /// `bodies`, when given, are one per change.
    package static func checkWriter(_ changes: [Change], bodies: [[UInt8]]?, caller: Caller) throws(ServerError) {
        if let bodies, bodies.count != changes.count {
            preconditionFailure("push: \(bodies.count) bodies for \(changes.count) changes")
        }
        if let index = changes.firstIndex(where: { $0.dot.replica != caller.replica }) {
            throw .forbidden(
                "foreign_dot",
                "cannot accept the changes: a replica may push only its own changes, and this one was written by another replica (changes[\(index)].dot.replica)"
            )
        }
    }

    /// Refuses the batch (403 `out_of_scope`, naming the records) when a new change is
    /// outside the writer's jurisdiction, `office`.
    package func checkJurisdiction(of office: String) throws(ServerError) {
        guard !refused.isEmpty else { return }
        let list = refused.prefix(20).map { "\($0.table)/\($0.record)" }.joined(separator: ", ")
        throw ServerError(
            status: 403, code: "out_of_scope",
            message:
                "cannot accept the changes: \(refused.count) change(s) are to records outside office \(office)'s jurisdiction: \(list)",
            refused: refused)
    }

    /// The refused counters this batch sends again (now accepted), or 409 `gap` when a
    /// counter is missing (§9.4).
    package func checkSequence(holds: UInt64, refusedBefore: Set<UInt64>) throws(ServerError) -> [UInt64] {
        switch Sequencing.check(fresh: fresh, holds: holds, refused: refusedBefore) {
        case .gap(let missing):
            throw .conflict(
                "gap", "cannot accept the changes: counter \(missing) of this replica is missing; push again from counter \(holds + 1)",
                holds: holds)
        case .accept(let retried): return retried
        }
    }
}
