/// Charts drawn by the server as inline SVG: no script, nothing loaded from elsewhere, and
/// they print. Each bar links to the cases behind it.
enum SVGChart {
    struct Bar {
        var label: String
        var values: [Int]
        var link: String?
    }

    struct Series {
        var name: String
        var color: String
    }

    /// Vertical bars, one group per label (a trend, a distribution).
    static func columns(_ bars: [Bar], series: [Series], title: String, width: Int = 720, height: Int = 240) -> String {
        let top = 28
        let bottom = 40
        let left = 44
        let plotHeight = height - top - bottom
        let plotWidth = width - left - 10
        let maximum = max(1, bars.flatMap(\.values).max() ?? 1)
        let step = bars.isEmpty ? 0 : Double(plotWidth) / Double(bars.count)
        let barWidth = max(1.0, step * 0.8 / Double(max(1, series.count)))
        var svg = header(width: width, height: height, title: title)
        svg += axis(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, maximum: maximum)
        // At most 12 labels under the axis, evenly spread.
        let labelEvery = max(1, (bars.count + 11) / 12)
        for (index, bar) in bars.enumerated() {
            let x0 = Double(left) + step * Double(index) + step * 0.1
            var group = ""
            for (position, value) in bar.values.enumerated() {
                let barHeight = Double(plotHeight) * Double(value) / Double(maximum)
                let x = x0 + barWidth * Double(position)
                let y = Double(top + plotHeight) - barHeight
                let color = position < series.count ? series[position].color : "#888"
                let name = position < series.count ? series[position].name : ""
                group +=
                    "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barWidth))\" height=\"\(f(barHeight))\" fill=\"\(color)\"><title>\(HTML.escape(bar.label)) \(HTML.escape(name)): \(value)</title></rect>"
            }
            svg += bar.link.map { "<a href=\"\(HTML.escape($0))\">\(group)</a>" } ?? group
            if index % labelEvery == 0 {
                svg +=
                    "<text x=\"\(f(x0 + step * 0.4))\" y=\"\(top + plotHeight + 14)\" font-size=\"10\" text-anchor=\"middle\">\(HTML.escape(bar.label))</text>"
            }
        }
        svg += legend(series, x: left, y: height - 8)
        return svg + "</svg>"
    }

    /// Horizontal bars, one per label, longest first (categories, offices).
    static func rows(_ bars: [Bar], series: Series, title: String, width: Int = 720) -> String {
        let rowHeight = 20
        let top = 28
        let left = 150
        let height = top + rowHeight * max(1, bars.count) + 10
        let plotWidth = width - left - 60
        let maximum = max(1, bars.compactMap(\.values.first).max() ?? 1)
        var svg = header(width: width, height: height, title: title)
        for (index, bar) in bars.enumerated() {
            let value = bar.values.first ?? 0
            let y = top + rowHeight * index
            let length = Double(plotWidth) * Double(value) / Double(maximum)
            let shape =
                "<rect x=\"\(left)\" y=\"\(y + 3)\" width=\"\(f(length))\" height=\"\(rowHeight - 6)\" fill=\"\(series.color)\"><title>\(HTML.escape(bar.label)): \(value)</title></rect>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y + 14)\" font-size=\"12\" text-anchor=\"end\">\(HTML.escape(bar.label))</text>"
            svg += bar.link.map { "<a href=\"\(HTML.escape($0))\">\(shape)</a>" } ?? shape
            svg += "<text x=\"\(f(Double(left) + length + 4))\" y=\"\(y + 14)\" font-size=\"12\">\(value)</text>"
        }
        return svg + "</svg>"
    }

    private static func header(width: Int, height: Int, title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\" aria-label=\"\(HTML.escape(title))\"><text x=\"4\" y=\"16\" font-size=\"14\" font-weight=\"bold\">\(HTML.escape(title))</text>"
    }

    private static func axis(left: Int, top: Int, plotWidth: Int, plotHeight: Int, maximum: Int) -> String {
        var out = "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" stroke=\"#999\"/>"
        for fraction in [0.0, 0.5, 1.0] {
            let y = Double(top) + Double(plotHeight) * (1 - fraction)
            let value = Int((Double(maximum) * fraction).rounded())
            out += "<text x=\"\(left - 4)\" y=\"\(f(y + 4))\" font-size=\"10\" text-anchor=\"end\">\(value)</text>"
            out += "<line x1=\"\(left)\" y1=\"\(f(y))\" x2=\"\(left + plotWidth)\" y2=\"\(f(y))\" stroke=\"#eee\"/>"
        }
        return out
    }

    private static func legend(_ series: [Series], x: Int, y: Int) -> String {
        var out = ""
        var offset = x
        for item in series {
            out += "<rect x=\"\(offset)\" y=\"\(y - 9)\" width=\"10\" height=\"10\" fill=\"\(item.color)\"/>"
            out += "<text x=\"\(offset + 14)\" y=\"\(y)\" font-size=\"11\">\(HTML.escape(item.name))</text>"
            offset += 24 + item.name.count * 12
        }
        return out
    }

    private static func f(_ value: Double) -> String { String(Double(Int(value * 10)) / 10) }
}

/// HTML text escaping.
enum HTML {
    static func escape(_ text: String) -> String {
        // By scalar, not by character: a quote followed by a combining mark is one
        // Character, and must still be escaped.
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
