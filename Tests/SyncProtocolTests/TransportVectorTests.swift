import Foundation
import SyncCore
import SyncProtocol
import TestSupport
import Testing

/// `Protocol/vectors/transport/*.json`: the bodies of §9, decoded (and re-encoded) by
/// this implementation exactly as the vectors, written by hand, expect.
@Suite struct TransportVectorTests {
    struct Vector: CustomStringConvertible, Sendable {
        let name: String
        let message: String
        let input: String
        /// `expect`, as JSON text (parsed in the test).
        let expect: String?
        let canonical: String?
        let error: String?
        let code: String?
        var description: String { name }
    }

    static func vectors() throws -> [Vector] {
        let folder = ConformanceVectors.folder().appendingPathComponent("transport")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        return try files.map { file in
            let data = try Data(contentsOf: folder.appendingPathComponent(file))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            return Vector(
                name: object["name"] as? String ?? file, message: object["message"] as? String ?? "",
                input: object["input"] as? String ?? "",
                expect: try object["expect"].map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) },
                canonical: object["canonical"] as? String, error: object["error"] as? String, code: object["code"] as? String)
        }
    }

    @Test func thereAreTransportVectors() throws {
        // Every file of Protocol/vectors/transport, loaded (a vector added or removed
        // changes this count with Protocol/tools/make_vectors.py).
        #expect(try Self.vectors().count == 17)
    }

    @Test(arguments: try vectors()) func eachVectorDecodesAsExpected(vector: Vector) throws {
        let bytes = Array(vector.input.utf8)
        let expect = try vector.expect.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? nil
        func expected(_ key: String) -> String? {
            switch expect?[key] {
            case let text as String: text
            case let number as NSNumber: number.stringValue
            default: nil
            }
        }
        do {
            switch vector.message {
            case "enrol_request":
                let request = try EnrolRequestV1.decode(bytes)
                #expect(
                    request.replica.rawValue == expected("replica") && request.staff == expected("staff")
                        && request.token == expected("token"))
                if let canonical = vector.canonical { #expect(String(decoding: request.encode(), as: UTF8.self) == canonical) }
            case "push_response":
                let answer = try PushResponseV1.decode(bytes)
                #expect("\(answer.accepted)" == expected("accepted") && "\(answer.duplicates)" == expected("duplicates"))
                #expect("\(answer.holds)" == expected("holds"))
                if let canonical = vector.canonical { #expect(String(decoding: answer.encode(), as: UTF8.self) == canonical) }
            case "pull_response":
                let page = try PullResponseV1.decode(bytes)
                let dots = page.changes.map { "\($0.dot.replica.rawValue):\($0.dot.counter)" }
                #expect(dots == expect?["dots"] as? [String])
                let offices = Dictionary(uniqueKeysWithValues: page.offices.map { ($0.key.rawValue, $0.value) })
                #expect(offices == expect?["offices"] as? [String: String])
                #expect(page.cursor == expected("cursor") && "\(page.holds)" == expected("holds"))
                #expect(page.more == (expect?["more"] as? Bool))
                #expect(page.purge.map(\.description) == (expect?["purge"] as? [String] ?? []))
                if let canonical = vector.canonical {
                    let encoded = PullResponseV1.encode(
                        canonicalBodies: page.changes.map(ChangeV1.encode), cursor: page.cursor, more: page.more, holds: page.holds,
                        offices: page.offices, purge: page.purge)
                    #expect(String(decoding: encoded, as: UTF8.self) == canonical)
                }
            case "rekey_response":
                let answer = try RekeyResponseV1.decode(bytes)
                #expect(answer.credential == expected("credential"))
                if let canonical = vector.canonical { #expect(String(decoding: answer.encode(), as: UTF8.self) == canonical) }
            case "reissue_request":
                let request = try ReissueRequestV1.decode(bytes)
                #expect(request.replica.rawValue == expected("replica") && "\(request.after)" == expected("after"))
                #expect(request.digests == expect?["digests"] as? [String])
                if let canonical = vector.canonical { #expect(String(decoding: request.encode(), as: UTF8.self) == canonical) }
            case "reissue_response":
                let answer = try ReissueResponseV1.decode(bytes)
                #expect(answer.credential == expected("credential") && answer.replica.rawValue == expected("replica"))
                #expect("\(answer.same)" == expected("same") && "\(answer.holds)" == expected("holds"))
                if let canonical = vector.canonical { #expect(String(decoding: answer.encode(), as: UTF8.self) == canonical) }
            case "error":
                let error = try #require(ErrorBodyV1.decode(bytes))
                #expect(
                    error.code == expected("code") && error.message == expected("message")
                        && error.holds.map { "\($0)" } == expected("holds"))
                if let canonical = vector.canonical { #expect(String(decoding: error.encode(), as: UTF8.self) == canonical) }
            default:
                Issue.record("unknown message kind \(vector.message)")
            }
            #expect(vector.error == nil, "\(vector.name) should have been refused with \(vector.error ?? "")")
        } catch let error as ProtocolError {
            #expect(error.message == vector.error, "\(vector.name)")
            #expect(error.code == vector.code, "\(vector.name)")
        }
    }
}
