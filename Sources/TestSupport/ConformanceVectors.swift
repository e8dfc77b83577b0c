public import Foundation
public import SyncCore
public import SyncProtocol

/// A conformance vector's problem: the file and what is wrong with it.
public struct VectorFileError: Error, CustomStringConvertible {
    public let file: String
    public let reason: String
    public var description: String { "cannot load vector: \(reason) (\(file))" }
}

/// What a valid vector expects of one field.
public struct ExpectedField: Equatable, Sendable {
    public let value: Value
    public let siblings: [Dot]
}

/// What a valid vector expects of one record.
public struct ExpectedRecord: Equatable, Sendable {
    public let versionVector: VersionVector
    public let fields: [String: ExpectedField]
}

/// A conflict a valid vector expects to be listed.
public struct ExpectedConflict: Equatable, Sendable {
    public let record: RecordKey
    public let field: String
    public let siblings: [Dot]
    public let winner: Dot

    public init(record: RecordKey, field: String, siblings: [Dot], winner: Dot) {
        self.record = record
        self.field = field
        self.siblings = siblings
        self.winner = winner
    }
}

/// A call of `ReplicaState.resolve` and the change it must produce.
public struct ExpectedResolution: Sendable {
    /// Indices of the vector's changes applied before resolving.
    public let after: [Int]
    public let record: RecordKey
    public let field: String
    public let resolution: Resolution
    public let replica: ReplicaID
    public let author: String
    public let hlc: HLC
    public let produces: Change
}

/// `Protocol/vectors/valid/*.json`: changes, delivery orders and the merged state every
/// order must produce (`Protocol/PROTOCOL.md` §8).
public struct ValidVector: Sendable {
    public let file: String
    public let name: String
    public let changes: [Change]
    /// Each change's canonical encoding, as stored in the file.
    public let canonical: [String]
    /// Each change's SHA-256, as stored in the file.
    public let sha256: [String]
    /// The change objects as they appear in the file.
    public let rawChanges: [JSONValue]
    /// Delivery orders (indices into `changes`; repetitions are re-deliveries).
    public let deliveries: [[Int]]
    public let records: [RecordKey: ExpectedRecord]
    public let conflicts: [ExpectedConflict]
    public let versionVector: VersionVector
    public let resolution: ExpectedResolution?
}

/// `Protocol/vectors/invalid/*.json`: a message that must be refused with this error.
public struct InvalidVector: Sendable {
    public let file: String
    public let name: String
    public let input: [UInt8]
    /// The expected ``ProtocolError/message``.
    public let error: String
    /// The expected ``ProtocolError/code``.
    public let code: String
}

