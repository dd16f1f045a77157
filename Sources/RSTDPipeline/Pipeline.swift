import Foundation
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDParse
import RSTDCapture
import RSTDData
import RSTDCore

/// Everything `check`, `report` and the REPL need to produce a diagnosis, validated.
package struct DiagnosisRequest: Sendable {
    package var collect = CollectOptions()
    /// `--from DIR`: read a saved bundle instead of the live host.
    package var bundle: String?
    package var answers: [String: String] = [:]
    /// Facts from captures, traces or the REPL, added before inference.
    package var extraFacts: [Fact] = []
    /// Check records produced outside the collector (capture, kernel-trace), replacing its skip.
    package var extraRecords: [CheckRecord] = []
    /// `--pcap FILE`: a saved capture to classify.
    package var pcap: String?
    /// `--observe DURATION`: watch live (capture, kernel trace, counters) for this long.
    package var observe: Double?

    package init() {}

    /// Validates `KEY=VALUE` answers against questions.yaml.
    package static func parseAnswer(_ text: String, kb: KnowledgeBase) throws(ValidationError) -> (String, String) {
        guard let eq = text.firstIndex(of: "=") else {
            throw ValidationError("--answer takes KEY=VALUE, e.g. --answer reset_timing=after-idle")
        }
        let k = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        let v = String(text[text.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        guard let q = kb.question(k) else {
            let near = DidYouMean.hint(k, in: kb.questions.map(\.id))
            throw ValidationError("there is no question `\(Sanitize.terminal(k))`.\(near) Known: \(kb.questions.map(\.id).joined(separator: ", "))")
        }
        guard q.answers.contains(where: { $0.id == v }) else {
            throw ValidationError("`\(Sanitize.terminal(v))` is not an answer to \(k) (\(q.text)). Answers: \(q.answers.map(\.id).joined(separator: ", "))")
        }
        return (k, v)
    }
}

package enum Pipeline {
    /// Collects (or reads the bundle), then diagnoses.
    package static func run(_ req: DiagnosisRequest, kb: KnowledgeBase, knowledgeProblems: Int = 0) async throws(ValidationError) -> Diagnosis {
        var records: [CheckRecord]
        var host: HostInfo
        var extraFacts = req.extraFacts
        var answers = req.answers
        var o = req.collect
        if let dir = req.bundle {
            // The bundle keeps the focus, answers and observed facts it was collected with; options
            // given now take precedence.
            let b = try Bundle.contents(dir)
            records = b.records
            host = b.host
            if let p = o.port { host.port = Int(p) } else { o.port = host.port.flatMap { UInt16(exactly: $0) } }
            if let p = o.peer { host.peer = p } else { o.peer = host.peer }
            answers = b.answers.merging(req.answers) { _, new in new }
            extraFacts += b.facts
        } else if let d = req.observe {
            let (recs, extra) = await Observation.observe(duration: d, catalog: kb.catalog, options: o)
            records = recs + extra.records
            extraFacts += extra.facts
            host = HostInfo.local(netns: o.target.display, port: o.port.map(Int.init), peer: o.peer, window: d)
        } else {
            var opts = o
            opts.externallyProvided.formUnion(req.extraRecords.map(\.id))
            if req.pcap != nil { opts.externallyProvided.insert(CaptureFacts.checkID) }
            records = await Collector(catalog: kb.catalog, options: opts).collect()
            host = HostInfo.local(netns: o.target.display, port: o.port.map(Int.init), peer: o.peer, window: o.window)
        }
        if let path = req.pcap {
            let r = Observation.pcap(path, catalog: kb.catalog, options: o)
            records.removeAll { $0.id == CaptureFacts.checkID }
            records += r.records
            extraFacts += r.facts
        }
        // The counters' real window (a window cut short by Ctrl-C, or a bundle's): explanations say
        // "in 4s", not the window asked for.
        if let w = records.first(where: { $0.id == "counters" })?.window { host.window = w }
        let given = Set(req.extraRecords.map(\.id))
        records.removeAll { given.contains($0.id) }
        records += req.extraRecords
        let context = EvidenceBuilder.contextFacts(port: o.port, peer: o.peer, window: host.window, netns: host.netns)
        return diagnose(kb: kb, records: records, extraFacts: context + extraFacts, host: host,
                                  answers: answers, knowledgeProblems: knowledgeProblems)
    }

    /// The checks' records to facts (each parsed by its check's parser), then inference.
    package static func diagnose(kb: KnowledgeBase, records: [CheckRecord], extraFacts: [Fact], host: HostInfo,
                                 answers: [String: String], knowledgeProblems: Int = 0) -> Diagnosis {
        let (store, recs) = EvidenceBuilder.facts(from: records, catalog: kb.catalog)
        return Diagnoser.diagnose(kb: kb, facts: store, records: recs, extraFacts: extraFacts, host: host,
                                  answers: answers, knowledgeProblems: knowledgeProblems)
    }
}
