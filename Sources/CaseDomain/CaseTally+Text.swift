/// A tally as one line of text, as the server keeps it: `field=value` pairs separated by
/// `;`, a count as digits, a distribution as `key:count` pairs separated by `,` (a text
/// key percent-encoded: `%`, `,`, `:`, `;`, `=`). Read byte by byte: the dashboard reads
/// one per community and day.
extension CaseTally {
    /// The text form.
    public var encoded: String {
        var out = ""
        func count(_ field: String, _ value: Int) { if value != 0 { out += field + "=" + String(value) + ";" } }
        func map<Key>(_ field: String, _ values: [Key: Int], _ key: (Key) -> String) {
            guard !values.isEmpty else { return }
            out += field + "=" + values.map { key($0.key) + ":" + String($0.value) }.sorted().joined(separator: ",") + ";"
        }
        count("n", received)
        count("c", closed)
        count("t", closedOnTime)
        count("m", closedAtCommunity)
        count("e", escalations)
        count("p", reopened)
        count("y", replied)
        map("s", byStatus) { $0.rawValue }
        map("k", byKind) { $0.rawValue }
        map("g", byCategory, Self.escape)
        map("h", byChannel) { $0.rawValue }
        map("d", handlingDays) { String($0) }
        map("o", openDue) { String($0) }
        map("r", ratings) { String($0) }
        map("u", bySuggestionStage, Self.escape)
        return out
    }

    /// Reads ``encoded``; nil for text it does not hold.
    public init?(encoded text: String) {
        self.init()
        guard merge(encoded: text) != nil else { return nil }
    }

    /// Adds the counts of the tally `text` encodes (``encoded``) to these, without making
    /// it first: the dashboard adds tens of thousands. Answers its cases received and
    /// closed; nil (these unchanged or partly added) for text it does not hold.
    public mutating func merge(encoded text: String) -> CaseReport.Trend? {
        var text = text
        return text.withUTF8 { buffer in merge(bytes: buffer) }
    }

    private mutating func merge(bytes all: UnsafeBufferPointer<UInt8>) -> CaseReport.Trend? {
        var trend = CaseReport.Trend()
        var bytes = all[...]
        while !bytes.isEmpty {
            guard bytes.count >= 2, bytes[bytes.startIndex + 1] == UInt8(ascii: "=") else { return nil }
            let field = bytes[bytes.startIndex]
            bytes = bytes.dropFirst(2)
            let end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
            let value = bytes[..<end]
            bytes = bytes[end...].dropFirst()
            switch field {
            case UInt8(ascii: "n"):
                guard let number = Self.number(value) else { return nil }
                received += number
                trend.received = number
            case UInt8(ascii: "c"):
                guard let number = Self.number(value) else { return nil }
                closed += number
                trend.closed = number
            case UInt8(ascii: "t"):
                guard let number = Self.number(value) else { return nil }
                closedOnTime += number
            case UInt8(ascii: "m"):
                guard let number = Self.number(value) else { return nil }
                closedAtCommunity += number
            case UInt8(ascii: "e"):
                guard let number = Self.number(value) else { return nil }
                escalations += number
            case UInt8(ascii: "p"):
                guard let number = Self.number(value) else { return nil }
                reopened += number
            case UInt8(ascii: "y"):
                guard let number = Self.number(value) else { return nil }
                replied += number
            case UInt8(ascii: "s"): guard Self.map(value, into: &byStatus, { CaseStatus(rawValue: Self.text($0)) }) else { return nil }
            case UInt8(ascii: "k"): guard Self.map(value, into: &byKind, { CaseKind(rawValue: Self.text($0)) }) else { return nil }
            case UInt8(ascii: "g"): guard Self.map(value, into: &byCategory, Self.unescape) else { return nil }
            case UInt8(ascii: "h"): guard Self.map(value, into: &byChannel, { CaseChannel(rawValue: Self.text($0)) }) else { return nil }
            case UInt8(ascii: "d"): guard Self.map(value, into: &handlingDays, Self.number) else { return nil }
            case UInt8(ascii: "o"): guard Self.map(value, into: &openDue, Self.number) else { return nil }
            case UInt8(ascii: "r"): guard Self.map(value, into: &ratings, Self.number) else { return nil }
            case UInt8(ascii: "u"): guard Self.map(value, into: &bySuggestionStage, Self.unescape) else { return nil }
            default: return nil
            }
        }
        return trend
    }

    private static func map<Key: Hashable>(
        _ bytes: Slice<UnsafeBufferPointer<UInt8>>, into values: inout [Key: Int], _ key: (Slice<UnsafeBufferPointer<UInt8>>) -> Key?
    )
        -> Bool
    {
        for pair in bytes.split(separator: UInt8(ascii: ",")) {
            guard let colon = pair.lastIndex(of: UInt8(ascii: ":")), let name = key(pair[..<colon]),
                let count = number(pair[(colon + 1)...])
            else { return false }
            values[name, default: 0] += count
        }
        return true
    }

    private static func number(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        var negative = false
        for (offset, byte) in bytes.enumerated() {
            if offset == 0, byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return negative ? -value : value
    }

    private static func text(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String { String(decoding: bytes, as: UTF8.self) }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "%", ",", ":", ";", "=": out += "%" + String(UInt8(scalar.value), radix: 16, uppercase: true)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func unescape(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
        guard bytes.contains(UInt8(ascii: "%")) else { return String(validating: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                    let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
                else { return nil }
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
