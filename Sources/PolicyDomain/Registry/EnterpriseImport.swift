public import CaseDomain

/// An enterprise CSV file read and checked (`rain enterprise import`), before anything is
/// written: the good rows with their lines, each rejected row with its line and reason,
/// and the columns ignored. Pure: the store writes `enterprises` only when the caller
/// accepts the result (all rows good, or `--partial`).
public struct EnterpriseImport: Sendable {
    public struct Row: Sendable, Hashable {
        public let line: Int
        public let enterprise: Enterprise
    }

    public struct Rejected: Sendable, Hashable {
        public let line: Int
        public let reason: EnterpriseColumns.Rejection
    }

    /// Why the whole file is refused (no row can be read).
    public struct Failure: Error, Hashable, Sendable {
        public let zh: String
        public let en: String

        public func message(_ language: Language) -> String { language == .zh ? zh : en }
    }

    public let encoding: TextDecoding.Encoding
    public let rows: [Row]
    public let rejected: [Rejected]
    /// Header names that are not columns of the registry (ignored, with a warning).
    public let ignoredColumns: [String]
    /// The registry's columns the file has: a re-import changes only these (an attributes-only
    /// file leaves accounts and contacts as they are).
    public let columns: Set<String>

    /// Reads `bytes`, a CSV file in UTF-8 (with or without BOM) or GB18030.
    public init(_ bytes: [UInt8]) throws(Failure) {
        let decoded: (text: String, encoding: TextDecoding.Encoding)
        do { decoded = try TextDecoding.decode(bytes) } catch { throw Failure(zh: error.message(true), en: error.message(false)) }
        encoding = decoded.encoding
        let table: CSVTable
        do { table = try CSVTable(decoded.text) } catch { throw Failure(zh: error.message(true), en: error.message(false)) }
        var columns: [String: Int] = [:]
        var ignored: [String] = []
        for (index, raw) in table.header.fields.enumerated() {
            let name = String(raw.trimmingSpaces).lowercased()
            guard EnterpriseColumns.all.contains(name) else {
                if !name.isEmpty { ignored.append(name) }
                continue
            }
            guard columns[name] == nil else {
                throw Failure(
                    zh: "表头中 \(name) 列出现两次（第 \(table.header.line) 行）",
                    en: "cannot read the CSV: the column \(name) appears twice (line \(table.header.line))")
            }
            columns[name] = index
        }
        let missing = EnterpriseColumns.required.filter { columns[$0] == nil }
        guard missing.isEmpty else {
            let list = missing.joined(separator: ", ")
            throw Failure(
                zh: "表头缺少必需的列：\(list)（第 \(table.header.line) 行）",
                en: "cannot read the CSV: the header lacks \(list) (line \(table.header.line))")
        }
        ignoredColumns = ignored
        self.columns = Set(columns.keys)
        var rows: [Row] = []
        var rejected: [Rejected] = []
        var seen: [CreditCode: Int] = [:]
        for record in table.rows {
            guard record.fields.count == table.header.fields.count else {
                rejected.append(
                    Rejected(
                        line: record.line,
                        reason: .init(
                            zh: "该行有 \(record.fields.count) 列，表头有 \(table.header.fields.count) 列",
                            en: "the row has \(record.fields.count) fields, the header \(table.header.fields.count)")))
                continue
            }
            do throws(EnterpriseColumns.Rejection) {
                let enterprise = try EnterpriseColumns.enterprise { column in
                    guard let index = columns[column] else { return nil }
                    let text = String(record.fields[index].trimmingSpaces)
                    return text.isEmpty ? nil : text
                }
                if let first = seen[enterprise.creditCode] {
                    throw EnterpriseColumns.Rejection(
                        zh: "统一社会信用代码与第 \(first) 行重复（credit_code）", en: "credit_code repeats line \(first)")
                }
                seen[enterprise.creditCode] = record.line
                rows.append(Row(line: record.line, enterprise: enterprise))
            } catch {
                rejected.append(Rejected(line: record.line, reason: error))
            }
        }
        self.rows = rows
        self.rejected = rejected
    }
}
