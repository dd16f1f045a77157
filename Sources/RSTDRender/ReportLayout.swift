import Foundation
import RSTDInfer
import RSTDCore

/// How one output format writes the blocks of a report: Markdown and HTML implement it, and
/// `ReportLayout` lays out the sections they share (steps, remedies, resets, appendix) once. Every
/// argument named `text` is host-derived or fixed text the writer escapes; arguments named `cells`,
/// `body` or `items` are already written in the format.
protocol ReportWriter {
    func text(_ s: String) -> String
    func code(_ s: String) -> String
    func strong(_ body: String) -> String
    func heading(_ level: Int, _ body: String, id: String?) -> String
    func paragraph(_ body: String, note: Bool) -> String
    func table(_ header: [String], _ cells: [[String]], id: String?) -> String
    func bullets(_ items: [String]) -> String
    /// A check's status, marked when it matters (finding, failed).
    func status(_ s: String) -> String
    /// A cause id that leads to its evidence.
    func causeLink(_ id: String) -> String
    /// Separates parts inside one table cell.
    var cellBreak: String { get }
    /// The numbered remedies: what to do, the change (a command block), how to verify.
    func remedies(_ rs: [HostReport.RemedyItem]) -> String
    /// Marks a sysctl whose value differs between the hosts.
    var differs: String { get }
}

extension ReportWriter {
    func heading(_ level: Int, _ body: String) -> String { heading(level, body, id: nil) }
    func paragraph(_ body: String) -> String { paragraph(body, note: false) }
}

/// The sections Markdown and HTML share, in the order a reader needs them.
enum ReportLayout {
    static let resetLimit = 500

    static func pct(_ p: Double) -> String { "\(Int((p * 100).rounded()))%" }

    static func weight(_ w: Double) -> String { String(format: "%+.1f", w) }

    /// Causes that make no RST (makes_resets: false) at or above 15 % on some host: their own
    /// heading, evidence and remedies, so that none reads as the reason for the resets. Empty when none.
    static func findings<W: ReportWriter>(_ r: Report, _ w: W) -> String {
        let ids = r.shownFindings
        guard !ids.isEmpty else { return "" }
        let multi = r.hosts.count > 1
        var o = w.heading(2, Diagnosis.findingsHeading, id: "findings")
        o += w.paragraph("These make connections fail or stall (time-outs, retransmissions) but the kernel sends "
            + "\(w.strong("no RST")) for them: they are not the reason for the resets, and the ranking above leaves them out.")
        for id in ids {
            let title = w.text(r.title(id, in: \.findings)), p = pct(r.maxProbability(id, in: \.findings))
            o += w.heading(3, "\(w.code(id)) — \(title) (\(p))", id: "finding-\(id)")
            var items: [String] = []
            for h in r.hosts {
                guard let f = h.finding(id) else { continue }
                let on = multi ? "\(w.text(h.label)): " : ""
                items.append(on + "probability \(pct(f.probability))")
                items += f.forEvidence.map { on + "\(w.strong("For")) (\(weight($0.weight))): \(w.text($0.explain))" }
                items += f.against.map { on + "\(w.strong("Against")) (\(weight($0.weight))): \(w.text($0.explain))" }
            }
            o += w.bullets(items)
            let rs = r.remedies(id, in: \.findings)
            if !rs.isEmpty { o += w.remedies(rs) }
        }
        return o
    }

    /// Checks that were skipped or failed, with what to do so they can run.
    static func unseen<W: ReportWriter>(_ r: Report, _ w: W) -> String {
        let multi = r.hosts.count > 1
        var items: [String] = []
        for x in r.hosts {
            for c in x.checks where c.status == "skipped" || c.status == "failed" {
                var li = (multi ? "\(w.text(x.label)): " : "") + "\(w.code(c.id)) \(w.status(c.status)): \(w.text(c.reason))"
                if let f = c.fix, !f.isEmpty { li += " — to see it: \(w.text(f))" }
                items.append(li)
            }
        }
        return w.heading(3, "What could not be seen") + (items.isEmpty ? w.paragraph("Every check ran.") : w.bullets(items))
    }

