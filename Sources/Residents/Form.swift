import SyncServer

/// An `application/x-www-form-urlencoded` body or query string, decoded strictly: each
/// name at most once, names from a known list, valid UTF-8 after percent-decoding.
struct Form: Sendable {
    private(set) var values: [String: String] = [:]

    /// Decodes `text`; `known` names every field accepted (others are refused by name,
    /// printable part only), `ignored` those accepted and dropped (Open311's `api_key`…).
    init(_ text: String, known: Set<String>, ignored: Set<String> = []) throws {
        guard !text.isEmpty else { return }
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else {
                throw ResidentError.invalid(zh: "表单编码有误", en: "the form is not valid percent-encoded UTF-8")
            }
            if ignored.contains(name) || name.hasPrefix("attribute[") && ignored.contains("attribute") { continue }
            guard known.contains(name) else {
                throw ResidentError.invalid(zh: "未知字段（\(Self.printable(name))）", en: "unknown field: \(Self.printable(name))")
            }
            guard values[name] == nil else {
                throw ResidentError.invalid(zh: "字段重复（\(name)）", en: "field given twice: \(name)")
            }
            values[name] = value
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    /// `+` is a space; `%XX` a byte; the bytes must be UTF-8.
    static func decode(_ text: Substring) -> String? { FormEncoding.decode(text) }

    /// A field name as an error may print it: ASCII letters, digits and `_[]` (or
    /// `allowing`) only, short.
    static func printable(_ name: String, allowing: String = "_[]") -> String {
        String(
            name.unicodeScalars.prefix(80).map {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || allowing.unicodeScalars.contains($0))
                    ? Character($0) : "?"
            })
    }
}
