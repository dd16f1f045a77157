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
        let records = await Collector(catalog: kb.catalog, options: req.collect).collect()
        let o = req.collect
        let host = HostInfo.local(netns: o.target.display, port: o.port.map(Int.init), peer: o.peer, window: o.window)
        do { try Bundle.write(records, host: host, to: dir) } catch { throw Failure.couldNotRun(error.message) }
        let counts = Dictionary(grouping: records, by: \.status).mapValues(\.count)
        print("wrote \(records.count) checks to \(Sanitize.terminal(dir)) (ok \(counts[.ok] ?? 0), skipped \(counts[.skipped] ?? 0), failed \(counts[.failed] ?? 0)); diagnose it with: rstdoctor check --from \(Sanitize.terminal(dir))")
    }
}
