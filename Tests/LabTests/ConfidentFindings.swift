import Foundation

/// A scenario whose fault makes no RST but must be explained: with `--observe`, each of its
/// `confidentFindings` is reported among the JSON `findings` with p ≥ 0.7 (Verdict.firstMin), the
/// way an expected cause of resets must rank first. Kept apart from `Scenario` so scenarios without
/// findings say nothing about them.
protocol ShowsFindings {
    /// Findings the `--observe` run must report with p ≥ 0.7 (the plain run is reported, not judged:
    /// after the fact only the counters' history is left, which weighs little).
    var confidentFindings: Set<String> { get }
}

extension Verdict {
    /// Problems with the findings of an `--observe` run of a scenario that shows findings.
    static func findings(_ d: Diagnosis, of s: any Scenario) -> [String] {
        guard d.mode == "observe", let f = s as? ShowsFindings else { return [] }
        return f.confidentFindings.sorted().compactMap { id in
            guard let p = d.finding(id) else { return "\(d.mode): finding \(id) is not reported (findings: \(d.findings.map(\.id)))" }
            return p >= firstMin ? nil : "\(d.mode): finding \(id) is reported with p = \(p) < \(firstMin)"
        }
    }
}

extension Verdict {
    /// The scenario's confident findings that fall short and what the run gave them, e.g.
    /// "finding syn-flood 0.29 < 0.7".
    static func findingsText(_ d: Diagnosis, of s: any Scenario) -> String {
        let ids = (s as? ShowsFindings)?.confidentFindings.sorted() ?? []
        return ids.filter { (d.finding($0) ?? 0) < firstMin }.map { id in
            "finding \(id) \(d.finding(id).map { String(format: "%.2f", $0) } ?? "absent") < \(firstMin)"
        }.joined(separator: ", ")
    }
}

/// Scenarios whose confident findings fall short today, with the reason: ScenarioTests prints their
/// shortfall as a KNOWN GAP (the rest of the verdict, e.g. no cause of resets ≥ 0.3, is still
/// asserted), and fails once they pass, so the list can only shrink (as `ScenarioTests.pending`).
enum FindingGaps {
    // Empty since the kernel-log check falls back to dmesg when journalctl has no journal (the
    // lab machine's case): kernel-log-syn-flood then sees the lab's own "Possible SYN flooding" line.
    static let pending: [String: String] = [:]

    /// `Verdict.findings`, with the known gaps printed instead of returned.
    static func check(_ d: Diagnosis, of s: any Scenario) -> [String] {
        let problems = Verdict.findings(d, of: s)
        guard d.mode == "observe", let why = pending[s.id] else { return problems }
        if problems.isEmpty { return ["\(s.id): its findings now pass: remove it from FindingGaps.pending"] }
        for p in problems { print("KNOWN GAP \(s.id): \(p) — \(why)") }
        return []
    }
}
