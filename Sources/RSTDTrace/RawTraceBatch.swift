import Foundation

/// What the binary reader has read so far: the recorder's notes and tests read it.
package struct RawTraceStats: Sendable, Hashable {
    package var pages = 0
    package var records = 0
    /// Pages whose commit word said the kernel lost events before them (its buffer was full).
    package var pagesAfterLoss = 0
    /// Pages that did not parse to their end (their remaining records were skipped).
    package var malformedPages = 0
}

/// Turns the pages of one read into the correlator's records, in trace-time order across CPUs
/// (as `trace_pipe` merges them: the earliest first, the lower CPU first on a tie).
enum RawTraceBatch {
    struct Record {
        var ns: UInt64
        var cpu: Int
        var seq: Int
        var item: ResetCorrelator.Item?
    }

    /// Ring-buffer nanoseconds as the text shows them: microseconds, rounded to the nearest
    /// (kernel/trace/trace.h `ns2usecs`), so that both readers give the same trace time.
    static func seconds(_ ns: UInt64) -> Double { Double((ns &+ 500) / 1000) / 1_000_000 }

    static func records(_ batch: RawPages, layout: RingBufferLayout, decoder: RawEventDecoder, clockOffset: Double,
                        comm: (Int) -> String, stats: inout RawTraceStats) -> [(time: Double, item: ResetCorrelator.Item?)] {
        var out: [Record] = []
        batch.bytes.withUnsafeBytes { all in
            for p in batch.pages {
                let page = UnsafeRawBufferPointer(rebasing: all[p.start..<(p.start + p.count)])
                let summary = layout.events(in: page) { ns, payload in
                    let item = decoder.decode(payload, time: seconds(ns), cpu: p.cpu, clockOffset: clockOffset, comm: comm)
                    out.append(Record(ns: ns, cpu: p.cpu, seq: out.count, item: item))
                }
                stats.pages += 1
                stats.records += summary.events
                if summary.missedBefore { stats.pagesAfterLoss += 1 }
                if summary.malformed { stats.malformedPages += 1 }
            }
        }
        out.sort { ($0.ns, $0.cpu, $0.seq) < ($1.ns, $1.cpu, $1.seq) }
        return out.map { (seconds($0.ns), $0.item) }
    }
}

extension ResetCorrelator {
    /// Feeds the records of binary pages and flushes: for tests and saved pages (the binary twin of `consume`).
    mutating func consume(_ pages: RawPages, layout: RingBufferLayout, decoder: RawEventDecoder,
                          comm: (Int) -> String) -> [ResetEvent] {
        var stats = RawTraceStats()
        var out: [ResetEvent] = []
        for r in RawTraceBatch.records(pages, layout: layout, decoder: decoder, clockOffset: clockOffset, comm: comm, stats: &stats) {
            out += add(r.item, at: r.time)
        }
        return out + flush()
    }
}

/// Task names for the binary reader, which gets only a pid: `/proc/PID/comm` (the pid is the
/// kernel's, a thread's id: /proc answers for threads too), then, for a task already gone, the kernel's
/// own `saved_cmdlines` (where the text reader's names come from), remembered a minute. `<idle>` for
/// pid 0 and `<...>` for a task neither knows, as the text reader shows them.
final class TaskNames: @unchecked Sendable {
    private let savedCmdlines: String
    private var names: [Int: String] = [:]
    private var since = ProcessInfo.processInfo.systemUptime
    private var saved: [Int: String] = [:]
    private var savedAt = -Double.infinity

    init(tracefsRoot: String) { savedCmdlines = tracefsRoot + "/saved_cmdlines" }

    func name(_ pid: Int) -> String {
        if pid == 0 { return "<idle>" }
        if let n = names[pid] { return n }
        let now = ProcessInfo.processInfo.systemUptime
        if now - since > 60 || names.count >= 4096 {
            names.removeAll(keepingCapacity: true)
            since = now
        }
        var n = "<...>"
        if pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) {
            let trimmed = text.hasSuffix("\n") ? String(text.dropLast()) : text
            if !trimmed.isEmpty { n = trimmed }
        } else if let s = savedName(pid, now: now) {
            n = s
        }
        names[pid] = n
        return n
    }

    /// `PID COMM` lines of saved_cmdlines, read again at most once a second.
    private func savedName(_ pid: Int, now: Double) -> String? {
        if saved[pid] == nil && now - savedAt >= 1 {
            savedAt = now
            saved = [:]
            let text = (try? String(contentsOfFile: savedCmdlines, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                guard let space = line.firstIndex(of: " "), let p = Int(line[..<space]) else { continue }
                saved[p] = String(line[line.index(after: space)...])
            }
        }
        return saved[pid]
    }
}
