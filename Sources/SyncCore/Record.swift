/// One record's merged state: a register per field, plus what the replica knows of the
/// record's history (its version vector).
public struct Record: Hashable, Sendable {

    struct Writer: Hashable, Sendable {
        let replica: ReplicaID
        var chain: Chain
    }

    // The first change applied to a record (usually its creation, ten fields or so) is
    // kept whole as `base`; a field gets a register of its own only when a later change
    // writes it. A field only the base wrote is, in effect, the register
    // {siblings: [base's value], context: base's context} — exactly what applying the
    // base would have built — so the merge is unchanged, and a record created and never
    // edited costs one reference instead of ten registers.
    private var base: Change?
    private var baseTable: TableSchema?
    // True for a record rebuilt from storage (it has no base change in memory).
    private var storedExists = false
    // Fields written after the base, in arrival order (sorting would copy registers on
    // the hot path); names apart from registers, so that the scan touches one or two
    // cache lines. Equality and listings sort by name.
    private var names: [String] = []
    private var registers: [FieldRegister] = []
    private var writers: [Writer] = []

    /// A record with no field written yet.
    public init() {}

    /// A record rebuilt from stored registers and chains (the replica store's form).
    public init(registers: [String: FieldRegister], chains: [ReplicaID: ChainState]) {
        for (name, register) in registers.sorted(by: { $0.key < $1.key }) {
            names.append(name)
            self.registers.append(register)
        }
        writers = chains.sorted { $0.key < $1.key }.map { Writer(replica: $0.key, chain: Chain(state: $0.value)) }
        // A stored record has every field as a register; mark it as existing.
        if !names.isEmpty { storedExists = true }
    }

    /// Each writer's chain on this record, to be stored beside the registers.
    public var chainStates: [ReplicaID: ChainState] {
        Dictionary(uniqueKeysWithValues: writers.map { ($0.replica, $0.chain.state) })
    }

    /// How many writers have a chain (the count of ``chainStates``).
    public var chainCount: Int { writers.count }

    /// Calls `body` with each writer's chain in replica order: ``chainStates`` sorted,
    /// without building a dictionary (the store's save path).
    public func forEachChainState(_ body: (ReplicaID, ChainState) throws -> Void) rethrows {
        for writer in writers { try body(writer.replica, writer.chain.state) }
    }

    /// The record's version vector: per writer, the last change of an unbroken chain of
    /// its changes to this record (`Protocol/PROTOCOL.md` §3.4). This is the context of
    /// the next local write, and it never claims a change that has not been applied.
    public var versionVector: VersionVector {
        VersionVector(sorted: writers.compactMap { $0.chain.complete == 0 ? nil : .init(replica: $0.replica, counter: $0.chain.complete) })
    }

    // The chains are derived from the applied changes, which the replica's log holds;
    // two records are equal when their fields and version vectors are.
    public static func == (lhs: Record, rhs: Record) -> Bool {
        let names = lhs.fieldNames
        guard names == rhs.fieldNames, lhs.versionVector == rhs.versionVector else { return false }
        for name in names where lhs.register(name) != rhs.register(name) { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fieldNames)
    }

    /// The field registers, by field name.
    public var fields: [String: FieldRegister] {
        var result: [String: FieldRegister] = [:]
        for name in fieldNames { result[name] = register(name) }
        return result
    }

