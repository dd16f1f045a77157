import Foundation
import RSTDCore

/// One cause of rstdoctor's JSON ranking.
struct RankedCause: Sendable, Equatable {
    var id: String
    var probability: Double
}

/// What one `rstdoctor check --format json` run answered.
struct Diagnosis: Sendable {
    var mode: String
    var argv: [String]
    var status: Int32?
    var stdout: String
    var stderr: String
    /// The `causes` array (causes of resets) sorted by probability, highest first; nil when the
    /// output was not that JSON.
    var causes: [RankedCause]?
    /// The `findings` array (rstdoctor.check/3: causes that make no RST, such as syn-flood), sorted
    /// the same way; empty when absent.
    var findings: [RankedCause]

    init(mode: String, argv: [String], status: Int32?, stdout: String, stderr: String) {
        self.mode = mode; self.argv = argv; self.status = status; self.stdout = stdout; self.stderr = stderr
        causes = Diagnosis.parseCauses(stdout)
        findings = Diagnosis.parseCauses(stdout, key: "findings") ?? []
    }

    /// The probability of a finding (a cause that makes no RST), nil when the output has none by that id.
    func finding(_ id: String) -> Double? { findings.first { $0.id == id }?.probability }

    /// Decodes `{"causes": [{"id": …, "probability": …}, …]}` (or another key of the same shape);
    /// extra fields are ignored.
    static func parseCauses(_ text: String, key: String = "causes") -> [RankedCause]? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let list = obj[key] as? [Any] else { return nil }
        var out: [RankedCause] = []
        for item in list {
            guard let c = item as? [String: Any], let id = c["id"] as? String,
                  let p = (c["probability"] as? NSNumber)?.doubleValue, p.isFinite else { return nil }
            out.append(RankedCause(id: id, probability: p))
        }
        return out.sorted { $0.probability > $1.probability }
    }

    var top: RankedCause? { causes?.first }
    var top3: String {
        (causes ?? []).prefix(3).map { "\($0.id) \(String(format: "%.2f", $0.probability))" }.joined(separator: ", ")
    }
}

/// The acceptance rule of a scenario's diagnosis, as issue 5 states it.
enum Verdict {
    static let firstMin = 0.7, unrelatedMax = 0.5, controlMax = 0.3

    /// Problems with a diagnosis; empty when it passes.
    /// - expected cause, `--observe`: it ranks first with p ≥ 0.7 and no unrelated cause has p > 0.5.
    /// - expected cause, plain `check` after the fault: the window (1 s) is over, so only the state
    ///   now (a missing listener, a reject rule, a full queue…) and history (counters since the
    ///   namespace was created, which may move a cause only a little) are left: the expected cause
    ///   ranks first, with no threshold, and no unrelated cause reaches p ≥ 0.5.
    /// - control (no expected cause, nothing tolerated): exit 0 and no cause > 0.3 (≥ 0.3 when the
    ///   scenario names `findings` it may show: the fault explains failed connections, not resets).
    /// - findings (causes that make no RST) are never judged as causes: they are neither first nor
    ///   unrelated; but one of the scenario's `findings` ranked among the causes is a problem.
    /// - contrast (no expected cause, some tolerated): no cause outside the tolerated ones > 0.3.
    /// - indistinct (causes the side observed cannot tell apart): `--observe` ranks exactly them on top,
    ///   in any order, the last of them with p ≥ 0.3 (a real contender), no other cause above 0.5, and
    ///   the output says they cannot be told apart ("cannot tell").
    static func judge(_ d: Diagnosis, expected: String?, tolerated: Set<String>, indistinct: Set<String> = [],
                      findings: Set<String> = []) -> [String] {
        guard let causes = d.causes else {
            return ["\(d.mode): no `causes` in the output (exit \(d.status.map(String.init) ?? "timeout")): \(d.stderr.prefix(300))"]
        }
        var problems: [String] = []
        for c in causes where findings.contains(c.id) {
            problems.append("\(d.mode): \(c.id) makes no RST but is ranked among the causes of resets (p = \(c.probability))")
        }
        if !indistinct.isEmpty {
            let top = causes.prefix(indistinct.count)
            if Set(top.map(\.id)) != indistinct {
                problems.append("\(d.mode): expected \(indistinct.sorted().joined(separator: " and ")) on top, got \(d.top3)")
            } else if d.mode != "plain", let last = top.last, last.probability < controlMax {
                problems.append("\(d.mode): \(last.id) is on top but with p = \(last.probability) < \(controlMax): not a contender")
            }
            for c in causes where !indistinct.contains(c.id) && !tolerated.contains(c.id) && c.probability >= unrelatedMax {
                problems.append("\(d.mode): unrelated cause \(c.id) has p = \(c.probability) ≥ \(unrelatedMax)")
            }
            if d.mode != "plain" && !d.stdout.contains("cannot tell") {
                problems.append("\(d.mode): the output does not say that \(indistinct.sorted().joined(separator: " and ")) cannot be told apart")
            }
            return problems
        }
        if let expected {
            if let top = causes.first, top.id == expected {
                if d.mode != "plain" && top.probability < firstMin {
                    problems.append("\(d.mode): \(expected) ranks first but with p = \(top.probability) < \(firstMin)")
                }
            } else {
                problems.append("\(d.mode): expected \(expected) first, got \(d.top3.isEmpty ? "no causes" : d.top3)")
            }
            for c in causes where c.id != expected && !tolerated.contains(c.id)
                && (c.probability > unrelatedMax || (d.mode == "plain" && c.probability >= unrelatedMax)) {
                problems.append("\(d.mode): unrelated cause \(c.id) has p = \(c.probability) > \(unrelatedMax)")
            }
        } else {
            if tolerated.isEmpty && d.status != 0 {
                problems.append("\(d.mode): a healthy host should exit 0, exited \(d.status.map(String.init) ?? "timeout")")
            }
            let strict = !findings.isEmpty
            for c in causes where !tolerated.contains(c.id) && (c.probability > controlMax || (strict && c.probability >= controlMax)) {
                problems.append("\(d.mode): cause \(c.id) has p = \(c.probability) > \(controlMax) where none should be found")
            }
        }
        return problems
    }
}

