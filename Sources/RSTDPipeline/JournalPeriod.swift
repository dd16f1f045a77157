import Foundation
import RSTDCollect
import RSTDData
import RSTDCore

/// A past period of the recorder's journal as evidence: the one read path of `check --since/--until/
/// --journal`, `report --since` and the guided session's `history`. The journal's resets become the
/// `trace.*` facts a live trace gives and its counter snapshots the `counters` check's two samples
/// (`JournalEvidence.read`), so the same rules judge a past period and a live window.
package enum JournalPeriod {
    package enum Outcome: Sendable {
        case read(JournalEvidence.Result)
        /// No journal at the default place, and none was named: nothing to read (not an error).
        case noJournal(path: String)
    }

    /// Why the period could not be read: a bad value (`usage`), or a journal that is missing (when
    /// named), held, foreign or corrupt; `fix` says what to do.
    package struct Problem: Error, Sendable {
        package var message: String
        package var fix: String
        package var usage: Bool
    }

    /// Reads `since` seconds back from `until` (a time or a duration ago; default now) of `journal`
    /// (default: `defaultJournal`, else the one `rstdoctor record` writes for this user), for the options'
    /// namespace and focus.
    package static func read(since: Double, until: String?, journal: String?, options o: CollectOptions,
                             defaultJournal: String? = nil, now: Date = Date()) throws(Problem) -> Outcome {
        switch try locate(since: since, until: until, journal: journal, defaultJournal: defaultJournal, now: now) {
        case .noJournal(let path): return .noJournal(path: path)
        case .period(let period): return .read(try read(period, options: o))
        }
    }

    /// Where a period is to be read, or that there is no journal to read it from.
    package enum Location: Sendable {
        case period(JournalEvidence.Period)
        /// None was named and none is at the default place.
        case noJournal(path: String)
    }

    /// The period and its journal, from the values given (cheap: no journal is opened yet).
    package static func locate(since: Double, until: String?, journal: String?, defaultJournal: String? = nil,
                               now: Date = Date()) throws(Problem) -> Location {
        let end: Date, path: String
        do {
            end = try until.map { try RecordSettings.time($0, now: now) } ?? now
            path = try Validate.path(journal ?? defaultJournal ?? RecordSettings.defaultJournal())
        } catch let e as ValidationError {
            throw Problem(message: e.message, fix: "", usage: true)
        } catch {
            throw Problem(message: "\(error)", fix: "", usage: true)
        }
        if journal == nil && !FileManager.default.fileExists(atPath: path) { return .noJournal(path: path) }
        return .period(JournalEvidence.Period(since: end.addingTimeInterval(-since), until: end, journal: path))
    }

    /// Reads a located period for the options' namespace and focus.
    package static func read(_ period: JournalEvidence.Period, options o: CollectOptions) throws(Problem) -> JournalEvidence.Result {
        do {
            return try JournalEvidence.read(period, target: o.target, port: o.port, peer: o.peer)
        } catch {
            throw Problem(message: error.message, fix: error.fix, usage: false)
        }
    }

    /// What to say when there is no journal: why the past is not known, and how to start recording it.
    package static func noJournal(_ path: String, options o: CollectOptions) -> String {
        let place = o.target.display
        let ns = place == "host" ? "" : place.hasPrefix("pid ") ? " --pid \(place.dropFirst(4))" : " --netns \(place)"
        return "no recorder journal at \(Sanitize.terminal(path)), so the resets of a past period are not known; start one with "
            + "`sudo rstdoctor record\(Sanitize.terminal(ns))` (as a service: contrib/rstdoctor-record.service) to have them next time"
    }

    static func time(_ micros: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(micros) / 1e6))
    }

    /// The period as JSON (`journal` of `check --format json`).
    package static func json(_ r: JournalEvidence.Result) -> JSON {
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
                    ("per_hour", .array(s.perHour.sorted { $0.key < $1.key }.map {
                        .object([("hour", .string(time($0.key * 1_000_000))), ("count", .int(Int64($0.value)))])
                    })),
                    ("ports", .array(s.topPorts.map { .object([("port", .int(Int64($0.0))), ("count", .int(Int64($0.1)))]) })),
                    ("peers", .array(s.topPeers.map { .object([("peer", .string($0.0)), ("count", .int(Int64($0.1)))]) })),
                    ("tasks", .array(s.topTasks.map { .object([("task", .string($0.0)), ("count", .int(Int64($0.1)))]) })),
                ])
            })),
            ("notes", .array(r.notes.map {
                .object([("time", .string(time($0.timeMicros))), ("kind", .string($0.kind)), ("text", .string($0.text))])
            })),
        ])
    }

    /// The period as text: which causes struck, how often, first and last, per hour, top ports, peers
    /// and tasks, and the limits the recorder noted. `bold` and `warn` colour it (identity: plain).
    package static func text(_ r: JournalEvidence.Result, command: String = "rstdoctor check --since … --format json",
                             bold: (String) -> String = { $0 }, warn: (String) -> String = { $0 }) -> String {
        let t = Sanitize.terminal
        let iso = ISO8601DateFormatter()
        var o = bold("Journal") + " \(t(r.period.journal)): \(r.events) reset(s) from \(iso.string(from: r.period.since)) "
            + "to \(iso.string(from: r.period.until))\n"
        for c in r.summary {
            o += "  \(t(c.cause ?? "no cause mapped")) (\(c.direction)): \(c.count)× — "
                + "first \(time(c.firstMicros)), last \(time(c.lastMicros))\n"
            if c.perHour.count > 1 {
                o += "    per hour: " + c.perHour.sorted { $0.key < $1.key }.map { "\(time($0.key * 1_000_000).prefix(13))h \($0.value)" }
                    .joined(separator: ", ") + "\n"
            }
            o += "    ports " + c.topPorts.map { "\($0.0) (\($0.1))" }.joined(separator: ", ")
            o += "; peers " + c.topPeers.map { "\(t($0.0)) (\($0.1))" }.joined(separator: ", ")
            if !c.topTasks.isEmpty { o += "; tasks " + c.topTasks.map { "\(t($0.0)) (\($0.1))" }.joined(separator: ", ") }
            o += "\n"
        }
        for n in r.notes where ["limit", "loss", "clock"].contains(n.kind) { o += warn("  note: ") + t(n.text) + "\n" }
        if r.elsewhere > 0 {
            o += "  left out: \(r.elsewhere) reset(s) of other network namespaces of this machine (the tracepoints are global; "
                + "the recorder keeps those sent from or received at its namespace's addresses)\n"
        }
        if r.summary.isEmpty { o += "  no reset was recorded in this period for this focus\n" }
        o += "  The individual resets: `\(command)` (\"resets\"), or sqlite3 \(t(r.period.journal)) 'SELECT * FROM rst_event'\n"
        return o
    }
}
