public import SyncCore

/// The HTTP transport of protocol version 1 (`Protocol/PROTOCOL.md` §9): the header
/// every request carries, and the bodies of enrolment, push, pull and errors.
///
/// Requests are decoded strictly (an unknown field is refused, like a change's); the
/// client reads responses leniently, ignoring members it does not know, so that a
/// server may add a member within version 1 without breaking older clients.
public enum TransportV1 {
    /// The request header naming the protocol version (`Rain-Protocol: 1`).
    public static let versionHeader = "Rain-Protocol"
    /// The versions this implementation serves.
    public static let supportedVersions = ChangeBatchV1.supportedVersions
    /// The largest request body a server accepts by default (413 above it).
    public static let defaultMaximumBodyBytes = LimitsV1.maximumBatchBytes
    /// A pull page's default and largest change count.
    public static let defaultPageChanges = 1_000
    public static let maximumPageChanges = LimitsV1.maximumChangesPerBatch
    /// A pull page's default and largest byte budget (bodies of the changes).
    public static let defaultPageBytes = 1024 * 1024
    public static let maximumPageBytes = 4 * 1024 * 1024
    /// The longest enrolment token, cursor or credential accepted.
    public static let maximumSecretBytes = 256

    /// Whether a `Rain-Protocol` header value names a version this side serves.
    public static func accepts(_ header: String?) -> Bool {
        guard let header, let version = Int(header) else { return false }
        return supportedVersions.contains(version)
    }
}

// MARK: - Enrolment

/// `POST /enrol`: exchanges a one-time enrolment token for a replica credential.
public struct EnrolRequestV1: Hashable, Sendable {
    /// The one-time token the administrator handed out.
    public var token: String
    /// The replica id the client minted (`rain init`); the server refuses one it knows.
    public var replica: ReplicaID
    /// The staff member enrolling (for the administrator's replica list).
    public var staff: String

    public init(token: String, replica: ReplicaID, staff: String) {
        self.token = token
        self.replica = replica
        self.staff = staff
    }

    /// The canonical encoding.
    public func encode() -> [UInt8] {
        var writer = CanonicalJSONWriter()
        writer.raw("{\"protocol\":1,\"replica\":")
        writer.string(replica.rawValue)
        writer.raw(",\"staff\":")
        writer.string(staff)
        writer.raw(",\"token\":")
        writer.string(token)
        writer.raw("}")
        return writer.bytes
    }

    /// Decodes a request body strictly.
    ///
    /// - Throws: ``ProtocolError`` naming the first problem; never repeats the token.
    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> EnrolRequestV1 {
        let object = try Members(try TransportV1.parse(bytes), at: "", keys: ["protocol", "replica", "staff", "token"])
        try TransportV1.checkVersion(object)
        let replica = try ChangeV1.replicaID(object.required("replica", at: ""), at: "replica")
        let staff = try ChangeV1.string(object.required("staff", at: ""), at: "staff")
        if staff.isEmpty || staff.utf8.count > LimitsV1.maximumAuthorBytes {
            throw .invalid(path: "staff", reason: "must be 1 to \(LimitsV1.maximumAuthorBytes) bytes")
        }
        if staff.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw .invalid(path: "staff", reason: "must not contain control characters")
        }
        let token = try TransportV1.secret(object.required("token", at: ""), at: "token")
        return EnrolRequestV1(token: token, replica: replica, staff: staff)
    }
}

/// The answer to an enrolment: the credential, shown once.
public struct EnrolResponseV1: Hashable, Sendable {
    public var replica: ReplicaID
    /// The office's code, name and level (`district`, `street`, `community`).
    public var office: String
    public var officeName: String
    public var level: String
    /// The replica credential: `Authorization: Bearer <credential>` on every request.
    public var credential: String

    public init(replica: ReplicaID, office: String, officeName: String, level: String, credential: String) {
        self.replica = replica
        self.office = office
        self.officeName = officeName
        self.level = level
        self.credential = credential
    }

    public func encode() -> [UInt8] {
        var writer = CanonicalJSONWriter()
        writer.raw("{\"credential\":")
        writer.string(credential)
        writer.raw(",\"level\":")
        writer.string(level)
        writer.raw(",\"office\":")
        writer.string(office)
        writer.raw(",\"office_name\":")
        writer.string(officeName)
        writer.raw(",\"protocol\":1,\"replica\":")
        writer.string(replica.rawValue)
        writer.raw("}")
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> EnrolResponseV1 {
        let json = try TransportV1.parse(bytes)
        return EnrolResponseV1(
            replica: ReplicaID(try TransportV1.text(json, "replica")), office: try TransportV1.text(json, "office"),
            officeName: try TransportV1.text(json, "office_name"), level: try TransportV1.text(json, "level"),
            credential: try TransportV1.text(json, "credential"))
    }
}

/// The answer to `POST /rekey`: the caller's new credential (§9.2).
public struct RekeyResponseV1: Hashable, Sendable {
    public var credential: String

