import Foundation
import RSTDInfer
import RSTDCore

/// Inline SVG pictures for the HTML report, drawn by rstdoctor (no script, no external resource).
/// Every label is escaped with Sanitize.html; numbers are formatted by us.
package enum SVGCharts {
    static func h(_ s: String) -> String { Sanitize.html(s) }
    static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    /// Colours per host when several are lined up, chosen to stay apart for colour-blind readers.
    static let hostColors = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"]

    static func probabilityColor(_ p: Double) -> String {
        p >= Diagnosis.likely ? "#c0392b" : p >= 0.15 ? "#e67e22" : "#95a5a6"
    }

    /// Horizontal bars: each cause's probability, one bar per host.
    package static func probabilityBars(_ r: Report) -> String {
        let ids = r.allCauses
        let n = max(1, r.hosts.count)
        let barH = n == 1 ? 16.0 : max(6.0, 28.0 / Double(n))
        let rowH = barH * Double(n) + 8
        let left = 240.0, plotW = 420.0, top = 24.0
        let legendH = n > 1 ? 22.0 : 0
        let height = top + rowH * Double(ids.count) + 28 + legendH
        let width = left + plotW + 60
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"probability-chart\" role=\"img\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" aria-label=\"Probability of each cause\">\n"
        s += "<title>Probability of each cause</title>\n"
        // Grid at 0, 25, 50 (likely), 75, 100 %.
        for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let x = left + plotW * q
            let dash = q == 0.5 ? " stroke-dasharray=\"4 3\" stroke=\"#c0392b\"" : " stroke=\"#ddd\""
            s += "<line x1=\"\(f(x))\" y1=\"\(f(top - 6))\" x2=\"\(f(x))\" y2=\"\(f(top + rowH * Double(ids.count)))\"\(dash)/>\n"
            s += "<text x=\"\(f(x))\" y=\"\(f(top - 10))\" text-anchor=\"middle\" class=\"axis\">\(Int(q * 100))%\(q == 0.5 ? " likely" : "")</text>\n"
        }
        for (i, id) in ids.enumerated() {
            let y0 = top + rowH * Double(i) + 4
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(y0 + barH * Double(n) / 2 + 4))\" text-anchor=\"end\" class=\"label\">\(h(id))</text>\n"
            for (j, host) in r.hosts.enumerated() {
                guard let c = host.cause(id) else { continue }
                let y = y0 + barH * Double(j)
                let w = max(1, plotW * c.probability)
                let color = n == 1 ? probabilityColor(c.probability) : hostColors[j % hostColors.count]
                let pct = "\(Int((c.probability * 100).rounded()))%"
                s += "<rect class=\"bar\" data-cause=\"\(h(id))\" x=\"\(f(left))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(barH - 1))\" fill=\"\(color)\">"
                s += "<title>\(h(id)) on \(h(host.label)): \(pct)</title></rect>\n"
                if n == 1 || barH >= 10 {
                    s += "<text x=\"\(f(left + w + 4))\" y=\"\(f(y + barH - 4))\" class=\"value\">\(pct)</text>\n"
                }
            }
        }
        if n > 1 {
            var x = left
            let y = top + rowH * Double(ids.count) + 26
            for (j, host) in r.hosts.enumerated() {
                s += "<rect x=\"\(f(x))\" y=\"\(f(y - 10))\" width=\"12\" height=\"12\" fill=\"\(hostColors[j % hostColors.count])\"/>"
                s += "<text x=\"\(f(x + 16))\" y=\"\(f(y))\" class=\"label\">\(h(host.label))</text>\n"
                x += 24 + Double(min(host.label.count, 40)) * 7
            }
        }
        s += "</svg>"
        return s
    }

    static let markerLimit = 5000

    /// Each reset as a mark on a time axis, one row per cause; shape and colour by direction.
    /// Returns nil when there is no reset to draw.
    package static func resetTimeline(_ r: Report) -> String? {
        let all = r.resets
        guard !all.isEmpty else { return nil }
        let timed = all.allSatisfy { ResetView.time($0.record) != nil }
        var causes: [String: Int] = [:]
        for x in all { causes[ResetView.cause(x.record), default: 0] += 1 }
        let rows = causes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        let xs: [Double] = timed ? all.compactMap { ResetView.time($0.record) } : all.indices.map(Double.init)
        let lo = xs.min() ?? 0, hi = xs.max() ?? 0
        let span = hi > lo ? hi - lo : 1
        let left = 240.0, plotW = 480.0, top = 16.0, rowH = 28.0
        let height = top + rowH * Double(rows.count) + 64
        let width = left + plotW + 40
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"reset-timeline\" role=\"img\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" aria-label=\"Resets over time by cause and direction\">\n"
        s += "<title>Resets over time by cause and direction</title>\n"
        for (i, c) in rows.enumerated() {
            let y = top + rowH * Double(i) + rowH / 2
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"label\">\(h(c)) (\(causes[c] ?? 0))</text>\n"
        }
        let axisY = top + rowH * Double(rows.count) + 4
        s += "<line x1=\"\(f(left))\" y1=\"\(f(axisY))\" x2=\"\(f(left + plotW))\" y2=\"\(f(axisY))\" stroke=\"#888\"/>\n"
        for k in 0...4 {
            let x = left + plotW * Double(k) / 4
            let v = span * Double(k) / 4
            let label = timed ? "+" + Seconds.render(v) : "#\(Int((lo + v).rounded()) + 1)"
            s += "<line x1=\"\(f(x))\" y1=\"\(f(axisY))\" x2=\"\(f(x))\" y2=\"\(f(axisY + 4))\" stroke=\"#888\"/>"
            s += "<text x=\"\(f(x))\" y=\"\(f(axisY + 16))\" text-anchor=\"middle\" class=\"axis\">\(h(label))</text>\n"
        }
        let start = timed ? all.first.map { ResetView.timeText($0.record) } ?? "" : "in the order seen (no times)"
        s += "<text x=\"\(f(left))\" y=\"\(f(axisY + 32))\" class=\"axis\">\(timed ? "from " : "")\(h(start))</text>\n"
        for (i, x) in all.prefix(markerLimit).enumerated() {
            let rec = x.record
            guard let row = rows.firstIndex(of: ResetView.cause(rec)) else { continue }
            let px = left + plotW * ((timed ? (ResetView.time(rec) ?? lo) : Double(i)) - lo) / span
            let py = top + rowH * Double(row) + rowH / 2
            let dir = ResetView.direction(rec)
            let tip = "\(x.host): \(dir) \(ResetView.endpoint(rec, "src", "sport")) → \(ResetView.endpoint(rec, "dst", "dport")) \(ResetView.timeText(rec)) \(ResetView.detail(rec))"
            s += marker(dir, px, py, tip) + "\n"
        }
        // Legend.
        let ly = axisY + 50
        var lx = left
        for (dir, text) in [("sent", "sent by this host"), ("received", "received by this host"), ("unknown", "direction not known")] {
            s += marker(dir, lx + 6, ly - 4, text)
            s += "<text x=\"\(f(lx + 16))\" y=\"\(f(ly))\" class=\"label\">\(h(text))</text>\n"
            lx += 170
        }
        s += "</svg>"
        return s
    }

    static func marker(_ dir: String, _ x: Double, _ y: Double, _ tip: String) -> String {
        let inner = "<title>\(h(tip))</title>"
        switch dir {
        case "sent":
            return "<path class=\"reset sent\" d=\"M\(f(x)) \(f(y - 6)) L\(f(x + 6)) \(f(y + 5)) L\(f(x - 6)) \(f(y + 5)) Z\" fill=\"#c0392b\">\(inner)</path>"
        case "received":
            return "<path class=\"reset received\" d=\"M\(f(x)) \(f(y + 6)) L\(f(x + 6)) \(f(y - 5)) L\(f(x - 6)) \(f(y - 5)) Z\" fill=\"#2471a3\">\(inner)</path>"
        default:
            return "<circle class=\"reset unknown\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"5\" fill=\"#7f8c8d\">\(inner)</circle>"
        }
    }
}
