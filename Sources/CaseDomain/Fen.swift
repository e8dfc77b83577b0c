/// Money, always integers in fen, as people read it.
public enum Fen {
    /// `1234567` → `12,345.67` (`grouped`), or `12345.67`.
    public static func amount(_ fen: Int64, grouped: Bool = true) -> String {
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        var yuan = String(magnitude / 100)
        if grouped {
            let digits = Array(yuan)
            yuan = ""
            for (index, digit) in digits.enumerated() {
                if index > 0, (digits.count - index) % 3 == 0 { yuan.append(",") }
                yuan.append(digit)
            }
        }
        return (fen < 0 ? "-" : "") + yuan + "." + (cents < 10 ? "0" : "") + String(cents)
    }

    /// `50000` → `¥500.00`: a reward as the page and `rain suggestion show` print it.
    public static func yuanSign(_ fen: Int64) -> String {
        fen < 0 ? "-¥" + amount(-fen, grouped: false) : "¥" + amount(fen, grouped: false)
    }
}
