public import SyncProtocol

/// `POST /payment-batches` (PROTOCOL §10.3): a department (or the district) asks the server
/// to reserve the approved, unpaid grants not yet in a batch — atomically, under the lock
/// every push takes — or to send again a batch it reserved before.
///
/// Request: `{}` (a new batch) or `{"batch": "ID"}` (that batch again). Response:
/// `{"batch": "ID", "grants": [{"id", "policy", "credit_code", "name", "bank", "account",
/// "amount_fen"}, …]}` — `batch` is null when nothing was left to reserve.
public enum PaymentBatchWire {
    /// The largest request body: a batch id.
    public static let maximumRequestBytes = 1024

    /// One grant of a batch, with what the bank needs.
    public struct Line: Hashable, Sendable {
        public var id: String
        public var policy: String
        public var creditCode: String
        public var name: String?
        public var bank: String?
        public var account: String?
        public var amountFen: Int64

        public init(id: String, policy: String, creditCode: String, name: String?, bank: String?, account: String?, amountFen: Int64) {
            self.id = id
            self.policy = policy
            self.creditCode = creditCode
            self.name = name
            self.bank = bank
            self.account = account
            self.amountFen = amountFen
        }
    }

    /// Why a request or response was refused: what and where.
    public struct Invalid: Error, Hashable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The batch a request asks for again, or nil for a new one.
    public static func decodeRequest(_ bytes: [UInt8]) throws(Invalid) -> String? {
        guard bytes.count <= maximumRequestBytes else { throw Invalid(description: "the request is over \(maximumRequestBytes) bytes") }
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch { throw Invalid(description: "not JSON: \(error)") }
        guard case .object(let members) = json else { throw Invalid(description: "expected a JSON object, found \(json.typeName)") }
        if let unknown = members.first(where: { $0.key != "batch" }) { throw Invalid(description: "unknown member \(unknown.key)") }
        guard let batch = json["batch"] else { return nil }
        guard case .string(let text) = batch, !text.isEmpty, text.utf8.count <= 100 else {
            throw Invalid(description: "batch must be a batch id, a string of 1 to 100 bytes (batch)")
        }
        return text
    }

    public static func encodeRequest(batch: String?) -> [UInt8] {
        var writer = CanonicalJSONWriter()
        writer.raw("{")
        if let batch {
            writer.string("batch")
            writer.raw(":")
            writer.string(batch)
        }
        writer.raw("}")
        return writer.bytes
    }

    public static func encodeResponse(batch: String?, lines: [Line]) -> [UInt8] {
        var writer = CanonicalJSONWriter()
        func member(_ name: String, _ value: String?, comma: Bool = true) {
            writer.string(name)
            writer.raw(":")
            if let value { writer.string(value) } else { writer.raw("null") }
            if comma { writer.raw(",") }
        }
        writer.raw("{")
        member("batch", batch)
        writer.string("grants")
        writer.raw(":[")
        for (index, line) in lines.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{")
            member("account", line.account)
            writer.string("amount_fen")
            writer.raw(":")
            writer.integer(line.amountFen)
            writer.raw(",")
            member("bank", line.bank)
            member("credit_code", line.creditCode)
            member("id", line.id)
            member("name", line.name)
            member("policy", line.policy, comma: false)
            writer.raw("}")
        }
        writer.raw("]}")
        return writer.bytes
    }

    public static func decodeResponse(_ bytes: [UInt8]) throws(Invalid) -> (batch: String?, lines: [Line]) {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch { throw Invalid(description: "not JSON: \(error)") }
        func text(_ value: JSONValue?, _ path: String, optional: Bool) throws(Invalid) -> String? {
            switch value {
            case .string(let text)?: return text
            case .null? where optional, nil where optional: return nil
            default: throw Invalid(description: "\(path) must be a string")
            }
        }
        let batch = try text(json["batch"], "batch", optional: true)
        guard case .array(let items)? = json["grants"] else { throw Invalid(description: "grants must be an array") }
        var lines: [Line] = []
        for (index, item) in items.enumerated() {
            let path = "grants[\(index)]"
            guard case .number(let digits)? = item["amount_fen"], let fen = Int64(digits), fen >= 0 else {
                throw Invalid(description: "\(path).amount_fen must be a whole number of fen")
            }
            lines.append(
                Line(
                    id: try text(item["id"], path + ".id", optional: false)!,
                    policy: try text(item["policy"], path + ".policy", optional: false)!,
                    creditCode: try text(item["credit_code"], path + ".credit_code", optional: false)!,
                    name: try text(item["name"], path + ".name", optional: true),
                    bank: try text(item["bank"], path + ".bank", optional: true),
                    account: try text(item["account"], path + ".account", optional: true), amountFen: fen))
        }
        return (batch, lines)
    }
}