    static func remedies<W: ReportWriter>(_ r: Report, _ w: W) -> String {
        var o = w.heading(2, "What to consider", id: "remedies")
        let (ids, likely) = r.remedyCauses
        if ids.isEmpty {
            return o + w.paragraph("No cause is likely or contending, so there is no change to suggest. If resets continue, observe them "
                + "live (\(w.code("rstdoctor check --observe 30s --port PORT"))) or answer the questions (\(w.code("rstdoctor"))).")
        }
        let lead = likely ? "For each likely cause, the change to consider and how to verify it helped. "
            : "No cause is likely; these are the contending ones. "
        o += w.paragraph(lead + "rstdoctor shows these changes and \(w.strong("never applies them")).")
        for id in ids {
            let on = r.hosts.filter { ($0.cause(id)?.probability ?? 0) >= (likely ? Diagnosis.likely : 0.15) }.map { w.text($0.label) }
            let whereLikely = r.hosts.count > 1 ? " on " + on.joined(separator: ", ") : ""
            o += w.heading(3, "\(w.code(id)) (\(pct(r.maxProbability(id)))\(whereLikely))")
            let rs = r.remedies(id)
            o += rs.isEmpty ? w.paragraph("The knowledge base has no remedy for this cause.") : w.remedies(rs)
        }
        return o
    }

    static func steps<W: ReportWriter>(_ r: Report, _ w: W) -> String {
        let multi = r.hosts.count > 1
        var o = w.heading(2, "Troubleshooting steps", id: "steps")
        for (n, id) in r.stepIDs.enumerated() {
            let s = r.stepInfo(id)
            o += w.heading(3, "\(n + 1). \(w.text(s.title))")
            if !s.purpose.isEmpty { o += w.paragraph(w.text(s.purpose), note: true) }
            var rows: [[String]] = []
            for x in r.hosts {
                for c in x.checks where c.step == id {
                    rows.append((multi ? [w.text(x.label)] : []) + [w.code(c.id), w.text(c.title), w.status(c.status), w.text(c.note),
                                                                   "\(c.durationMs) ms"])
                }
            }
            o += rows.isEmpty ? w.paragraph("No check ran for this step.", note: true)
                : w.table((multi ? ["Host"] : []) + ["Check", "What it looks at", "Status", "Finding or reason", "Took"], rows, id: nil)
            let answers = r.answers(step: id)
            if !answers.isEmpty {
                o += w.paragraph("Your answers:")
                o += w.bullets(answers.map { "\(w.text($0.question)) — \(w.strong(r.given($0.byHost, escape: w.text)))" })
            }
        }
        return o
    }

    /// The rules behind a group of resets, as one table cell.
    static func why<W: ReportWriter>(_ r: Report, _ g: Report.ResetGroup, _ w: W) -> String {
        let (wire, rules) = r.why(g)
        let parts = (wire.map { [w.text($0)] } ?? []) + rules.map { "\(w.code($0.rule)) (\(weight($0.weight))): \(w.text($0.explain))" }
        return parts.joined(separator: w.cellBreak)
    }

    /// The resets in groups (with their Why), then each one. `chart` goes first (HTML's timeline).
    static func resets<W: ReportWriter>(_ r: Report, _ w: W, chart: String = "") -> String {
        var o = w.heading(2, "Resets seen", id: "resets")
        let all = r.resets
        if all.isEmpty {
            return o + w.paragraph("No individual reset was captured or traced. To see them, run rstdoctor with "
                + "\(w.code("--observe 30s --port PORT")) while the problem happens, or give it a capture with \(w.code("--pcap FILE")).")
        }
        o += chart
        let multi = r.hosts.count > 1
        let groups = r.resetGroups()
        let whys = groups.map { why(r, $0, w) }
        let showWhy = whys.contains { !$0.isEmpty }
        o += w.paragraph("\(all.count) reset\(all.count == 1 ? "" : "s") in \(groups.count) "
            + "group\(groups.count == 1 ? "" : "s"), largest first"
            + (showWhy ? "; \(w.strong("Why")) gives the rules that fired for the cause (see the diagnosis above)." : "."))
        var rows: [[String]] = []
        for (i, g) in groups.enumerated() {
            rows.append(["\(i + 1)"] + (multi ? [w.text(g.host)] : []) + [
                "\(g.count)", w.text(Report.span(g)), w.text(g.source), w.text(g.direction), w.text(g.from) + " → " + w.text(g.to),
                g.port.map(String.init) ?? "", w.text(g.label), w.causeLink(g.cause),
            ] + (showWhy ? [whys[i].isEmpty ? "—" : whys[i]] : []))
        }
        o += w.table(["#"] + (multi ? ["Host"] : []) + ["RSTs", "When", "Seen by", "Direction", "From → to", "Port", "Class or reason",
                                                      "Cause"] + (showWhy ? ["Why"] : []), rows, id: "reset-groups")
        o += w.heading(3, "Each reset")
        let explained = r.resetsExplained
        rows = []
        for (i, x) in all.prefix(resetLimit).enumerated() {
            let rec = x.record
            rows.append(["\(i + 1)"] + (multi ? [w.text(x.host)] : []) + [
                w.text(ResetView.timeText(rec)), w.text(ResetView.source(rec)), w.text(ResetView.direction(rec)),
                w.text(ResetView.endpoint(rec, "src", "sport")), w.text(ResetView.endpoint(rec, "dst", "dport")),
                w.code(ResetView.cause(rec)), w.text(ResetView.detail(rec)),
            ] + (explained ? [w.text(ResetView.explain(rec))] : []))
        }
        o += w.table(["#"] + (multi ? ["Host"] : []) + ["Time", "Seen by", "Direction", "From", "To", "Cause", "Detail"]
                     + (explained ? ["Why"] : []), rows, id: "reset-table")
        if all.count > resetLimit { o += w.paragraph("\(all.count - resetLimit) more resets are in the JSON report.", note: true) }
        return o
    }

