import SyncCore

/// The binary form of a record's merge state kept in `merge_state.state` (migration
/// `v8-compact-storage`): every field's siblings and context, and every writer's chain.
///
/// The JSON form it replaces (`field_versions`) spent most of each row on repeated
/// keys, replica ids and authors, and its rows overflowed SQLite's pages; this form
/// writes each replica id and author once and numbers as varints, so a case's state is
/// about its values' size. Layout (all integers LEB128 varints, signed ones zigzag):
///
///     format (1 byte, = 1)
///     strings: count, then each as length + UTF-8     — replica ids and authors
///     fields: count, then each as
///         name (length + UTF-8), context (vector), sibling count, then each sibling as
///         replica (string index), counter, value, hlc wall, hlc logical,
///         author (string index), round (signed)
///     chains: count, then each as replica (string index), complete,
///         link count, (counter, previous)…, orphan count, (counter, previous)…
///     arrivals: count, then the record's changes' `changes.arrived`, ascending, each as
///         the difference from the one before (the record's history: the change log
///         needs no index by record)
///     vector: count, then (replica (string index), counter)…
///     value: tag 0 null · 1 false · 2 true · 3 integer (signed) · 4 text (length + UTF-8)
///         · 5 timestamp (signed)
enum MergeStateCodec {
    static let format: UInt8 = 1

    // MARK: Encoding

    static func encode(_ record: SyncCore.Record, arrivals: [Int64]) -> [UInt8] {
        var registers: [(name: String, register: FieldRegister)] = []
        record.forEachRegister { registers.append(($0, $1)) }
        return encode(record, registers: registers, arrivals: arrivals)
    }

    /// `registers` is every field's register, sorted by name, when the caller has them;
    /// `arrivals` ascending.
    static func encode(_ record: SyncCore.Record, registers: [(name: String, register: FieldRegister)], arrivals: [Int64]) -> [UInt8] {
        var writer = Writer()
        let chains = record.chainStates.sorted { $0.key < $1.key }
        // The string table: replicas and authors, each once (a record has one or two).
        var strings: [String] = []
        func intern(_ string: String) {
            if !strings.contains(string) { strings.append(string) }
        }
        for (_, register) in registers {
            register.context.forEachEntry { intern($0.replica.rawValue) }
            register.forEachSibling { sibling in
                intern(sibling.dot.replica.rawValue)
                intern(sibling.author)
            }
        }
        for (replica, _) in chains { intern(replica.rawValue) }
        func index(_ string: String) -> UInt64 { UInt64(strings.firstIndex(of: string) ?? 0) }

        writer.bytes.append(format)
        writer.varint(UInt64(strings.count))
        for string in strings { writer.text(string) }
        writer.varint(UInt64(registers.count))
        for (name, register) in registers {
            writer.text(name)
            writer.vector(register.context, index: index)
            writer.varint(UInt64(register.siblingCount))
            register.forEachSibling { sibling in
                writer.varint(index(sibling.dot.replica.rawValue))
                writer.varint(sibling.dot.counter)
                writer.value(sibling.value)
                writer.varint(sibling.hlc.wall)
                writer.varint(UInt64(sibling.hlc.logical))
                writer.varint(index(sibling.author))
                writer.signed(sibling.round)
            }
        }
        writer.varint(UInt64(chains.count))
        for (replica, chain) in chains {
            writer.varint(index(replica.rawValue))
            writer.varint(chain.complete)
            writer.varint(UInt64(chain.links.count))
            for link in chain.links {
                writer.varint(link.counter)
                writer.varint(link.previous)
            }
            writer.varint(UInt64(chain.orphans.count))
            for (counter, previous) in chain.orphans.sorted(by: { $0.key < $1.key }) {
                writer.varint(counter)
                writer.varint(previous)
            }
        }
        writer.varint(UInt64(arrivals.count))
        var last: Int64 = 0
        for arrived in arrivals {
            writer.varint(UInt64(max(arrived - last, 0)))
            last = arrived
        }
        return writer.bytes
    }

    struct Writer {
        var bytes: [UInt8] = []

        init() { bytes.reserveCapacity(1024) }

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

    /// The record stored as `bytes` and its changes' arrival numbers; `nil` when they are
    /// not this format (a damaged file: the caller names the record).
    static func decode(_ bytes: [UInt8]) -> (record: SyncCore.Record, arrivals: [Int64])? {
        var reader = Reader(bytes: bytes)
        guard reader.byte() == format, let stringCount = reader.count() else { return nil }
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
                guard let replica = string(), let counter = reader.varint(), counter >= 1, let value = reader.value(),
                    let wall = reader.varint(), let logical = reader.varint(), logical <= UInt64(UInt32.max), let author = string(),
                    let round = reader.signed()
                else { return nil }
                siblings.append(
                    Sibling(
                        dot: Dot(ReplicaID(replica), counter), value: value, hlc: HLC(wall: wall, logical: UInt32(logical)), author: author,
                        round: round))
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
