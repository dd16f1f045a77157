import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDCore

/// `history [SINCE] [--until T] [--journal PATH]`: a past period of the recorder's journal joins the
/// session's evidence, read through the path `check --since` uses (`JournalPeriod.read`). What it
/// brings is kept until `drop history`, listed by `drop`, and counted in the ranking like `observe`.
extension Session {
    static let historyUsage = "usage: history [SINCE] [--until TIME] [--journal PATH] — e.g. `history 2h`, "
        + "`history 30m --until '2026-12-04 03:10'`; SINCE defaults to 1h"

    func history(_ args: [String]) async {
        var since: String?, until: String?, journal: String?
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--until" || a == "--journal" {
                guard i + 1 < args.count else { say("\(a) needs a value. \(Self.historyUsage)."); return }
                if a == "--until" { until = args[i + 1] } else { journal = args[i + 1] }
                i += 2
                continue
            }
            guard since == nil, !a.hasPrefix("-") else { say("`\(t(a))` is not understood here. \(Self.historyUsage)."); return }
            since = a
            i += 1
        }
        if bundleRecords != nil {
            say("This session reads a bundle (--from): the recorder's journal describes the live host, not the bundle's.")
            return
        }
        let seconds: Double
        do { seconds = try Validate.duration(since ?? "1h", min: 1, max: 366 * 86400) } catch {
            say("\(error.message). \(Self.historyUsage).")
            return
        }
        let outcome: JournalPeriod.Outcome
        do {
            outcome = try JournalPeriod.read(since: seconds, until: until, journal: journal, options: options,
                                             defaultJournal: defaultJournal)
        } catch {
            say(error.usage ? "\(t(error.message)). \(Self.historyUsage)." : "history could not read the recorder's journal: "
                + "\(t(error.message)). \(t(error.fix)).")
            return
        }
        switch outcome {
        case .noJournal(let path):
            say("There is " + JournalPeriod.noJournal(path, options: options)
                + ". Meanwhile `observe 30s` watches live while the resets happen; `history --journal PATH` reads a journal elsewhere.")
        case .read(let result):
            say(JournalPeriod.text(result, command: "rstdoctor check --since \(Seconds.render(seconds)) --format json",
                                   bold: style.bold, warn: style.yellow), terminator: "")
            let ev = SessionEvidence(records: result.records, facts: result.facts)
            await runHook(what: "history \(Seconds.render(seconds))") { ev }
        }
    }
}
