import ArgumentParser
import Foundation
import RSTDJournal
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDKnowledge
import RSTDCore

/// `--until / --journal` beside the evidence options' `--since`: diagnose a past period from the
/// recorder's journal. The journal is read when `--journal` is given (a missing or foreign one is an
/// error) or when `--since` is given and the default journal exists (without one, a note says how to
/// start it: `--since` also bounds log lines, which need no journal).
struct SinceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("End of the --since period read from the recorder's journal: a time (2026-12-04T10:00:00Z, '2026-12-04 10:00', Unix time) or a duration ago (default: now).", valueName: "TIME"))
    var until: String?

    @Option(help: ArgumentHelp("The recorder's journal to read the --since period from (default: the one `rstdoctor record` writes for this user).", valueName: "PATH"))
    var journal: String?

    /// Whether `--since` was on the command line (it has a default for log lines).
    static var sinceGiven: Bool {
        CommandLine.arguments.contains { $0 == "--since" || $0.hasPrefix("--since=") }
    }

    /// Reads the period and adds its records and facts to the request; nil when no journal is asked for.
    /// The host's checks the journal never replaces (`JournalEvidence.replaces`) run while it is read,
    /// so the command costs the longer of the two, not their sum; their records join the request's.
    func apply(to req: inout DiagnosisRequest, kb: KnowledgeBase) async throws -> JournalEvidence.Result? {
        let explicit = journal != nil
        guard explicit || Self.sinceGiven || until != nil else { return nil }
        if req.bundle != nil { throw Failure.usage("the recorder's journal (--journal, --until) describes this host; --from reads a saved bundle: give one or the other") }
        if req.observe != nil { throw Failure.usage("--journal/--until read a past period; --observe watches from now on: give one or the other") }
        let period: JournalEvidence.Period
        do {
            switch try JournalPeriod.locate(since: req.collect.since, until: until, journal: journal) {
            case .period(let p): period = p
            case .noJournal(let path):
                FileHandle.standardError.write(Data("rstdoctor: note: \(JournalPeriod.noJournal(path, options: req.collect)).\n".utf8))
                return nil
            }
        } catch {
            throw Failure.usage(error.message)
        }
        var early = req.collect
        early.externallyProvided.formUnion(JournalEvidence.replaces)
        let live = Task { await Collector(catalog: kb.catalog, options: early).collect() }
        let result: JournalEvidence.Result
        do {
            result = try JournalPeriod.read(period, options: req.collect)
        } catch {
            _ = await live.value  // its probes end within their timeouts; none outlives the command
            if error.usage { throw Failure.usage(error.message) }
            throw Failure.couldNotRun("--since needs the recorder's journal: \(Sanitize.terminal(error.message)). \(Sanitize.terminal(error.fix)).")
        }
        req.collect.journalPeriod = true
        req.extraRecords += await live.value + result.records
        req.extraFacts += result.facts
        return result
    }

    // MARK: rendering the period

    static func json(_ r: JournalEvidence.Result) -> JSON { JournalPeriod.json(r) }

    static func text(_ r: JournalEvidence.Result, style s: Style) -> String {
        "\n" + JournalPeriod.text(r, bold: s.bold, warn: s.yellow)
    }
}
