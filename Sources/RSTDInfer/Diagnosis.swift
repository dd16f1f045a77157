import Foundation
import RSTDKnowledge
import RSTDCore

/// A check as reported: its status after inference (`finding` when a rule for a cause used its facts).
package struct CheckReport: Sendable {
    package var id: String
    package var title: String
    package var step: String
    package var status: CheckStatus
    package var reason: String
    package var fix: String?
    package var durationMs: Int
}

/// The ranked diagnosis every renderer reads.
package struct Diagnosis: Sendable {
    package var host: HostInfo
    /// The causes of resets, ranked (every "first cause" — exit code, verdict, REPL — comes from here).
    package var causes: [CauseResult]
    /// Causes with `makes_resets: false`, ranked apart: they explain failed or slow connections, not resets.
    package var findings: [CauseResult] = []
    package var checks: [CheckReport]
    package var facts: FactStore
    /// Per-RST findings from captures and kernel traces (records of `capture.resets` and `trace.resets`).
    package var resets: [Record]
    package var answers: [String: String]
    package var knowledgeProblems: Int
    /// Steps, remedies and questions as the knowledge base has them: all a renderer needs of it.
    package var context: ReportContext

    /// Causes at or above this probability are "likely" (exit code 1).
    package static let likely = 0.5

    package var likelyCauses: [CauseResult] { causes.filter { $0.probability >= Self.likely } }

    /// Findings at or above this probability are shown (the threshold the renderers use for contending causes).
    package static let shown = 0.15

    /// The heading every renderer and the REPL put findings under.
    package static let findingsHeading = "Findings that explain failed or slow connections (not resets)"

    /// Findings worth showing (≥ `shown`); they never change the exit code (docs/json-schema.md).
    package var shownFindings: [CauseResult] { findings.filter { $0.probability >= Self.shown } }
}

/// Facts → inference → diagnosis. The facts come from the checks' records (RSTDCollect's
/// EvidenceBuilder, wired by RSTDPipeline); `records` are those checks, as the report lists them.
package enum Diagnoser {
    package static func diagnose(kb: KnowledgeBase, facts: FactStore, records recs: [CheckRecord], extraFacts: [Fact], host: HostInfo,
                                answers: [String: String], knowledgeProblems: Int = 0) -> Diagnosis {
        var store = facts
        for f in extraFacts { store.add(f) }
        for (k, v) in answers { store.add(Fact(key: "answer.\(k)", value: .string(v), source: FactSource(check: "answer", origin: "--answer \(k)"))) }
        let out = Engine(kb: kb).infer(store)

        // A check has a finding when a fired rule pointing at a cause read its facts (directly or
        // through derived facts, whose source names the checks behind them).
        var findingChecks = Set<String>()
        for r in kb.rules where r.causeID != nil && r.weight > 0 && out.ruleOutcomes[r.id] == true {
            for read in r.reads {
                guard let f = out.facts[read], f.isKnown else { continue }
                findingChecks.formUnion(f.source.checks)
            }
        }
        var reports: [CheckReport] = []
        for rec in recs {
            guard let def = kb.check(rec.id) else { continue }
            var status = rec.status
            if status == .ok && findingChecks.contains(rec.id) { status = .finding }
            reports.append(CheckReport(id: rec.id, title: def.title, step: def.step, status: status, reason: rec.reason, fix: rec.fix, durationMs: rec.durationMs))
        }
        var resets: [Record] = []
        for key in ["capture.resets", "trace.resets"] {
            if case .records(let r)? = out.facts.value(key) {
                // `rsts` weighs the records in rules' counts; the listed records are shown as they were.
                resets += r.map {
                    var x = $0
                    x["source"] = .string(key.hasPrefix("capture") ? "capture" : "trace")
                    x["rsts"] = nil
                    return x
                }
            }
        }
        return Diagnosis(host: host, causes: out.causes, findings: out.findings, checks: reports, facts: out.facts, resets: resets,
                         answers: answers, knowledgeProblems: knowledgeProblems,
                         context: ReportContext(kb: kb))
    }
}