    static func appendix<W: ReportWriter>(_ r: Report, _ w: W) -> String {
        let multi = r.hosts.count > 1
        var o = w.heading(2, "Appendix: raw evidence", id: "appendix") + w.heading(3, "Reset-related counters (non-zero)")
        var names: [String] = []
        for x in r.hosts { for c in x.counters where !names.contains(c.name) { names.append(c.name) } }
        if names.isEmpty { o += w.paragraph("None was non-zero (or the counters could not be read).", note: true) }
        else {
            let rows = names.map { n in
                [w.code(n)] + r.hosts.flatMap { x -> [String] in
                    let c = x.counters.first { $0.name == n }
                    return [c?.value.map(String.init) ?? "—", c?.delta.map { "+\($0)" } ?? "—"]
                }
            }
            let head = r.hosts.flatMap { x in multi ? ["\(w.text(x.label)) value", "change"] : ["Value", "Change over the window"] }
            o += w.table(["Counter"] + head, rows, id: "counters")
        }
        var keys: [String] = []
        for x in r.hosts { for (k, _) in x.sysctls where !keys.contains(k) { keys.append(k) } }
        keys.sort()
        o += w.heading(3, "Sysctls")
        if keys.isEmpty { o += w.paragraph("No sysctl was read.", note: true) }
        else {
            let rows = keys.map { k -> [String] in
                let vals = r.hosts.map { x in x.sysctls.first { $0.0 == k }?.1 }
                let differ = multi && Set(vals.map { $0 ?? "" }).count > 1
                return [w.code(k) + (differ ? " " + w.differs : "")] + vals.map { $0.map(w.code) ?? "—" }
            }
            o += w.table(["Sysctl"] + (multi ? r.hosts.map { w.text($0.label) } : ["Value"]), rows, id: "sysctls")
            if multi { o += w.paragraph("≠ marks a sysctl whose value differs between the hosts.", note: true) }
        }
        o += w.heading(3, "Firewall rules that reset or match the focus")
        let rules = r.hosts.flatMap { x in x.firewallRules.map { (x.label, $0) } }
        if rules.isEmpty { o += w.paragraph("None found (or the rules could not be read).", note: true) }
        else {
            o += w.table((multi ? ["Host"] : []) + ["From", "Rule"], rules.prefix(200).map { (x, rule) in
                (multi ? [w.text(x)] : []) + [w.text(ResetView.string(rule, "source") ?? ""), w.code(ruleText(rule))]
            }, id: "firewall-rules")
        }
        return o
    }

    /// The rule as the firewall prints it when the parser kept that, else its fields.
    static func ruleText(_ r: Record) -> String {
        for k in ["text", "rule", "line", "expr"] { if let s = ResetView.string(r, k) { return s } }
        return r.keys.sorted().filter { $0 != "source" }.compactMap { k in r[k].map { "\(k)=\($0.display)" } }.joined(separator: " ")
    }
}
