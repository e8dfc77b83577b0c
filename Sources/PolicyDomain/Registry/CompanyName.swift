/// A company name reduced to what a search compares (`rain enterprise find`): full-width
/// letters, digits and brackets as half-width, no spaces, capitals, 有限责任公司 as
/// 有限公司 (`full`); and the same without a leading province or city from a list —
/// 广东省深圳市… → … (`key`).
public struct CompanyName: Hashable, Sendable {
    public let full: String
    public let key: String

    public init(_ name: String) {
        var text = ""
        for scalar in name.unicodeScalars {
            switch scalar.value {
            case 0xFF08, 0xFF3B, 0x3010, 0x3014, 0x005B: text.append("(")  // （ ［ 【 〔 [
            case 0xFF09, 0xFF3D, 0x3011, 0x3015, 0x005D: text.append(")")  // ） ］ 】 〕 ]
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

    /// Provinces, autonomous regions, municipalities and major cities (GB/T 2260), by
    /// their short names: only these are dropped from the front of a name.
    static let places: Set<String> = [
        "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东",
        "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏",
        "宁夏", "新疆", "香港", "澳门", "石家庄", "太原", "沈阳", "长春", "哈尔滨", "南京", "杭州", "合肥", "福州", "南昌", "济南",
        "郑州", "武汉", "长沙", "广州", "海口", "成都", "贵阳", "昆明", "西安", "兰州", "西宁", "呼和浩特", "南宁", "拉萨", "银川",
        "乌鲁木齐", "大连", "青岛", "宁波", "厦门", "深圳", "苏州", "无锡", "常州", "南通", "徐州", "扬州", "温州", "嘉兴", "绍兴",
        "金华", "台州", "湖州", "佛山", "东莞", "珠海", "中山", "惠州", "汕头", "江门", "湛江", "泉州", "漳州", "烟台", "潍坊",
        "临沂", "淄博", "济宁", "洛阳", "宜昌", "襄阳", "株洲", "岳阳", "芜湖", "绵阳", "桂林", "柳州", "包头", "大庆", "唐山",
        "保定", "廊坊", "邯郸", "秦皇岛", "鞍山", "三亚", "遵义", "曲靖", "宝鸡", "咸阳",
    ]
    static let placeSuffixes = ["特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"]

    /// The length of a leading place name with its 省/市/自治区, when at least four
    /// characters of name follow it (so 永辉超市… keeps its 超市: 永辉 is no place).
    static func placePrefix(_ text: String) -> Int? {
        let characters = Array(text)
        for length in 2...4 where characters.count > length {
            let name = String(characters[..<length])
            guard places.contains(name) else { continue }
            let rest = String(characters[length...])
            for suffix in placeSuffixes where rest.hasPrefix(suffix) {
                let total = length + suffix.count
                if characters.count - total >= 4 { return total }
            }
        }
        return nil
    }

    /// Whether `prefix` is a place's short name (北京 in 北京字节跳动…).
    static func isPlace(_ prefix: String) -> Bool { places.contains(prefix) }

    /// How well `self` (what was typed) matches `name`: 2 the same company (also when one
    /// has a place of two to four characters before the other's name, as 北京 in
    /// 北京字节跳动…), 1 one name contains the other, nil no match.
    public func score(against name: CompanyName) -> Int? {
        guard !full.isEmpty, !name.full.isEmpty else { return nil }
        if full == name.full || key == name.key { return 2 }
        let (short, long) = key.count <= name.key.count ? (key, name.key) : (name.key, key)
        if long.hasSuffix(short), Self.isPlace(String(long.dropLast(short.count))) { return 2 }
        for (a, b) in [(full, name.full), (key, name.key)] where a.count >= 2 && b.count >= 2 {
            if a.contains(b) || b.contains(a) { return 1 }
        }
        return nil
    }
}
