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
    func apply(to req: inout DiagnosisRequest) throws -> JournalEvidence.Result? {
        let explicit = journal != nil
        guard explicit || Self.sinceGiven || until != nil else { return nil }
        if req.bundle != nil { throw Failure.usage("the recorder's journal (--journal, --until) describes this host; --from reads a saved bundle: give one or the other") }
        if req.observe != nil { throw Failure.usage("--journal/--until read a past period; --observe watches from now on: give one or the other") }
        let now = Date()
        let end: Date, path: String
        do {
            end = try until.map { try RecordSettings.time($0, now: now) } ?? now
            path = try Validate.path(journal ?? RecordSettings.defaultJournal())
        } catch let e as RSTDCore.ValidationError {
            throw Failure.usage(e.message)
        }
        if !explicit && !FileManager.default.fileExists(atPath: path) {
            FileHandle.standardError.write(Data("rstdoctor: note: no recorder journal at \(Sanitize.terminal(path)), so the resets of the period are not known; start one with `rstdoctor record` (as a service: contrib/rstdoctor-record.service) to have them next time.\n".utf8))
            return nil
        }
        let period = JournalEvidence.Period(since: end.addingTimeInterval(-req.collect.since), until: end, journal: path)
        let result: JournalEvidence.Result
        do {
            result = try JournalEvidence.read(period, target: req.collect.target, port: req.collect.port, peer: req.collect.peer)
        } catch {
            throw Failure.couldNotRun("--since needs the recorder's journal: \(Sanitize.terminal(error.message)). \(Sanitize.terminal(error.fix)).")
        }
        req.extraRecords += result.records
        req.extraFacts += result.facts
        return result
    }

    // MARK: rendering the period

    static func time(_ micros: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(micros) / 1e6))
    }

    static func json(_ r: JournalEvidence.Result) -> JSON {
        .object([
            ("path", .string(r.period.journal)),
            ("since", .string(ISO8601DateFormatter().string(from: r.period.since))),
            ("until", .string(ISO8601DateFormatter().string(from: r.period.until))),
            ("resets", .int(Int64(r.events))),
            ("elsewhere", .int(Int64(r.elsewhere))),
            ("causes", .array(r.summary.map { s in
                .object([
                    ("cause", s.cause.map { .string($0) } ?? .null),
                    ("direction", .string(s.direction)),
                    ("count", .int(Int64(s.count))),
                    ("first", .string(time(s.firstMicros))),
                    ("last", .string(time(s.lastMicros))),
                    ("per_hour", .array(s.perHour.sorted { $0.key < $1.key }.map { .object([("hour", .string(time($0.key * 1_000_000))), ("count", .int(Int64($0.value)))]) })),
                    ("ports", .array(s.topPorts.map { .object([("port", .int(Int64($0.0))), ("count", .int(Int64($0.1)))]) })),
                    ("peers", .array(s.topPeers.map { .object([("peer", .string($0.0)), ("count", .int(Int64($0.1)))]) })),
                    ("tasks", .array(s.topTasks.map { .object([("task", .string($0.0)), ("count", .int(Int64($0.1)))]) })),
                ])
            })),
            ("notes", .array(r.notes.map { .object([("time", .string(time($0.timeMicros))), ("kind", .string($0.kind)), ("text", .string($0.text))]) })),
        ])
    }

    static func text(_ r: JournalEvidence.Result, style s: Style) -> String {
        let t = Sanitize.terminal
        var o = "\n" + s.bold("Journal") + " \(t(r.period.journal)): \(r.events) reset(s) from \(ISO8601DateFormatter().string(from: r.period.since)) to \(ISO8601DateFormatter().string(from: r.period.until))\n"
        for c in r.summary {
            o += "  \(t(c.cause ?? "no cause mapped")) (\(c.direction)): \(c.count)× — first \(time(c.firstMicros)), last \(time(c.lastMicros))\n"
            if c.perHour.count > 1 {
                o += "    per hour: " + c.perHour.sorted { $0.key < $1.key }.map { "\(time($0.key * 1_000_000).prefix(13))h \($0.value)" }.joined(separator: ", ") + "\n"
            }
            o += "    ports " + c.topPorts.map { "\($0.0) (\($0.1))" }.joined(separator: ", ")
            o += "; peers " + c.topPeers.map { "\(t($0.0)) (\($0.1))" }.joined(separator: ", ")
            if !c.topTasks.isEmpty { o += "; tasks " + c.topTasks.map { "\(t($0.0)) (\($0.1))" }.joined(separator: ", ") }
            o += "\n"
        }
        for n in r.notes where ["limit", "loss", "clock"].contains(n.kind) { o += s.yellow("  note: ") + t(n.text) + "\n" }
        if r.elsewhere > 0 {
            o += "  left out: \(r.elsewhere) reset(s) of other network namespaces of this machine (the tracepoints are global; "
                + "the recorder keeps those sent from or received at its namespace's addresses)\n"
        }
        if r.summary.isEmpty { o += "  no reset was recorded in this period for this focus\n" }
        o += "  The individual resets: `rstdoctor check --since … --format json` (\"resets\"), or sqlite3 \(t(r.period.journal)) 'SELECT * FROM rst_event'\n"
        return o
    }
}
