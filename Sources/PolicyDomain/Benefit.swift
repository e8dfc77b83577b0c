public import CaseDomain
import SyncProtocol

/// What a policy pays an eligible enterprise, in fen (integers only): a fixed amount, a
/// percentage of one of its figures in 元, or an amount per unit of one — the last two
/// with an optional cap.
public enum Benefit: Hashable, Sendable {
    case fixed(amountFen: Int64)
    /// `basisPoints` hundredths of a percent of the base (`percent: 2.5` is 250).
    case percent(of: Attribute, basisPoints: Int64, capFen: Int64?)
    case perUnit(of: Attribute, amountFen: Int64, capFen: Int64?)

    /// The attributes a benefit may be computed from: figures.
    public static let bases: [Attribute] = [.employees, .revenue, .taxPaid]

    /// An amount and how it was computed.
    public struct Amount: Hashable, Sendable {
        public let fen: Int64
        /// e.g. `3% × 纳税额 1,200,000 元 = 3,600,000.00 元，封顶 1,000,000.00 元`.
        public let computation: String
    }

    /// Why an amount cannot be computed.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// The enterprise's figure the benefit is computed from is not known.
        case unknownBase(Attribute)
        /// The figure is negative.
        case negativeBase(Attribute)
        /// The amount does not fit 64 bits of fen.
        case overflow

        public var description: String { message(.en) }

        public func message(_ language: Language) -> String {
            switch (self, language) {
            case (.unknownBase(let base), .zh): "无法计算金额：企业的\(base.label(.zh))未知"
            case (.unknownBase(let base), .en): "cannot compute the amount: the enterprise's \(base.rawValue) is not known"
            case (.negativeBase(let base), .zh): "无法计算金额：企业的\(base.label(.zh))为负数"
            case (.negativeBase(let base), .en): "cannot compute the amount: the enterprise's \(base.rawValue) is negative"
            case (.overflow, .zh): "无法计算金额：金额超出范围"
            case (.overflow, .en): "cannot compute the amount: it is out of range"
            }
        }
    }

    /// The amount `facts` earn, rounded down to the fen, capped, with its computation.
    public func amount(for facts: EnterpriseFacts, _ language: Language = .zh) throws(Failure) -> Amount {
        switch self {
        case .fixed(let fen):
            return Amount(fen: fen, computation: (language == .zh ? "固定金额 " : "fixed amount ") + Self.yuan(fen))
        case .percent(let base, let basisPoints, let cap):
            let figure = try Self.figure(base, facts)
            // 元 → fen is ×100; basis points are /10,000: fen = figure × bp / 100.
            let (product, overflow) = figure.multipliedReportingOverflow(by: basisPoints)
            guard !overflow else { throw .overflow }
            let raw = product / 100
            let line = "\(Self.percentText(basisPoints))% × \(base.label(language)) \(Self.grouped(figure)) 元 = \(Self.yuan(raw))"
            return Self.capped(raw, cap, line, language)
        case .perUnit(let base, let each, let cap):
            let figure = try Self.figure(base, facts)
            let (raw, overflow) = figure.multipliedReportingOverflow(by: each)
            guard !overflow else { throw .overflow }
            let line = "\(Self.yuan(each)) × \(base.label(language)) \(Self.grouped(figure)) = \(Self.yuan(raw))"
            return Self.capped(raw, cap, line, language)
        }
    }

    private static func figure(_ base: Attribute, _ facts: EnterpriseFacts) throws(Failure) -> Int64 {
        guard case .number(let figure)? = facts.value(of: base) else { throw .unknownBase(base) }
        guard figure >= 0 else { throw .negativeBase(base) }
        return figure
    }

    private static func capped(_ raw: Int64, _ cap: Int64?, _ line: String, _ language: Language) -> Amount {
        guard let cap, raw > cap else { return Amount(fen: raw, computation: line) }
        return Amount(fen: cap, computation: line + (language == .zh ? "，封顶 " : ", capped at ") + yuan(cap))
    }

    /// `1234567` fen as `12,345.67 元`.
    public static func yuan(_ fen: Int64) -> String { Fen.amount(fen) + " 元" }

    static func grouped(_ number: Int64) -> String {
        let digits = Array(String(number.magnitude))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return (number < 0 ? "-" : "") + text
    }

    static func percentText(_ basisPoints: Int64) -> String {
        let whole = basisPoints / 100
        let rest = basisPoints % 100
        if rest == 0 { return String(whole) }
        return String(whole) + "." + (rest < 10 ? "0" + String(rest) : (rest % 10 == 0 ? String(rest / 10) : String(rest)))
    }
}

extension Benefit {
    /// The benefit as canonical JSON, the form of a policy file's `benefit` (what a
    /// policy record stores): `{"amount_fen":N,"type":"fixed"}`, members sorted.
    public var json: String {
        switch self {
        case .fixed(let fen): "{\"amount_fen\":\(fen),\"type\":\"fixed\"}"
        case .percent(let base, let points, let cap):
            "{" + (cap.map { "\"cap_fen\":\($0)," } ?? "")
                + "\"of\":\"\(base.rawValue)\",\"percent\":\(Self.percentText(points)),\"type\":\"percent\"}"
        case .perUnit(let base, let fen, let cap):
            "{\"amount_fen\":\(fen)," + (cap.map { "\"cap_fen\":\($0)," } ?? "") + "\"of\":\"\(base.rawValue)\",\"type\":\"per_unit\"}"
        }
    }

    /// A benefit read back from ``json``; nil when it is not one.
    public init?(json: String) {
        guard let value = try? JSONParser.parse(Array(json.utf8)), let benefit = try? PolicyFile.benefit(value) else { return nil }
        self = benefit
    }

    /// One line for people: `固定金额 100,000.00 元`, `3% × 纳税额，封顶 …`.
    public func summary(_ language: Language) -> String {
        let zh = language == .zh
        switch self {
        case .fixed(let fen): return (zh ? "固定金额 " : "fixed ") + Self.yuan(fen)
        case .percent(let base, let points, let cap):
            return "\(Self.percentText(points))% × \(base.label(language))"
                + (cap.map { (zh ? "，封顶 " : ", capped at ") + Self.yuan($0) } ?? "")
        case .perUnit(let base, let fen, let cap):
            return "\(Self.yuan(fen)) × \(base.label(language))" + (cap.map { (zh ? "，封顶 " : ", capped at ") + Self.yuan($0) } ?? "")
        }
    }
}