/// Loads the conformance vectors of `Protocol/vectors/`.
public enum ConformanceVectors {
    /// The repository's `Protocol/vectors` folder, found from a source file's path.
    public static func folder(from sourceFile: String = #filePath) -> URL {
        var url = URL(fileURLWithPath: sourceFile)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("Protocol/vectors")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: "Protocol/vectors")
    }

    static func files(_ kind: String) throws -> [URL] {
        let directory = folder().appendingPathComponent(kind)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func parse(_ url: URL) throws -> JSONValue {
        let bytes = [UInt8](try Data(contentsOf: url))
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw VectorFileError(file: url.lastPathComponent, reason: error.description)
        }
    }

    /// Every valid vector.
    public static func valid() throws -> [ValidVector] {
        try files("valid").map { url in
            let file = url.lastPathComponent
            let root = try parse(url)
            let reader = Reader(file: file)
            let entries = try reader.array(root["changes"], "changes")
            var changes: [Change] = []
            var canonical: [String] = []
            var hashes: [String] = []
            var raw: [JSONValue] = []
            for (index, entry) in entries.enumerated() {
                let json = entry["change"] ?? .null
                raw.append(json)
                changes.append(try reader.change(json, "changes[\(index)].change"))
                canonical.append(try reader.string(entry["canonical"], "changes[\(index)].canonical"))
                hashes.append(try reader.string(entry["sha256"], "changes[\(index)].sha256"))
            }
            let deliveries = try reader.array(root["deliveries"], "deliveries").enumerated().map { index, order in
                try reader.array(order, "deliveries[\(index)]").map { try reader.int($0, "deliveries[\(index)]") }
            }
            let expect = root["expect"] ?? .null
            var records: [RecordKey: ExpectedRecord] = [:]
            for (key, value) in try reader.object(expect["records"], "expect.records") {
                var fields: [String: ExpectedField] = [:]
                for (name, field) in try reader.object(value["fields"], "expect.records.\(key).fields") {
                    let where_ = "expect.records.\(key).fields.\(name)"
                    fields[name] = ExpectedField(
                        value: try reader.value(field["value"], where_ + ".value"),
                        siblings: try reader.array(field["siblings"], where_ + ".siblings").map { try reader.dot($0, where_) }
                    )
                }
                records[try reader.recordKey(key)] = ExpectedRecord(
                    versionVector: try reader.vector(value["version_vector"], "expect.records.\(key).version_vector"),
                    fields: fields
                )
            }
            let conflicts = try reader.array(expect["conflicts"], "expect.conflicts").map { conflict in
                ExpectedConflict(
                    record: try reader.recordKey(try reader.string(conflict["record"], "conflict.record")),
                    field: try reader.string(conflict["field"], "conflict.field"),
                    siblings: try reader.array(conflict["siblings"], "conflict.siblings").map { try reader.dot($0, "conflict") },
                    winner: try reader.dot(conflict["winner"] ?? .null, "conflict.winner")
                )
            }
            var resolution: ExpectedResolution?
            if let step = root["resolve"] {
                let how: Resolution
                if let keep = step["keep"] {
                    how = .keep(try reader.int(keep, "resolve.keep"))
                } else {
                    how = .value(try reader.value(step["value"], "resolve.value"))
                }
                resolution = ExpectedResolution(
                    after: try reader.array(step["after"], "resolve.after").map { try reader.int($0, "resolve.after") },
                    record: try reader.recordKey(try reader.string(step["record"], "resolve.record")),
                    field: try reader.string(step["field"], "resolve.field"),
                    resolution: how,
                    replica: ReplicaID(try reader.string(step["replica"], "resolve.replica")),
                    author: try reader.string(step["author"], "resolve.author"),
                    hlc: HLC(
                        wall: UInt64(try reader.int(step["hlc"]?["wall"], "resolve.hlc.wall")),
                        logical: UInt32(try reader.int(step["hlc"]?["logical"], "resolve.hlc.logical"))
                    ),
                    produces: try reader.change(step["produces"] ?? .null, "resolve.produces")
                )
            }
            return ValidVector(
                file: file,
                name: try reader.string(root["name"], "name"),
                changes: changes,
                canonical: canonical,
                sha256: hashes,
                rawChanges: raw,
                deliveries: deliveries,
                records: records,
                conflicts: conflicts,
                versionVector: try reader.vector(expect["version_vector"], "expect.version_vector"),
                resolution: resolution
            )
        }
    }

    /// Every invalid vector.
    public static func invalid() throws -> [InvalidVector] {
        try files("invalid").map { url in
            let file = url.lastPathComponent
            let root = try parse(url)
            let reader = Reader(file: file)
            let input: [UInt8]
            if let base64 = root["input_base64"] {
                guard let data = Data(base64Encoded: try reader.string(base64, "input_base64")) else {
                    throw VectorFileError(file: file, reason: "input_base64 is not base64")
                }
                input = [UInt8](data)
            } else if let repeated = root["input_repeat"] {
                // {"prefix": …, "unit": …, "separator": …, "count": n, "suffix": …} keeps
                // vectors about size limits small on disk.
                let unit = try reader.string(repeated["unit"], "input_repeat.unit")
                let count = try reader.int(repeated["count"], "input_repeat.count")
                let separator = try reader.string(repeated["separator"], "input_repeat.separator")
                let text =
                    try reader.string(repeated["prefix"], "input_repeat.prefix")
                    + Array(repeating: unit, count: count).joined(separator: separator)
                    + reader.string(repeated["suffix"], "input_repeat.suffix")
                input = Array(text.utf8)
            } else {
                input = Array(try reader.string(root["input"], "input").utf8)
            }
            return InvalidVector(
                file: file,
                name: try reader.string(root["name"], "name"),
                input: input,
                error: try reader.string(root["error"], "error"),
                code: try reader.string(root["code"], "code")
            )
        }
    }
}

/// Typed access to a vector file's JSON with errors that name the place.
struct Reader {
    let file: String

    func fail(_ path: String, _ reason: String) -> VectorFileError {
        VectorFileError(file: file, reason: "\(path): \(reason)")
    }

    func string(_ json: JSONValue?, _ path: String) throws -> String {
        guard case .string(let text)? = json else { throw fail(path, "expected a string") }
        return text
    }

    func int(_ json: JSONValue?, _ path: String) throws -> Int {
        guard case .number(let text)? = json, let value = Int(text) else { throw fail(path, "expected an integer") }
        return value
    }

    func array(_ json: JSONValue?, _ path: String) throws -> [JSONValue] {
        guard case .array(let items)? = json else { throw fail(path, "expected an array") }
        return items
    }

    func object(_ json: JSONValue?, _ path: String) throws -> [(key: String, value: JSONValue)] {
        guard case .object(let members)? = json else { throw fail(path, "expected an object") }
        return members.map { ($0.key, $0.value) }
    }

    func change(_ json: JSONValue, _ path: String) throws -> Change {
        do {
            return try ChangeV1.decode(json, at: path, schema: .timelyRain)
        } catch {
            throw fail(path, error.message)
        }
    }

    func value(_ json: JSONValue?, _ path: String) throws -> Value {
        do {
            return try ChangeV1.decodeValue(json ?? .null, at: path)
        } catch {
            throw fail(path, error.message)
        }
    }

    func dot(_ json: JSONValue, _ path: String) throws -> Dot {
        let text = try string(json, path)
        guard let colon = text.lastIndex(of: ":"), let counter = UInt64(text[text.index(after: colon)...]), counter > 0 else {
            throw fail(path, "expected a dot such as \"ra:1\"")
        }
        return Dot(ReplicaID(String(text[..<colon])), counter)
    }

    func vector(_ json: JSONValue?, _ path: String) throws -> VersionVector {
        var vector = VersionVector()
        for (key, value) in try object(json, path) {
            vector.advance(ReplicaID(key), to: UInt64(try int(value, path + "." + key)))
        }
        return vector
    }

    func recordKey(_ text: String) throws -> RecordKey {
        guard let slash = text.firstIndex(of: "/") else { throw fail(text, "expected table/id") }
        return RecordKey(table: String(text[..<slash]), id: String(text[text.index(after: slash)...]))
    }
}