    public init(credential: String) {
        self.credential = credential
    }

    public func encode() -> [UInt8] {
        var writer = CanonicalJSONWriter()
        writer.raw("{\"credential\":")
        writer.string(credential)
        writer.raw(",\"protocol\":1}")
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> RekeyResponseV1 {
        RekeyResponseV1(credential: try TransportV1.text(try TransportV1.parse(bytes), "credential"))
    }
}

// MARK: - Re-issue

/// `POST /reissue`: a replica whose file turned out to be an older copy of itself asks
/// for a fresh identity (`Protocol/PROTOCOL.md` §9.8). It names the new replica id it
/// minted and, for each of its own changes after `after`, the SHA-256 of the change's
/// canonical encoding, so that the server can say up to where the file and the server
/// hold the same changes.
public struct ReissueRequestV1: Hashable, Sendable {
    /// The most digests one request carries.
    public static let maximumDigests = 100_000

    /// The fresh replica id; the server refuses one it knows.
    public var replica: ReplicaID
    /// The counter the digests start after (the file's acknowledged counter).
    public var after: UInt64
    /// `digests[i]`: the SHA-256 (64 lower-case hex digits) of own change `after + 1 + i`.
    public var digests: [String]

    public init(replica: ReplicaID, after: UInt64, digests: [String]) {
        self.replica = replica
        self.after = after
        self.digests = digests
    }

    public func encode() -> [UInt8] {
        var writer = CanonicalJSONWriter(capacity: 96 + digests.count * 67)
        writer.raw("{\"after\":")
        writer.integer(after)
        writer.raw(",\"digests\":[")
        for (index, digest) in digests.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(digest)
        }
        writer.raw("],\"protocol\":1,\"replica\":")
        writer.string(replica.rawValue)
        writer.raw("}")
        return writer.bytes
    }

    /// Decodes a request body strictly.
    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> ReissueRequestV1 {
        let object = try Members(try TransportV1.parse(bytes), at: "", keys: ["after", "digests", "protocol", "replica"])
        try TransportV1.checkVersion(object)
        let replica = try ChangeV1.replicaID(object.required("replica", at: ""), at: "replica")
        let afterValue = try object.required("after", at: "")
        guard case .number(let afterText) = afterValue, let after = UInt64(afterText), after <= LocalWrite.maximumCounter else {
            throw .invalid(path: "after", reason: "must be an integer from 0 to 2^53")
        }
        guard case .array(let items) = try object.required("digests", at: "") else {
            throw .invalid(path: "digests", reason: "must be an array of SHA-256 digests")
        }
        if items.count > maximumDigests { throw .invalid(path: "digests", reason: "must hold at most \(maximumDigests) digests") }
        var digests: [String] = []
        digests.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .string(let digest) = item, digest.utf8.count == 64,
                digest.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
            else { throw .invalid(path: "digests[\(index)]", reason: "must be 64 lower-case hex digits") }
            digests.append(digest)
        }
        return ReissueRequestV1(replica: replica, after: after, digests: digests)
    }
}

/// The answer to `POST /reissue`: the fresh identity's credential, up to where the
/// file's own changes equal the server's (`same`), and what the server holds of the
/// old identity (`holds`).
public struct ReissueResponseV1: Hashable, Sendable {
    public var replica: ReplicaID
    public var credential: String
    public var same: UInt64
    public var holds: UInt64

    public init(replica: ReplicaID, credential: String, same: UInt64, holds: UInt64) {
        self.replica = replica
        self.credential = credential
        self.same = same
        self.holds = holds
    }

    public func encode() -> [UInt8] {
        var writer = CanonicalJSONWriter()
        writer.raw("{\"credential\":")
        writer.string(credential)
        writer.raw(",\"holds\":")
        writer.integer(holds)
        writer.raw(",\"protocol\":1,\"replica\":")
        writer.string(replica.rawValue)
        writer.raw(",\"same\":")
        writer.integer(same)
        writer.raw("}")
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> ReissueResponseV1 {
        let json = try TransportV1.parse(bytes)
        return ReissueResponseV1(
            replica: ReplicaID(try TransportV1.text(json, "replica")), credential: try TransportV1.text(json, "credential"),
            same: try TransportV1.unsigned(json, "same"), holds: try TransportV1.unsigned(json, "holds"))
    }
}

// MARK: - Push

/// The answer to `POST /changes`: how many changes were new, how many the server
/// already held, and the highest counter of the caller's it now holds (every counter
/// up to it, `Protocol/PROTOCOL.md` §9.4).
public struct PushResponseV1: Hashable, Sendable {
    public var accepted: Int
    public var duplicates: Int
    public var holds: UInt64

