import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDJournal
import RSTDData
import RSTDSystem
import RSTDCore

/// `check --since`: a period of the recorder's journal as evidence. The journal's resets become the
/// same `trace.*` facts a live trace gives (`TraceSession.facts`), its counter snapshots at the
/// period's ends become the `counters` check's two samples (deltas over the period, parsed by the
/// same parser), so the same rules judge a past period and a live window.
package enum JournalEvidence {
    package struct Period: Sendable {
        package var since: Date
        package var until: Date
        package var journal: String
        package init(since: Date, until: Date, journal: String) {
            self.since = since
            self.until = until
            self.journal = journal
        }
    }

    /// What the period contributed: check records (replacing the collector's for kernel-trace,
    /// capture and counters), facts, and the summary for the report.
    package struct Result: Sendable {
        package var records: [CheckRecord] = []
        package var facts: [Fact] = []
        package var summary: [CauseSummary] = []
        package var notes: [JournalNote] = []
        package var events = 0
        /// Resets of other network namespaces the recorder left out in the period (its `elsewhere` notes).
        package var elsewhere = 0
        package var period: Period
    }

    /// The checks whose records `read` may return in place of the collector's: the rest of the host's
    /// checks never depend on the journal, so they can run while it is read.
    package static let replaces: Set<String> = ["kernel-trace", CaptureFacts.checkID, "counters", "conntrack-stat"]

    /// At most this many resets of each (cause, direction) become records; the counts are exact.
    package static let perGroup = 1000

    package static func read(_ p: Period, target: NamespaceTarget, port: UInt16?, peer: String?) throws(JournalError) -> Result {
        let j = try Journal.openForReading(path: p.journal)
        let filter = JournalFilter(sinceMicros: p.since.journalMicros, untilMicros: p.until.journalMicros, netns: target.display,
                                   ports: port.map { [Int($0)] } ?? [], peer: peer)
        let started = Date()
        var out = Result(period: p)
        out.summary = try j.summary(filter)
        // The summary knows the period's (cause, direction) groups: no scan of its rows to find them.
        let rows = try j.events(filter, perGroup: perGroup, groups: out.summary.map { ($0.cause, $0.direction) })
        // Whole hours are counted without their peers: name the peers of the sample instead.
        for i in out.summary.indices where out.summary[i].topPeers.isEmpty {
            var peers: [String: Int] = [:]
            for e in rows where e.cause == out.summary[i].cause && e.direction == out.summary[i].direction {
                peers[e.direction == "sent" ? e.dst : e.src, default: 0] += 1
            }
            out.summary[i].topPeers = Array(peers.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(5).map { ($0.key, $0.value) })
        }
        out.notes = try j.notes(filter)
        out.events = out.summary.reduce(0) { $0 + $1.count }
        out.elsewhere = elsewhere(out.notes, since: filter.sinceMicros)
        let leftOut = out.elsewhere > 0 ? "; \(out.elsewhere) reset(s) of other network namespaces of this machine left out" : ""
        let span = "\(iso(p.since)) – \(iso(p.until))"
        let origin = "journal \(p.journal), \(span)"
        let source = FactSource(check: "kernel-trace", origin: origin)
        let ms = { Int(Date().timeIntervalSince(started) * 1000) }

        let noTrace = out.notes.first { $0.kind == "limit" && $0.text.contains("tracepoints are not recorded") }
        if let noTrace, rows.allSatisfy({ $0.source == "wire" }) {
            out.records.append(CheckRecord(id: "kernel-trace", status: .skipped, reason: "the recorder could not trace: \(noTrace.text)",
                                           fix: "Run `rstdoctor record` as root (see contrib/rstdoctor-record.service)", durationMs: ms()))
            out.facts += TraceSession.unavailableFacts(TraceUnavailable(noTrace.text, fix: ""), source: source)
        } else {
            let events = rows.map(resetEvent)
            let reasonReported = !out.notes.contains { $0.kind == "limit" && $0.text.contains("no reason field") }
            let reasonNames = Array(Set(events.compactMap(\.reason)))
            out.facts += TraceSession.facts(events: events, reasonNames: reasonNames, reasonReported: reasonReported,
                                            elsewhere: out.elsewhere, source: source)
            // The sample is bounded; the counts are the journal's own.
            let sent = out.summary.filter { $0.direction == "sent" }.reduce(0) { $0 + $1.count }
            out.facts.removeAll { $0.key == "trace.sent" || $0.key == "trace.received" }
            out.facts.append(Fact(key: "trace.sent", value: .int(Int64(sent)), source: source))
            out.facts.append(Fact(key: "trace.received", value: .int(Int64(out.events - sent)), source: source))
            let causes = out.summary.compactMap(\.cause)
            out.records.append(CheckRecord(id: "kernel-trace", status: causes.isEmpty ? .ok : .finding,
                                           reason: "\(out.events) reset(s) recorded in \(span) "
                                               + "(\(sent) sent, \(out.events - sent) received)" + leftOut,
                                           durationMs: ms()))
        }
        let wire = rows.filter { $0.ttl != nil }.count
        out.records.append(CheckRecord(id: CaptureFacts.checkID, status: .skipped,
                                       reason: "the journal keeps the wire's view of each RST (\(wire) with TTL / payload), not whole connections: the resets are judged by the kernel's account",
                                       fix: "For whole connections, run `rstdoctor check --observe` while the resets happen"))
        if let (a, b) = try j.counterBounds(filter), b.timeMicros > a.timeMicros {
            let window = Double(b.timeMicros - a.timeMicros) / 1e6
            out.records.append(CheckRecord(id: "counters", status: .ok, reason: "counter snapshots of the journal at \(iso(micros: a.timeMicros)) and \(iso(micros: b.timeMicros))",
                                           durationMs: ms(), samples: [sample(a, journal: p.journal), sample(b, journal: p.journal)], window: window))
            if let ca = conntrackSample(a, journal: p.journal), let cb = conntrackSample(b, journal: p.journal) {
                let at = "\(iso(micros: a.timeMicros)) and \(iso(micros: b.timeMicros))"
                out.records.append(CheckRecord(id: "conntrack-stat", status: .ok, reason: "conntrack statistics of the journal at \(at)",
                                               durationMs: ms(), samples: [ca, cb], window: window))
            }
        }
        return out
    }

    /// The sum of the period's `elsewhere` notes (each starts with its count).
    static func elsewhere(_ notes: [JournalNote], since: Int64) -> Int {
        notes.filter { $0.kind == "elsewhere" && $0.timeMicros >= since }.reduce(0) { n, note in
            n + (Int(note.text.prefix { $0.isNumber }) ?? 0)
        }
    }

    /// Counters as `Name value` lines, the shape the proc-netstat parser reads (as from snmp6).
    static func sample(_ s: CounterSnapshot, journal: String) -> RawOutput {
        let text = s.counters.filter { !$0.key.hasPrefix(conntrackPrefix) }.sorted { $0.key < $1.key }
            .map { "\($0.key) \($0.value)" }.joined(separator: "\n") + "\n"
        return RawOutput(parts: [RawOutput.Part(name: "journal \(journal) at \(iso(micros: s.timeMicros))", text: text)])
    }

    static let conntrackPrefix = "conntrack.stat."

    /// The snapshot's conntrack counters as /proc/net/stat/nf_conntrack (a header and one row of hex
    /// totals), the shape the conntrack-stat parser reads; nil when the recorder had none (no nf_conntrack).
    static func conntrackSample(_ s: CounterSnapshot, journal: String) -> RawOutput? {
        guard s.counters[conntrackPrefix + "invalid"] != nil else { return nil }
        // The fact names are column names the parser reads too (`error`, `clash_resolve`); it knows
        // the format by its first column, `entries`.
        let stats = s.counters.filter { $0.key.hasPrefix(conntrackPrefix) }
            .map { (String($0.key.dropFirst(conntrackPrefix.count)), $0.value) }
        let present = [("entries", stats.first { $0.0 == "entries" }?.1 ?? 0)] + stats.filter { $0.0 != "entries" }.sorted { $0.0 < $1.0 }
        let header = present.map(\.0).joined(separator: " ")
        let row = present.map { String(format: "%08llx", UInt64(max(0, $0.1))) }.joined(separator: " ")
        let name = "journal \(journal) at \(iso(micros: s.timeMicros)) (/proc/net/stat/nf_conntrack)"
        return RawOutput(parts: [RawOutput.Part(name: name, text: header + "\n" + row + "\n")])
    }

    static func resetEvent(_ e: JournalEvent) -> ResetEvent {
        let t = Double(e.timeMicros) / 1e6
        return ResetEvent(traceTime: t, time: t, direction: e.direction == "received" ? .received : .sent, src: e.src, sport: e.sport,
                          dst: e.dst, dport: e.dport, state: e.state ?? "", reason: e.reason, listener: e.listener,
                          dropReason: e.dropReason, cause: e.cause, task: e.task ?? "", pid: e.pid ?? 0,
                          // The recorder keeps a task only when the trace named it (process context).
                          context: e.task == nil ? .unknown : .process)
    }

    static func iso(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: d)
    }

    static func iso(micros: Int64) -> String { iso(Date(timeIntervalSince1970: Double(micros) / 1e6)) }
}
