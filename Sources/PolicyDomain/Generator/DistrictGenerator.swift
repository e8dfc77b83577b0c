public import CaseDomain

/// A district's policy-direct data at the scale the district reported (18 departments,
/// 203 policies, 5,000 enterprises), made from a seed so a run repeats: for the matching
/// benchmark, the demo and tests. Every credit code is valid; the rules are the kinds
/// departments write (sizes, industries, ages, figures, tags, streets).
public struct DistrictGenerator: Sendable {
    public struct Department: Hashable, Sendable {
        public let code: String
        public let name: String
    }

    public static let departments: [Department] = [
        ("FGW", "区发展和改革委员会"), ("KJJ", "区科学技术局"), ("GXJ", "区工业和信息化局"), ("SWJ", "区商务局"),
        ("JRB", "区金融工作办公室"), ("RSJ", "区人力资源和社会保障局"), ("CZJ", "区财政局"), ("SCJ", "区市场监督管理局"),
        ("WLJ", "区文化和旅游局"), ("NYJ", "区农业农村局"), ("ZJJ", "区住房和城乡建设局"), ("STJ", "区生态环境局"),
        ("JYJ", "区教育局"), ("WJW", "区卫生健康委员会"), ("SWB", "区税务局"), ("TZB", "区投资促进局"),
        ("QLB", "区侨务办公室"), ("KXB", "区科学技术协会"),
    ].map { Department(code: $0.0, name: $0.1) }

    public static let tags = ["新四板挂牌", "高新技术企业", "专精特新", "科技型中小企业", "小巨人", "瞪羚企业", "外资企业", "老字号", "绿色工厂", "上市后备"]
    static let industries = [
        "A0511", "C1311", "C2661", "C3311", "C3415", "C3511", "C3911", "C3914", "C4011", "E4810", "F5123", "F5261",
        "G5411", "H6110", "I6311", "I6510", "I6520", "J6620", "L7212", "M7320", "M7512", "O8010", "R8710",
    ]

    public let streets: [String]
    var generator: SplitMix64

    /// `streets` are the street offices' codes (at least one; none gives the default six).
    public init(seed: UInt64, streets: [String] = ["JD1", "JD2", "JD3", "JD4", "JD5", "JD6"]) {
        self.streets = streets.isEmpty ? ["JD1", "JD2", "JD3", "JD4", "JD5", "JD6"] : streets
        generator = SplitMix64(seed: seed)
    }

    /// `count` enterprises with distinct valid codes, registered in the streets.
    public mutating func enterprises(_ count: Int) -> [Enterprise] {
        var result: [Enterprise] = []
        var codes: Set<CreditCode> = []
        let alphabet = CreditCode.alphabet
        while result.count < count {
            let body = String((0..<9).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
            guard let code = CreditCode.completing("91110108" + body), codes.insert(code).inserted else { continue }
            let index = result.count
            var enterprise = Enterprise(
                name: "和盛\(Self.words[index % Self.words.count])\(index)有限公司", creditCode: code, street: streets[index % streets.count])
            // Sizes skewed to the small, as a district's are.
            let roll = Int.random(in: 0..<100, using: &generator)
            let size: EnterpriseSize = roll < 55 ? .micro : roll < 85 ? .small : roll < 97 ? .medium : .large
            enterprise.size = size
            let scale: Int64 = [EnterpriseSize.micro: 1, .small: 8, .medium: 60, .large: 400][size]!
            enterprise.employees = Int64.random(in: 1...20, using: &generator) * scale
            enterprise.revenue = Int64.random(in: 200_000...3_000_000, using: &generator) * scale
            enterprise.taxPaid = enterprise.revenue! / Int64.random(in: 15...40, using: &generator)
            enterprise.industry = Self.industries[Int.random(in: 0..<Self.industries.count, using: &generator)]
            enterprise.founded = CivilDate(daysSinceEpoch: Int.random(in: 9_000...20_300, using: &generator))
            enterprise.tags = Self.tags.filter { tag in Int.random(in: 0..<100, using: &generator) < (tag == "科技型中小企业" ? 20 : 6) }
            enterprise.legalRep = "法人\(index)"
            enterprise.bank = ["工商银行", "建设银行", "农业银行", "中国银行", "招商银行"][index % 5]
            enterprise.account = "6222" + String(100_000_000_000 + index)
            enterprise.contact = "1380000" + String(1000 + index % 9000)
            result.append(enterprise)
        }
        return result
    }

    static let words = ["科技", "智能", "精密", "食品", "贸易", "建设", "生物", "文化", "物流", "电子", "新材料", "软件"]

    /// `count` policies spread over the departments, each a rule of two to five clauses.
    public mutating func policies(_ count: Int) -> [PolicyFile] {
        (0..<count).map { index in
            let department = Self.departments[index % Self.departments.count]
            let automatic = Int.random(in: 0..<4, using: &generator) == 0
            let benefit: Benefit
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: benefit = .fixed(amountFen: [5_000_000, 10_000_000, 20_000_000, 50_000_000][Int.random(in: 0..<4, using: &generator)])
            case 1:
                benefit = .percent(
                    of: .taxPaid, basisPoints: [500, 1_000, 2_000][Int.random(in: 0..<3, using: &generator)], capFen: 100_000_000)
            default:
                benefit = .perUnit(
                    of: .employees, amountFen: [100_000, 200_000][Int.random(in: 0..<2, using: &generator)], capFen: 50_000_000)
            }
            var rule: EligibilityRule?
            // The generator writes only rules that parse; one that did not would be drawn again.
            while rule == nil { rule = try? EligibilityRule(self.rule()) }
            let year = 2025 + index % 2
            let first = CivilDate(year: year, month: 1, day: 1) ?? CivilDate(daysSinceEpoch: 0)
            let last = CivilDate(year: year, month: 12, day: 31) ?? first
            return PolicyFile(
                title: "\(department.name)扶持政策 \(index + 1)", department: department.code,
                document: "和盛\(department.code)〔\(year)〕\(index + 1)号",
                mode: automatic ? .automatic : .application, validFrom: first, validTo: last, benefit: benefit, rule: rule!,
                period: String(year))
        }
    }

    /// A rule: a tag (`tag`, or one drawn) and one to four other clauses.
    mutating func rule(tag given: String? = nil) -> String {
        var clauses: [String] = []
        let tag = given ?? Self.tags[Int.random(in: 0..<Self.tags.count, using: &generator)]
        clauses.append("tags contains \(tag)")
        let extra = Int.random(in: 1...4, using: &generator)
        for _ in 0..<extra {
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: clauses.append("size in [micro, small]")
            case 1: clauses.append("founded >= \(2010 + Int.random(in: 0...12, using: &generator))-01-01")
            case 2: clauses.append("employees >= \(Int.random(in: 5...50, using: &generator))")
            case 3: clauses.append("(industry >= \"C\" and industry < \"D\" or industry in [\"I6510\", \"I6520\", \"M7320\"])")
            // Quoted: a street code need not be a bare word.
            case 4: clauses.append("not street = \"\(streets[Int.random(in: 0..<streets.count, using: &generator)])\"")
            default: clauses.append("tax_paid > \(Int.random(in: 1...10, using: &generator) * 10_000)")
            }
        }
        return clauses.joined(separator: " and ")
    }
}

/// A small seeded generator, so a data set repeats.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
