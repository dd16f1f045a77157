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

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Collect evidence from this host (all checks concurrently) and print a ranked diagnosis.",
        discussion: "Exit codes: 0 no likely cause, 1 a likely cause found (probability ≥ 0.5), 2 usage error, 3 could not run, 130/143 interrupted by SIGINT/SIGTERM (partial results printed)."
    )

    @OptionGroup var evidence: EvidenceOptions
    @OptionGroup var knowledge: KnowledgeOptions
    @OptionGroup var period: SinceOptions

    @Option(help: "Output format: text, json, openmetrics (node_exporter textfile collector).")
    var format: CheckFormat = .text

    @Flag(help: "Show every cause and every unseen fact.")
    var verbose = false

    @Flag(help: "List every RST one by one after the groups (text format).")
    var resets = false

    func run() async throws {
        let (kb, problems) = try knowledge.load()
        var req = try evidence.request(kb: kb)
        // The first SIGINT/SIGTERM ends the run early (commands in flight are stopped, an observation
        // window is cut short) and what was gathered is diagnosed and printed; a second one quits at once.
        let interrupt = Cleanup.shared.onInterrupt { sig in
            FileHandle.standardError.write(Data("rstdoctor: \(Cleanup.signalName(sig)) received: stopping early and diagnosing what was gathered so far (send it again to quit at once).\n".utf8))
        }
        defer { Cleanup.shared.removeInterruptHandler(interrupt) }
        let journal = try await period.apply(to: &req, kb: kb)
        let d = try await Pipeline.run(req, kb: kb, knowledgeProblems: problems.count)
        switch format {
        case .json:
            var doc = CheckJSON.render(d)
            if let journal, case .object(let kv) = doc { doc = .object(kv + [("journal", SinceOptions.json(journal))]) }
            print(doc.serialized())
        case .openmetrics: print(OpenMetrics.render(d), terminator: "")
        case .text:
            let style = Style(enabled: Terminal.colourOnStdout())
            print(TextRender.render(d, style: style, verbose: verbose), terminator: "")
            // Resets in groups (per flow, port and verdict), single RSTs only with --resets.
            if !ResetSummary.groups(d.facts).isEmpty || resets {
                print("\nResets" + (resets ? "" : " (`--resets` lists them one by one)"))
                print(ResetSummary.text(d.facts, singles: resets), terminator: "")
            }
            if let journal { print(SinceOptions.text(journal, style: style), terminator: "") }
        }
        if let sig = Cleanup.shared.interruptSignal {
            FileHandle.standardError.write(Data("rstdoctor: the results above are partial: the run was interrupted by \(Cleanup.signalName(sig)) (checks marked failed did not finish). Run `rstdoctor check` again for a full diagnosis.\n".utf8))
            throw ExitCode(Exit.interrupted(sig))
        }
        if !d.likelyCauses.isEmpty { throw ExitCode(Exit.likely) }
    }
}
