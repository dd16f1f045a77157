import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDData
import RSTDSystem
import RSTDCore

/// What the user asked to look at.
package struct CollectOptions: Sendable {
    package var target: NamespaceTarget = .host
    package var window: Double = 1
    package var port: UInt16?
    package var peer: String?
    /// The interface an observe window captures on (`any`: every interface of the namespace); from
    /// Validate.interface.
    package var interface = "any"
    package var only: Set<String> = []
    package var skip: Set<String> = []
    package var logs: [String] = []
    package var units: [String] = []
    /// `--since`: the period asked about, in seconds before now. Log lines and kernel messages
    /// stamped before it do not count (evidence has a time).
    package var since: Double = 3600
    /// `--since` read a period of the recorder's journal: a counter check the journal could not fill
    /// (`JournalEvidence` replaces those it can) reads once, with no live window (see `sampled`).
    package var journalPeriod = false
    /// Opt-in builtins provided by the caller (capture, kernel-trace) run elsewhere.
    package var externallyProvided: Set<String> = []
    package var isRoot: Bool = geteuid() == 0
    /// `--observe`: snapshots (sockets, rules…) are taken at the end of the window, after the fault.
    package var deferSnapshots = false
    package var searchPath: [String]?

    package init() {}
}

/// Runs every selected check concurrently, each bounded by its timeout (DESIGN §4).
package struct Collector: Sendable {
    package let catalog: CheckCatalog
    package let options: CollectOptions
    let runner: CommandRunner

    package init(catalog: CheckCatalog, options: CollectOptions) {
        self.catalog = catalog
        self.options = options
        self.runner = CommandRunner(target: options.target, searchPath: options.searchPath)
    }

    /// Checks selected by --only / --skip (by check id or step id).
    package func selected() -> [CheckDefinition] {
        catalog.checks.filter { c in
            if !options.only.isEmpty && !options.only.contains(c.id) && !options.only.contains(c.step) { return false }
            if options.skip.contains(c.id) || options.skip.contains(c.step) { return false }
            return true
        }
    }

    package func collect() async -> [CheckRecord] {
        let checks = selected()
        return await withTaskGroup(of: CheckRecord.self) { group in
            for c in checks where !options.externallyProvided.contains(c.id) {
                group.addTask { await self.run(c) }
            }
            var out: [CheckRecord] = []
            for await r in group { out.append(r) }
            let order = Dictionary(uniqueKeysWithValues: checks.enumerated().map { ($1.id, $0) })
            return out.sorted { (order[$0.id] ?? 0) < (order[$1.id] ?? 0) }
        }
    }

    static let sincePlaceholder = "{since}"

    /// The period asked about, as the extra output part log parsers read (LogTime.periodPart).
    func periodPart() -> RawOutput.Part {
        let now = Date().timeIntervalSince1970
        return RawOutput.Part(name: LogTime.periodPart, text: LogTime.periodText(since: now - options.since, until: now))
    }

    func skipped(_ c: CheckDefinition, _ reason: String, fix: String? = nil) -> CheckRecord {
        CheckRecord(id: c.id, status: .skipped, reason: reason, fix: fix ?? c.fix)
    }

    package func run(_ c: CheckDefinition) async -> CheckRecord {
        let start = Date()
        if c.needsRoot && !options.isRoot {
            return skipped(c, "needs root (it reads state only root may see)", fix: "run rstdoctor with sudo")
        }
        if options.target != .host && !options.isRoot {
            return skipped(c, "entering the network namespace \(options.target.display) needs root", fix: "run rstdoctor with sudo")
        }
        for tool in c.toolsNeeded where runner.which(tool) == nil {
            return skipped(c, "`\(tool)` is not installed (not found on PATH)")
        }
        if options.deferSnapshots && !c.window {
            await Cleanup.shared.sleep(seconds: options.window)
        }
        var record: CheckRecord
        switch c.action {
        case .run(let argvs):
            let installed = argvs.filter { runner.which($0[0]) != nil }
            guard !installed.isEmpty else {
                let tools = argvs.map { "`\($0[0])`" }.joined(separator: " or ")
                return skipped(c, "\(tools) is not installed (not found on PATH)")
            }
            // `{since}` in a check's argv is the period asked about (journalctl's `-3600s`); the
            // output then carries the period, so the parser drops lines stamped outside it.
            let periodic = argvs.contains { $0.contains(Self.sincePlaceholder) }
            let since = "-\(Int(options.since.rounded(.up)))s"
            record = await sampled(c) { () async -> Result<RawOutput, CheckFailure> in
                // An installed command that prints nothing may have nothing to read: journalctl on a
                // host or container without a journal exits 0 with no lines ("No journal files were
                // found", silenced by -q), while the kernel's ring buffer (dmesg) holds the messages.
                // The next installed alternative is tried then; its output is used when it succeeds.
                var emptyFirst: RawOutput?
                var last: Result<RawOutput, CheckFailure> = .failure(CheckFailure(status: .failed, reason: "no command ran"))
                for chosen in installed {
                    let argv = chosen.map { $0 == Self.sincePlaceholder ? since : $0 }
                    let r = await runner.run(argv, timeout: c.timeout)
                    last = Self.interpret(r, name: argv.joined(separator: " "), timeout: c.timeout)
                    guard case .success(let o) = last else { break }
                    if !o.text.allSatisfy(\.isWhitespace) { emptyFirst = nil; break }
                    if emptyFirst == nil { emptyFirst = o }
                }
                var out = emptyFirst.map { .success($0) } ?? last
                if periodic, case .success(var o) = out { o.parts.append(periodPart()); out = .success(o) }
                return out
            }
        case .read(let paths):
            record = await sampled(c) { () async -> Result<RawOutput, CheckFailure> in
                var parts: [RawOutput.Part] = []
                var errors: [String] = []
                for p in paths {
                    let r = await runner.read(p, timeout: c.timeout)
                    switch Self.interpret(r, name: p, timeout: c.timeout) {
                    case .success(let o): parts.append(contentsOf: o.parts)
                    case .failure(let f): errors.append(f.reason)
                    }
                }
                if parts.isEmpty { return .failure(CheckFailure(status: .failed, reason: errors.joined(separator: "; "))) }
                return .success(RawOutput(parts: parts))
            }
        case .builtin(let name):
            record = await builtin(name, c)
        }
        record.durationMs = Int(Date().timeIntervalSince(start) * 1000)
        return record
    }

    /// Why a counter check has no rate for the journal period (its record's reason, and its `.delta`
    /// facts' unknown reason): what the journal lacked, what the values read now are, what to do.
    static func noPeriodRate(_ c: CheckDefinition) -> String {
        let lacking = c.journalLacks ?? "the journal has nothing for this check in this period"
        return lacking + ": read once now, so the values are totals since boot (history), and the period's rate is unknown; "
            + "`rstdoctor record` (0.16 or later) keeps them for a later --since; run check without --since for a live 1 s rate"
    }

    struct CheckFailure: Error {
        var status: CheckStatus
        var reason: String
    }

    /// Takes one reading, or two over the window for counter checks. With a journal period a counter
    /// check reads once: a live rate would describe the second after the command started, not the
    /// period asked about, and waiting for it cost every `check --since` a second. Its totals stay
    /// (history: since boot or since the module loaded); its `.delta` facts are unknown with the reason.
    func sampled(_ c: CheckDefinition, _ read: () async -> Result<RawOutput, CheckFailure>) async -> CheckRecord {
        var samples: [RawOutput] = []
        let live = c.window && !options.journalPeriod
        let readings = live ? 2 : 1
        let first = Date()
        for i in 0..<readings {
            if i > 0 { await Cleanup.shared.sleep(seconds: options.window) }
            switch await read() {
            case .success(let o): samples.append(o)
            case .failure(let f):
                if samples.isEmpty { return CheckRecord(id: c.id, status: f.status, reason: f.reason, fix: c.fix) }
                return CheckRecord(id: c.id, status: .ok, reason: "second reading failed (\(f.reason)): no deltas", samples: samples)
            }
        }
        if c.window && !live {
            return CheckRecord(id: c.id, status: .ok, reason: Self.noPeriodRate(c), samples: samples)
        }
        // A window cut short by SIGINT/SIGTERM: the deltas cover the time that really passed.
        let window = Cleanup.shared.interruptSignal == nil ? options.window : max(0.001, Date().timeIntervalSince(first))
        return CheckRecord(id: c.id, status: .ok, samples: samples, window: c.window ? window : nil)
    }

    static func interpret(_ r: CommandResult, name: String, timeout: Double) -> Result<RawOutput, CheckFailure> {
        switch r.outcome {
        case .exited(0):
            return .success(RawOutput(parts: [.init(name: name, text: r.stdout, exitCode: 0)]))
        case .exited(let code):
            let err = r.stderr.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            if err.contains("Permission denied") || err.contains("Operation not permitted") {
                return .failure(CheckFailure(status: .skipped, reason: "not permitted: \(Sanitize.line(err)) (run as root)"))
            }
            return .failure(CheckFailure(status: .failed, reason: "`\(name)` exited with \(code)" + (err.isEmpty ? "" : ": \(Sanitize.line(String(err.prefix(300))))")))
        case .signalled(let s):
            return .failure(CheckFailure(status: .failed, reason: "`\(name)` was killed by signal \(s)"))
        case .timedOut:
            return .failure(CheckFailure(status: .failed, reason: "`\(name)` did not finish within \(Seconds.render(timeout)) and was killed"))
        case .interrupted(let sig):
            return .failure(CheckFailure(status: .failed, reason: "`\(name)` was stopped before it finished: the run was interrupted (\(Cleanup.signalName(sig))); run the check again to see it"))
        case .missingTool:
            return .failure(CheckFailure(status: .skipped, reason: "`\(name.split(separator: " ").first ?? "")` is not installed"))
        case .tooMuchOutput(let limit):
            return .failure(CheckFailure(status: .failed, reason: "`\(name)` printed more than \(limit >> 20) MiB; its output was not read"))
        case .couldNotStart(let why):
            return .failure(CheckFailure(status: .failed, reason: "`\(name)` could not run: \(Sanitize.line(why))"))
        }
    }
}
