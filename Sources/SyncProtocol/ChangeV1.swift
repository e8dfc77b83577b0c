public import SyncCore

/// Limits of protocol version 1 (`Protocol/PROTOCOL.md` §7.3). Receivers refuse
/// anything larger with an error naming the limit.
public enum LimitsV1 {
    /// Largest encoded change batch, in bytes: 8 MiB.
    public static let maximumBatchBytes = 8 * 1024 * 1024
    /// Most changes in one batch.
    public static let maximumChangesPerBatch = 10_000
    /// Most fields one change may set.
    public static let maximumFieldsPerChange = 256
    /// Most entries in one context.
    public static let maximumContextEntries = 1024
    /// Largest text value, in UTF-8 bytes: 64 KiB.
    public static let maximumTextBytes = 64 * 1024
    /// Longest replica id, in bytes.
    public static let maximumReplicaIDBytes = 64
    /// Longest table or field name, in bytes.
    public static let maximumNameBytes = 64
    /// Longest record id, in bytes.
    public static let maximumRecordIDBytes = 128
    /// Longest author, in UTF-8 bytes.
    public static let maximumAuthorBytes = 256
    /// Largest counter: 2^53.
    public static let maximumCounter: UInt64 = 1 << 53
    /// Largest magnitude of an integer or timestamp value: 2^53 − 1.
    public static let maximumInteger: Int64 = (1 << 53) - 1
    /// Largest HLC logical counter: 2^32 − 1.
    public static let maximumLogical: UInt64 = UInt64(UInt32.max)
}

/// The wire form of a ``Change``, protocol version 1: the one place where changes are
/// converted to and from bytes (`Protocol/PROTOCOL.md` §7).
///
/// ```json
/// {"author":"李娜","context":{"ra":1},"dot":{"counter":2,"replica":"ra"},
///  "fields":{"status":"verifying","round":1},"hlc":{"logical":0,"wall":1764115200000},
///  "record":{"id":"0193…","table":"cases"}}
/// ```
public enum ChangeV1 {
    /// The canonical encoding of `change`: the same change gives the same bytes on every
    /// machine (keys sorted byte-wise, no whitespace, minimal escapes).
    public static func encode(_ change: Change) -> [UInt8] {
        // Sized once: the fixed keys and numbers, the strings (a growing buffer copied a
        // 1 KB body three times).
        var capacity = 160 + change.author.utf8.count + change.record.id.utf8.count + change.dot.replica.rawValue.utf8.count
        capacity += change.context.count * 48
        for (name, value) in change.fields { capacity += name.utf8.count + 24 + (value.text?.utf8.count ?? 0) }
        var writer = CanonicalJSONWriter(capacity: capacity)
        encode(change, into: &writer)
        return writer.bytes
    }

    /// Appends the canonical encoding of `change` to `writer`.
    public static func encode(_ change: Change, into writer: inout CanonicalJSONWriter) {
        // Keys in byte order: author, context, dot, fields, hlc, record.
        writer.raw("{\"author\":")
        writer.string(change.author)
        writer.raw(",\"context\":{")
        var first = true
        change.context.forEachEntry { entry in
            if !first { writer.raw(",") }
            first = false
            writer.string(entry.replica.rawValue)
            writer.raw(":")
            writer.integer(entry.counter)
        }
        writer.raw("},\"dot\":{\"counter\":")
        writer.integer(change.dot.counter)
        writer.raw(",\"replica\":")
        writer.string(change.dot.replica.rawValue)
        writer.raw("},\"fields\":")
        writer.object(change.fields) { writer, value in encode(value, into: &writer) }
        writer.raw(",\"hlc\":{\"logical\":")
        writer.integer(change.hlc.logical)
        writer.raw(",\"wall\":")
        writer.integer(change.hlc.wall)
        writer.raw("},\"record\":{\"id\":")
        writer.string(change.record.id)
        writer.raw(",\"table\":")
        writer.string(change.record.table)
        writer.raw("}}")
    }

