import Foundation
import RSTDInfer
import RSTDCore

/// `rstdoctor check --format openmetrics`: metrics for node_exporter's textfile collector, so
/// Prometheus watches a fleet. Every family is a gauge: that reads the same in the Prometheus text
/// format node_exporter parses and in OpenMetrics (`# EOF` is a comment to the former), whereas
/// counter naming (`_total`) differs between the two. Kernel counters are exported as the value
/// rstdoctor read; node_exporter's own netstat collector is the place to `rate()` them.
package enum OpenMetrics {
    static func label(_ s: String) -> String { Sanitize.metricLabel(s) }

    static func number(_ d: Double) -> String {
        if !d.isFinite { return d.isNaN ? "NaN" : (d > 0 ? "+Inf" : "-Inf") }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(format: "%.6g", d)
    }

    package static func render(_ d: Diagnosis) -> String { render(HostReport(d), knowledgeProblems: d.knowledgeProblems) }

    package static func render(_ h: HostReport, knowledgeProblems: Int = 0) -> String {
        var o = ""
        func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            o += "# TYPE \(name) gauge\n# HELP \(name) \(help)\n"
            for s in samples {
                let l = s.labels.map { "\($0.0)=\"\(label($0.1))\"" }.joined(separator: ",")
                o += name + (l.isEmpty ? "" : "{\(l)}") + " " + number(s.value) + "\n"
            }
        }
        var info: [(String, String)] = [("hostname", h.hostname), ("kernel", h.kernel), ("netns", h.netns)]
        if let p = h.port { info.append(("port", String(p))) }
        if let p = h.peer { info.append(("peer", p)) }
        family("rstdoctor_info", "Where and what rstdoctor diagnosed (always 1).", [(info, 1)])
        let iso = ISO8601DateFormatter()
        if let t = iso.date(from: h.started) {
            family("rstdoctor_last_run_timestamp_seconds", "When the diagnosis started (Unix time).", [([], t.timeIntervalSince1970.rounded())])
        }
        family("rstdoctor_cause_probability", "Posterior probability that this cause explains TCP resets (0 to 1; 0.5 and above is likely).",
               h.causes.map { ([("cause", $0.id)], $0.probability) })
        family("rstdoctor_likely_causes", "Number of causes of resets with probability 0.5 or more.",
               [([], Double(h.causes.filter { $0.probability >= Diagnosis.likely }.count))])
        // Causes that make no RST (syn-flood, conntrack-table-full, paws-stalls): their own family, so that
        // an alert on rstdoctor_cause_probability never fires for a cause that explains time-outs, not resets.
        family("rstdoctor_finding_probability",
               "Posterior probability of a finding that explains failed or slow connections but makes no RST (0 to 1).",
               h.findings.map { ([("finding", $0.id)], $0.probability) })
        // One series per status and check, 1 for the current one: series never vanish between runs.
        var status: [(labels: [(String, String)], value: Double)] = []
        for c in h.checks {
            for s in ["ok", "finding", "skipped", "failed"] {
                status.append(([("check", c.id), ("step", c.step), ("status", s)], c.status == s ? 1 : 0))
            }
        }
        family("rstdoctor_check_status", "1 for the status each check ended with (ok, finding, skipped, failed), 0 for the others.", status)
        family("rstdoctor_check_duration_seconds", "How long each check took.",
               h.checks.map { ([("check", $0.id)], Double($0.durationMs) / 1000) })
        let nstat = h.counters.filter { $0.value != nil }
        family("rstdoctor_tcp_counter", "A reset-related kernel TCP counter (nstat name) as read, when non-zero.",
               nstat.compactMap { c in c.value.map { ([("counter", c.name)], Double($0)) } })
        family("rstdoctor_tcp_counter_delta", "Change of a reset-related counter over the sample window (trace.* ones: RSTs counted by the kernel tracepoints).",
               h.counters.compactMap { c in c.delta.map { ([("counter", c.name)], Double($0)) } })
        family("rstdoctor_window_seconds", "The sample window the deltas cover.", [([], h.window)])
        var resets: [String: (labels: [(String, String)], value: Double)] = [:]
        for r in h.resets {
            let labels = [("source", ResetView.source(r)), ("cause", ResetView.cause(r)), ("direction", ResetView.direction(r))]
            let k = labels.map(\.1).joined(separator: "\u{0}")
            resets[k, default: (labels, 0)].value += 1
        }
        family("rstdoctor_resets_observed", "Individual resets seen in the window by capture or kernel trace, by classified cause and direction.",
               resets.keys.sorted().compactMap { resets[$0] })
        family("rstdoctor_knowledge_problems", "Problems in the knowledge base (run `rstdoctor knowledge lint`).", [([], Double(knowledgeProblems))])
        o += "# EOF\n"
        return o
    }
}
