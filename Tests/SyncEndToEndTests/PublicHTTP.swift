import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Requests to the residents' routes as a phone or a third-party client sends them: no
/// credential, no protocol header, form-encoded bodies.
enum PublicHTTP {
    struct Answer {
        let status: Int
        let text: String
        let headers: HTTPHeaders
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }
        var list: [[String: Any]] { json as? [[String: Any]] ?? [] }
        var first: [String: Any] { list.first ?? [:] }
        /// GeoReport's error description.
        var description: String { first["description"] as? String ?? "" }
    }

    /// `application/x-www-form-urlencoded`, each value percent-encoded.
    static func form(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { name, value in
            (name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "") + "="
                + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
        }.joined(separator: "&")
    }

    static func send(
        _ method: HTTPMethod, _ url: String, form fields: [(String, String)]? = nil, body: [UInt8]? = nil,
        contentType: String? = "application/x-www-form-urlencoded", headers extra: [(String, String)] = []
    ) async throws -> Answer {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in extra { request.headers.add(name: name, value: value) }
            if let fields {
                request.body = .bytes(ByteBuffer(string: form(fields)))
                if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            } else if let body {
                request.body = .bytes(ByteBuffer(bytes: body))
                if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            }
            let response = try await client.execute(request, timeout: .seconds(30))
            var buffer = try await response.body.collect(upTo: 8 * 1024 * 1024)
            let text = buffer.readString(length: buffer.readableBytes) ?? ""
            try await client.shutdown()
            return Answer(status: Int(response.status.code), text: text, headers: response.headers)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A submission with everything right, `changes` replacing or adding fields.
    static func submission(community: String = "HSM", phone: String, _ changes: [(String, String)] = []) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("jurisdiction_id", community), ("service_code", "complaint-2"), ("description", "楼道里堆满杂物，消防通道被堵"),
            ("address_string", "和平路 88 号 3 栋"), ("first_name", "芳"), ("last_name", "王"), ("phone", phone),
        ]
        for (name, value) in changes {
            if let index = fields.firstIndex(where: { $0.0 == name }) { fields[index].1 = value } else { fields.append((name, value)) }
        }
        return fields
    }
}
