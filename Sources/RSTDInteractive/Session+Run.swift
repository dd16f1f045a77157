import Foundation
import RSTDPipeline
import RSTDRender
import RSTDCollect
import RSTDInfer
import RSTDKnowledge
import RSTDCapture
import RSTDTrace
import RSTDSystem
import RSTDData
import RSTDCore

/// Running checks, `observe` and `capture`: evidence in, the ranking moved.
extension Session {
    func run(_ args: [String]) async {
        guard let target = args.first else {
            say("usage: run <check|step|all> — e.g. `run \(kb.checks.first?.id ?? "sysctls")`, `run server-load` or `run all`.")
            return
        }
        let defs: [CheckDefinition]
        if target == "all" {
            defs = kb.checks
        } else if let c = kb.check(target) {
            defs = [c]
        } else if let s = kb.step(target) {
            defs = kb.checks.filter { $0.step == s.id }
            if defs.isEmpty { say("No check belongs to the step \(t(s.id)) in this knowledge base."); return }
        } else {
            let near = DidYouMean.hint(target, in: kb.checks.map(\.id) + kb.steps.map(\.id) + ["all"])
            say("`\(t(target))` is neither a check nor a step.\(near) `run all` runs every check; Tab completes ids.")
            return
        }
        await runAndShow(defs)
    }

    /// Runs checks (Ctrl-C cancels), stores their records, and shows results, findings and how the ranking moved.
    func runAndShow(_ defs: [CheckDefinition], alsoShow: [String] = [], movers: Bool = true) async {
        let before = diagnosis()
        let records = await runChecks(defs)
        var kept: [String] = []
        for r in records where !keep(instead: r) { state.record(r); if r.status != .skipped { state.observed?[r.id] = nil } }
        for r in records where keep(instead: r) { kept.append(r.id) }
        save()
        let after = diagnosis()
        let ids = alsoShow + defs.map(\.id)
        say(SessionText.checkResults(ids, after, style: style), terminator: "")
        for id in kept {
            let what = state.observed?[id].map { " (from \(t($0)))" } ?? ""
            say(style.dim("  kept the earlier \(t(id)) result\(what): this run could not replace it (`drop \(t(id))` forgets it)"))
        }
        say(SessionText.found(Set(ids), after, kb: kb, style: style), terminator: "")
        if movers { say(SessionText.movers(from: before, to: after, style: style), terminator: "") }
    }

    /// Whether a fresh record must not replace the one the session has: a cancelled run never
    /// replaces a result, and a check that only `observe` / `capture` can fill ("not observing")
    /// never replaces what they brought.
    func keep(instead r: CheckRecord) -> Bool {
        guard let old = state.records.first(where: { $0.id == r.id }) else { return false }
        if r.reason == Self.cancelledReason { return true }
        return r.status == .skipped && state.observed?[r.id] != nil && (old.status == .ok || old.status == .finding)
    }

    static let cancelledReason = "cancelled with Ctrl-C"

    func runChecks(_ defs: [CheckDefinition], quiet: Bool = false) async -> [CheckRecord] {
        if let bundle = bundleRecords {
            return defs.map { d in
                bundle.first { $0.id == d.id }
                    ?? CheckRecord(
                        id: d.id, status: .skipped, reason: "not in the bundle (it was collected without this check)",
                        fix: "collect a new bundle with `rstdoctor collect -o DIR`, or diagnose the live host")
            }
        }
        let collector = Collector(catalog: kb.catalog, options: options)
        let list = defs
        let announce = {
            if !list.isEmpty && !quiet {
                self.say(self.style.dim("Running \(list.count) check\(list.count == 1 ? "" : "s")… (Ctrl-C cancels)"))
            }
        }
        let (results, _) = await gate.cancellable(started: announce) { () async -> [(Int, CheckRecord, Bool)] in
            await withTaskGroup(of: (Int, CheckRecord, Bool).self) { group in
                for (i, d) in list.enumerated() {
                    group.addTask {
                        let r = await collector.run(d); return (i, r, Task.isCancelled)
                    }
                }
                var out: [(Int, CheckRecord, Bool)] = []
                for await x in group { out.append(x) }
                return out.sorted { $0.0 < $1.0 }
            }
        }
        return results.map { (_, r, cancelled) in
            cancelled ? CheckRecord(id: r.id, status: .skipped, reason: Self.cancelledReason, fix: "`run \(r.id)` runs it again") : r
        }
    }

    // MARK: hooks

    func merge(_ ev: SessionEvidence, what: String) {
        let stamp = "\(what) at \(SessionText.clock(Date()))"
        for r in ev.records {
            state.record(r)
            if state.observed == nil { state.observed = [:] }
            state.observed?[r.id] = stamp
        }
        for f in ev.facts {
            state.facts.removeAll { $0.key == f.key }
            state.facts.append(StoredFact(f))
        }
        if !ev.summary.isEmpty { say(SessionText.wrap(t(ev.summary), indent: 2)) }
    }

