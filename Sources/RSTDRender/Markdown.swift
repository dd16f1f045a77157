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
        let w = Writer()
        out += diagnosis(r)
        out += ReportLayout.findings(r, w)
        out += ReportLayout.unseen(r, w)
        out += ReportLayout.remedies(r, w)
        out += ReportLayout.steps(r, w)
        out += ReportLayout.resets(r, w)
        out += ReportLayout.appendix(r, w)
        out += "---\nWritten by rstdoctor. Nothing was changed on \(multi ? "these hosts" : "this host"): every change above is for you to consider.\n"
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
                for e in c.forEvidence { out += "- **For** (\(ReportLayout.weight(e.weight))): \(md(e.explain))\(facts(e))\n" }
                for e in c.against { out += "- **Against** (\(ReportLayout.weight(e.weight))): \(md(e.explain))\(facts(e))\n" }
                for u in c.unknown.prefix(8) { out += "- *Not seen*: \(code(u.key)) — \(md(u.reason))\n" }
                if c.unknown.count > 8 { out += "- *and \(c.unknown.count - 8) more unseen facts* (the JSON report lists them all)\n" }
                out += "\n"
            }
        }
        return out
    }

    static func facts(_ e: HostReport.EvidenceItem) -> String {
        guard !e.facts.isEmpty else { return "" }
        let list = e.facts.prefix(6).map { f in "\(code(f.key)) = \(code(f.value))" + (f.source.isEmpty ? "" : " from \(md(f.source))") }
        return "\n  - Facts: " + list.joined(separator: "; ")
    }

    /// Markdown's syntax for the shared sections (ReportLayout).
    struct Writer: ReportWriter {
        func text(_ s: String) -> String { Sanitize.markdown(s) }
        func code(_ s: String) -> String { MarkdownReport.code(s) }
        func strong(_ body: String) -> String { "**\(body)**" }
        func heading(_ level: Int, _ body: String, id: String?) -> String { String(repeating: "#", count: level) + " \(body)\n\n" }
        func paragraph(_ body: String, note: Bool) -> String { (note ? "*\(body)*" : body) + "\n\n" }
        func table(_ header: [String], _ cells: [[String]], id: String?) -> String { MarkdownReport.table(header, cells) + "\n" }
        func bullets(_ items: [String]) -> String { items.map { "- \($0)\n" }.joined() + "\n" }
        func status(_ s: String) -> String { s == "finding" || s == "failed" ? "**\(s)**" : text(s) }
        func causeLink(_ id: String) -> String { code(id) }
        var cellBreak: String { "; " }
        var differs: String { "≠" }

        func remedies(_ rs: [HostReport.RemedyItem]) -> String {
            var out = ""
            for (i, rem) in rs.enumerated() {
                out += "\(i + 1). \(text(rem.text))\n\n"
                if let c = rem.change { out += "   Change to consider:\n\n" + indent(fence(c, "sh"), "   ") + "\n" }
                if let v = rem.verify { out += "   Verify: \(text(v))\n\n" }
            }
            return out
        }
    }

    static func indent(_ s: String, _ pad: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n")
    }
}
