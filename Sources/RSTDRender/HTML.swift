import Foundation
import RSTDInfer
import RSTDCore

/// `rstdoctor report --format html`: one self-contained page (inline CSS and SVG, no external resource).
/// Host-derived text is escaped with Sanitize.html, and the page's Content-Security-Policy allows no
/// script at all, so even a string that slipped past escaping could not run.
package enum HTMLReport {
    static func h(_ s: String) -> String { Sanitize.html(s) }
    static func pct(_ p: Double) -> String { "\(Int((p * 100).rounded()))%" }

    /// No script, no fetch, no form, no base: only the inline style (the SVG is inline markup).
    package static let contentSecurityPolicy = "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let css = """
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2833;max-width:1100px;margin:24px auto;padding:0 16px}
    h1{font-size:22px;margin-bottom:4px}h2{border-bottom:2px solid #d5d8dc;padding-bottom:4px;margin-top:32px}h3{margin-bottom:6px}
    table{border-collapse:collapse;margin:8px 0 16px;max-width:100%}th,td{border:1px solid #d5d8dc;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word;word-break:normal;hyphens:none}
    th{background:#f4f6f7;white-space:nowrap}code,pre{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
    pre{background:#f4f6f7;padding:8px 10px;border-radius:4px;overflow-x:auto;white-space:pre-wrap}
    .likely{color:#c0392b;font-weight:bold}.possible{color:#b9770e;font-weight:bold}.unlikely{color:#7f8c8d}
    .for{color:#c0392b}.against{color:#1e8449}.unseen{color:#7f8c8d}
    .status-finding{color:#b9770e;font-weight:bold}.status-failed{color:#c0392b;font-weight:bold}.status-skipped{color:#7f8c8d}.status-ok{color:#1e8449}
    .chart .label{font-size:12px;fill:#1c2833}.chart .axis{font-size:11px;fill:#7f8c8d}.chart .value{font-size:11px;fill:#1c2833}
    .note{color:#566573}footer{margin-top:32px;color:#7f8c8d;font-size:12px}
    """

    package static func render(_ r: Report) -> String {
        let multi = r.hosts.count > 1
        let title = multi ? "rstdoctor report — \(r.hosts.count) hosts" : "rstdoctor report — \(r.hosts.first?.label ?? "?")"
        var o = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        // The policy comes before any content so it governs the whole document.
        o += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(contentSecurityPolicy)\">\n"
        o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        o += "<meta name=\"referrer\" content=\"no-referrer\">\n"
        o += "<title>\(h(title))</title>\n<style>\n\(css)\n</style>\n</head>\n<body>\n"
        o += "<h1>\(h(title))</h1>\n"
        o += hostTable(r)
        // What to do comes right after the diagnosis, before the long lists (check tables, resets).
        let w = Writer()
        o += diagnosis(r)
        o += ReportLayout.findings(r, w)
        o += ReportLayout.unseen(r, w)
        o += ReportLayout.remedies(r, w)
        o += ReportLayout.steps(r, w)
        o += ReportLayout.resets(r, w, chart: SVGCharts.resetTimeline(r).map { $0 + "\n" } ?? "")
        o += ReportLayout.appendix(r, w)
        o += "<footer>Written by rstdoctor. Nothing was changed on \(multi ? "these hosts" : "this host"): every change above is for you to consider.</footer>\n"
        o += "</body>\n</html>\n"
        return o
    }

    static func table(_ header: [String], _ rows: [[String]], id: String? = nil) -> String {
        var o = "<table\(id.map { " id=\"\($0)\"" } ?? "")>\n<tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for r in rows { o += "<tr>" + r.map { "<td>\($0)</td>" }.joined() + "</tr>\n" }
        return o + "</table>\n"
    }

    static func code(_ s: String) -> String { s.isEmpty ? "" : "<code>\(h(s))</code>" }

    static func hostTable(_ r: Report) -> String {
        let rows: [(String, (HostReport) -> String)] = [
            ("Host", { h($0.hostname) }),
            ("Kernel", { "Linux " + h($0.kernel) }),
            ("Network namespace", { h($0.netns) }),
            ("Focus", { x in
                var f: [String] = []
                if let p = x.port { f.append("port \(p)") }
                if let p = x.peer { f.append("peer \(h(p))") }
                return f.isEmpty ? "whole host" : f.joined(separator: ", ")
            }),
            ("Time window", { h($0.started) + ($0.window > 0 ? ", counters over \(Seconds.render($0.window))" : "") }),
            ("Evidence from", { h($0.source) + ($0.origin.isEmpty ? "" : " (\(h(($0.origin as NSString).lastPathComponent)))") }),
        ]
        if r.hosts.count == 1, let x = r.hosts.first {
            return "<table id=\"host\">\n" + rows.map { "<tr><th>\($0.0)</th><td>\($0.1(x))</td></tr>\n" }.joined() + "</table>\n"
        }
        return table([""] + r.hosts.map { h($0.label) }, rows.map { row in ["<b>\(row.0)</b>"] + r.hosts.map(row.1) }, id: "host")
    }

    static func verdict(_ p: Double) -> String { p >= Diagnosis.likely ? "likely" : p >= 0.15 ? "possible" : "unlikely" }

    static func diagnosis(_ r: Report) -> String {
        let multi = r.hosts.count > 1
        var o = "<h2 id=\"diagnosis\">Diagnosis</h2>\n"
        if let top = r.allCauses.first {
            let p = r.maxProbability(top)
            o += p >= Diagnosis.likely
                ? "<p class=\"verdict\">Most likely: <b>\(h(top))</b> — \(h(r.title(top))) (<span class=\"likely\">\(pct(p))</span>).</p>\n"
                : "<p class=\"verdict\">No cause is likely from what could be seen; the highest is <b>\(h(top))</b> at \(pct(p)).</p>\n"
        }
        o += SVGCharts.probabilityBars(r) + "\n"
        for id in r.detailedCauses {
            o += "<h3 class=\"cause\" id=\"cause-\(h(id))\">\(code(id)) \(h(r.title(id)))</h3>\n"
            for x in r.hosts {
                guard let c = x.cause(id) else { continue }
                o += "<p>" + (multi ? "<b>\(h(x.label))</b>: " : "Probability ")
                o += "<span class=\"\(verdict(c.probability))\">\(pct(c.probability)) (\(verdict(c.probability)))</span></p>\n<ul>\n"
                if c.forEvidence.isEmpty && c.against.isEmpty { o += "<li class=\"note\">No evidence either way: the probability is the prior.</li>\n" }
                for e in c.forEvidence { o += evidence(e, "for", "For") }
                for e in c.against { o += evidence(e, "against", "Against") }
                for u in c.unknown.prefix(8) { o += "<li class=\"unseen\">Not seen: \(code(u.key)) — \(h(u.reason))</li>\n" }
                if c.unknown.count > 8 { o += "<li class=\"unseen\">and \(c.unknown.count - 8) more unseen facts (the JSON report lists them all)</li>\n" }
                o += "</ul>\n"
            }
        }
        return o
    }

    static func evidence(_ e: HostReport.EvidenceItem, _ cls: String, _ word: String) -> String {
        var li = "<li class=\"\(cls)\"><b>\(word)</b> (\(String(format: "%+.1f", e.weight))): \(h(e.explain))"
        if !e.facts.isEmpty {
            li += "<br><small>" + e.facts.prefix(6).map { f in "\(code(f.key)) = \(code(f.value))" + (f.source.isEmpty ? "" : " from \(h(f.source))") }.joined(separator: "; ") + "</small>"
        }
        return li + "</li>\n"
    }

    /// HTML's syntax for the shared sections (ReportLayout).
    struct Writer: ReportWriter {
        func text(_ s: String) -> String { h(s) }
        func code(_ s: String) -> String { HTMLReport.code(s) }
        func strong(_ body: String) -> String { "<b>\(body)</b>" }
        func heading(_ level: Int, _ body: String, id: String?) -> String {
            "<h\(level)\(id.map { " id=\"\($0)\"" } ?? "")>\(body)</h\(level)>\n"
        }
        func paragraph(_ body: String, note: Bool) -> String { "<p\(note ? " class=\"note\"" : "")>\(body)</p>\n" }
        func table(_ header: [String], _ cells: [[String]], id: String?) -> String { HTMLReport.table(header, cells, id: id) }
        func bullets(_ items: [String]) -> String { "<ul>\n" + items.map { "<li>\($0)</li>\n" }.joined() + "</ul>\n" }
        func status(_ s: String) -> String { "<span class=\"status-\(h(s))\">\(h(s))</span>" }
        func causeLink(_ id: String) -> String { "<a href=\"#cause-\(h(id))\">\(code(id))</a>" }
        var cellBreak: String { "<br>" }
        var differs: String { "<b title=\"differs between the hosts\">≠</b>" }

        func remedies(_ rs: [HostReport.RemedyItem]) -> String {
            var o = "<ol>\n"
            for rem in rs {
                o += "<li><p>\(h(rem.text))</p>"
                if let c = rem.change { o += "<p>Change to consider:</p><pre class=\"change\">\(h(c))</pre>" }
                if let v = rem.verify { o += "<p>Verify: \(h(v))</p>" }
                o += "</li>\n"
            }
            return o + "</ol>\n"
        }
    }
}
