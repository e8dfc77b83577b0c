import Foundation
import Testing
import Yams

/// `Protocol/PROTOCOL.md` and `Protocol/openapi.yaml` say the same: every error code
/// has one status in §9.1's table and is listed by the document, and the document's
/// schemas carry §2.4's and §7.3's limits.
@Suite struct ProtocolAgreementTests {
    static var folder: URL {
        var folder = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("Protocol")
    }

    func protocolText() throws -> String {
        try String(contentsOfFile: Self.folder.appendingPathComponent("PROTOCOL.md").path, encoding: .utf8)
    }

    func document() throws -> [String: Any] {
        let text = try String(contentsOfFile: Self.folder.appendingPathComponent("openapi.yaml").path, encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    func schema(_ name: String) throws -> [String: Any] {
        let components = try #require(try document()["components"] as? [String: Any])
        let schemas = try #require(components["schemas"] as? [String: Any])
        return try #require(schemas[name] as? [String: Any])
    }

    /// §9.1's table: code → status.
    func statusTable() throws -> [String: Int] {
        let text = try protocolText()
        let section = try #require(text.range(of: "### 9.1 Requests and responses")).upperBound
        let end = try #require(text.range(of: "### 9.2", range: section..<text.endIndex)).lowerBound
        var table: [String: Int] = [:]
        for line in text[section..<end].split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, let status = Int(cells[0]) else { continue }
            for code in cells[1].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter({ $0.offset % 2 == 1 }).map({
                String($0.element)
            }) {
                #expect(table[code] == nil || table[code] == status, "\(code) has two statuses")
                table[code] = status
            }
        }
        return table
    }

    @Test func everyErrorCodeHasOneStatusAndIsListedInBoth() throws {
        let table = try statusTable()
        let error = try #require(try schema("Error")["properties"] as? [String: Any])
        let inner = try #require((error["error"] as? [String: Any])?["properties"] as? [String: Any])
        let description = try #require((inner["code"] as? [String: Any])?["description"] as? String)
        let listed = try #require(description.split(separator: "(").last?.split(separator: ")").first)
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            Set(listed) == Set(table.keys),
            "openapi lists \(Set(listed).subtracting(table.keys)); §9.1 \(Set(table.keys).subtracting(listed))")
        #expect(table["method_not_allowed"] == 405 && table["out_of_scope"] == 403 && table["superseded"] == 401)
    }

    @Test func theSchemasCarryTheLimitsOfTheProtocol() throws {
        let text = try protocolText()
        // §7.3, as written.
        for row in [
            "| text value | 65,536 bytes of UTF-8 |", "| author | 1–256 bytes of UTF-8, no control characters |",
            "| fields per change | 1–256 |", "| context entries | 1,024 |", "| integer and timestamp values | \\|n\\| ≤ 2^53 − 1 |",
        ] {
            #expect(text.contains(row), "§7.3 no longer says \(row)")
        }
        #expect(text.contains("(milliseconds since the epoch, |n| ≤ 2^53 − 1, negative before 1970)"))
        let maximum = 9_007_199_254_740_991
        let value = try #require(try schema("Value")["oneOf"] as? [[String: Any]])
        let string = try #require(value.first { $0["type"] as? String == "string" })
        #expect(string["maxLength"] as? Int == 65_536)
        let integer = try #require(value.first { $0["type"] as? String == "integer" })
        #expect(integer["minimum"] as? Int == -maximum && integer["maximum"] as? Int == maximum)
        let timestamp = try #require(value.first { $0["type"] as? String == "object" })
        let ts = try #require((timestamp["properties"] as? [String: Any])?["ts"] as? [String: Any])
        #expect(ts["minimum"] as? Int == -maximum && ts["maximum"] as? Int == maximum, "dates before 1970 are timestamps too")
        let change = try #require(try schema("Change")["properties"] as? [String: Any])
        let author = try #require(change["author"] as? [String: Any])
        #expect(author["maxLength"] as? Int == 256 && author["minLength"] as? Int == 1)
        #expect((change["fields"] as? [String: Any])?["maxProperties"] as? Int == 256)
        #expect((change["context"] as? [String: Any])?["maxProperties"] as? Int == 1_024)
    }
}