    public init(accepted: Int, duplicates: Int, holds: UInt64) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.holds = holds
    }

    public func encode() -> [UInt8] {
        Array("{\"accepted\":\(accepted),\"duplicates\":\(duplicates),\"holds\":\(holds),\"protocol\":1}".utf8)
    }

    public static func decode(_ bytes: [UInt8]) throws(ProtocolError) -> PushResponseV1 {
        let json = try TransportV1.parse(bytes)
        return PushResponseV1(
            accepted: Int(try TransportV1.unsigned(json, "accepted")), duplicates: Int(try TransportV1.unsigned(json, "duplicates")),
            holds: try TransportV1.unsigned(json, "holds"))
    }
}

// MARK: - Pull

/// One page of `GET /changes`: changes the caller lacks, in the order the server
/// received them (a causal order), the position to ask from next, whether more
/// follow, the caller's own counter the server holds, and the office of every
/// replica whose change is in the page.
public struct PullResponseV1: Sendable {
    public var changes: [Change]
    /// Opaque to the client: sent back verbatim as `after` (`Protocol/PROTOCOL.md` §9.5).
    public var cursor: String
    public var more: Bool
    public var holds: UInt64
    /// Replica id → office code, for the replicas that wrote the changes of this page.
    public var offices: [ReplicaID: String]
    /// Records that left the caller's jurisdiction: their residents' data must be purged
    /// from its replica (§9.6). Absent from the body when empty.
    public var purge: [RecordKey]

    public init(changes: [Change], cursor: String, more: Bool, holds: UInt64, offices: [ReplicaID: String], purge: [RecordKey] = []) {
        self.changes = changes
        self.cursor = cursor
        self.more = more
        self.holds = holds
        self.offices = offices
        self.purge = purge
    }

    /// Encodes a page from changes already in their canonical form (the server stores
    /// them so): no change is decoded or re-encoded to serve a pull.
    public static func encode(
        canonicalBodies bodies: [[UInt8]], cursor: String, more: Bool, holds: UInt64, offices: [ReplicaID: String],
        purge: [RecordKey] = []
    ) -> [UInt8] {
        var writer = CanonicalJSONWriter(capacity: 128 + bodies.reduce(0) { $0 + $1.count + 1 })
        writer.raw("{\"changes\":[")
        for (index, body) in bodies.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.append(body)
        }
        writer.raw("],\"cursor\":")
        writer.string(cursor)
        writer.raw(",\"holds\":")
        writer.integer(holds)
        writer.raw(",\"more\":")
        if more { writer.raw("true") } else { writer.raw("false") }
        writer.raw(",\"offices\":{")
        for (index, entry) in offices.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(entry.key.rawValue)
            writer.raw(":")
            writer.string(entry.value)
        }
        writer.raw("},\"protocol\":1")
        if !purge.isEmpty {
            writer.raw(",\"purge\":[")
            for (index, key) in purge.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"id\":")
                writer.string(key.id)
                writer.raw(",\"table\":")
                writer.string(key.table)
                writer.raw("}")
            }
            writer.raw("]")
        }
        writer.raw("}")
        return writer.bytes
    }

    /// Decodes a page; every change is validated exactly as a pushed one.
    public static func decode(_ bytes: [UInt8], schema: Schema = .timelyRain) throws(ProtocolError) -> PullResponseV1 {
        let json = try TransportV1.parse(bytes)
        guard case .array(let elements)? = json["changes"] else { throw .invalid(path: "changes", reason: "must be an array") }
        var changes: [Change] = []
        changes.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            changes.append(try ChangeV1.decode(element, at: "changes[\(index)]", schema: schema))
        }
        guard case .bool(let more)? = json["more"] else { throw .invalid(path: "more", reason: "must be a boolean") }
        var offices: [ReplicaID: String] = [:]
        if case .object(let members)? = json["offices"] {
            for member in members {
                guard case .string(let office) = member.value else { throw .invalid(path: "offices", reason: "must map ids to strings") }
                offices[ReplicaID(member.key)] = office
            }
        }
        var purge: [RecordKey] = []
        if case .array(let items)? = json["purge"] {
            for (index, item) in items.enumerated() {
                guard case .string(let table)? = item["table"], case .string(let id)? = item["id"] else {
                    throw .invalid(path: "purge[\(index)]", reason: "must be {\"id\", \"table\"}")
                }
                purge.append(RecordKey(table: table, id: id))
            }
        }
        return PullResponseV1(
            changes: changes, cursor: try TransportV1.text(json, "cursor"), more: more, holds: try TransportV1.unsigned(json, "holds"),
            offices: offices, purge: purge)
    }
}

