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
        o += diagnosis(r)
        o += remedies(r)
        o += steps(r)
        o += resets(r)
        o += appendix(r)
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
        var unseen: [String] = []
        for x in r.hosts {
            for c in x.checks where c.status == "skipped" || c.status == "failed" {
                var li = "<li>" + (multi ? "\(h(x.label)): " : "") + "\(code(c.id)) <span class=\"status-\(h(c.status))\">\(h(c.status))</span>: \(h(c.reason))"
                if let f = c.fix, !f.isEmpty { li += " — to see it: \(h(f))" }
                unseen.append(li + "</li>")
            }
        }
        o += "<h3>What could not be seen</h3>\n"
        o += unseen.isEmpty ? "<p>Every check ran.</p>\n" : "<ul>\n" + unseen.joined(separator: "\n") + "\n</ul>\n"
        return o
    }

    static func evidence(_ e: HostReport.EvidenceItem, _ cls: String, _ word: String) -> String {
        var li = "<li class=\"\(cls)\"><b>\(word)</b> (\(String(format: "%+.1f", e.weight))): \(h(e.explain))"
        if !e.facts.isEmpty {
            li += "<br><small>" + e.facts.prefix(6).map { f in "\(code(f.key)) = \(code(f.value))" + (f.source.isEmpty ? "" : " from \(h(f.source))") }.joined(separator: "; ") + "</small>"
        }
        return li + "</li>\n"
    }

    static func steps(_ r: Report) -> String {
        let multi = r.hosts.count > 1
        var o = "<h2 id=\"steps\">Troubleshooting steps</h2>\n"
        for (n, id) in r.stepIDs.enumerated() {
            let s = r.stepInfo(id)
            o += "<h3>\(n + 1). \(h(s.title))</h3>\n"
            if !s.purpose.isEmpty { o += "<p class=\"note\">\(h(s.purpose))</p>\n" }
            var rows: [[String]] = []
            for x in r.hosts {
                for c in x.checks where c.step == id {
                    rows.append((multi ? [h(x.label)] : []) + [code(c.id), h(c.title), "<span class=\"status-\(h(c.status))\">\(h(c.status))</span>", h(c.note), "\(c.durationMs) ms"])
                }
            }
            o += rows.isEmpty ? "<p class=\"note\">No check ran for this step.</p>\n"
                : table((multi ? ["Host"] : []) + ["Check", "What it looks at", "Status", "Finding or reason", "Took"], rows)
            let answers = r.answers(step: id)
            if !answers.isEmpty {
                o += "<p>Your answers:</p>\n<ul>\n"
                for a in answers {
                    o += "<li>\(h(a.question)) — <b>\(r.given(a.byHost, escape: h))</b></li>\n"
                }
                o += "</ul>\n"
            }
        }
        return o
    }

    static func resets(_ r: Report) -> String {
        var o = "<h2 id=\"resets\">Resets seen</h2>\n"
        let all = r.resets
        guard let timeline = SVGCharts.resetTimeline(r) else {
            return o + "<p>No individual reset was captured or traced. To see them, run rstdoctor with <code>--observe 30s --port PORT</code> while the problem happens, or give it a capture with <code>--pcap FILE</code>.</p>\n"
        }
        o += timeline + "\n"
        let multi = r.hosts.count > 1
        let groups = r.resetGroups()
        let whys = groups.map { why(r, $0) }
        let showWhy = whys.contains { !$0.isEmpty }
        o += "<p>\(all.count) reset\(all.count == 1 ? "" : "s") in \(groups.count) group\(groups.count == 1 ? "" : "s"), largest first"
        o += showWhy ? "; <b>Why</b> gives the rules that fired for the cause (see the diagnosis above).</p>\n" : ".</p>\n"
        var rows: [[String]] = []
        for (i, g) in groups.enumerated() {
            rows.append(["\(i + 1)"] + (multi ? [h(g.host)] : []) + [
                "\(g.count)", h(Report.span(g)), h(g.source), h(g.direction), h(g.from) + " → " + h(g.to),
                g.port.map(String.init) ?? "", h(g.label), "<a href=\"#cause-\(h(g.cause))\">\(code(g.cause))</a>",
            ] + (showWhy ? [whys[i].isEmpty ? "—" : whys[i]] : []))
        }
        o += table(["#"] + (multi ? ["Host"] : []) + ["RSTs", "When", "Seen by", "Direction", "From → to", "Port", "Class or reason",
                                                      "Cause"]
                   + (showWhy ? ["Why"] : []), rows, id: "reset-groups")
        o += "<h3>Each reset</h3>\n"
        let explained = r.resetsExplained
        rows = []
        for (i, x) in all.prefix(MarkdownReport.resetLimit).enumerated() {
            let rec = x.record
            rows.append(["\(i + 1)"] + (multi ? [h(x.host)] : []) + [
                h(ResetView.timeText(rec)), h(ResetView.source(rec)), h(ResetView.direction(rec)),
                h(ResetView.endpoint(rec, "src", "sport")), h(ResetView.endpoint(rec, "dst", "dport")),
                code(ResetView.cause(rec)), h(ResetView.detail(rec)),
            ] + (explained ? [h(ResetView.explain(rec))] : []))
        }
        o += table(["#"] + (multi ? ["Host"] : []) + ["Time", "Seen by", "Direction", "From", "To", "Cause", "Detail"]
                   + (explained ? ["Why"] : []), rows, id: "reset-table")
        if all.count > MarkdownReport.resetLimit { o += "<p class=\"note\">\(all.count - MarkdownReport.resetLimit) more resets are in the JSON report.</p>\n" }
        return o
    }

    /// The rules behind a group of resets, as one table cell.
    static func why(_ r: Report, _ g: Report.ResetGroup) -> String {
        let (wire, rules) = r.why(g)
        let parts = (wire.map { [h($0)] } ?? [])
            + rules.map { "\(code($0.rule)) (\(String(format: "%+.1f", $0.weight))): \(h($0.explain))" }
        return parts.joined(separator: "<br>")
    }

    static func remedies(_ r: Report) -> String {
        var o = "<h2 id=\"remedies\">What to consider</h2>\n"
        let (ids, likely) = r.remedyCauses
        if ids.isEmpty {
            return o + "<p>No cause is likely or contending, so there is no change to suggest. If resets continue, observe them live (<code>rstdoctor check --observe 30s --port PORT</code>) or answer the questions (<code>rstdoctor</code>).</p>\n"
        }
        o += "<p>" + (likely ? "For each likely cause, the change to consider and how to verify it helped. " : "No cause is likely; these are the contending ones. ")
        o += "rstdoctor shows these changes and <b>never applies them</b>.</p>\n"
        for id in ids {
            let on = r.hosts.filter { ($0.cause(id)?.probability ?? 0) >= (likely ? Diagnosis.likely : 0.15) }.map { h($0.label) }
            o += "<h3>\(code(id)) (\(pct(r.maxProbability(id)))\(r.hosts.count > 1 ? " on " + on.joined(separator: ", ") : ""))</h3>\n"
            let rs = r.remedies(id)
            if rs.isEmpty { o += "<p>The knowledge base has no remedy for this cause.</p>\n" }
            o += "<ol>\n"
            for rem in rs {
                o += "<li><p>\(h(rem.text))</p>"
                if let c = rem.change { o += "<p>Change to consider:</p><pre class=\"change\">\(h(c))</pre>" }
                if let v = rem.verify { o += "<p>Verify: \(h(v))</p>" }
                o += "</li>\n"
            }
            o += "</ol>\n"
        }
        return o
    }

    static func appendix(_ r: Report) -> String {
        let multi = r.hosts.count > 1
        var o = "<h2 id=\"appendix\">Appendix: raw evidence</h2>\n<h3>Reset-related counters (non-zero)</h3>\n"
        var names: [String] = []
        for x in r.hosts { for c in x.counters where !names.contains(c.name) { names.append(c.name) } }
        if names.isEmpty { o += "<p class=\"note\">None was non-zero (or the counters could not be read).</p>\n" }
        else {
            let rows = names.map { n in
                [code(n)] + r.hosts.flatMap { x -> [String] in
                    let c = x.counters.first { $0.name == n }
                    return [c?.value.map(String.init) ?? "—", c?.delta.map { "+\($0)" } ?? "—"]
                }
            }
            let head = r.hosts.flatMap { x in multi ? ["\(h(x.label)) value", "change"] : ["Value", "Change over the window"] }
            o += table(["Counter"] + head, rows, id: "counters")
        }
        var keys: [String] = []
        for x in r.hosts { for (k, _) in x.sysctls where !keys.contains(k) { keys.append(k) } }
        keys.sort()
        o += "<h3>Sysctls</h3>\n"
        if keys.isEmpty { o += "<p class=\"note\">No sysctl was read.</p>\n" }
        else {
            let rows = keys.map { k -> [String] in
                let vals = r.hosts.map { x in x.sysctls.first { $0.0 == k }?.1 }
                let differ = multi && Set(vals.map { $0 ?? "" }).count > 1
                return [code(k) + (differ ? " <b title=\"differs between the hosts\">≠</b>" : "")] + vals.map { $0.map(code) ?? "—" }
            }
            o += table(["Sysctl"] + (multi ? r.hosts.map { h($0.label) } : ["Value"]), rows, id: "sysctls")
        }
        o += "<h3>Firewall rules that reset or match the focus</h3>\n"
        let rules = r.hosts.flatMap { x in x.firewallRules.map { (x.label, $0) } }
        if rules.isEmpty { o += "<p class=\"note\">None found (or the rules could not be read).</p>\n" }
        else {
            o += table((multi ? ["Host"] : []) + ["From", "Rule"],
                       rules.prefix(200).map { (x, rule) in (multi ? [h(x)] : []) + [h(ResetView.string(rule, "source") ?? ""), code(MarkdownReport.ruleText(rule))] },
                       id: "firewall-rules")
        }
        return o
    }
}
