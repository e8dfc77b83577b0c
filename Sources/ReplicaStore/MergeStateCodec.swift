package import SyncCore

/// The binary form of a record's merge state kept in `merge_state.state` (migration
/// `v8-compact-storage`): every field's siblings and context, and every writer's chain.
///
/// The JSON form it replaces (`field_versions`) spent most of each row on repeated
/// keys, replica ids and authors, and its rows overflowed SQLite's pages; this form
/// writes each replica id and author once and numbers as varints, so a case's state is
/// about its values' size. Layout (all integers LEB128 varints, signed ones zigzag):
///
///     format (1 byte): 1, or 2 when the siblings' values are left out (below)
///     strings: count, then each as length + UTF-8     — replica ids and authors
///     fields: count, then each as
///         name (length + UTF-8), context (vector), sibling count, then each sibling as
///         replica (string index), counter, value (format 1 only), hlc wall,
///         hlc logical, author (string index), round (signed)
///     chains: count, then each as replica (string index), complete,
///         link count, (counter, previous)…, orphan count, (counter, previous)…
///     arrivals: count, then the record's changes' `changes.arrived`, ascending, each as
///         the difference from the one before (the record's history: the change log
///         needs no index by record)
///     vector: count, then (replica (string index), counter)…
///     value: tag 0 null · 1 false · 2 true · 3 integer (signed) · 4 text (length + UTF-8)
///         · 5 timestamp (signed)
///
/// Format 2 is for a store that shows no current values (the central server,
/// `ReplicaStore.keepsValues`): the merge itself never reads a value — a register keeps
/// or drops siblings by their dots, and a value matters only to pick the winner shown —
/// and every value is in the change its sibling's dot names, in the change log. Leaving
/// them out makes the server's merge state a quarter of the bytes and keeps residents'
/// data in one place there.
package enum MergeStateCodec {
    static let format: UInt8 = 1
    static let formatWithoutValues: UInt8 = 2

    // MARK: Encoding

    /// The stored form of `record`; `arrivals` ascending. `conflicts` counts the
    /// fields with more than one value that `lists` says are listed as conflicts;
    /// without `values`, format 2.
    package static func encode(
        _ record: SyncCore.Record, arrivals: [Int64], conflicts: inout Int, values: Bool = true,
        lists: (String) -> Bool = { _ in true }
    ) -> [UInt8] {
        // The string table (replicas and authors, each once: a record has one or two) is
        // written before the fields, so the fields are written to a buffer of their own
        // while their strings are collected.
        var strings: [String] = []
        func index(_ string: String) -> UInt64 {
            var position = 0
            while position < strings.count {
                if strings[position] == string { return UInt64(position) }
                position += 1
            }
            strings.append(string)
            return UInt64(strings.count - 1)
        }
        var fields = Writer()
        var fieldCount = 0
        // A field only the first change wrote: that change's value under its context.
        let base = record.baseWrite
        // Its context and strings are interned at the first such field, in the order the
        // fields are written, so that the bytes do not depend on how the record was built.
        var baseContext: [UInt8]?
        var baseReplica: UInt64 = 0
        var baseAuthor: UInt64 = 0
        record.forEachField(
            register: { name, register in
                fieldCount += 1
                if register.isConflicted, lists(name) { conflicts += 1 }
                fields.text(name)
                fields.vector(register.context, index: index)
                fields.varint(UInt64(register.siblingCount))
                register.forEachSibling { sibling in
                    fields.varint(index(sibling.dot.replica.rawValue))
                    fields.varint(sibling.dot.counter)
                    if values { fields.value(sibling.value) }
                    fields.varint(sibling.hlc.wall)
                    fields.varint(UInt64(sibling.hlc.logical))
                    fields.varint(index(sibling.author))
                    fields.signed(sibling.round)
                }
            },
            base: { name, value, round in
                guard let base else { return }
                if baseContext == nil {
                    var context = Writer(capacity: 16)
                    context.vector(base.context, index: index)
                    baseContext = context.bytes
                    baseReplica = index(base.dot.replica.rawValue)
                    baseAuthor = index(base.author)
                }
                fieldCount += 1
                fields.text(name)
                fields.bytes.append(contentsOf: baseContext ?? [])
                fields.varint(1)
                fields.varint(baseReplica)
                fields.varint(base.dot.counter)
                if values { fields.value(value) }
                fields.varint(base.hlc.wall)
                fields.varint(UInt64(base.hlc.logical))
                fields.varint(baseAuthor)
                fields.signed(round)
            })
        var tail = Writer(capacity: 16 + 4 * arrivals.count)
        tail.varint(UInt64(record.chainCount))
        record.forEachChainState { replica, chain in
            tail.varint(index(replica.rawValue))
            tail.varint(chain.complete)
            tail.varint(UInt64(chain.links.count))
            for link in chain.links {
                tail.varint(link.counter)
                tail.varint(link.previous)
            }
            tail.varint(UInt64(chain.orphans.count))
            for (counter, previous) in chain.orphans.sorted(by: { $0.key < $1.key }) {
                tail.varint(counter)
                tail.varint(previous)
            }
        }
        tail.varint(UInt64(arrivals.count))
        var last: Int64 = 0
        for arrived in arrivals {
            tail.varint(UInt64(max(arrived - last, 0)))
            last = arrived
        }
        var writer = Writer(capacity: 64 + fields.bytes.count + tail.bytes.count)
        writer.bytes.append(values ? format : formatWithoutValues)
        writer.varint(UInt64(strings.count))
        for string in strings { writer.text(string) }
        writer.varint(UInt64(fieldCount))
        writer.bytes.append(contentsOf: fields.bytes)
        writer.bytes.append(contentsOf: tail.bytes)
        return writer.bytes
    }

    static func encode(_ record: SyncCore.Record, arrivals: [Int64], values: Bool = true) -> [UInt8] {
        var conflicts = 0
        return encode(record, arrivals: arrivals, conflicts: &conflicts, values: values)
    }

    struct Writer {
        var bytes: [UInt8] = []

        init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

        mutating func varint(_ value: UInt64) {
            var rest = value
            while rest >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
                rest >>= 7
            }
            bytes.append(UInt8(rest))
        }

        mutating func signed(_ value: Int64) {
            varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
        }

        mutating func text(_ string: String) {
            var string = string
            string.withUTF8 { utf8 in
                varint(UInt64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }

        mutating func vector(_ vector: VersionVector, index: (String) -> UInt64) {
            varint(UInt64(vector.count))
            vector.forEachEntry { entry in
                varint(index(entry.replica.rawValue))
                varint(entry.counter)
            }
        }

        mutating func value(_ value: Value) {
            switch value {
            case .null: bytes.append(0)
            case .bool(let flag): bytes.append(flag ? 2 : 1)
            case .integer(let number):
                bytes.append(3)
                signed(number)
            case .text(let text):
                bytes.append(4)
                self.text(text)
            case .timestamp(let millis):
                bytes.append(5)
                signed(millis)
            }
        }
    }

    // MARK: Decoding

    /// The record stored as `bytes` and its arrival numbers, a format 2 state's values
    /// `.null`: enough to merge into, not to show.
    package static func decode(_ bytes: [UInt8]) -> (record: SyncCore.Record, arrivals: [Int64])? {
        decode(bytes) { _, _ in nil }
    }

    /// The record stored as `bytes` and its changes' arrival numbers; `nil` when they are
    /// not this format (a damaged file: the caller names the record). A format 2 state's
    /// values come from `value` (the field's value in the change with that dot); when it
    /// has none, they are `.null`.
    static func decode(
        _ bytes: [UInt8], value lookUp: (Dot, String) throws -> Value?
    ) rethrows -> (record: SyncCore.Record, arrivals: [Int64])? {
        var reader = Reader(bytes: bytes)
        let format = reader.byte()
        guard format == Self.format || format == formatWithoutValues, let stringCount = reader.count() else { return nil }
        let valuesKept = format == Self.format
        var strings: [String] = []
        strings.reserveCapacity(stringCount)
        for _ in 0..<stringCount {
            guard let string = reader.text() else { return nil }
            strings.append(string)
        }
        func string() -> String? {
            guard let index = reader.count(), index < strings.count else { return nil }
            return strings[index]
        }
        func vector() -> VersionVector? {
            guard let count = reader.count() else { return nil }
            var vector = VersionVector()
            for _ in 0..<count {
                guard let replica = string(), let counter = reader.varint() else { return nil }
                vector.advance(ReplicaID(replica), to: counter)
            }
            return vector
        }
        guard let fieldCount = reader.count() else { return nil }
        var registers: [String: FieldRegister] = [:]
        registers.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            guard let name = reader.text(), let context = vector(), let siblingCount = reader.count() else { return nil }
            var siblings: [Sibling] = []
            siblings.reserveCapacity(siblingCount)
            for _ in 0..<siblingCount {
                guard let replica = string(), let counter = reader.varint(), counter >= 1 else { return nil }
                var value = Value.null
                if valuesKept {
                    guard let kept = reader.value() else { return nil }
                    value = kept
                }
                guard let wall = reader.varint(), let logical = reader.varint(), logical <= UInt64(UInt32.max), let author = string(),
                    let round = reader.signed()
                else { return nil }
                let dot = Dot(ReplicaID(replica), counter)
                if !valuesKept, let found = try lookUp(dot, name) { value = found }
                siblings.append(
                    Sibling(dot: dot, value: value, hlc: HLC(wall: wall, logical: UInt32(logical)), author: author, round: round))
            }
            registers[name] = FieldRegister(siblings: siblings, context: context)
        }
        guard let chainCount = reader.count() else { return nil }
        var chains: [ReplicaID: ChainState] = [:]
        for _ in 0..<chainCount {
            guard let replica = string(), let complete = reader.varint(), let linkCount = reader.count() else { return nil }
            var links: [(counter: UInt64, previous: UInt64)] = []
            for _ in 0..<linkCount {
                guard let counter = reader.varint(), let previous = reader.varint() else { return nil }
                links.append((counter, previous))
            }
            guard let orphanCount = reader.count() else { return nil }
            var orphans: [UInt64: UInt64] = [:]
            for _ in 0..<orphanCount {
                guard let counter = reader.varint(), let previous = reader.varint() else { return nil }
                orphans[counter] = previous
            }
            chains[ReplicaID(replica)] = ChainState(complete: complete, links: links, orphans: orphans)
        }
        guard let arrivalCount = reader.count() else { return nil }
        var arrivals: [Int64] = []
        arrivals.reserveCapacity(arrivalCount)
        var last: UInt64 = 0
        for _ in 0..<arrivalCount {
            guard let delta = reader.varint(), delta <= UInt64(Int64.max) - last else { return nil }
            last += delta
            arrivals.append(Int64(last))
        }
        guard reader.atEnd else { return nil }
        return (SyncCore.Record(registers: registers, chains: chains), arrivals)
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var atEnd: Bool { offset == bytes.count }

        mutating func byte() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while let byte = byte() {
                guard shift < 64 else { return nil }
                result |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
            return nil
        }

        /// A count or index: a varint no larger than what is left (so a damaged length
        /// cannot ask for a huge allocation).
        mutating func count() -> Int? {
            guard let value = varint(), value <= UInt64(bytes.count) else { return nil }
            return Int(value)
        }

        mutating func signed() -> Int64? {
            guard let raw = varint() else { return nil }
            return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
        }

        mutating func text() -> String? {
            guard let length = count(), length <= bytes.count - offset else { return nil }
            defer { offset += length }
            return String(validating: bytes[offset..<offset + length], as: UTF8.self)
        }

        mutating func value() -> Value? {
            switch byte() {
            case 0: .null
            case 1: .bool(false)
            case 2: .bool(true)
            case 3: signed().map(Value.integer)
            case 4: text().map(Value.text)
            case 5: signed().map(Value.timestamp)
            default: nil
            }
        }
    }
}
