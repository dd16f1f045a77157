import Foundation
import RSTDInfer
import RSTDKnowledge
import RSTDRender
import RSTDCore

extension SessionText {
    /// `why [question]`: what each answer would change, in numbers the user can check with
    /// `answer Q A` then `rank`; the rules that read the question; and, only when it is true, that
    /// no answer moves any cause. The weighting of answers used to choose between questions is
    /// named as such, never shown as the chance of the user's answer.
    package static func why(_ sc: QuestionChoice.Scored, before: [CauseResult], kb: KnowledgeBase, style s: Style) -> String {
        let q = sc.question
        let readers = kb.rules.filter { $0.reads.contains(q.factKey) }
        var out = (sc.changesTop ? "I ask " : "I would not ask ") + "\(s.bold(t(q.id))) (“\(t(q.text))”)"
        if sc.changesTop {
            out += ": at least one answer changes the top of the ranking (its leader, or whether it is likely).\n"
        } else if sc.separates.isEmpty {
            out += ".\n"
        } else {
            out += ": its answer moves causes, but none changes the top of the ranking.\n"
        }
        if sc.separates.isEmpty {
            if readers.isEmpty {
                out += "  No rule reads this question, so no answer moves any cause.\n"
            } else {
                let ids = readers.prefix(4).map { t($0.id) }.joined(separator: ", ") + (readers.count > 4 ? ", …" : "")
                out +=
                    "  No answer moves any cause by half a point or more now: the \(readers.count) "
                        + "rule\(readers.count == 1 ? "" : "s") that read it (\(ids)) also need facts that are unknown or conditions "
                            + "that do not hold here (`how CAUSE` shows a cause's rules).\n"
            }
            return out
        }
        let prior = Dictionary(before.map { ($0.cause.id, $0.probability) }, uniquingKeysWith: { a, _ in a })
        let lead = before.first.map { "\(t($0.cause.id)) \(pctShort($0.probability))" } ?? "none"
        out += "  What each answer would change (now: \(lead)):\n"
        let width = max(10, sc.outcomes.map { $0.answer.id.count }.max() ?? 10)
        for (i, o) in sc.outcomes.enumerated() {
            let moves = o.causes.compactMap { c -> (String, Double, Double)? in
                let p0 = prior[c.cause.id] ?? 0
                return abs(c.probability - p0) >= 0.005 ? (c.cause.id, p0, c.probability) : nil
            }.sorted { abs($0.2 - $0.1) > abs($1.2 - $1.1) }
            let text =
                moves.isEmpty
                ? "nothing moves by half a point or more"
                : moves.prefix(3).map { "\(t($0.0)) \(pctShort($0.1)) → \(pctShort($0.2))" }.joined(separator: ", ")
            let leader = o.causes.first.map { "; leader \(t($0.cause.id)) \(pctShort($0.probability))" } ?? ""
            out += "    \(i + 1)) " + t(o.answer.id).padding(toLength: width, withPad: " ", startingAt: 0) + "  \(text)\(leader)\n"
        }
        out += "    \(sc.outcomes.count + 1)) " + "dont-know".padding(toLength: width, withPad: " ", startingAt: 0) + "  nothing changes\n"
        out +=
            "  \(readers.count) rule\(readers.count == 1 ? "" : "s") read it. Check any line: `answer \(t(q.id)) ANSWER`, then `rank`; "
                + "`drop answer \(t(q.id))` takes it back.\n"
        out +=
            s.dim(
                "  (Between questions I pick the one expected to settle the most: " + String(format: "%.2f", sc.gain) + " of the "
                    + String(format: "%.2f", sc.entropy)
                    + " bits left, weighting each answer by how well the causes predict it — a model, not the chance of your answer.)")
            + "\n"
        return out
    }
}
