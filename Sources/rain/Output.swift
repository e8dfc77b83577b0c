import CaseDomain
import CaseStore
import Foundation
import ReplicaStore

#if canImport(Glibc)
    import Glibc
#endif

/// How `rain` prints: language, colour (only on a terminal), tables aligned by display
/// width (a Chinese character takes two columns).
struct Output {
    let language: Language
    let colour: Bool

    init(language: Language) {
        self.language = language
        colour = isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    func text(_ zh: String, _ en: String) -> String { language == .zh ? zh : en }

    func bold(_ text: String) -> String { colour ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func dim(_ text: String) -> String { colour ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
    func red(_ text: String) -> String { colour ? "\u{1B}[31m\(text)\u{1B}[0m" : text }
    func yellow(_ text: String) -> String { colour ? "\u{1B}[33m\(text)\u{1B}[0m" : text }

    /// Prints rows under a header, each column padded to its widest cell's display width.
    func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(displayWidth)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], displayWidth(cell)) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - displayWidth(cell))
            }.joined(separator: "  ")
        }
        print(bold(line(header)))
        for row in rows { print(line(row)) }
    }
}

/// Terminal columns `text` takes: two for East Asian wide characters, none for
/// combining marks, one otherwise.
func displayWidth(_ text: String) -> Int {
    var width = 0
    for scalar in text.unicodeScalars {
        let value = scalar.value
        if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .enclosingMark
            || value == 0x200B
        {
            continue
        }
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

/// JSON for `--json` output: deterministic, keys in the order given.
enum JSONOut {
    indirect enum Node {
        case string(String?)
        case integer(Int64?)
        case bool(Bool)
        case array([Node])
        case object([(String, Node)])
    }

    static func render(_ node: Node) -> String {
        switch node {
        case .string(let text?): quote(text)
        case .string(nil), .integer(nil): "null"
        case .integer(let number?): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .array(let items): "[" + items.map(render).joined(separator: ",") + "]"
        case .object(let members): "{" + members.map { quote($0.0) + ":" + render($0.1) }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