    func observe(_ arg: String?) async {
        guard let arg else { say("usage: observe <duration> — e.g. `observe 30s` while the resets happen."); return }
        let seconds: Double
        do { seconds = try Validate.duration(arg, min: 1, max: 3600) } catch { say(error.message); return }
        guard let hook = hooks.observe else {
            say(
                "observe is not available in this build (the live capture and kernel-trace pipeline is not linked in). Meanwhile: "
                    + "`rstdoctor check --observe \(Seconds.render(seconds))` if your build has it, or `capture FILE` with a tcpdump "
                        + "capture."
            )
            return
        }
        if bundleRecords != nil { say("This session reads a bundle (--from): there is no live host to observe."); return }
        await runHook(
            what: "observe \(Seconds.render(seconds))", window: true,
            announce: "Observing for \(Seconds.render(seconds))… (Ctrl-C stops early and keeps what was seen)"
        ) { [options] in
            try await hook(seconds, options)
        }
    }

    func capture(_ args: [String]) async {
        if args.first == "--live" { await captureLive(Array(args.dropFirst())); return }
        guard let arg = args.first else {
            say("usage: capture <file> — a pcap or pcapng file (tcpdump -w, Wireshark); `capture --live IFACE [DURATION]` captures live.")
            return
        }
        let path: String
        do { path = try Validate.path(arg) } catch { say(error.message); return }
        guard let hook = hooks.capture else {
            say(
                "capture is not available in this build (the capture decoder is not linked in). `tshark -r \(t(path)) -Y "
                    + "tcp.flags.reset==1` lists the resets meanwhile."
            )
            return
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            say("Cannot read \(t(path)): check the path and permissions."); return
        }
        await runHook(what: "capture \(path)") { [options] in try await hook(path, options) }
    }

    /// Runs a hook. A window (`observe`) is ended early by Ctrl-C and keeps what it saw; anything
    /// else is cancelled by it.
    func runHook(
        what: String, window: Bool = false, announce: String? = nil,
        _ work: @escaping @Sendable () async throws -> SessionEvidence
    ) async {
        let before = diagnosis()
        let started = { if let announce { self.say(announce) } }
        let job = { @Sendable () async -> Result<SessionEvidence, ValidationError> in
            do { return .success(try await work()) } catch let e as ValidationError { return .failure(e) } catch {
                return .failure(ValidationError("\(error)"))
            }
        }
        let (result, cancelled) = window ? await gate.stoppable(started: started, job) : await gate.cancellable(started: started, job)
        switch result {
        case .success(let ev):
            if cancelled { say("(stopped early with Ctrl-C; using what was seen)") }
            merge(ev, what: what)
            save()
            let after = diagnosis()
            let ids = ev.records.map(\.id)
            // The resets first, in groups (`resets all` lists each one).
            if !ResetSummary.groups(after.facts).isEmpty {
                let text = ResetSummary.text(after.facts, singles: false).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
                say(text + "\n  (`resets all` lists each RST)")
            }
            if !ids.isEmpty {
                say(SessionText.checkResults(ids, after, style: style), terminator: "")
                say(SessionText.found(Set(ids), after, kb: kb, style: style), terminator: "")
            }
            say(SessionText.movers(from: before, to: after, style: style), terminator: "")
        case .failure(let e):
            say(cancelled ? "\(what) was cancelled with Ctrl-C." : "\(what) failed: \(t(e.message))")
        }
    }

}

extension Session {
    /// The interfaces of the session's namespace, from the `addresses` check (`ip -j addr` run in it),
    /// and `any`.
    func interfaces() -> [String] {
        guard case .records(let rs)? = inputFacts().value("addresses") else { return ["any"] }
        var names = Set(["any"])
        for r in rs { if case .string(let n)? = r["ifname"], !n.isEmpty { names.insert(n) } }
        return names.sorted()
    }

    /// `capture --live IFACE [DURATION]`: an observe window (counters, kernel trace) whose capture runs
    /// on one interface of the session's namespace instead of all of them.
    func captureLive(_ args: [String]) async {
        guard let name = args.first else {
            say("usage: capture --live <interface> [duration] — interfaces here: \(interfaces().map(t).joined(separator: ", ")) "
                + "(Tab completes them).")
            return
        }
        let iface: String
        do { iface = try Validate.interface(name) } catch { say(error.message); return }
        let known = interfaces()
        if known.count > 1 && !known.contains(iface) {
            let near = DidYouMean.hint(iface, in: known)
            say("There is no interface `\(t(iface))` in \(t(host.netns)).\(near) Interfaces: \(known.map(t).joined(separator: ", ")).")
            return
        }
        let saved = options
        options.interface = iface
        defer { options = saved }
        await observe(args.count > 1 ? args[1] : "30s")
    }
}
