import CaseDomain
public import SyncCore

/// A write the server makes as itself (DESIGN §8: residents' submissions, ratings and
/// messages): ordinary changes under the server's own writer id, merged, listed and pulled
/// like any office's. The storage runs it in one transaction under its write lock — the
/// lock every push takes, on every server process sharing a database — so that the
/// writer's next counter, its minted numbers and the checks `build` makes on the views
/// are decided alone: with several servers on one PostgreSQL, each write still gets a
/// unique dot.
public struct ServerWrite: Sendable {
    /// A lookup in a view, made under the lock before `build`.
    public struct Read: Sendable {
        public enum Key: Sendable {
            /// Rows whose column equals this value.
            case value(Value)
            /// Rows whose column equals a column of the first row an earlier read found
            /// (a case's events: its id); no rows when that read found none.
            case column(ofRead: Int, name: String)
        }

        public var view: String
        public var column: String
        public var key: Key
        public var limit: Int

        public init(view: String, column: String, key: Key, limit: Int = 100) {
            self.view = view
            self.column = column
            self.key = key
            self.limit = limit
        }
    }

    /// A daily allowance (a phone's submissions): `key` may be taken `limit` times per day.
    public struct Allowance: Sendable {
        /// Already digested by the caller (no personal datum reaches storage as a key).
        public var key: String
        public var day: String
        public var limit: Int

        public init(key: String, day: String, limit: Int) {
            self.key = key
            self.day = day
            self.limit = limit
        }
    }

    /// What `build` is given.
    public struct Input: Sendable {
        /// The rows each read found, in the order of `reads`.
        public var rows: [[[String: Value]]]
        /// The number minted, when the write asked for one.
        public var number: String?
        public var now: Int64

        public init(rows: [[[String: Value]]], number: String?, now: Int64) {
            self.rows = rows
            self.number = number
            self.now = now
        }
    }

    /// One record's fields to write.
    public struct Edit: Sendable, Equatable {
        public var key: RecordKey
        public var fields: [String: Value]

        public init(_ key: RecordKey, _ fields: [String: Value]) {
            self.key = key
            self.fields = fields
        }
    }

    public var reads: [Read]
    /// The office under whose code to mint a number (a new case: its community).
    public var mint: String?
    public var allowance: Allowance?
    /// The changes' author, as staff will see it.
    public var author: String
    /// The edits to make, or a refusal (nothing is then written).
    public var build: @Sendable (Input) throws(ServerError) -> [Edit]

    public init(
        reads: [Read] = [], mint: String? = nil, allowance: Allowance? = nil, author: String,
        build: @escaping @Sendable (Input) throws(ServerError) -> [Edit]
    ) {
        self.reads = reads
        self.mint = mint
        self.allowance = allowance
        self.author = author
        self.build = build
    }

    /// What was written.
    public struct Result: Sendable {
        public var changes: [Change]
        public var number: String?
        public var rows: [[[String: Value]]]

        package init(changes: [Change], number: String?, rows: [[[String: Value]]]) {
            self.changes = changes
            self.number = number
            self.rows = rows
        }
    }

    /// The changes for `edits` by `writer`, numbered from `first`, pure: a record's context
    /// is everything the server holds of it (so the write supersedes what it saw, and is
    /// concurrent only with what it has not seen), an append-only record's is empty; each
    /// clock is past `now` and past every clock the record holds.
    public static func changes(
        _ edits: [Edit], writer: ReplicaID, first: UInt64, now: Int64, records: [RecordKey: Record], schema: Schema, author: String
    ) -> [Change] {
        var changes: [Change] = []
        var contexts: [RecordKey: VersionVector] = [:]
        var clock = HLC(wall: UInt64(max(now, 0)))
        for (offset, edit) in edits.enumerated() {
            let dot = Dot(writer, first + UInt64(offset))
            let record = records[edit.key]
            let appendOnly = schema.kind(of: edit.key.table) == .appendOnly
            var context = contexts[edit.key] ?? (appendOnly ? VersionVector() : record?.versionVector ?? VersionVector())
            for (_, register) in record?.registersByName ?? [] {
                register.forEachSibling { sibling in
                    if sibling.hlc >= clock { clock = HLC(wall: sibling.hlc.wall, logical: sibling.hlc.logical + 1) }
                }
            }
            changes.append(Change(dot: dot, record: edit.key, fields: edit.fields, context: context, hlc: clock, author: author))
            context.add(dot)
            contexts[edit.key] = context
            clock = HLC(wall: clock.wall, logical: clock.logical + 1)
        }
        return changes
    }
}

extension ServerWrite {
    /// The server writer's next number for `office` after `last` (its last number, for any
    /// office): a case number like an office replica mints (`HSM-20261206-1432-K7Q`), under
    /// the writer's tag. The minute's sequence runs across offices, so that a number is
    /// never minted twice whichever offices the submissions name in turn.
    public static func mint(office: String, after last: String?, tag: String, now: Int64) -> String {
        var minter = CaseNumberMinter(
            last: last.flatMap(CaseNumber.init(parsing:)).map {
                CaseNumber(office: "", date: $0.date, minute: $0.minute, tag: $0.tag, sequence: $0.sequence)
            })
        let next = minter.next(office: "", tag: tag, epochMillis: now)
        return CaseNumber(office: office, date: next.date, minute: next.minute, tag: tag, sequence: next.sequence).description
    }
}

extension ViewDeclaration {
    /// The column named `name` (`id` and `updated_at` included), or nil.
    public func type(of name: String) -> FieldDeclaration.ValueType? {
        if name == "id" { return .text }
        if name == "updated_at" { return .timestamp }
        return columns.first { $0.name == name }?.type
    }

    /// Every column's name: `id`, `updated_at`, then the declared ones.
    public var allColumns: [String] { ["id", "updated_at"] + columns.map(\.name) }
}

extension ServerWrite {
    /// The value `read` looks up, given the rows of the reads before it; nil when the
    /// read it refers to found nothing.
    public static func key(of read: Read, after rows: [[[String: Value]]]) -> Value? {
        switch read.key {
        case .value(let value): return value
        case .column(let index, let name):
            guard index < rows.count, let first = rows[index].first, let value = first[name], value != .null else { return nil }
            return value
        }
    }

    /// 429: the allowance is spent for the day.
    public static func allowanceSpent(_ allowance: Allowance) -> ServerError {
        ServerError(
            status: 429, code: "too_many_submissions",
            message: "cannot accept the request: this phone number already sent \(allowance.limit) requests today; try again tomorrow")
    }

    /// One try at a guard, pure: the outcome and what to store (nil: nothing, the subject is
    /// clear). Wrong tries count up to `limit`, which locks the subject for `lockout` ms.
    public static func attempt(failures: Int, lockedUntil: Int64?, correct: Bool, now: Int64, limit: Int, lockout: Int64) -> (
        attempt: Attempt, stored: (failures: Int, lockedUntil: Int64?)?
    ) {
        if let lockedUntil, lockedUntil > now { return (.locked(until: lockedUntil), (failures, lockedUntil)) }
        if correct { return (.allowed, nil) }
        let wrong = (lockedUntil == nil ? failures : 0) + 1
        if wrong >= limit { return (.locked(until: now + lockout), (0, now + lockout)) }
        return (.wrong(remaining: limit - wrong), (wrong, nil))
    }
}
