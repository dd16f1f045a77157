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

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a troubleshooting report to attach to a ticket or hand to the next on-call engineer.",
        discussion: """
        Diagnoses like `check` (same evidence options), or reads saved results: `--merge a.json b.json …`
        lines up the `check --format json` results of several hosts (client and server, or a fleet).
        Formats: markdown (default; pastes into GitHub, GitLab, Jira), html (one self-contained page with
        charts, no script), json (the schema of `check --format json`; rstdoctor.merge/1 with --merge).
        Exit codes: 0 no likely cause, 1 a likely cause found, 2 usage error, 3 could not run.
        """
    )

    @OptionGroup var evidence: EvidenceOptions
    @OptionGroup var knowledge: KnowledgeOptions
    @OptionGroup var period: SinceOptions

    @Option(help: "Output format: markdown, html, json.")
    var format: ReportFormat = .markdown

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the report to FILE (atomically) instead of standard output.", valueName: "FILE"))
    var output: String?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Combine saved `check --format json` results of several hosts into one report.", valueName: "FILE"))
    var merge: [String] = []

    @Option(help: ArgumentHelp("Report from a saved REPL session (or a saved `check --format json` result).", valueName: "FILE"))
    var session: String?

    func run() async throws {
        let fmt = format
        let outPath = try output.map { try Validate.path($0) }
        let (kb, problems) = try knowledge.load()
        let text: String
        let likely: Bool
        if !merge.isEmpty || session != nil {
            if !merge.isEmpty && session != nil { throw Failure.usage("--merge and --session both read saved results: give one of them") }
            if evidence.port != nil || evidence.peer != nil || evidence.netns != nil || evidence.pid != nil || evidence.from != nil || !evidence.answers.isEmpty {
                throw Failure.usage("\(session != nil ? "--session" : "--merge") reports saved results; --port, --peer, --netns, --pid, --from and --answer choose what a new diagnosis collects: give one or the other")
            }
            let files = try (session.map { [$0] } ?? merge).map { try Validate.path($0) }
            var inputs: [Merge.Input] = []
            for f in files {
                do { inputs.append(try Merge.parse(Terminal.readFile(f, maxBytes: Merge.maxFileBytes, what: "a check JSON file"), origin: f)) } catch {
                    if session != nil, error.message.contains(SessionState.schema) {
                        // A guided session's file: the diagnosis it stands at, as check JSON.
                        let d = Session.diagnosis(of: try SessionState.load(from: f), kb: kb)
                        inputs.append(try Merge.parse(Data(CheckJSON.render(d).serialized().utf8), origin: f))
                        continue
                    }
                    throw Failure.usage(error.message)
                }
            }
            text = fmt.render(inputs, context: ReportContext(kb: kb))
            likely = inputs.contains { i in i.report.causes.contains { $0.probability >= Diagnosis.likely } }
        } else {
            var req = try evidence.request(kb: kb)
            _ = try await period.apply(to: &req, kb: kb)
            let d = try await Pipeline.run(req, kb: kb, knowledgeProblems: problems.count)
            text = fmt.render(d)
            likely = !d.likelyCauses.isEmpty
        }
        if let path = outPath {
            try ReportFile.write(text, to: path)
            FileHandle.standardError.write(Data("rstdoctor: wrote the \(fmt.rawValue) report to \(Sanitize.line(path))\n".utf8))
        } else {
            print(text, terminator: "")
        }
        if likely { throw ExitCode(Exit.likely) }
    }
}

/// Writes a report so a reader never sees half of it: Foundation's atomic write (a temporary file
/// beside the target, then rename).
enum ReportFile {
    static func write(_ text: String, to path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw Failure.usage("cannot write the report to \(Sanitize.line(path)): it is a directory; give a file name, e.g. -o \(Sanitize.line(path))/report.md")
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            // The system's own words (strerror), as `ls` or `cp` would say them.
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey]
            let code = (underlying as? POSIXError)?.code.rawValue ?? (underlying as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? Int32($0.code) : nil }
            let why = code.map { String(cString: strerror($0)) } ?? error.localizedDescription
            throw Failure.couldNotRun("cannot write the report to \(Sanitize.line(path)): \(Sanitize.line(why)); check that the directory exists and is writable")
        }
    }
}
