import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDJournal
import RSTDData
import RSTDSystem
import RSTDCore

/// The recorder's metrics: `rstdoctor_resets_total{cause,direction,reason}` and a few gauges.
/// Label values come from closed sets (cause ids, sent/received, the kernel's reason names), so the
/// series stay bounded; a port becomes a label only when it was listed with `--port`, a peer never.
package final class RecorderMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var resets: [[String]: Int] = [:]
    private var lastEvent: Double?
    private let writer: JournalWriter
    private let ports: Set<Int>
    private let started = Date()

    package init(writer: JournalWriter, ports: Set<Int> = []) {
        self.writer = writer
        self.ports = ports
    }

    static func reasonLabel(_ r: String?) -> String {
        guard let r, !r.isEmpty else { return "none" }
        let ok = r.count <= 40 && r.unicodeScalars.allSatisfy { ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }
        return ok ? r : "other"
    }

    static func causeLabel(_ c: String?) -> String {
        guard let c else { return "none" }
        return TraceReasonMap.causeIDs.contains(c) ? c : "other"
    }

    package func count(_ e: JournalEvent) {
        var key = [Self.causeLabel(e.cause), e.direction == "received" ? "received" : "sent", Self.reasonLabel(e.reason)]
        if !ports.isEmpty {
            let p = ports.contains(e.sport) ? e.sport : (ports.contains(e.dport) ? e.dport : nil)
            key.append(p.map(String.init) ?? "other")
        }
        lock.lock(); defer { lock.unlock() }
        resets[key, default: 0] += 1
        lastEvent = max(lastEvent ?? 0, Double(e.timeMicros) / 1e6)
    }

    /// OpenMetrics text (`openMetrics: true`, served at /metrics) or the Prometheus text format
    /// node_exporter's textfile collector reads; they differ only in counter naming and `# EOF`.
    package func render(openMetrics: Bool = true) -> String {
        lock.lock()
        let series = resets
        let last = lastEvent
        lock.unlock()
        var o = ""
        let counterName = openMetrics ? "rstdoctor_resets" : "rstdoctor_resets_total"
        o += "# TYPE \(counterName) counter\n# HELP \(counterName) TCP resets recorded, by the cause the kernel's reason points to, direction and reason.\n"
        let names = ["cause", "direction", "reason", "port"]
        for (k, v) in series.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let labels = zip(names, k).map { "\($0)=\"\(Sanitize.metricLabel($1))\"" }.joined(separator: ",")
            o += "rstdoctor_resets_total{\(labels)} \(v)\n"
        }
        func gauge(_ name: String, _ help: String, _ value: Double) {
            o += "# TYPE \(name) gauge\n# HELP \(name) \(help)\n\(name) \(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3f", value))\n"
        }
        gauge("rstdoctor_journal_bytes", "Bytes the journal uses (database pages in use plus the WAL).", Double(writer.journal.sizeBytes()))
        gauge("rstdoctor_dropped_events", "Rows the recorder could not queue (the writer fell behind) since it started.", Double(writer.dropped))
        gauge("rstdoctor_lost_events", "Rows that could not be written to the journal (disk full, I/O error) since it started.", Double(writer.lost))
        gauge("rstdoctor_recorder_start_timestamp_seconds", "When the recorder started (Unix time).", started.timeIntervalSince1970.rounded())
        if let last { gauge("rstdoctor_last_event_timestamp_seconds", "When the last reset was recorded (Unix time).", last) }
        if openMetrics { o += "# EOF\n" }
        return o
    }
}

/// node_exporter textfile: written to a temporary name and renamed, so a scrape never sees half a file.
package struct TextfileWriter: Sendable {
    package let directory: String
    package var name = "rstdoctor.prom"

    package init(directory: String) { self.directory = directory }

    @discardableResult
    package func write(_ text: String) -> Bool {
        let target = (directory as NSString).appendingPathComponent(name)
        let tmp = (directory as NSString).appendingPathComponent(".\(name).\(getpid()).tmp")
        guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else { return false }
        guard rename(tmp, target) == 0 else {
            unlink(tmp)
            return false
        }
        return true
    }
}
