import ArgumentParser
import Foundation
import RSTDInteractive
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDParse
import RSTDSystem
import RSTDData
import RSTDCore

struct CollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Save every raw output with a manifest, to diagnose elsewhere with `rstdoctor check --from DIR`."
    )

    @OptionGroup var evidence: EvidenceOptions
    @OptionGroup var knowledge: KnowledgeOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("A new (or empty) directory to write the bundle to.", valueName: "DIR"))
    var output: String

    func run() async throws {
        let (kb, _) = try knowledge.load()
        let req = try evidence.request(kb: kb)
        if req.bundle != nil { throw Failure.usage("collect reads the live host; --from is for `check`") }
        let dir = try Validate.path(output)
        let o = req.collect
        var records: [CheckRecord]
        var facts = req.extraFacts
        var window = o.window
        if let d = req.observe {
            // As `check --observe`: the capture, the kernel trace and the counters over the window;
            // the bundle keeps the observed facts so that `check --from` ranks as the live run did.
            let interrupt = Cleanup.shared.onInterrupt { sig in
                let text = "rstdoctor: \(Cleanup.signalName(sig)) received: ending the window early and "
                    + "writing what was seen (send it again to quit at once).\n"
                FileHandle.standardError.write(Data(text.utf8))
            }
            defer { Cleanup.shared.removeInterruptHandler(interrupt) }
            let (recs, extra) = await Observation.observe(duration: d, catalog: kb.catalog, options: o)
            records = recs + extra.records
            facts += extra.facts
            window = d
        } else {
            var opts = o
            opts.externallyProvided.formUnion(req.extraRecords.map(\.id))
            records = await Collector(catalog: kb.catalog, options: opts).collect()
        }
        let given = Set(req.extraRecords.map(\.id))
        records.removeAll { given.contains($0.id) }
        records += req.extraRecords
        let host = HostInfo.local(netns: o.target.display, port: o.port.map(Int.init), peer: o.peer, window: window)
        do { try Bundle.write(records, host: host, answers: req.answers, facts: facts, to: dir) } catch { throw Failure.couldNotRun(error.message) }
        let counts = Dictionary(grouping: records, by: \.status).mapValues(\.count)
        var kept = "\(records.count) checks"
        if !facts.isEmpty { kept += ", \(facts.count) observed facts" }
        if !req.answers.isEmpty { kept += ", \(req.answers.count) answers" }
        print("wrote \(kept) to \(Sanitize.terminal(dir)) (ok \(counts[.ok] ?? 0), skipped \(counts[.skipped] ?? 0), failed "
            + "\(counts[.failed] ?? 0)); diagnose it with: rstdoctor check --from \(Sanitize.terminal(dir))")
    }
}
