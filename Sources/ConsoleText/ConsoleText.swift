// What `rain` and `rain-server` both print, in one place: display width of CJK text,
// aligned tables, `--json` output and local time.

import CaseDomain

/// Terminal columns `text` takes: two for East Asian wide characters (and emoji), none
/// for combining marks and zero-width spaces, one otherwise.
public func displayWidth(_ text: String) -> Int {
    var width = 0
    for scalar in text.unicodeScalars {
        let value = scalar.value
        let category = scalar.properties.generalCategory
        if category == .nonspacingMark || category == .enclosingMark || value == 0x200B { continue }
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            width += 2
        default:
            width += 1
        }
    }
    return width
}

/// Rows under a header as lines, each column padded to its widest cell's display width,
/// columns two spaces apart (the last column is not padded).
public func tableLines(_ header: [String], _ rows: [[String]]) -> [String] {
    var widths = header.map(displayWidth)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], displayWidth(cell)) }
    }
    return ([header] + rows).map { cells in
        cells.enumerated().map { index, cell in
            index == cells.count - 1 || index >= widths.count
                ? cell : cell + String(repeating: " ", count: widths[index] - displayWidth(cell))
        }.joined(separator: "  ")
    }
}

/// Local time as offices read it: China Standard Time (UTC+8, no daylight saving), the
/// time case numbers are minted in — whatever the machine's time zone.
public enum LocalTime {
    /// `YYYY-MM-DD HH:MM` for milliseconds since the epoch (the date: `CivilDate`'s).
    public static func format(_ millis: Int64) -> String {
        let local = millis + 8 * 3_600_000
        let minutes = Int((local % 86_400_000 + 86_400_000) % 86_400_000 / 60_000)
        return "\(CivilDate(epochMillis: millis)) \(pad(minutes / 60)):\(pad(minutes % 60))"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

/// JSON for `--json` output: deterministic, keys in the order given, one line.
public enum JSONOut {
    public indirect enum Node {
        case string(String?)
        case integer(Int64?)
        case bool(Bool)
        case array([Node])
        case object([(String, Node)])
    }

    public static func render(_ node: Node) -> String {
        switch node {
        case .string(let text?): quote(text)
        case .string(nil), .integer(nil): "null"
        case .integer(let number?): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .array(let items): "[" + items.map(render).joined(separator: ",") + "]"
        case .object(let members): "{" + members.map { quote($0.0) + ":" + render($0.1) }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
