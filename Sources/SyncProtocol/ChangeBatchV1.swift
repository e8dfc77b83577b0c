public import SyncCore

/// A batch of changes on the wire, protocol version 1 (`Protocol/PROTOCOL.md` §7.2):
/// `{"changes":[…],"protocol":1}`.
public enum ChangeBatchV1 {
    /// The protocol versions this implementation speaks.
    public static let supportedVersions = [1]

    /// The canonical encoding of a batch.
    public static func encode<C: Collection>(_ changes: C) -> [UInt8] where C.Element == Change {
        var writer = CanonicalJSONWriter(capacity: 64 + changes.count * 400)
        writer.raw("{\"changes\":[")
        var first = true
        for change in changes {
            if !first { writer.raw(",") }
            first = false
            ChangeV1.encode(change, into: &writer)
        }
        writer.raw("],\"protocol\":1}")
        return writer.bytes
    }

    /// A batch of changes already in their canonical encoding (as a replica stores them).
    public static func encode(canonicalBodies bodies: [[UInt8]]) -> [UInt8] {
        var writer = CanonicalJSONWriter(capacity: bodies.reduce(64) { $0 + $1.count + 1 })
        writer.raw("{\"changes\":[")
        for (index, body) in bodies.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.append(body)
        }
        writer.raw("],\"protocol\":1}")
        return writer.bytes
    }

    /// Decodes and validates a batch from untrusted bytes.
    ///
    /// Refuses, with a ``ProtocolError`` naming the problem and its place: bodies over
    /// ``LimitsV1/maximumBatchBytes``, malformed JSON, missing, unknown or mistyped
    /// fields, out-of-range numbers, invalid ids, over-long values, batches over
    /// ``LimitsV1/maximumChangesPerBatch``, and the same dot twice with different
    /// content. The same change twice is accepted (delivery is idempotent).
    ///
    /// - Complexity: O(bytes).
    public static func decode(_ bytes: [UInt8], schema: Schema = .timelyRain) throws(ProtocolError) -> [Change] {
        if bytes.count > LimitsV1.maximumBatchBytes {
            throw .tooLarge(bytes: bytes.count, limit: LimitsV1.maximumBatchBytes)
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw .malformedJSON(error)
        }
        return try decode(json, schema: schema)
    }

    /// Decodes and validates a batch from parsed JSON.
    public static func decode(_ json: JSONValue, schema: Schema = .timelyRain) throws(ProtocolError) -> [Change] {
        let object = try Members(json, at: "", keys: ["changes", "protocol"])
        try TransportV1.checkVersion(object)
        let changesValue = try object.required("changes", at: "")
        guard case .array(let elements) = changesValue else {
            throw .invalid(path: "changes", reason: "must be an array, not \(changesValue.typeName)")
        }
        if elements.count > LimitsV1.maximumChangesPerBatch {
            throw .invalid(path: "changes", reason: "must hold at most \(LimitsV1.maximumChangesPerBatch) changes, found \(elements.count)")
        }
        var changes: [Change] = []
        changes.reserveCapacity(elements.count)
        // Each writer's counters usually ascend through a batch, which rules out a repeated
        // dot without a set of dots; only otherwise are dots indexed.
        var ascending = true
        var lastByWriter: (writer: ReplicaID, counter: UInt64)?
        var earlierRuns: [ReplicaID: UInt64] = [:]
        for (index, element) in elements.enumerated() {
            let change = try ChangeV1.decode(element, at: "changes[\(index)]", schema: schema)
            let dot = change.dot
            if let last = lastByWriter, last.writer == dot.replica {
                if dot.counter <= last.counter { ascending = false }
            } else {
                if let last = lastByWriter { earlierRuns[last.writer] = max(earlierRuns[last.writer] ?? 0, last.counter) }
                if let earlier = earlierRuns[dot.replica], earlier >= dot.counter { ascending = false }
            }
            lastByWriter = (dot.replica, dot.counter)
            changes.append(change)
        }
        if !ascending {
            var positions: [Dot: Int] = [:]
            for (index, change) in changes.enumerated() {
                if let earlier = positions[change.dot] {
                    if changes[earlier] != change {
                        throw .invalid(
                            path: "changes[\(index)].dot",
                            reason: "\(change.dot) already appears at changes[\(earlier)] with different content")
                    }
                } else {
                    positions[change.dot] = index
                }
            }
        }
        return changes
    }
}
