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

/// `rstdoctor` / `rstdoctor diagnose`: the guided session (issue 6).
struct DiagnoseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagnose",
        abstract: "Walk through the six troubleshooting steps to a ranked diagnosis, asking only what matters (the default).",
        discussion: """
        On a terminal: line editing, history (under $XDG_STATE_HOME/rstdoctor) and Tab completion. From a pipe or
        file: one command per line, plain output, so a session can be scripted. The session is saved after every
        change; --resume continues it. Exit codes as `check`: 0 no likely cause, 1 a likely cause, 2 usage error,
        3 could not run.
        """
    )

    @OptionGroup var evidence: EvidenceOptions
    @OptionGroup var knowledge: KnowledgeOptions

    @Flag(help: "Continue the saved session (answers, checks, where you were).")
    var resume = false

    @Option(help: ArgumentHelp("The session file (default: $XDG_STATE_HOME/rstdoctor/session.json).", valueName: "FILE"))
    var session: String?

    func run() async throws {
        let (kb, problems) = try knowledge.load()
        let path = try session.map { try Validate.path($0) } ?? SessionState.defaultPath()
        if !evidence.only.isEmpty || !evidence.skip.isEmpty {
            throw Failure.usage("diagnose walks every step; --only/--skip are for `check`. Inside the session, `run CHECK` runs one "
                + "check.")
        }
        var state: SessionState
        var notice: String?
        if resume {
            let e = evidence
            if e.port != nil || e.peer != nil || e.netns != nil || e.pid != nil || e.from != nil || !e.answers.isEmpty || !e.logs.isEmpty || !e.units.isEmpty {
                throw Failure.usage("--resume continues the saved session with its own focus and answers: drop the other options, or "
                    + "start a new session without --resume")
            }
            state = try SessionState.load(from: path)
        } else {
            let req = try evidence.request(kb: kb)
            let o = req.collect
            var target = SessionState.Target(port: o.port.map(Int.init), peer: o.peer, bundle: req.bundle, window: o.window, logs: o.logs, units: o.units)
            switch o.target {
            case .host: break
            case .named(let n): target.netns = n
            case .pid(let p): target.pid = p
            }
            state = SessionState(target: target)
            state.answers = req.answers
            // Nothing is lost: the session this one replaces is kept beside it.
            if FileManager.default.fileExists(atPath: path) {
                let previous = (path as NSString).deletingPathExtension + ".previous.json"
                _ = try? FileManager.default.removeItem(atPath: previous)
                if (try? FileManager.default.moveItem(atPath: path, toPath: previous)) != nil {
                    notice = "(Your previous session was kept as \(previous): `load \(previous)` continues it.)"
                }
            }
        }

        let terminal = isatty(STDIN_FILENO) == 1
        let style = Style(enabled: terminal && Terminal.colourOnStdout())
        let output = StdoutOutput()
        let gate = InterruptGate()
        gate.install()
        defer { gate.uninstall() }
        let units = terminal ? await Self.serviceUnits() : []
        var hooks = SessionHooks(
            observe: { seconds, options in
                let (records, extra) = await Observation.observe(duration: seconds, catalog: kb.catalog, options: options)
                let resets = extra.facts.first { $0.key == "capture.rst.count" }?.value?.display ?? "?"
                let traced = extra.facts.first { $0.key == "trace.sent" }?.value?.display ?? "?"
                // Stopped early with Ctrl-C: the counters' record holds the time that really passed.
                let watched = records.compactMap(\.window).first.map { min($0, seconds) } ?? seconds
                let span = watched < seconds ? "\(Seconds.render((watched * 10).rounded() / 10)) of "
                    + "\(Seconds.render(seconds))" : Seconds.render(seconds)
                return SessionEvidence(records: records + extra.records, facts: extra.facts,
                                       summary: "watched \(span): \(resets) RSTs captured, \(traced) sent by this host's TCP stack "
                                           + "(kernel trace)")
            },
            capture: { path, options in
                let r = Observation.pcap(path, catalog: kb.catalog, options: options)
                return SessionEvidence(records: r.records, facts: r.facts, summary: r.records.first?.reason ?? "")
            },
            report: { d, kb, format in
                guard let f = ReportFormat(name: format) else { throw RSTDCore.ValidationError("unknown report format \(format)") }
                return f.render(d)
            },
            reportFormats: ["text"] + ReportFormat.allCases.map(\.rawValue))
        hooks.units = { units }
        let s = try Session(kb: kb, state: state, path: path, output: output, style: style, hooks: hooks, gate: gate,
                            knowledgeProblems: problems.count)
        // On a terminal a session that knows nothing of the problem asks for the focus first.
        s.asksFocus = terminal
        if resume { await s.resume(from: path) } else { await s.start(notice: notice) }
        let reader: LineReader
        if terminal {
            let history = SessionState.stateDirectory() + "/history"
            reader = ReadlineReader(historyPath: history) { before, word in
                SessionCommands.complete(before: before, word: word, context: s.completionContext)
            }
        } else {
            reader = PlainLineReader()
        }
        let code = await REPL.run(s, reader: reader, output: output, gate: gate)
        if code != 0 { throw ExitCode(code) }
    }

    /// The service units systemd knows, for completing `unit` (none without systemd).
    static func serviceUnits() async -> [String] {
        let r = await CommandRunner().run(["systemctl", "list-units", "--type=service", "--all", "--plain", "--no-legend", "--no-pager"], timeout: 2)
        guard case .exited(0) = r.outcome else { return [] }
        return r.stdout.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map { String($0.hasSuffix(".service") ? $0.dropLast(8) : $0) }
        }
    }
}
