import Foundation
import RSTDInfer
import RSTDCore

/// ANSI styling, on only for a terminal without NO_COLOR.
package struct Style: Sendable {
    package var enabled: Bool

    package init(enabled: Bool) { self.enabled = enabled }


    func wrap(_ code: String, _ s: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    package func bold(_ s: String) -> String { wrap("1", s) }
    /// A check's status as a coloured, fixed-width word (the check lists of `check` and the REPL).
    package func status(_ st: CheckStatus) -> String {
        switch st {
        case .ok: green("ok     ")
        case .finding: yellow("finding")
        case .skipped: dim("skipped")
        case .failed: red("failed ")
        }
    }
    package func dim(_ s: String) -> String { wrap("2", s) }
    package func red(_ s: String) -> String { wrap("31", s) }
    package func green(_ s: String) -> String { wrap("32", s) }
    package func yellow(_ s: String) -> String { wrap("33", s) }
    package func cyan(_ s: String) -> String { wrap("36", s) }
}

/// The human rendering of `rstdoctor check`: ranked diagnosis, what was not seen, checks by step.
package enum TextRender {
    package static func render(_ d: Diagnosis, style s: Style, verbose: Bool = false) -> String {
        var out = ""
        let t = Sanitize.terminal
        var focus: [String] = []
        if let p = d.host.port { focus.append("port \(p)") }
        if let p = d.host.peer { focus.append("peer \(t(p))") }
        out += s.bold("rstdoctor check") + " — \(t(d.host.hostname)) (Linux \(t(d.host.kernel))), network namespace \(t(d.host.netns))"
        out += focus.isEmpty ? ", whole host" : ", focus \(focus.joined(separator: ", "))"
        out += d.host.source == "live" ? ", counters over \(Seconds.render(d.host.window))\n" : ", from \(t(d.host.source))\n"
        if d.knowledgeProblems > 0 {
            out += s.yellow("warning: the knowledge base has \(d.knowledgeProblems) problem(s); run `rstdoctor knowledge lint`") + "\n"
        }

        out += "\n" + s.bold("Diagnosis") + "\n"
        let shown = d.causes.enumerated().filter { $0.offset < 3 || $0.element.probability >= 0.15 || verbose }
        for (i, c) in shown {
            let pct = String(format: "%3.0f%%", c.probability * 100)
            let colored = c.probability >= Diagnosis.likely ? s.red(pct) : c.probability >= 0.3 ? s.yellow(pct) : s.dim(pct)
            out += String(format: "%2d. ", i + 1) + colored + "  " + s.bold(c.cause.id) + "  " + c.cause.title + "\n"
            for e in c.forEvidence {
                out += "      " + s.red("+") + " " + t(e.explain) + sourceNote(e, s) + "\n"
            }
            for e in c.against {
                out += "      " + s.green("−") + " " + t(e.explain) + sourceNote(e, s) + "\n"
            }
            if c.probability >= 0.15 || i == 0 {
                for u in c.unknown.prefix(verbose ? 50 : 3) {
                    out += "      " + s.dim("? not seen: \(u.key) — \(t(u.reason))") + "\n"
                }
                if !verbose && c.unknown.count > 3 { out += "      " + s.dim("? and \(c.unknown.count - 3) more unseen facts (--verbose lists them)") + "\n" }
            }
        }
        let rest = d.causes.count - shown.count
        if rest > 0 { out += s.dim("    \(rest) other causes below 15% (--verbose or --format json lists all)") + "\n" }
        out += findings(d, style: s, verbose: verbose)

        let likely = d.likelyCauses
        if !likely.isEmpty {
            out += "\n" + s.bold("What to consider") + " (shown, never applied)\n"
            for c in likely {
                for r in Remedies.concrete(c, facts: d.facts).prefix(2) {
                    out += "  • \(c.cause.id): \(r.text)\n"
                    if let ch = r.change { out += "      change: " + s.cyan(ch) + "\n" }
                    if let v = r.verify { out += "      verify: \(v)\n" }
                }
            }
        }

        let unseen = d.checks.filter { $0.status == .skipped || $0.status == .failed }
        if !unseen.isEmpty {
            out += "\n" + s.bold("Could not see") + "\n"
            for c in unseen {
                out += "  " + (c.status == .failed ? s.red("failed ") : s.dim("skipped")) + " \(c.id): \(t(c.reason))"
                if let f = c.fix { out += s.dim(" → \(t(f))") }
                out += "\n"
            }
        }

        out += "\n" + s.bold("Checks by troubleshooting step") + "\n"
        for (n, step) in d.context.steps.enumerated() {
            let checks = d.checks.filter { $0.step == step.id }
            out += "  \(n + 1). \(step.title)" + s.dim(" — \(step.purpose)") + "\n"
            if checks.isEmpty { out += s.dim("       (no check ran for this step)") + "\n" }
            for c in checks {
                out += "       \(s.status(c.status)) \(c.id.padding(toLength: 16, withPad: " ", startingAt: 0)) \(c.title)"
                out += s.dim(" (\(c.durationMs) ms)") + "\n"
            }
        }
        if !d.answers.isEmpty {
            out += "\n" + s.bold("Your answers") + "\n"
            for k in d.answers.keys.sorted() { out += "  \(k) = \(t(d.answers[k]!))\n" }
        }
        out += "\n"
        if let top = likely.first {
            out += s.bold("Verdict: ") + "most likely \(top.cause.id) (\(Int((top.probability * 100).rounded()))%). "
            out += "`rstdoctor report` writes this up with remedies; `rstdoctor` walks you through the steps.\n"
        } else {
            out += s.bold("Verdict: ") + "no cause of resets is likely from what could be seen. "
            out += unseen.isEmpty ? "If resets continue, capture them: `rstdoctor check --observe 10s --port P`.\n"
                                  : "Some evidence was missing (above); fix that or observe live: `rstdoctor check --observe 10s --port P`.\n"
        }
        if let f = d.findings.first, f.probability >= Diagnosis.likely {
            out += "Also found: \(f.cause.id) (\(Int((f.probability * 100).rounded()))%), which explains failed or slow "
                + "connections, not resets.\n"
        }
        return out
    }

    /// Causes that make no RST, under their own heading, when one reaches 15 % (all with --verbose).
    package static func findings(_ d: Diagnosis, style s: Style, verbose: Bool = false) -> String {
        let shown = verbose ? d.findings : d.shownFindings
        guard !shown.isEmpty else { return "" }
        let t = Sanitize.terminal
        var out = "\n" + s.bold(Diagnosis.findingsHeading) + "\n"
        for f in shown {
            let pct = String(format: "%3.0f%%", f.probability * 100)
            let colored = f.probability >= Diagnosis.likely ? s.yellow(pct) : s.dim(pct)
            out += "    " + colored + "  " + s.bold(f.cause.id) + "  " + t(f.cause.title) + "\n"
            for e in f.forEvidence { out += "      + " + t(e.explain) + sourceNote(e, s) + "\n" }
            for e in f.against { out += "      " + s.green("−") + " " + t(e.explain) + sourceNote(e, s) + "\n" }
            if let r = Remedies.concrete(f, facts: d.facts).first {
                out += "      consider: \(t(r.text))" + (r.change.map { "\n      change: " + s.cyan(t($0)) } ?? "") + "\n"
            }
        }
        return out
    }

    static func sourceNote(_ e: FiredRule, _ s: Style) -> String {
        let checks = Set(e.facts.flatMap(\.checks)).subtracting(["options", "answer", ""]).sorted()
        return checks.isEmpty ? "" : s.dim("  [\(checks.joined(separator: ", "))]")
    }
}
