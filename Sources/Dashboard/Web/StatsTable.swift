public import CaseDomain
import ConsoleText
import DistrictStats

/// One table of the dashboard: shown as HTML, exported as CSV (UTF-8 with a BOM, so that
/// spreadsheet programs in Chinese locales read it right) and as JSON (the column keys).
public struct StatsTable: Sendable {
    /// A column: its key (JSON), and its heading in Chinese and English (HTML, CSV).
    public struct Column: Sendable {
        public var key: String
        public var zh: String
        public var en: String

        public init(_ key: String, _ zh: String, _ en: String) {
            self.key = key
            self.zh = zh
            self.en = en
        }
    }

    /// A cell: its value, and the page showing the cases behind it (HTML only).
    public struct Cell: Sendable {
        public enum Value: Sendable {
            case text(String?)
            case integer(Int64)
            /// A ratio, or a number of days: four decimals in exports, a percentage or one
            /// decimal on the page.
            case rate(Double?, percent: Bool)
        }

        public var value: Value
        public var link: String?

        public static func text(_ text: String?, link: String? = nil) -> Cell { Cell(value: .text(text), link: link) }
        public static func count(_ number: Int, link: String? = nil) -> Cell { Cell(value: .integer(Int64(number)), link: link) }
        public static func fen(_ number: Int64) -> Cell { Cell(value: .integer(number), link: nil) }
        public static func rate(_ value: Double?, link: String? = nil) -> Cell { Cell(value: .rate(value, percent: true), link: link) }
        public static func days(_ value: Double?) -> Cell { Cell(value: .rate(value, percent: false), link: nil) }

        /// The value as exports write it.
        var exported: String {
            switch value {
            case .text(let text): text ?? ""
            case .integer(let number): String(number)
            case .rate(let value, _): value.map { StatsDocument.fixed($0, decimals: 4) } ?? ""
            }
        }

        /// The value as the page shows it.
        var shown: String {
            switch value {
            case .text(let text): text ?? "-"
            case .integer(let number): String(number)
            case .rate(nil, _): "-"
            case .rate(let value?, true): StatsDocument.fixed(value * 100, decimals: 1) + "%"
            case .rate(let value?, false): StatsDocument.fixed(value, decimals: 1)
            }
        }

        var json: JSONOut.Node {
            switch value {
            case .text(let text): .string(text)
            case .integer(let number): .integer(number)
            case .rate(let value, _): StatsDocument.rate(value)
            }
        }
    }

    /// The name in export paths (`/dashboard/export/NAME.csv`).
    public var name: String
    public var title: (zh: String, en: String)
    public var columns: [Column]
    public var rows: [[Cell]]

    public init(name: String, title: (zh: String, en: String), columns: [Column], rows: [[Cell]]) {
        self.name = name
        self.title = title
        self.columns = columns
        self.rows = rows
    }

    /// CSV, RFC 4180 (CRLF, quoted when needed), UTF-8 with a byte-order mark; a cell that
    /// a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, a tab or CR first) starts with `'`.
    public func csv(_ language: Language) -> [UInt8] {
        var lines = [columns.map { Self.quote(language == .zh ? $0.zh : $0.en) }.joined(separator: ",")]
        for row in rows {
            lines.append(
                row.map { cell in
                    let text = cell.exported
                    if case .text = cell.value, let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) {
                        return Self.quote("'" + text)
                    }
                    return Self.quote(text)
                }.joined(separator: ","))
        }
        return [0xEF, 0xBB, 0xBF] + Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// JSON: an array of objects keyed by the columns' keys.
    public func json() -> String {
        JSONOut.render(.array(rows.map { row in .object(zip(columns, row).map { ($0.key, $1.json) }) }))
    }

    static func quote(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }
}