    /// The names of the fields written, sorted.
    public var fieldNames: [String] {
        var all = names
        if let base {
            for name in base.fields.keys where slotIndex(name) == nil { all.append(name) }
        }
        // Byte order (field names are ASCII identifiers, where it equals String order) is
        // much cheaper than String's Unicode comparison on the store's hot path.
        return all.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The register of `field`, or `nil` if never written.
    public func register(_ field: String) -> FieldRegister? {
        if let index = slotIndex(field) { return registers[index] }
        return baseRegister(field)
    }

    /// Whether `field` was written after the record's first change (it has a register of
    /// its own, which may hold more than one value).
    public func hasRegister(_ field: String) -> Bool { slotIndex(field) != nil }

    /// The value of a field only the record's first change wrote, or nil: its one value,
    /// without building a register (a read model's hot path).
    public func firstChangeValue(of field: String) -> Value? {
        guard slotIndex(field) == nil, let base else { return nil }
        return base.fields[field]
    }

    /// The register of a field only the base wrote.
    private func baseRegister(_ field: String) -> FieldRegister? {
        guard let base, let value = base.fields[field] else { return nil }
        let table = baseTable ?? .lastWriterWins
        let sibling = Sibling(
            dot: base.dot, value: value, hlc: base.hlc, author: base.author, round: Record.round(of: field, in: base.fields, table: table))
        return FieldRegister(first: sibling, context: base.context)
    }

    /// Registers that may hold more than one value (a field only the base wrote has one).
    var materialized: Zip2Sequence<[String], [FieldRegister]> { zip(names, registers) }

    /// The round of a workflow field's sibling: the integer the same change wrote to the
    /// rule's round field, else 1; 0 for other rules.
    private static func round(of field: String, in fields: [String: Value], table: TableSchema) -> Int64 {
        guard case .workflow(_, let roundField)? = table.rule(for: field) else { return 0 }
        return fields[roundField]?.integer ?? 1
    }

    // Index loops, not `firstIndex(where:)`: the closure form copies every element
    // it visits (a handful of retains each) on the merge's hot path.
    @inline(__always)
    private func slotIndex(_ name: String) -> Int? {
        var index = 0
        while index < names.count {
            if names[index] == name { return index }
            index += 1
        }
        return nil
    }

    @inline(__always)
    private func writerIndex(_ replica: ReplicaID) -> Int? {
        var index = 0
        while index < writers.count {
            if writers[index].replica == replica { return index }
            index += 1
        }
        return nil
    }

    /// The change every field only the record's first change wrote stands for: such a
    /// field's register is this change's single value under its context (see
    /// ``forEachField(register:base:)``).
    public struct BaseWrite: Sendable {
        public let dot: Dot
        public let hlc: HLC
        public let author: String
        public let context: VersionVector
    }

    /// The write that fields passed to `base` by ``forEachField(register:base:)`` share;
    /// `nil` for a record rebuilt from storage.
    public var baseWrite: BaseWrite? {
        base.map { BaseWrite(dot: $0.dot, hlc: $0.hlc, author: $0.author, context: $0.context) }
    }

    /// Calls `register` with each field written after the record's first change and
    /// `base` with each field only that change wrote (its value and round; the rest of
    /// its register is ``baseWrite``), in one pass sorted by name.
    ///
    /// The fields and order of ``registersByName``, without building a register per field
    /// the first change wrote: the store's save path (most fields of most records).
    public func forEachField(
        register: (String, FieldRegister) throws -> Void, base visitBase: (String, Value, Int64) throws -> Void
    ) rethrows {
        // Positions: ≥ 0 a register, < 0 the base's field at -1 - position.
        var all: [(name: String, position: Int)] = []
        all.reserveCapacity(names.count + (base?.fields.count ?? 0))
        for index in names.indices { all.append((names[index], index)) }
        var baseFields: [(name: String, value: Value)] = []
        if let base {
            baseFields.reserveCapacity(base.fields.count)
            for (name, value) in base.fields where slotIndex(name) == nil {
                all.append((name, -1 - baseFields.count))
                baseFields.append((name, value))
            }
        }
        all.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let table = baseTable ?? .lastWriterWins
        for entry in all {
            if entry.position >= 0 {
                try register(entry.name, registers[entry.position])
            } else if let base {
                let field = baseFields[-1 - entry.position]
                try visitBase(field.name, field.value, Record.round(of: field.name, in: base.fields, table: table))
            }
        }
    }

    /// Every field's name and register, sorted by name.
    public var registersByName: [(name: String, register: FieldRegister)] {
        fieldNames.compactMap { name in register(name).map { (name, $0) } }
    }

    /// The winning value of `field` under `schema`'s rule, or `nil` if never written.
    public func value(of field: String, table: String, schema: Schema) -> Value? {
        register(field)?.winner(under: schema.rule(table: table, field: field))?.value
    }

    /// True once any change to this record has been applied.
    public var exists: Bool { base != nil || storedExists }

    /// Runs `body` on this record in place.
    @inline(__always)
    mutating func apply(with table: TableSchema, _ body: (inout Record) -> Void) {
        body(&self)
    }

    /// Applies `change` to the record under the rules of its table.
    ///
    /// - Complexity: O(f · (s + c + F)) for f fields written, s siblings, c context
    ///   entries and F fields of the record; O(1) for the record's first change.
    mutating func apply(_ change: Change, table: TableSchema, logs: [ReplicaID: OriginLog]) {
        apply(change, rules: table) { logs[$0.replica]?.change($0.counter) }
    }

    /// Applies `change` under the rules of its table (`Protocol/PROTOCOL.md` §3.2, §3.4).
    ///
    /// `lookup` finds an earlier change of this record by dot; it is called only when a
    /// writer's change arrives out of line, to rebuild that writer's chain.
    public mutating func apply(_ change: Change, rules table: TableSchema, lookup: (Dot) -> Change?) {
        let storage = change.storage
        if base == nil, !storedExists {
            base = change
            baseTable = table
        } else {
            let context = storage.context
            let rules = table.hasRules
            for (name, value) in storage.fields {
                let round = rules ? Record.round(of: name, in: storage.fields, table: table) : 0
                let sibling = Sibling(dot: storage.dot, value: value, hlc: storage.hlc, author: storage.author, round: round)
                if let index = slotIndex(name) {
                    registers[index].apply(sibling, context: context)
                } else {
                    var register = baseRegister(name) ?? FieldRegister()
                    register.apply(sibling, context: context)
                    if names.isEmpty {
                        names.reserveCapacity(4)
                        registers.reserveCapacity(4)
                    }
                    names.append(name)
                    registers.append(register)
                }
            }
        }
        let writer = storage.dot.replica
        let counter = storage.dot.counter
        let previous = storage.context[writer]
        if let index = writerIndex(writer) {
            writers[index].chain.add(counter, previous: previous) { lookup(Dot(writer, $0)) }
        } else {
            var chain = Chain()
            chain.add(counter, previous: previous) { lookup(Dot(writer, $0)) }
            let index = writers.firstIndex { writer < $0.replica } ?? writers.endIndex
            writers.insert(Writer(replica: writer, chain: chain), at: index)
        }
    }
}

/// The counters of one writer's changes to one record, and how far they form an
/// unbroken chain.
///
/// Each change names its predecessor (its context's entry for its own writer). The
/// chain is *complete* up to counter k when every applied change with counter ≤ k has
/// its predecessor applied. This is a function of the set of applied changes, not of
/// their order, so every replica computes the same vector.
///
/// While every change arrives as the next link (the usual case), only the last counter
/// is kept. The first change out of line switches to an explicit set of counters,
/// rebuilt by walking the predecessors back through the writer's log.
struct Chain: Hashable, Sendable {
    /// The end of the unbroken prefix.
    private(set) var complete: UInt64 = 0
    /// Applied counters, ascending, and each one's predecessor; empty while the chain
    /// has only grown link by link.
    private var counters: [UInt64] = []
    private var previous: [UInt64] = []
    /// Applied changes whose predecessor is not applied: counter → predecessor.
    private var orphans: [UInt64: UInt64] = [:]

