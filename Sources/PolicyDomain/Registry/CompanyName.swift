/// A company name reduced to what a search compares (`rain enterprise find`): full-width
/// letters, digits and brackets as half-width, no spaces, capitals, 有限责任公司 as
/// 有限公司 (`full`); and the same without a leading province or city — 广东省深圳市… →
/// … (`key`).
public struct CompanyName: Hashable, Sendable {
    public let full: String
    public let key: String

    public init(_ name: String) {
        var text = ""
        for scalar in name.unicodeScalars {
            switch scalar.value {
            case 0xFF08, 0x3010, 0x3014, 0x005B: text.append("(")  // （ 【 〔 [
            case 0xFF09, 0x3011, 0x3015, 0x005D: text.append(")")  // ） 】 〕 ]
            case 0xFF01...0xFF5E: text.unicodeScalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!)
            case 0x3000, 0x20, 0x09: continue
            default: text.unicodeScalars.append(scalar)
            }
        }
        full = text.uppercased().replacing("有限责任公司", with: "有限公司")
        var stripped = full
        while let prefix = Self.placePrefix(stripped) { stripped.removeFirst(prefix) }
        key = stripped
    }

    /// The length of a leading place name — two to four characters and 省 or 市, or a
    /// name and 自治区 — when at least six characters of name follow it (so 某某超市有限公司
    /// keeps its 超市).
    static func placePrefix(_ text: String) -> Int? {
        let characters = Array(text)
        for length in 3...7 where characters.count >= length + 6 {
            let head = String(characters[..<length])
            if length <= 5, head.hasSuffix("省") || head.hasSuffix("市") { return length }
            if length >= 5, head.hasSuffix("自治区") { return length }
        }
        return nil
    }

    /// How well `self` (what was typed) matches `name`: 2 the same company (also when one
    /// has a place of two to four characters before the other's name, as 北京 in
    /// 北京字节跳动…), 1 one name contains the other, nil no match.
    public func score(against name: CompanyName) -> Int? {
        guard !full.isEmpty, !name.full.isEmpty else { return nil }
        if full == name.full || key == name.key { return 2 }
        let (short, long) = key.count <= name.key.count ? (key, name.key) : (name.key, key)
        if short.count >= 6, (2...4).contains(long.count - short.count), long.hasSuffix(short) { return 2 }
        for (a, b) in [(full, name.full), (key, name.key)] where a.count >= 2 && b.count >= 2 {
            if a.contains(b) || b.contains(a) { return 1 }
        }
        return nil
    }
}