    /// Appends the canonical encoding of a field value.
    public static func encode(_ value: Value, into writer: inout CanonicalJSONWriter) {
        switch value {
        case .null: writer.raw("null")
        case .bool(let flag): flag ? writer.raw("true") : writer.raw("false")
        case .integer(let number): writer.integer(number)
        case .text(let text): writer.string(text)
        case .timestamp(let millis):
            writer.raw("{\"ts\":")
            writer.integer(millis)
            writer.raw("}")
        }
    }

    /// The SHA-256 of the canonical encoding, as 64 lower-case hex digits.
    public static func hash(_ change: Change) -> String {
        SHA256Hex.digest(encode(change))
    }

    /// Decodes and validates one change from parsed JSON.
    ///
    /// - Parameters:
    ///   - path: where the change sits in its message, for error messages.
    ///   - schema: says which tables are append-only.
    /// - Throws: ``ProtocolError/invalid(path:reason:)`` naming the first problem.
    public static func decode(_ json: JSONValue, at path: @autoclosure () -> String, schema: Schema) throws(ProtocolError) -> Change {
        // Paths are built only when an error is thrown: decoding is on the server's hot path.
        let object = try Members(json, at: path(), keys: ChangeV1.changeKeys)

        let dotObject = try Members(object.required("dot", at: path()), at: path() + ".dot", keys: ChangeV1.dotKeys)
        let replica = try replicaID(dotObject.required("replica", at: path() + ".dot"), at: path() + ".dot.replica")
        let counter = try Self.counter(dotObject.required("counter", at: path() + ".dot"), at: path() + ".dot.counter")
        let dot = Dot(replica, counter)

        let recordObject = try Members(object.required("record", at: path()), at: path() + ".record", keys: ChangeV1.recordKeys)
        let table = try name(recordObject.required("table", at: path() + ".record"), at: path() + ".record.table")
        let id = try recordID(recordObject.required("id", at: path() + ".record"), at: path() + ".record.id")
        let record = RecordKey(table: table, id: id)

        let fieldsValue = try object.required("fields", at: path())
        guard case .object(let fieldMembers) = fieldsValue else {
            throw .invalid(path: path() + ".fields", reason: "must be an object, not \(fieldsValue.typeName)")
        }
        if fieldMembers.isEmpty { throw .invalid(path: path() + ".fields", reason: "must set at least one field") }
        if fieldMembers.count > LimitsV1.maximumFieldsPerChange {
            throw .invalid(path: path() + ".fields", reason: "must set at most \(LimitsV1.maximumFieldsPerChange) fields")
        }
        var fields: [String: Value] = [:]
        fields.reserveCapacity(fieldMembers.count)
        for member in fieldMembers {
            let fieldName = try name(.string(member.key), at: path() + ".fields." + JSONParser.pathKey(member.key))
            fields[fieldName] = try decodeValue(member.value, at: path() + ".fields." + fieldName)
        }

        let contextValue = try object.required("context", at: path())
        guard case .object(let contextMembers) = contextValue else {
            throw .invalid(path: path() + ".context", reason: "must be an object, not \(contextValue.typeName)")
        }
        if contextMembers.count > LimitsV1.maximumContextEntries {
            throw .invalid(path: path() + ".context", reason: "must have at most \(LimitsV1.maximumContextEntries) entries")
        }
        var context = VersionVector()
        for member in contextMembers {
            let entryReplica = try replicaID(.string(member.key), at: path() + ".context." + JSONParser.pathKey(member.key))
            let entryCounter = try Self.counter(member.value, at: path() + ".context." + JSONParser.pathKey(member.key))
            if entryReplica == replica, entryCounter >= counter {
                throw .invalid(
                    path: path() + ".context." + JSONParser.pathKey(member.key),
                    reason: "must be < the change's own counter \(counter) (a change cannot be in its own past)")
            }
            context.advance(entryReplica, to: entryCounter)
        }
        if schema.kind(of: table) == .appendOnly, !context.isEmpty {
            throw .invalid(path: path() + ".context", reason: "must be empty: \(table) records are append-only and cannot be modified")
        }

        let hlcObject = try Members(object.required("hlc", at: path()), at: path() + ".hlc", keys: ChangeV1.hlcKeys)
        let wall = try unsigned(
            hlcObject.required("wall", at: path() + ".hlc"), at: path() + ".hlc.wall",
            minimum: 0, maximum: LimitsV1.maximumCounter, maximumText: "2^53")
        let logical = try unsigned(
            hlcObject.required("logical", at: path() + ".hlc"), at: path() + ".hlc.logical",
            minimum: 0, maximum: LimitsV1.maximumLogical, maximumText: "2^32 − 1")

        let author = try string(object.required("author", at: path()), at: path() + ".author")
        if author.isEmpty { throw .invalid(path: path() + ".author", reason: "must not be empty") }
        if author.utf8.count > LimitsV1.maximumAuthorBytes {
            throw .invalid(path: path() + ".author", reason: "must be at most \(LimitsV1.maximumAuthorBytes) bytes")
        }
        if author.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw .invalid(path: path() + ".author", reason: "must not contain control characters")
        }

