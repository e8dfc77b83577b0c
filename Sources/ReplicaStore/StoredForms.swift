import SyncCore
import SyncProtocol

/// The JSON forms of merge state kept in `field_versions`, written with the protocol's
/// canonical writer and read with its strict parser.
enum StoredForms {
    /// `{"field":{"context":{…},"siblings":[…]},…}` for every field of `record`.
    static func encode(fields record: SyncCore.Record) -> String {
        // One buffer for the whole record: this runs once per record per transaction.
        var writer = CanonicalJSONWriter(capacity: 2048)
        writer.raw("{")
        for (index, entry) in record.registersByName.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(entry.name)
            writer.raw(":{\"context\":")
            write(vector: entry.register.context, into: &writer)
            writer.raw(",\"siblings\":")
            write(siblings: entry.register.siblings, into: &writer)
            writer.raw("}")
        }
        writer.raw("}")
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func decodeFields(_ text: String, at place: String) throws(ReplicaStoreError) -> [String: FieldRegister] {
        guard case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) else { throw .corrupt(place) }
        var registers: [String: FieldRegister] = [:]
        for member in members {
            guard let siblingsJSON = member.value["siblings"], let contextJSON = member.value["context"] else { throw .corrupt(place) }
            registers[member.key] = FieldRegister(
                siblings: try decodeSiblings(siblingsJSON, at: place), context: try decodeVector(contextJSON, at: place))
        }
        return registers
    }

    /// `{"replica":{"complete":n,"links":[[c,p],…],"orphans":{"c":p}},…}`
    static func encode(chains: [ReplicaID: ChainState]) -> String {
        "{"
            + chains.sorted { $0.key < $1.key }.map { replica, chain in
                var key = CanonicalJSONWriter()
                key.string(replica.rawValue)
                return String(decoding: key.bytes, as: UTF8.self) + ":{\"complete\":\(chain.complete),\"links\":"
                    + encode(links: chain.links) + ",\"orphans\":" + encode(orphans: chain.orphans) + "}"
            }.joined(separator: ",") + "}"
    }

    static func decodeChains(_ text: String, at place: String) throws(ReplicaStoreError) -> [ReplicaID: ChainState] {
        guard case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) else { throw .corrupt(place) }
        var chains: [ReplicaID: ChainState] = [:]
        for member in members {
            guard case .number(let completeText)? = member.value["complete"], let complete = UInt64(completeText),
                case .array(let items)? = member.value["links"], case .object(let orphanMembers)? = member.value["orphans"]
            else { throw .corrupt(place) }
            var links: [(counter: UInt64, previous: UInt64)] = []
            for item in items {
                guard case .array(let pair) = item, pair.count == 2, case .number(let counterText) = pair[0],
                    case .number(let previousText) = pair[1], let counter = UInt64(counterText), let previous = UInt64(previousText)
                else { throw .corrupt(place) }
                links.append((counter, previous))
            }
            var orphans: [UInt64: UInt64] = [:]
            for orphan in orphanMembers {
                guard let key = UInt64(orphan.key), case .number(let valueText) = orphan.value, let value = UInt64(valueText) else {
                    throw .corrupt(place)
                }
                orphans[key] = value
            }
            chains[ReplicaID(member.key)] = ChainState(complete: complete, links: links, orphans: orphans)
        }
        return chains
    }

    /// `[{"author":…,"dot":"r:n","hlc":[wall,logical],"round":n,"value":…}, …]`
    static func write(siblings: [Sibling], into writer: inout CanonicalJSONWriter) {
        writer.raw("[")
        for (index, sibling) in siblings.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"author\":")
            writer.string(sibling.author)
            writer.raw(",\"dot\":")
            writer.string("\(sibling.dot.replica.rawValue):\(sibling.dot.counter)")
            writer.raw(",\"hlc\":[")
            writer.integer(sibling.hlc.wall)
            writer.raw(",")
            writer.integer(sibling.hlc.logical)
            writer.raw("],\"round\":")
            writer.integer(sibling.round)
            writer.raw(",\"value\":")
            ChangeV1.encode(sibling.value, into: &writer)
            writer.raw("}")
        }
        writer.raw("]")
    }

    static func decodeSiblings(_ json: JSONValue, at place: String) throws(ReplicaStoreError) -> [Sibling] {
        guard case .array(let items) = json else { throw .corrupt(place) }
        var siblings: [Sibling] = []
        for item in items {
            guard case .string(let author)? = item["author"], case .string(let dotText)? = item["dot"],
                let dot = dot(dotText), case .array(let hlc)? = item["hlc"], hlc.count == 2,
                case .number(let wallText) = hlc[0], let wall = UInt64(wallText),
                case .number(let logicalText) = hlc[1], let logical = UInt32(logicalText),
                case .number(let roundText)? = item["round"], let round = Int64(roundText),
                let valueJSON = item["value"], let value = try? ChangeV1.decodeValue(valueJSON, at: place)
            else { throw .corrupt(place) }
            siblings.append(Sibling(dot: dot, value: value, hlc: HLC(wall: wall, logical: logical), author: author, round: round))
        }
        return siblings
    }

    /// `{"replica":counter,…}`
    static func write(vector: VersionVector, into writer: inout CanonicalJSONWriter) {
        writer.raw("{")
        for (index, entry) in vector.entries.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(entry.replica.rawValue)
            writer.raw(":")
            writer.integer(entry.counter)
        }
        writer.raw("}")
    }

    static func decodeVector(_ json: JSONValue, at place: String) throws(ReplicaStoreError) -> VersionVector {
        guard case .object(let members) = json else { throw .corrupt(place) }
        var vector = VersionVector()
        for member in members {
            guard case .number(let counterText) = member.value, let counter = UInt64(counterText) else { throw .corrupt(place) }
            vector.advance(ReplicaID(member.key), to: counter)
        }
        return vector
    }

    /// `[[counter,previous],…]`
    static func encode(links: [(counter: UInt64, previous: UInt64)]) -> String {
        "[" + links.map { "[\($0.counter),\($0.previous)]" }.joined(separator: ",") + "]"
    }

    static func encode(orphans: [UInt64: UInt64]) -> String {
        "{" + orphans.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }

    static func dot(_ text: String) -> Dot? {
        guard let colon = text.lastIndex(of: ":"), let counter = UInt64(text[text.index(after: colon)...]), counter >= 1 else {
            return nil
        }
        return Dot(ReplicaID(String(text[..<colon])), counter)
    }
}