/// Runs rstdoctor against a scenario: `--observe` started before the fault, a plain check after it.
enum Diagnose {
    /// The binary: $RSTDOCTOR_BIN, else .build/debug/rstdoctor under the package root.
    static func binary() -> String? {
        if let b = ProcessInfo.processInfo.environment["RSTDOCTOR_BIN"], FileManager.default.isExecutableFile(atPath: b) { return b }
        let p = Lab.packageRoot.appendingPathComponent(".build/debug/rstdoctor").path
        return FileManager.default.isExecutableFile(atPath: p) ? p : nil
    }

    /// Length of the `--observe` window ($RSTD_LAB_OBSERVE, default 10s, longer if the fault needs it).
    static func observeWindow(_ s: any Scenario) -> String {
        let base = Seconds.parse(ProcessInfo.processInfo.environment["RSTD_LAB_OBSERVE"] ?? "10s") ?? 10
        return "\(Int(max(base, s.provokeSeconds + 3).rounded(.up)))s"
    }

    static func argv(_ bin: String, _ t: Target, observe: String?) -> [String] {
        var a = [bin, "check", "--netns", t.netns, "--port", String(t.port), "--peer", t.peer, "--format", "json"]
        if let observe { a += ["--observe", observe] }
        return a
    }

    /// Stages `s` in `lab` and returns the evidence and both diagnoses.
    static func run(_ s: any Scenario, in lab: Lab, binary bin: String) throws -> (Evidence, observe: Diagnosis, plain: Diagnosis) {
        let window = observeWindow(s)
        let holder = Holder()
        let ev = try Runner.run(s, in: lab, beforeProvoke: { t in
            let argv = argv(bin, t, observe: window)
            holder.observeArgv = argv
            holder.observer = try lab.startBackground(argv)
            // Let rstdoctor open its capture and trace before the fault.
            usleep(UInt32((Double(ProcessInfo.processInfo.environment["RSTD_LAB_OBSERVE_LEAD"] ?? "1.5") ?? 1.5) * 1_000_000))
        }, afterProvoke: { t in
            let argv = argv(bin, t, observe: nil)
            let r = Command.run(argv, timeout: 60)
            holder.plain = Diagnosis(mode: "plain", argv: argv, status: r.status, stdout: r.stdout, stderr: r.stderr)
        })
        let windowSeconds = Seconds.parse(window) ?? 10
        var observe = Diagnosis(mode: "observe", argv: holder.observeArgv, status: nil, stdout: "", stderr: "not started")
        if let o = holder.observer {
            let status = o.wait(timeout: windowSeconds + 30)
            if status == nil { o.stop() }
            observe = Diagnosis(mode: "observe", argv: holder.observeArgv, status: status, stdout: o.stdout, stderr: o.stderr)
        }
        let plain = holder.plain ?? Diagnosis(mode: "plain", argv: [], status: nil, stdout: "", stderr: "not run")
        return (ev, observe, plain)
    }
}

private final class Holder: @unchecked Sendable {
    var observer: Background?
    var observeArgv: [String] = []
    var plain: Diagnosis?
}
