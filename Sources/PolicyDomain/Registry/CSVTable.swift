/// A CSV file read strictly (RFC 4180): fields separated by commas, records by CRLF or
/// LF, a field with commas, quotes or line ends quoted, a quote inside one doubled.
/// Each record keeps the line it starts on, so an import can name the line of every
/// rejected row.
///
/// Written here rather than taken from a CSV package: the ones available accept an
/// unterminated quote (the rest of the file silently becomes one field) and report no
/// lines, and an import must refuse the first and name the second.
public struct CSVTable: Sendable {
    /// One record: its fields and the line (1-based) it starts on.
    public struct Record: Sendable, Equatable {
        public let line: Int
        public let fields: [String]
    }

    /// Why a file is not CSV.
    public struct Failure: Error, Hashable, Sendable {
        public enum Reason: Hashable, Sendable {
            /// A quoted field with no closing quote.
            case unterminatedQuote
            /// Something other than a comma or a line end after a closing quote.
            case textAfterQuote
            /// A quote inside a field that does not start with one.
            case quoteInUnquotedField
            /// No header row.
            case empty
        }

        public let reason: Reason
        public let line: Int
    }

    public let header: Record
    public let rows: [Record]

    /// Reads `text` (already decoded); blank lines between records are skipped.
    public init(_ text: String) throws(Failure) {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var start = 1
        var inQuotes = false
        var quoteLine = 1
        var quoted = false
        var afterQuote = false
        var bytes = Array(text.utf8)
        // A final record without a line end ends like one with it.
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        var index = 0
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quoted = false
            afterQuote = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    // A line end inside quotes: LF, CRLF (counted at its LF) or a lone CR.
                    if byte == UInt8(ascii: "\n")
                        || (byte == UInt8(ascii: "\r") && (index >= bytes.count || bytes[index] != UInt8(ascii: "\n")))
                    {
                        line += 1
                    }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\r") where index < bytes.count && bytes[index] == UInt8(ascii: "\n"):
                continue
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                let blank = fields.isEmpty && field.isEmpty && !quoted
                if !blank {
                    endField()
                    records.append(Record(line: start, fields: fields))
                    fields.removeAll()
                }
                line += 1
                start = line
            case UInt8(ascii: "\""):
                guard field.isEmpty, !quoted else {
                    throw Failure(reason: afterQuote ? .textAfterQuote : .quoteInUnquotedField, line: line)
                }
                inQuotes = true
                quoteLine = line
                quoted = true
            default:
                guard !afterQuote else { throw Failure(reason: .textAfterQuote, line: line) }
                field.append(byte)
            }
        }
        guard !inQuotes else { throw Failure(reason: .unterminatedQuote, line: quoteLine) }
        guard let first = records.first else { throw Failure(reason: .empty, line: 1) }
        header = first
        rows = Array(records.dropFirst())
    }
}

extension CSVTable.Failure {
    /// "what failed: why (where)".
    public func message(_ zh: Bool) -> String {
        let why: String
        switch reason {
        case .unterminatedQuote: why = zh ? "引号字段没有结束引号" : "a quoted field has no closing quote"
        case .textAfterQuote: why = zh ? "结束引号后应为逗号或换行" : "a closing quote is followed by something other than a comma or a line end"
        case .quoteInUnquotedField: why = zh ? "未加引号的字段中出现引号" : "a quote inside a field that is not quoted"
        case .empty: why = zh ? "文件为空，缺少表头" : "the file is empty: no header row"
        }
        return zh ? "无法读取 CSV：\(why)（第 \(line) 行）" : "cannot read the CSV: \(why) (line \(line))"
    }
}
