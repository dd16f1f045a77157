import Foundation
import XCTest

/// bench/accuracy: every scenario with the built binary, one table row per scenario and mode
/// (observe, plain), and a last line `N/M top-1`. Runs only when RSTD_BENCH=1 (bench/accuracy sets
/// it): it repeats what ScenarioTests does, so CI runs it once, not twice.
final class AccuracyBench: XCTestCase {
    func testAccuracyTable() throws {
        guard ProcessInfo.processInfo.environment["RSTD_BENCH"] == "1" else {
            throw XCTSkip("a benchmark, not a test: run bench/accuracy")
        }
        if let reason = Lab.unavailableReason() { throw XCTSkip(reason) }
        guard let bin = Diagnose.binary() else { throw XCTSkip("build rstdoctor first (swift build --product rstdoctor) or set RSTDOCTOR_BIN") }
        let only = ProcessInfo.processInfo.environment["RSTD_BENCH_ONLY"].map { Set($0.split(separator: ",").map(String.init)) }
        var rows: [[String]] = [["scenario", "mode", "expected", "top", "p", "top 3", "result"]]
        var passed = 0, total = 0
        for s in Catalog.all where only?.contains(s.id) ?? true {
            let lab = try Lab()
            defer { lab.teardown() }
            var results: [Diagnosis] = []
            var staged = true
            do {
                let (ev, observe, plain) = try Diagnose.run(s, in: lab, binary: bin)
                staged = s.verify(ev).isEmpty
                results = [observe, plain]
            } catch {
                rows.append([s.id, "-", s.expectedCause ?? "(none)", "-", "-", "lab error: \(error)", "FAIL"])
                total += 2
                continue
            }
            for d in results {
                if d.mode == "plain" && !s.visibleAfterTheFact {
                    rows.append([s.id, d.mode, s.expectedCause ?? "(none)", d.top?.id ?? "-",
                                 d.top.map { String(format: "%.2f", $0.probability) } ?? "-", d.top3.isEmpty ? "-" : d.top3, "n/a (not visible after the fact)"])
                    continue
                }
                let short = Verdict.findings(d, of: s)
                let ok = staged && Verdict.judge(d, expected: s.expectedCause, tolerated: s.tolerated, findings: s.findings).isEmpty
                    && short.isEmpty
                total += 1
                if ok { passed += 1 }
                rows.append([s.id, d.mode, s.expectedCause ?? "(none)", d.top?.id ?? "-",
                             d.top.map { String(format: "%.2f", $0.probability) } ?? "-", d.top3.isEmpty ? "-" : d.top3,
                             ok ? "pass" : !staged ? "FAIL (fault not staged)"
                                 : short.isEmpty ? "FAIL" : "FAIL (\(Verdict.findingsText(d, of: s)))"])
            }
        }
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        var out = ""
        for r in rows {
            out += r.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "\n"
        }
        out += "\(passed)/\(total) top-1\n"
        print(out)
        if let path = ProcessInfo.processInfo.environment["RSTD_BENCH_OUT"] {
            try? out.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}
