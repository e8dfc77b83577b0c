/// Texts, places and phones reduced to what duplicate detection compares (README,
/// "Similarity rules"). Pure: the replica stores these keys beside each case so that a
/// lookup is an index read.
public enum LikenessKeys {
    /// `text` with full-width ASCII folded to ASCII (`ＡＢ１２` → `ab12`), the ideographic
    /// space to a space, and letters lowercased.
    public static func fold(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0xFF01...0xFF5E: scalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!)
            case 0x3000: scalars.append(" ")
            default: scalars.append(scalar)
            }
        }
        return String(scalars).lowercased()
    }

    /// The letters and digits of the folded text (punctuation, symbols and spaces dropped).
    static func kept(_ text: String) -> [Unicode.Scalar] {
        fold(text).unicodeScalars.filter { $0.properties.isAlphabetic || $0.properties.numericType != nil }
    }

    /// The text's character bigrams, each two scalars packed in one integer (no hashing, so
    /// no collisions), unique and sorted. Chinese words are mostly two characters: bigrams
    /// catch `路灯不亮` in `门口的路灯坏了不亮`, where trigrams miss. A one-character text
    /// has its one character as its only gram.
    public static func grams(_ text: String) -> [Int64] {
        let scalars = kept(text)
        if scalars.count == 1 { return [Int64(scalars[0].value)] }
        var grams = Set<Int64>()
        grams.reserveCapacity(scalars.count)
        for index in scalars.indices.dropLast() {
            grams.insert(Int64(scalars[index].value) << 21 | Int64(scalars[index + 1].value))
        }
        return grams.sorted()
    }

    /// The Dice coefficient of two gram sets: 2·|A∩B| / (|A|+|B|), 0 for two empty sets.
    public static func dice(shared: Int, _ a: Int, _ b: Int) -> Double {
        a + b == 0 ? 0 : 2 * Double(shared) / Double(a + b)
    }

    /// The Dice coefficient of two sorted, unique gram lists.
    public static func dice(_ a: [Int64], _ b: [Int64]) -> Double {
        var (i, j, shared) = (0, 0, 0)
        while i < a.count, j < b.count {
            if a[i] == b[j] {
                shared += 1
                i += 1
                j += 1
            } else if a[i] < b[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return dice(shared: shared, a.count, b.count)
    }

    /// A phone as compared: its digits, when they are a mainland mobile number (11 digits,
    /// `1…`) or a landline with its area code (`0` + 9–11 digits); nil otherwise.
    public static func phone(_ phone: String?) -> String? {
        guard let phone else { return nil }
        let digits = String(fold(phone).unicodeScalars.filter { ("0"..."9").contains($0) })
        if digits.count == 11, digits.hasPrefix("1") { return digits }
        if digits.hasPrefix("0"), (10...12).contains(digits.count) { return digits }
        return nil
    }

    /// A place as compared: the address folded to half-width, without spaces or
    /// punctuation, Chinese numerals as digits (`三栋` → `3栋`), a leading province, city
    /// and district dropped (`湖南省长沙市雨花区`), building forms made one (`号楼`, `幢`,
    /// `座` → `栋`; `3-2-501` → `3栋2单元501`) and a final `室` or `号` dropped. Nil when
    /// what is left has no digit or fewer than four characters: a place without a number
    /// (a whole estate) is not precise enough to call two cases the same place.
    public static func place(_ address: String?) -> String? {
        guard let address else { return nil }
        var text = String(
            String.UnicodeScalarView(
                fold(address).unicodeScalars.filter {
                    $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "-"
                }))
        text = numeralsAsDigits(text)
        text = withoutRegion(text)
        for (from, to) in [("号楼", "栋"), ("幢", "栋"), ("座", "栋"), ("单元号", "单元"), ("门牌", "")] {
            text = text.replacingAll(from, with: to)
        }
        text = dashedUnits(text)
        while let last = text.last, last == "室" || last == "号" { text.removeLast() }
        guard text.count >= 4, text.contains(where: { $0.isASCII && $0.isNumber }) else { return nil }
        return text
    }

    /// Runs of Chinese numerals (`二十三`, `一〇二`) as Arabic digits.
    static func numeralsAsDigits(_ text: String) -> String {
        let digits: [Character: Int] = [
            "〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
        ]
        var out = ""
        var run: [Character] = []
        func flush() {
            defer { run.removeAll() }
            guard !run.isEmpty else { return }
            if !run.contains("十") && !run.contains("百") {
                out += run.map { String(digits[$0] ?? 0) }.joined()
                return
            }
            // 十 = 10, 二十三 = 23, 一百零五 = 105.
            var total = 0
            var current = 0
            for character in run {
                if character == "百" {
                    total += max(current, 1) * 100
                    current = 0
                } else if character == "十" {
                    total += max(current, 1) * 10
                    current = 0
                } else {
                    current = digits[character] ?? 0
                }
            }
            out += String(total + current)
        }
        for character in text {
            if digits[character] != nil || character == "十" || character == "百" {
                run.append(character)
            } else {
                flush()
                out.append(character)
            }
        }
        flush()
        return out
    }

    /// Drops a leading `…省`, `…市` and a two- or three-character `…区`/`…县` (never a
    /// `…小区`: an estate's name is part of the place).
    static func withoutRegion(_ text: String) -> String {
        var rest = Substring(text)
        for (suffix, longest) in [("省", 7), ("市", 7)] {
            if let index = rest.prefix(longest).firstIndex(of: Character(suffix)) { rest = rest[rest.index(after: index)...] }
        }
        for suffix: Character in ["区", "县"] {
            if let index = rest.prefix(4).firstIndex(of: suffix), rest.distance(from: rest.startIndex, to: index) >= 2,
                rest[rest.index(before: index)] != "小"
            {
                rest = rest[rest.index(after: index)...]
                break
            }
        }
        return String(rest)
    }

    /// `3-2-501` → `3栋2单元501`, `3-501` → `3栋501`; other dashes dropped.
    static func dashedUnits(_ text: String) -> String {
        let parts = text.split(separator: "-", omittingEmptySubsequences: true)
        guard parts.count > 1 else { return text }
        func isNumber(_ part: Substring) -> Bool { !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }
        // The run of numbers that ends the address: before it, whatever the address says.
        let tail = parts.reversed().prefix { isNumber($0) }.count
        guard tail >= 2, tail <= 3 else { return parts.joined() }
        let head = parts.dropLast(tail)
        let lead = head.last.map { part -> (String, String) in
            // `幸福小区3` - `2` - `501`: the first number is glued to the name before it.
            let digits = part.reversed().prefix { $0.isASCII && $0.isNumber }
            return (String(part.dropLast(digits.count)), String(digits.reversed()))
        }
        var numbers = parts.suffix(tail).map(String.init)
        var prefix = head.dropLast().joined()
        if let (name, digits) = lead {
            prefix += name
            if !digits.isEmpty {
                numbers.insert(digits, at: 0)
            }
        }
        if numbers.count > 3 { return parts.joined() }
        let units = numbers.count == 3 ? ["栋", "单元", ""] : ["栋", ""]
        return prefix + zip(numbers, units).map { $0 + $1 }.joined()
    }
}

extension String {
    /// Every occurrence of `target` replaced (without Foundation: this module has none).
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        let pattern = Array(target)
        let characters = Array(self)
        guard !pattern.isEmpty, characters.count >= pattern.count else { return self }
        var out = ""
        var index = 0
        while index < characters.count {
            if index + pattern.count <= characters.count, Array(characters[index..<index + pattern.count]) == pattern {
                out += replacement
                index += pattern.count
            } else {
                out.append(characters[index])
                index += 1
            }
        }
        return out
    }
}