        return Change(
            dot: dot, record: record, fields: fields, context: context, hlc: HLC(wall: wall, logical: UInt32(logical)), author: author)
    }

    static let changeKeys = ["author", "context", "dot", "fields", "hlc", "record"]
    static let dotKeys = ["counter", "replica"]
    static let recordKeys = ["id", "table"]
    static let hlcKeys = ["logical", "wall"]

    // MARK: Field validators

    static func string(_ json: JSONValue, at path: @autoclosure () -> String) throws(ProtocolError) -> String {
        guard case .string(let text) = json else { throw .invalid(path: path(), reason: "must be a string, not \(json.typeName)") }
        return text
    }

    /// A non-empty string of at most `maximumBytes` bytes, each accepted by `allowed`.
    static func token(
        _ json: JSONValue,
        at path: @autoclosure () -> String,
        maximumBytes: Int,
        allowed: (_ byte: UInt8, _ isFirst: Bool) -> Bool,
        rule: String
    ) throws(ProtocolError) -> String {
        let text = try string(json, at: path())
        if text.isEmpty { throw .invalid(path: path(), reason: "must not be empty") }
        if text.utf8.count > maximumBytes { throw .invalid(path: path(), reason: "must be at most \(maximumBytes) bytes") }
        var isFirst = true
        for byte in text.utf8 {
            guard allowed(byte, isFirst) else { throw .invalid(path: path(), reason: rule) }
            isFirst = false
        }
        return text
    }

    static func replicaID(_ json: JSONValue, at path: @autoclosure () -> String) throws(ProtocolError) -> ReplicaID {
        ReplicaID(
            try token(
                json, at: path(), maximumBytes: LimitsV1.maximumReplicaIDBytes, allowed: { byte, _ in isIDByte(byte) },
                rule: "must contain only A–Z, a–z, 0–9, '_' and '-'"))
    }

    static func name(_ json: JSONValue, at path: @autoclosure () -> String) throws(ProtocolError) -> String {
        try token(
            json, at: path(), maximumBytes: LimitsV1.maximumNameBytes,
            allowed: { byte, isFirst in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (!isFirst && ((UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")))
            },
            rule: "must be a lower-case name: a–z first, then a–z, 0–9 or '_'")
    }

    static func recordID(_ json: JSONValue, at path: @autoclosure () -> String) throws(ProtocolError) -> String {
        try token(
            json, at: path(), maximumBytes: LimitsV1.maximumRecordIDBytes,
            allowed: { byte, _ in isIDByte(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") },
            rule: "must contain only A–Z, a–z, 0–9, '_', '-', '.' and ':'")
    }

    static func counter(_ json: JSONValue, at path: @autoclosure () -> String) throws(ProtocolError) -> UInt64 {
        try unsigned(json, at: path(), minimum: 1, maximum: LimitsV1.maximumCounter, maximumText: "2^53")
    }

    static func unsigned(_ json: JSONValue, at path: @autoclosure () -> String, minimum: UInt64, maximum: UInt64, maximumText: String)
        throws(ProtocolError) -> UInt64
    {
        let number = try integer(json, at: path())
        switch number {
        case .negative, .value(..<0):
            throw .invalid(path: path(), reason: "must be ≥ \(minimum)")
        case .value(let value) where UInt64(value) < minimum:
            throw .invalid(path: path(), reason: "must be ≥ \(minimum)")
        case .positiveOverflow:
            throw .invalid(path: path(), reason: "must be ≤ \(maximumText)")
        case .value(let value) where UInt64(value) > maximum:
            throw .invalid(path: path(), reason: "must be ≤ \(maximumText)")
        case .value(let value):
            return UInt64(value)
        }
    }

    enum IntegerText {
        case value(Int64)
        case negative
        case positiveOverflow
    }

    static func integer(_ json: JSONValue, at path: @autoclosure () -> String) throws(ProtocolError) -> IntegerText {
        guard case .number(let text) = json else { throw .invalid(path: path(), reason: "must be an integer, not \(json.typeName)") }
        if text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            throw .invalid(path: path(), reason: "must be an integer, not a fraction or exponent")
        }
        if let value = Int64(text) { return .value(value) }
        return text.hasPrefix("-") ? .negative : .positiveOverflow
    }

    /// Decodes and validates one field value (`null`, boolean, integer, text or
    /// `{"ts": milliseconds}`).
    public static func decodeValue(_ json: JSONValue, at path: @autoclosure () -> String) throws(ProtocolError) -> Value {
        switch json {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .number:
            return .integer(try signed(json, at: path()))
        case .string(let text):
            if text.utf8.count > LimitsV1.maximumTextBytes {
                throw .invalid(
                    path: path(), reason: "must be at most \(LimitsV1.maximumTextBytes) bytes (64 KiB), found \(text.utf8.count)")
            }
            return .text(text)
        case .object(let members) where members.count == 1 && members[0].key == "ts":
            return .timestamp(try signed(members[0].value, at: path() + ".ts"))
        case .object, .array:
            throw .invalid(
                path: path(), reason: "must be null, a boolean, an integer, a string or {\"ts\": milliseconds}, not \(json.typeName)")
        }
    }

    static func signed(_ json: JSONValue, at path: @autoclosure () -> String) throws(ProtocolError) -> Int64 {
        let bound = LimitsV1.maximumInteger
        switch try integer(json, at: path()) {
        case .value(let value) where value >= -bound && value <= bound: return value
        default: throw .invalid(path: path(), reason: "must be an integer between −(2^53 − 1) and 2^53 − 1")
        }
    }

    static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}

/// The members of a JSON object that must have exactly the keys `keys`.
struct Members {
    private let members: [JSONValue.Member]

    /// - Throws: when `json` is not an object, or has a key not in `keys`.
    init(_ json: JSONValue, at path: @autoclosure () -> String, keys: [String]) throws(ProtocolError) {
        guard case .object(let members) = json else {
            let where_ = path()
            throw .invalid(path: where_.isEmpty ? "$" : where_, reason: "must be an object, not \(json.typeName)")
        }
        for member in members where !keys.contains(member.key) {
            throw .invalid(path: Members.join(path(), JSONParser.pathKey(member.key)), reason: "unknown field")
        }
        self.members = members
    }

    /// The value of `key`; throws `is required` when missing.
    func required(_ key: String, at path: @autoclosure () -> String) throws(ProtocolError) -> JSONValue {
        for member in members where member.key == key { return member.value }
        throw .invalid(path: Members.join(path(), key), reason: "is required")
    }

    /// `path.key`, or `key` at the root (whose path is empty).
    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }
}
