import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDCore

/// The texts the guided session prints, as pure functions of a diagnosis (no I/O), so that they
/// can be tested and reused. Every host- or knowledge-derived string goes through Sanitize.terminal.
package enum SessionText {
    static func t(_ s: String) -> String { Sanitize.terminal(s) }

    static func pct(_ p: Double) -> String { String(format: "%3.0f%%", p * 100) }

    static func pctShort(_ p: Double) -> String { "\(Int((p * 100).rounded()))%" }

    /// A local wall-clock time, HH:MM:SS.
    static func clock(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "HH:mm:ss"
        return f.string(from: d)
    }

    /// Wraps text to `width` columns with an indent (knowledge texts are long single lines).
    package static func wrap(_ text: String, indent: Int = 2, width: Int = 78) -> String {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var cur = ""
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            if !cur.isEmpty && cur.count + 1 + word.count > width - indent {
                lines.append(pad + cur)
                cur = ""
            }
            cur += (cur.isEmpty ? "" : " ") + word
        }
        if !cur.isEmpty { lines.append(pad + cur) }
        return lines.joined(separator: "\n")
    }

    /// The ranking: the top five and anything at or above 15%, or every cause.
    package static func ranking(_ d: Diagnosis, style s: Style, all: Bool = false) -> String {
        var out = s.bold("Ranking") + " (how likely each cause explains the resets):\n"
        let width = min(26, d.causes.map(\.cause.id.count).max() ?? 20)
        let shown = d.causes.enumerated().filter { all || $0.offset < 5 || $0.element.probability >= 0.15 }
        for (i, c) in shown {
            let p = pct(c.probability)
            let colored = c.probability >= Diagnosis.likely ? s.red(p) : c.probability >= 0.3 ? s.yellow(p) : s.dim(p)
            out += String(format: "  %2d. ", i + 1) + colored + "  " + t(c.cause.id).padding(toLength: width, withPad: " ", startingAt: 0) + "  " + t(c.cause.title) + "\n"
        }
        let rest = d.causes.count - shown.count
        if rest > 0, let lastShown = shown.last {
            out += s.dim("      … \(rest) more at or below \(pctShort(lastShown.element.probability)) (`rank all` lists them)") + "\n"
        }
        let likely = d.likelyCauses
        if likely.isEmpty {
            out += "  No cause is likely yet (none reaches \(pctShort(Diagnosis.likely))).\n"
        } else {
            out += "  Likely: " + likely.map { "\(t($0.cause.id)) (\(pctShort($0.probability)))" }.joined(separator: ", ") + ".\n"
        }
        // Causes that make no RST: apart, so that none reads as the reason for the resets.
        let findings = all ? d.findings : d.shownFindings
        if !findings.isEmpty {
            out += s.bold(Diagnosis.findingsHeading) + ":\n"
            for f in findings {
                let p = pct(f.probability)
                out += "      " + (f.probability >= Diagnosis.likely ? s.yellow(p) : s.dim(p)) + "  "
                    + t(f.cause.id).padding(toLength: width, withPad: " ", startingAt: 0) + "  " + t(f.cause.title) + "\n"
            }
        }
        return out
    }

    /// How the ranking moved between two diagnoses (only causes that moved at least half a point).
    package static func movers(from before: Diagnosis, to after: Diagnosis, style s: Style, limit: Int = 5) -> String {
        let old = Dictionary(uniqueKeysWithValues: before.causes.map { ($0.cause.id, $0.probability) })
        var moved: [(String, Double, Double)] = []
        for c in after.causes {
            let b = old[c.cause.id] ?? c.cause.prior
            if abs(c.probability - b) >= 0.005 { moved.append((c.cause.id, b, c.probability)) }
        }
        guard !moved.isEmpty else { return "  The ranking did not change.\n" }
        moved.sort { abs($0.2 - $0.1) != abs($1.2 - $1.1) ? abs($0.2 - $0.1) > abs($1.2 - $1.1) : $0.0 < $1.0 }
        var out = "  The ranking moved:\n"
        let width = min(26, moved.map(\.0.count).max() ?? 20)
        for (id, b, a) in moved.prefix(limit) {
            let arrow = a > b ? s.red("↑") : s.green("↓")
            out += "    \(arrow) " + t(id).padding(toLength: width, withPad: " ", startingAt: 0) + "  \(pct(b)) → \(pct(a))\n"
        }
        if moved.count > limit { out += s.dim("      and \(moved.count - limit) smaller moves") + "\n" }
        if let nb = before.causes.first, let na = after.causes.first, nb.cause.id != na.cause.id {
            out += "  New leader: \(t(na.cause.id)) (\(pctShort(na.probability))).\n"
        }
        return out
    }

    /// How a source reads to the user.
    static func source(_ f: Fact) -> String {
        switch f.source.check {
        case "answer": return "your answer"
        case "options": return "command line" + (f.source.origin.map { " (\($0))" } ?? "")
        default:
            if f.source.check.hasPrefix("rule:") { return "derived by rule \(f.source.check.dropFirst(5))" }
            // Long argv lists (sysctl with 20 keys) would drown the line: keep their start.
            guard let o = f.source.origin else { return f.source.check }
            return o.count > 60 ? "\(f.source.check): \(o.prefix(57))…" : f.source.display
        }
    }

    /// Why a fact was not seen, with the session's own way to fix it for answers.
    static func unseenReason(_ key: String, _ reason: String) -> String {
        if key.hasPrefix("answer."), reason.hasPrefix("not answered") { return "not answered yet: `ask \(key.dropFirst(7))`" }
        return reason
    }

    /// The checks whose output a fact comes from, following derived facts to their inputs.
    package static func checksBehind(_ key: String, _ d: Diagnosis, kb: KnowledgeBase, depth: Int = 0) -> Set<String> {
        guard depth < 16, let f = d.facts[key] else { return [] }
        let c = f.source.check
        if c.hasPrefix("rule:") {
            guard let r = kb.rules.first(where: { $0.id == String(c.dropFirst(5)) }) else { return [] }
            var out = Set<String>()
            for k in r.reads { out.formUnion(checksBehind(k, d, kb: kb, depth: depth + 1)) }
            return out
        }
        return [c]
    }

    /// Results of the given checks (status, reason, fix).
    package static func checkResults(_ ids: [String], _ d: Diagnosis, style s: Style) -> String {
        var out = ""
        let width = min(20, ids.map(\.count).max() ?? 10)
        for id in ids {
            guard let c = d.checks.first(where: { $0.id == id }) else { continue }
            out += "  \(s.status(c.status))  " + t(c.id).padding(toLength: width, withPad: " ", startingAt: 0) + "  " + t(c.title)
            if c.status == .skipped || c.status == .failed {
                out += s.dim(" — \(t(c.reason))")
                if let f = c.fix { out += s.dim(" → \(t(f))") }
            } else if !c.reason.isEmpty {
                out += s.dim(" (\(t(c.reason)))")
            }
            out += "\n"
        }
        return out
    }

    /// The evidence (for and against causes) that rests on the given checks.
    package static func found(_ ids: Set<String>, _ d: Diagnosis, kb: KnowledgeBase, style s: Style) -> String {
        var lines: [String] = []
        for c in d.causes + d.findings {
            let note = c.cause.makesResets ? "" : " (finding, not a cause of resets)"
            for (e, sign) in c.forEvidence.map({ ($0, s.red("+")) }) + c.against.map({ ($0, s.green("−")) }) {
                var behind = Set<String>()
                for u in e.facts { behind.formUnion(checksBehind(u.key, d, kb: kb)) }
                guard !behind.isDisjoint(with: ids) else { continue }
                lines.append("    \(sign) \(t(c.cause.id))\(note): \(t(e.explain))")
            }
        }
        if lines.isEmpty { return "  Nothing in these results points towards or away from a cause.\n" }
        return "  What they show:\n" + lines.joined(separator: "\n") + "\n"
    }

    /// `how <cause>`: the chain of evidence from facts (values, sources) through rules to the probability.
    package static func how(_ id: String, _ d: Diagnosis, kb: KnowledgeBase, style s: Style) -> String {
        guard let c = (d.causes + d.findings).first(where: { $0.cause.id == id }) else { return "" }
        var out = s.bold(t(c.cause.id)) + " — " + t(c.cause.title) + "\n"
        let prior = c.cause.prior
        let fired = c.forEvidence.map(\.weight).reduce(0, +) + c.against.map(\.weight).reduce(0, +)
        out += "  Probability \(pctShort(c.probability)): prior \(pctShort(prior)) (log-odds \(String(format: "%+.2f", log(prior / (1 - prior))))), "
        out += "rules that fired add \(String(format: "%+.2f", fired)), score \(String(format: "%+.2f", c.score)); probability = 1/(1+e^−score).\n"
        out += wrap(t(c.cause.explanation), indent: 2) + "\n"
        func rule(_ e: FiredRule) -> String {
            var r = "    " + String(format: "%+.1f", e.weight) + "  " + s.bold(t(e.rule))
            if let def = kb.rules.first(where: { $0.id == e.rule }) {
                r += s.dim("  (\(t(def.file)):\(def.line))") + "\n"
                r += "          when: " + t(def.whenText) + "\n"
                r += "          basis: " + t(def.basis) + "\n"
            } else {
                r += "\n"
            }
            r += "          " + t(e.explain) + "\n"
            for u in e.facts { r += fact(u.key, indent: 10, depth: 0) }
            return r
        }
        func fact(_ key: String, indent: Int, depth: Int) -> String {
            let pad = String(repeating: " ", count: indent)
            guard let f = d.facts[key] else { return pad + "\(t(key)): not seen\n" }
            guard let v = f.value else { return pad + "\(t(key)): not seen — \(t(unseenReason(key, f.unknownReason ?? "")))\n" }
            var r = pad + "\(t(key)) = \(t(v.display))" + s.dim("   from \(t(source(f)))") + "\n"
            if f.source.check.hasPrefix("rule:"), depth < 3, let def = kb.rules.first(where: { $0.id == String(f.source.check.dropFirst(5)) }) {
                r += pad + "  ← when " + t(def.whenText) + "\n"
                for k in def.reads.sorted() { r += fact(k, indent: indent + 4, depth: depth + 1) }
            }
            return r
        }
        out += "  For:\n"
        out += c.forEvidence.isEmpty ? "    (no rule for it fired)\n" : c.forEvidence.map(rule).joined()
        out += "  Against:\n"
        out += c.against.isEmpty ? "    (no rule against it fired)\n" : c.against.map(rule).joined()
        if !c.unknown.isEmpty {
            out += "  Not seen (could change it):\n"
            for u in c.unknown { out += "    \(t(u.key)) — \(t(unseenReason(u.key, u.reason)))\n" }
        }
        return out
    }


    /// `facts [filter]`: known facts with values and sources, unknown ones with the reason.
    package static func facts(_ d: Diagnosis, filter: String?, style s: Style, limit: Int = 400) -> String {
        let keys = d.facts.keys.filter { filter == nil || $0.localizedCaseInsensitiveContains(filter!) }
        if keys.isEmpty {
            return filter.map { "No fact contains “\(t($0))”. `facts` lists them all.\n" } ?? "No facts yet: run some checks (`run all`) or answer questions.\n"
        }
        let known = keys.filter { d.facts[$0]?.isKnown == true }.count
        var out = "\(keys.count) fact\(keys.count == 1 ? "" : "s") (\(known) known, \(keys.count - known) not seen)"
        out += filter.map { " containing “\(t($0))”" } ?? ""
        out += ":\n"
        var lines = 0
        for k in keys {
            guard let f = d.facts[k] else { continue }
            if lines >= limit {
                out += s.dim("  … more: narrow the list with `facts FILTER`") + "\n"
                break
            }
            if let v = f.value {
                out += "  \(t(k)) = \(t(v.display))" + s.dim("   [\(t(source(f)))]") + "\n"
                lines += 1
                if case .records(let rs) = v {
                    for r in rs.prefix(5) {
                        out += "      - " + r.keys.sorted().map { "\(t($0))=\(t(r[$0]!.display))" }.joined(separator: " ") + "\n"
                        lines += 1
                    }
                    if rs.count > 5 { out += s.dim("      … \(rs.count - 5) more") + "\n" }
                }
            } else {
                out += "  \(t(k)) " + s.dim("? not seen — \(t(unseenReason(k, f.unknownReason ?? "")))") + "\n"
                lines += 1
            }
        }
        return out
    }
}
