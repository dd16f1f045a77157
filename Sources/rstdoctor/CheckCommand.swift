import ArgumentParser
import Foundation
import RSTDoctorKit

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Collect evidence from this host (all checks concurrently) and print a ranked diagnosis.",
        discussion: "Exit codes: 0 no likely cause, 1 a likely cause found (probability ≥ 0.5), 2 usage error, 3 could not run."
    )

    @OptionGroup var evidence: EvidenceOptions
    @OptionGroup var knowledge: KnowledgeOptions

    @Option(help: "Output format: text, json, openmetrics (node_exporter textfile collector).")
    var format: String = "text"

    @Flag(help: "Show every cause and every unseen fact.")
    var verbose = false

    func run() async throws {
        guard ["text", "json", "openmetrics"].contains(format) else { throw Failure.usage("unknown --format '\(Sanitize.terminal(format))': use text, json or openmetrics") }
        let (kb, problems) = try knowledge.load()
        let req = try evidence.request(kb: kb)
        let d = try await Pipeline.run(req, kb: kb, knowledgeProblems: problems.count)
        switch format {
        case "json": print(CheckJSON.render(d).serialized())
        case "openmetrics": print(OpenMetrics.render(d), terminator: "")
        default: print(TextRender.render(d, kb: kb, style: .forStdout(), verbose: verbose), terminator: "")
        }
        if !d.likelyCauses.isEmpty { throw ExitCode(Exit.likely) }
    }
}