// MARK: - Errors

/// A change the server refused as outside its writer's jurisdiction (§9.6).
public struct RefusedChangeV1: Hashable, Sendable {
    public var table: String
    public var record: String
    public var counter: UInt64

    public init(table: String, record: String, counter: UInt64) {
        self.table = table
        self.record = record
        self.counter = counter
    }
}

/// Every error response: `{"error":{"code":…,"message":…}}`, plus `holds` when a push
/// must restart from another counter (`Protocol/PROTOCOL.md` §9.1), and `refused` for
/// changes outside the writer's jurisdiction (§9.6).
public struct ErrorBodyV1: Hashable, Sendable, Error {
    public var code: String
    public var message: String
    public var holds: UInt64?
    public var refused: [RefusedChangeV1]

    public init(code: String, message: String, holds: UInt64? = nil, refused: [RefusedChangeV1] = []) {
        self.code = code
        self.message = message
        self.holds = holds
        self.refused = refused
    }

    public func encode() -> [UInt8] {
        var writer = CanonicalJSONWriter()
        writer.raw("{\"error\":{\"code\":")
        writer.string(code)
        if let holds {
            writer.raw(",\"holds\":")
            writer.integer(holds)
        }
        writer.raw(",\"message\":")
        writer.string(message)
        if !refused.isEmpty {
            writer.raw(",\"refused\":[")
            for (index, change) in refused.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"counter\":")
                writer.integer(change.counter)
                writer.raw(",\"record\":")
                writer.string(change.record)
                writer.raw(",\"table\":")
                writer.string(change.table)
                writer.raw("}")
            }
            writer.raw("]")
        }
        writer.raw("}}")
        return writer.bytes
    }

    /// Reads an error body; nil when the bytes are not one (a proxy's HTML page, say).
    public static func decode(_ bytes: [UInt8]) -> ErrorBodyV1? {
        guard let json = try? JSONParser.parse(bytes), let error = json["error"], case .string(let code)? = error["code"],
            case .string(let message)? = error["message"]
        else { return nil }
        var holds: UInt64?
        if case .number(let text)? = error["holds"] { holds = UInt64(text) }
        var refused: [RefusedChangeV1] = []
        if case .array(let items)? = error["refused"] {
            for item in items {
                guard case .string(let table)? = item["table"], case .string(let record)? = item["record"],
                    case .number(let counterText)? = item["counter"], let counter = UInt64(counterText)
                else { return nil }
                refused.append(RefusedChangeV1(table: table, record: record, counter: counter))
            }
        }
        return ErrorBodyV1(code: code, message: message, holds: holds, refused: refused)
    }
}

// MARK: - Helpers

extension TransportV1 {
    static func parse(_ bytes: [UInt8]) throws(ProtocolError) -> JSONValue {
        if bytes.count > LimitsV1.maximumBatchBytes { throw .tooLarge(bytes: bytes.count, limit: LimitsV1.maximumBatchBytes) }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw .malformedJSON(error)
        }
    }

    static func checkVersion(_ object: Members) throws(ProtocolError) {
        let value = try object.required("protocol", at: "")
        guard case .number(let text) = value else { throw .invalid(path: "protocol", reason: "must be an integer, not \(value.typeName)") }
        guard let version = Int(text) else { throw .invalid(path: "protocol", reason: "must be an integer version") }
        guard supportedVersions.contains(version) else {
            throw .unsupportedVersion(found: String(text.prefix(20)), supported: supportedVersions)
        }
    }

    static func secret(_ json: JSONValue, at path: String) throws(ProtocolError) -> String {
        let text = try ChangeV1.string(json, at: path)
        if text.isEmpty || text.utf8.count > maximumSecretBytes {
            throw .invalid(path: path, reason: "must be 1 to \(maximumSecretBytes) bytes")
        }
        return text
    }

    static func text(_ json: JSONValue, _ key: String) throws(ProtocolError) -> String {
        guard case .string(let text)? = json[key] else { throw .invalid(path: key, reason: "must be a string") }
        return text
    }

    static func unsigned(_ json: JSONValue, _ key: String) throws(ProtocolError) -> UInt64 {
        guard case .number(let text)? = json[key], let value = UInt64(text) else {
            throw .invalid(path: key, reason: "must be a non-negative integer")
        }
        return value
    }
}