    init() {}

    init(state: ChainState) {
        complete = state.complete
        counters = state.links.map(\.counter)
        previous = state.links.map(\.previous)
        orphans = state.orphans
    }

    var state: ChainState {
        ChainState(complete: complete, links: zip(counters, previous).map { ($0, $1) }, orphans: orphans)
    }

    /// Records an applied change; `lookup` finds the writer's changes by counter (only
    /// called when a change arrives out of line).
    mutating func add(_ counter: UInt64, previous predecessor: UInt64, lookup: (UInt64) -> Change?) {
        if counters.isEmpty {
            // Fast path: the next link of an unbroken chain.
            if predecessor == complete, counter > complete {
                complete = counter
                return
            }
            // Out of line: materialise the chain so far, newest first.
            var link = complete
            while link != 0 {
                let before = lookup(link)?.previousCounter ?? 0
                counters.append(link)
                previous.append(before < link ? before : 0)
                link = before < link ? before : 0
            }
            counters.reverse()
            previous.reverse()
        }
        let index = insertionIndex(counter)
        if index < counters.count, counters[index] == counter { return }
        counters.insert(counter, at: index)
        previous.insert(predecessor, at: index)
        if predecessor != 0, !contains(predecessor) { orphans[counter] = predecessor }
        if !orphans.isEmpty { orphans = orphans.filter { $0.value != counter } }
        if let firstOrphan = orphans.keys.min() {
            let index = insertionIndex(firstOrphan)
            complete = index == 0 ? 0 : counters[index - 1]
        } else {
            complete = counters[counters.count - 1]
            // Whole again and a single line (every link names the one before): back to
            // the compact form, so every replica stores the same state.
            var linear = true
            for index in counters.indices where previous[index] != (index == 0 ? 0 : counters[index - 1]) {
                linear = false
                break
            }
            if linear {
                counters = []
                previous = []
            }
        }
    }

    private func contains(_ counter: UInt64) -> Bool {
        let index = insertionIndex(counter)
        return index < counters.count && counters[index] == counter
    }

    private func insertionIndex(_ counter: UInt64) -> Int {
        var low = 0
        var high = counters.count
        while low < high {
            let mid = (low + high) / 2
            if counters[mid] < counter { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// One writer's chain on one record, as stored: the end of its unbroken prefix and,
/// while changes are out of line, the applied counters with their predecessors and the
/// orphans (counter → missing predecessor). See `Protocol/PROTOCOL.md` §3.4.
public struct ChainState: Hashable, Sendable {
    public let complete: UInt64
    public let links: [(counter: UInt64, previous: UInt64)]
    public let orphans: [UInt64: UInt64]

    public init(complete: UInt64, links: [(counter: UInt64, previous: UInt64)] = [], orphans: [UInt64: UInt64] = [:]) {
        self.complete = complete
        self.links = links
        self.orphans = orphans
    }

    public static func == (lhs: ChainState, rhs: ChainState) -> Bool {
        lhs.complete == rhs.complete && lhs.orphans == rhs.orphans && lhs.links.elementsEqual(rhs.links) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(complete)
        for link in links {
            hasher.combine(link.counter)
            hasher.combine(link.previous)
        }
    }
}
