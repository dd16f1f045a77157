import Foundation
import RSTDInfer
import RSTDCore

/// `rstdoctor report --format markdown`: pastes into GitHub, GitLab and Jira issues.
/// Every host-derived string goes through Sanitize.markdown (or a code span/fence that cannot be closed by it).
package enum MarkdownReport {
    static func md(_ s: String) -> String { Sanitize.markdown(s) }

    /// An inline code span that its content cannot close; pipes escaped so tables stay intact.
    static func code(_ s: String) -> String {
        let t = Sanitize.line(s).replacingOccurrences(of: "|", with: "\\|")
        var longest = 0, run = 0
        for ch in t { if ch == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        let fence = String(repeating: "`", count: longest + 1)
        let pad = t.hasPrefix("`") || t.hasSuffix("`") ? " " : ""
        return t.isEmpty ? "" : fence + pad + t + pad + fence
    }

    /// A fenced code block its content cannot close.
    static func fence(_ s: String, _ lang: String = "") -> String {
        let t = Sanitize.terminal(s).replacingOccurrences(of: "\t", with: "    ")
        var longest = 2, run = 0
        for ch in t { if ch == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        let f = String(repeating: "`", count: longest + 1)
        return "\(f)\(lang)\n\(t)\n\(f)\n"
    }

    static func pct(_ p: Double) -> String { "\(Int((p * 100).rounded()))%" }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var out = "| " + header.joined(separator: " | ") + " |\n"
        out += "|" + header.map { _ in " --- |" }.joined() + "\n"
        for r in rows { out += "| " + r.map { $0.isEmpty ? " " : $0 }.joined(separator: " | ") + " |\n" }
        return out
    }

    package static func render(_ r: Report) -> String {
        let multi = r.hosts.count > 1
        var out = ""
        if multi {
            out += "# rstdoctor report — \(r.hosts.count) hosts: \(r.hosts.map { md($0.label) }.joined(separator: ", "))\n\n"
        } else {
            out += "# rstdoctor report — \(md(r.hosts.first?.label ?? "?"))\n\n"
        }
        out += hostTable(r) + "\n"
        // What to do comes right after the diagnosis, before the long lists (check tables, resets).
        out += diagnosis(r)
        out += remedies(r)
        out += steps(r)
        out += resets(r)
        out += appendix(r)
        out += "\n---\nWritten by rstdoctor. Nothing was changed on \(multi ? "these hosts" : "this host"): every change above is for you to consider.\n"
        return out
    }

    static func focus(_ h: HostReport) -> String {
        var f: [String] = []
        if let p = h.port { f.append("port \(p)") }
        if let p = h.peer { f.append("peer \(md(p))") }
        return f.isEmpty ? "whole host" : f.joined(separator: ", ")
    }

    static func window(_ h: HostReport) -> String {
        var w = md(h.started)
        if h.window > 0 { w += ", counters over \(Seconds.render(h.window))" }
        return w
    }

    static func hostTable(_ r: Report) -> String {
        let rows: [(String, (HostReport) -> String)] = [
            ("Host", { md($0.hostname) }),
            ("Kernel", { "Linux " + md($0.kernel) }),
            ("Network namespace", { md($0.netns) }),
            ("Focus", focus),
            ("Time window", window),
            ("Evidence from", { md($0.source) + ($0.origin.isEmpty ? "" : " (\(md(($0.origin as NSString).lastPathComponent)))") }),
        ]
        if r.hosts.count == 1, let h = r.hosts.first {
            return table(["", ""], rows.map { ["**\($0.0)**", $0.1(h)] })
        }
        return table([""] + r.hosts.map { md($0.label) }, rows.map { row in ["**\(row.0)**"] + r.hosts.map(row.1) })
    }

    static func diagnosis(_ r: Report) -> String {
        var out = "## Diagnosis\n\n"
        let ids = r.allCauses
        let multi = r.hosts.count > 1
        var rows: [[String]] = []
        for (i, id) in ids.enumerated() {
            var row = ["\(i + 1)", code(id), md(r.title(id))]
            for h in r.hosts {
                let p = h.cause(id)?.probability
                row.append(p.map { $0 >= Diagnosis.likely ? "**\(pct($0))**" : pct($0) } ?? "—")
            }
            rows.append(row)
        }
        out += table(["#", "Cause", "What it means"] + (multi ? r.hosts.map { md($0.label) } : ["Probability"]), rows)
        out += "\nProbabilities in **bold** are likely (≥ \(pct(Diagnosis.likely))).\n\n"

        for id in r.detailedCauses {
            out += "### \(code(id)) — \(md(r.title(id)))\n\n"
            for h in r.hosts {
                guard let c = h.cause(id) else { continue }
                let verdict = c.probability >= Diagnosis.likely ? "likely" : c.probability >= 0.15 ? "possible" : "unlikely"
                if multi { out += "**\(md(h.label))**: \(pct(c.probability)) (\(verdict))\n\n" }
                else { out += "Probability \(pct(c.probability)) (\(verdict)).\n\n" }
                if c.forEvidence.isEmpty && c.against.isEmpty { out += "- No evidence either way: the probability is the prior.\n" }
                for e in c.forEvidence { out += "- **For** (+\(weight(e.weight))): \(md(e.explain))\(facts(e))\n" }
                for e in c.against { out += "- **Against** (\(weight(e.weight))): \(md(e.explain))\(facts(e))\n" }
                for u in c.unknown.prefix(8) { out += "- *Not seen*: \(code(u.key)) — \(md(u.reason))\n" }
                if c.unknown.count > 8 { out += "- *and \(c.unknown.count - 8) more unseen facts* (the JSON report lists them all)\n" }
                out += "\n"
            }
        }
        var unseen: [String] = []
        for h in r.hosts {
            for c in h.checks where c.status == "skipped" || c.status == "failed" {
                var line = "- " + (multi ? "\(md(h.label)): " : "") + "\(code(c.id)) \(c.status): \(md(c.reason))"
                if let f = c.fix, !f.isEmpty { line += " — to see it: \(md(f))" }
                unseen.append(line)
            }
        }
        out += "### What could not be seen\n\n"
        out += unseen.isEmpty ? "Every check ran.\n\n" : unseen.joined(separator: "\n") + "\n\n"
        return out
    }

    static func weight(_ w: Double) -> String { String(format: "%.1f", w) }

    static func facts(_ e: HostReport.EvidenceItem) -> String {
        guard !e.facts.isEmpty else { return "" }
        let list = e.facts.prefix(6).map { f in "\(code(f.key)) = \(code(f.value))" + (f.source.isEmpty ? "" : " from \(md(f.source))") }
        return "\n  - Facts: " + list.joined(separator: "; ")
    }

    static func steps(_ r: Report) -> String {
        var out = "## Troubleshooting steps\n\n"
        let multi = r.hosts.count > 1
        for (n, id) in r.stepIDs.enumerated() {
            let s = r.stepInfo(id)
            out += "### \(n + 1). \(md(s.title))\n\n"
            if !s.purpose.isEmpty { out += "*\(md(s.purpose))*\n\n" }
            var rows: [[String]] = []
            for h in r.hosts {
                for c in h.checks where c.step == id {
                    rows.append((multi ? [md(h.label)] : []) + [code(c.id), md(c.title), status(c.status), md(c.note), "\(c.durationMs) ms"])
                }
            }
            if rows.isEmpty { out += "No check ran for this step.\n\n" }
            else { out += table((multi ? ["Host"] : []) + ["Check", "What it looks at", "Status", "Finding or reason", "Took"], rows) + "\n" }
            let answers = r.answers(step: id)
            if !answers.isEmpty {
                out += "Your answers:\n\n"
                for a in answers {
                    out += "- \(md(a.question)) — **\(r.given(a.byHost, escape: md))**\n"
                }
                out += "\n"
            }
        }
        return out
    }

    static func status(_ s: String) -> String {
        switch s {
        case "finding": return "**finding**"
        case "failed": return "**failed**"
        default: return md(s)
        }
    }

    static let resetLimit = 500

    /// The rules behind a group of resets, as one table cell.
    static func why(_ r: Report, _ g: Report.ResetGroup) -> String {
        let (wire, rules) = r.why(g)
        let parts = (wire.map { [md($0)] } ?? []) + rules.map { "\(code($0.rule)) (+\(weight($0.weight))): \(md($0.explain))" }
        return parts.joined(separator: "; ")
    }

    static func resets(_ r: Report) -> String {
        var out = "## Resets seen\n\n"
        let all = r.resets
        if all.isEmpty {
            out += "No individual reset was captured or traced. To see them, run rstdoctor with `--observe 30s --port PORT` while the problem happens, or give it a capture with `--pcap FILE`.\n\n"
            return out
        }
        let multi = r.hosts.count > 1
        let groups = r.resetGroups()
        let whys = groups.map { why(r, $0) }
        let showWhy = whys.contains { !$0.isEmpty }
        out += "\(all.count) reset\(all.count == 1 ? "" : "s") in \(groups.count) group\(groups.count == 1 ? "" : "s"), largest first"
        out += showWhy ? "; **Why** gives the rules that fired for the cause (see the diagnosis above).\n\n" : ".\n\n"
        var rows: [[String]] = []
        for (i, g) in groups.enumerated() {
            rows.append(["\(i + 1)"] + (multi ? [md(g.host)] : []) + [
                "\(g.count)", md(Report.span(g)), md(g.source), md(g.direction), md(g.from) + " → " + md(g.to),
                g.port.map(String.init) ?? "", md(g.label), code(g.cause),
            ] + (showWhy ? [whys[i].isEmpty ? "—" : whys[i]] : []))
        }
        out += table(["#"] + (multi ? ["Host"] : []) + ["RSTs", "When", "Seen by", "Direction", "From → to", "Port", "Class or reason",
                                                        "Cause"] + (showWhy ? ["Why"] : []), rows)
        out += "\n### Each reset\n\n"
        let explained = r.resetsExplained
        rows = []
        for (i, x) in all.prefix(resetLimit).enumerated() {
            let rec = x.record
            rows.append(["\(i + 1)"] + (multi ? [md(x.host)] : []) + [
                md(ResetView.timeText(rec)), md(ResetView.source(rec)), md(ResetView.direction(rec)),
                md(ResetView.endpoint(rec, "src", "sport")), md(ResetView.endpoint(rec, "dst", "dport")),
                code(ResetView.cause(rec)), md(ResetView.detail(rec)),
            ] + (explained ? [md(ResetView.explain(rec))] : []))
        }
        out += table(["#"] + (multi ? ["Host"] : []) + ["Time", "Seen by", "Direction", "From", "To", "Cause", "Detail"]
                     + (explained ? ["Why"] : []), rows)
        if all.count > resetLimit { out += "\n\(all.count - resetLimit) more resets are in the JSON report.\n" }
        out += "\n"
        return out
    }

    static func remedies(_ r: Report) -> String {
        var out = "## What to consider\n\n"
        let (ids, likely) = r.remedyCauses
        if ids.isEmpty {
            out += "No cause is likely or contending, so there is no change to suggest. If resets continue, observe them live (`rstdoctor check --observe 30s --port PORT`) or answer the questions (`rstdoctor`).\n\n"
            return out
        }
        out += likely ? "For each likely cause, the change to consider and how to verify it helped. " : "No cause is likely; these are the contending ones. "
        out += "rstdoctor shows these changes and never applies them.\n\n"
        for id in ids {
            let on = r.hosts.filter { ($0.cause(id)?.probability ?? 0) >= (likely ? Diagnosis.likely : 0.15) }.map { md($0.label) }
            out += "### \(code(id)) (\(pct(r.maxProbability(id)))\(r.hosts.count > 1 ? " on " + on.joined(separator: ", ") : ""))\n\n"
            let rs = r.remedies(id)
            if rs.isEmpty { out += "The knowledge base has no remedy for this cause.\n\n" }
            for (i, rem) in rs.enumerated() {
                out += "\(i + 1). \(md(rem.text))\n\n"
                if let c = rem.change { out += "   Change to consider:\n\n" + indent(fence(c, "sh"), "   ") + "\n" }
                if let v = rem.verify { out += "   Verify: \(md(v))\n\n" }
            }
        }
        return out
    }

    static func indent(_ s: String, _ pad: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n")
    }

    static func appendix(_ r: Report) -> String {
        var out = "## Appendix: raw evidence\n\n"
        let multi = r.hosts.count > 1
        var names: [String] = []
        for h in r.hosts { for c in h.counters where !names.contains(c.name) { names.append(c.name) } }
        out += "### Reset-related counters (non-zero)\n\n"
        if names.isEmpty { out += "None was non-zero (or the counters could not be read).\n\n" }
        else {
            let rows = names.map { n in
                [code(n)] + r.hosts.flatMap { h -> [String] in
                    let c = h.counters.first { $0.name == n }
                    return [c?.value.map(String.init) ?? "—", c?.delta.map { "+\($0)" } ?? "—"]
                }
            }
            let head = r.hosts.flatMap { h in multi ? ["\(md(h.label)) value", "change"] : ["Value", "Change over the window"] }
            out += table(["Counter"] + head, rows) + "\n"
        }
        var keys: [String] = []
        for h in r.hosts { for (k, _) in h.sysctls where !keys.contains(k) { keys.append(k) } }
        keys.sort()
        out += "### Sysctls\n\n"
        if keys.isEmpty { out += "No sysctl was read.\n\n" }
        else {
            let rows = keys.map { k -> [String] in
                let vals = r.hosts.map { h in h.sysctls.first { $0.0 == k }?.1 }
                let differ = multi && Set(vals.map { $0 ?? "" }).count > 1
                return [code(k) + (differ ? " ≠" : "")] + vals.map { $0.map(code) ?? "—" }
            }
            out += table(["Sysctl"] + (multi ? r.hosts.map { md($0.label) } : ["Value"]), rows)
            if multi { out += "\n≠ marks a sysctl whose value differs between the hosts.\n" }
            out += "\n"
        }
        out += "### Firewall rules that reset or match the focus\n\n"
        let rules = r.hosts.flatMap { h in h.firewallRules.map { (h.label, $0) } }
        if rules.isEmpty { out += "None found (or the rules could not be read).\n" }
        else {
            let rows = rules.prefix(200).map { (host, rule) in (multi ? [md(host)] : []) + [md(ResetView.string(rule, "source") ?? ""), code(ruleText(rule))] }
            out += table((multi ? ["Host"] : []) + ["From", "Rule"], rows)
        }
        return out
    }

    /// The rule as the firewall prints it when the parser kept that, else its fields.
    static func ruleText(_ r: Record) -> String {
        for k in ["text", "rule", "line", "expr"] { if let s = ResetView.string(r, k) { return s } }
        return r.keys.sorted().filter { $0 != "source" }.compactMap { k in r[k].map { "\(k)=\($0.display)" } }.joined(separator: " ")
    }
}
