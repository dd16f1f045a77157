import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDJournal
import RSTDData
import RSTDSystem
import RSTDCore

/// What `rstdoctor record` watches and where it keeps it.
package struct RecorderOptions: Sendable {
    package var target: NamespaceTarget = .host
    /// Only resets to or from these ports (none = every port).
    package var ports: [UInt16] = []
    /// Counter snapshots every this many seconds (and at once on a burst).
    package var counterInterval: Double = 10
    /// This many resets within one second is a burst: counters and sockets are snapshotted at once.
    package var burstThreshold: Int = 10
    /// At most one burst snapshot per this many seconds.
    package var burstCooldown: Double = 10
    /// The RST-only capture for the wire's view (TTL / hop limit, payload text).
    package var wire: Bool = true
    package var tracefsRoot: String = TracefsInstance.defaultRoot
    package var isRoot: Bool = geteuid() == 0
    /// Wall time to file events, boot time for intervals (a seam for the clock-jump test).
    package var clock: any RecorderClock = SystemRecorderClock()
    /// The namespace's addresses are read again this often (they change).
    package var addressInterval: Double = 30
    package init() {}
}

/// What a recorder run did, for its last line and the tests.
package struct RecorderStats: Sendable {
    package var events = 0
    package var traced = 0
    package var wireOnly = 0
    package var counterSnapshots = 0
    package var socketSnapshots = 0
    package var bursts = 0
    /// Resets of other network namespaces of this machine left out (the tracepoints are global).
    package var elsewhere = 0
    package var clockJumps = 0
    package var limits: [String] = []
}

/// `rstdoctor record`: the kernel's RST tracepoints (sent and received, reason, state, task), an
/// RST-only capture, counter snapshots every 10 s and on bursts, socket snapshots on bursts, all
/// into the journal through a `JournalWriter`. Read-only on the host: its own tracefs instance
/// (removed on every exit) and its own journal.
package final class Recorder: @unchecked Sendable {
    package let options: RecorderOptions
    package let writer: JournalWriter
    package let reasons: TraceReasonMap?
    /// Called for every event written (metrics); on the recorder's thread.
    package var onEvent: (@Sendable (JournalEvent) -> Void)?
    /// Progress and limits for the user (stderr), one line each.
    package var onNote: (@Sendable (String) -> Void)?

    private let lock = NSLock()
    private var stats = RecorderStats()
    private var filter = TraceFilter()
    private var trace: TraceSession?
    private var wire: RSTWireCapture?
    private var joiner = WireTraceJoin()
    private var recent: [Double] = []
    private var lastBurst = -Double.infinity
    private var jumps = ClockJumpDetector()
    /// `elsewhere` of trace sessions that were replaced (tracefs instance removed), wire-only ones, and the count already noted.
    private var elsewhereBefore = 0, wireElsewhere = 0, elsewhereNoted = 0
    private var noAddressNoted = false
    private var clock: any RecorderClock { options.clock }
    private var lostSeen = 0, writeFailing = false
    private var netnsName: String { options.target.display }
    private let runner: CommandRunner
    /// Shortest time between two reads of the trace.
    static let batchInterval = 0.1

    package init(options: RecorderOptions, writer: JournalWriter, reasons: TraceReasonMap?) {
        self.options = options
        self.writer = writer
        self.reasons = reasons
        self.runner = CommandRunner(target: options.target)
        writer.netns = options.target.display
        filter.ports = Set(options.ports.map(Int.init))
        filter.loopbackHere = options.target == .host
    }

    package var currentStats: RecorderStats { lock.lock(); defer { lock.unlock() }; return stats }

    private func note(_ kind: String, _ text: String) {
        writer.add(JournalNote(timeMicros: wallMicros(), kind: kind, netns: netnsName, text: text))
        if kind == "limit" { lock.lock(); stats.limits.append(text); lock.unlock() }
        onNote?(text)
    }

    /// Runs until `shouldStop` returns true; always removes its tracefs instance and stops its capture.
    package func run(shouldStop: @escaping @Sendable () -> Bool) async {
        let ports = options.ports.map(String.init).joined(separator: ",")
        note("start", "recorder started (pid \(getpid())) on \(netnsName)\(ports.isEmpty ? "" : ", ports \(ports)")")
        await refreshAddresses()
        startTrace()
        startWire()
        configureJoin()
        await snapshotCounters(trigger: "start")
        onNote?("ready: kernel tracepoints \(trace != nil ? "on" : "off"), RST-only capture \(wire != nil ? "on" : "off")")
        var lastCounters = clock.boot()
        var lastAddresses = clock.boot()
        _ = jumps.check(wall: clock.wall(), boot: clock.boot())
        while !shouldStop() {
            let pass = ProcessInfo.processInfo.systemUptime
            let events = trace?.poll(timeout: 0.2) ?? []
            if trace == nil { try? await Task.sleep(nanoseconds: 200_000_000) }
            // Under load trace_pipe has data at every wakeup: read it in batches (at most ten a second),
            // not one wakeup per reset. The buffer (2 MiB per CPU) holds far more than 0.1 s of resets.
            let rest = Self.batchInterval - (ProcessInfo.processInfo.systemUptime - pass)
            if rest > 0 { try? await Task.sleep(nanoseconds: UInt64(rest * 1e9)) }
            checkClock()
            record(traced: events)
            if clock.boot() - lastCounters >= options.counterInterval {
                lastCounters = clock.boot()
                await snapshotCounters(trigger: "interval")
                noteElsewhere()
                checkTraceAlive()
                checkWrites()
            }
            if clock.boot() - lastAddresses >= options.addressInterval {
                lastAddresses = clock.boot()
                await refreshAddresses()
            }
            if burstDue() {
                await snapshotCounters(trigger: "burst")
                await snapshotSockets(trigger: "burst")
            }
        }
        record(traced: trace?.stop() ?? [])
        wire?.requestStop()
        wire?.join()
        record(traced: [], final: true)
        await snapshotCounters(trigger: "stop")
        noteElsewhere()
        let s = currentStats
        note("stop", "recorder stopped: \(s.events) reset(s) recorded (\(s.wireOnly) seen only on the wire), \(s.counterSnapshots) counter snapshot(s), \(s.bursts) burst(s); \(writer.dropped) dropped, \(writer.lost) lost")
    }

    // MARK: trace

    private func startTrace(again: Bool = false) {
        guard options.isRoot else {
            note("limit", "not root: the kernel's RST tracepoints are not recorded (reasons, states, tasks); run as root (or with CAP_SYS_ADMIN + CAP_PERFMON)")
            return
        }
        var o = TraceSession.Options(filter: lock.withLock { filter }, reasons: reasons)
        o.root = options.tracefsRoot
        o.reclaim = again
        // Binary per-CPU pages: the kernel formats no text for the recorder (the text is the fallback).
        o.binary = true
        let session = TraceSession(options: o)
        // The journal keeps them: no memory per reset over days of recording.
        session.keepEvents = false
        do {
            try session.start()
            trace = session
            note("start", session.readPath == "binary" ? "kernel trace read in binary (per-CPU trace_pipe_raw pages)"
                 : "kernel trace read as text (trace_pipe): " + (session.notes.last ?? ""))
            if !session.reasonReported {
                note("limit", "this kernel's tcp_send_reset has no reason field (Linux 6.10+): resets are recorded without the kernel's reason, and those sent without a socket may be missing")
            }
            for n in session.notes where session.reasonReported { onNote?(n) }
        } catch {
            note("limit", "the kernel's RST tracepoints are not recorded: \(error.reason). \(error.fix)")
        }
    }

    /// The instance removed under us (by hand, or a tracefs remount): say so and set up a new one.
    private func checkTraceAlive() {
        guard let t = trace, !FileManager.default.fileExists(atPath: t.instance.path) else { return }
        note("limit", "the tracefs instance \(t.instance.name) was removed under the recorder: resets in between were not traced; setting up a new one")
        record(traced: t.stop())
        lock.withLock { elsewhereBefore += t.elsewhere }
        trace = nil
        startTrace(again: true)
        configureJoin()
        if let t = trace { note("limit", "a new tracefs instance \(t.instance.name) is set up: resets are traced again from now on") }
    }

    /// Waits for a twin only when both sides run; a firewall is inferred only when the kernel reports reasons
    /// (older kernels may not trace resets sent without a socket).
    private func configureJoin() {
        joiner.traced = trace?.reasonReported ?? false
        joiner.hold = trace != nil && wire != nil ? 0.3 : 0
    }

    /// The namespace's own addresses (the host's too: a container's resets are not the host's), read in it.
    private func refreshAddresses() async {
        guard let a = await NetnsAddresses.read(runner) else {
            note("limit", "could not read the addresses of \(netnsName) (`ip -j addr`): resets cannot be told apart from other namespaces' until it answers")
            return
        }
        // A namespace with no address but loopback gives the trace nothing to place by: its resets are
        // recorded unplaced, as before its addresses were read, and the journal says so.
        let placed: Set<String>? = a.isEmpty ? nil : Set(a.map(TraceAddress.canonical))
        if placed == nil && !noAddressNoted {
            noAddressNoted = true
            note("limit", "\(netnsName) has no address but loopback: the RST tracepoints (global, loopback in every namespace) "
                + "cannot tell its resets from other namespaces'; they are recorded unplaced until it has one")
        }
        lock.withLock {
            filter.addresses = placed
            filter.ports = Set(options.ports.map(Int.init))
        }
        trace?.setAddresses(placed)
    }

    /// The wall clock stepped: noted once per jump (intervals run on the boot clock and go on).
    private func checkClock() {
        guard let delta = jumps.check(wall: clock.wall(), boot: clock.boot()) else { return }
        lock.withLock { stats.clockJumps += 1 }
        note("clock", ClockJumpDetector.text(delta, at: clock.wall()))
    }

    /// The journal cannot be written (disk full…): the journal cannot say so yet, stderr does (once per episode);
    /// the rows are counted, and the writer notes the loss in the journal once writing works again.
    private func checkWrites() {
        let lost = writer.lost
        if lost > lostSeen && !writeFailing {
            let why = writer.lastError.map { "\($0.message)" } ?? "write error"
            onNote?("the journal cannot be written (\(why)): rows are counted as lost")
        }
        writeFailing = lost > lostSeen
        lostSeen = lost
    }

    /// Resets of other namespaces left out since the last note: one `elsewhere` note per period.
    private func noteElsewhere() {
        let total = lock.withLock { elsewhereBefore + wireElsewhere } + (trace?.elsewhere ?? 0)
        let new = lock.withLock { () -> Int in
            let n = total - elsewhereNoted
            elsewhereNoted = total
            stats.elsewhere = total
            return n
        }
        guard new > 0 else { return }
        note("elsewhere", "\(new) reset(s) of other network namespaces of this machine left out (placed by the local address: "
             + "sent from, or received at, an address \(netnsName) does not have)")
    }

    // MARK: wire

    private func startWire() {
        guard options.wire else { return }
        guard options.isRoot else {
            note("limit", "not root: no RST-only capture, so TTL / hop limit and payload text are not recorded (needs CAP_NET_RAW)")
            return
        }
        let netns: String? = switch options.target {
        case .host: nil
        case .named(let n): n
        case .pid(let p): "/proc/\(p)/ns/net"
        }
        let cap = RSTWireCapture(netns: netns, ports: options.ports)
        do {
            try cap.start()
            wire = cap
        } catch {
            note("limit", "no RST-only capture (TTL / hop limit and payload text are not recorded): \(error)")
        }
    }

    // MARK: events

    /// Filters, joins with the wire, classifies and queues the events.
    private func record(traced: [ResetEvent], final: Bool = false) {
        lock.lock()
        let f = filter
        lock.unlock()
        let ports = Set(options.ports.map(Int.init))
        // The trace session placed them already (by the addresses of its time); the filter again for ports.
        let kept = traced.filter { e in ports.isEmpty || ports.contains(e.sport) || ports.contains(e.dport) }
        let offset = clock.wall() - clock.boot()
        let now = clock.wall()
        // The join places the wire's RSTs: those it passes on or that are another host's are counted
        // as elsewhere; one this namespace built for others (a router's reject) is kept.
        let wireNew = wire?.drain() ?? []
        let elsewhereBeforeJoin = joiner.elsewhere
        // Times from the boot clock with today's offset: a wall-clock jump moves later events, not earlier ones.
        let bootClock = !kept.isEmpty && trace?.notes.contains(where: { $0.contains("trace_clock") }) == false
        var out = joiner.add(traced: !bootClock ? kept : kept.map { e in
            var e = e
            e.time = e.traceTime + offset
            return e
        }, wire: wireNew, now: final ? .infinity : now, local: f.addresses ?? [], traceIdle: traced.isEmpty, wireIdle: wireNew.isEmpty,
                             arrival: clock.boot())
        let away = joiner.elsewhere - elsewhereBeforeJoin
        if away > 0 { lock.withLock { wireElsewhere += away } }
        out = out.filter { j in ports.isEmpty || ports.contains(j.sport) || ports.contains(j.dport) }
        let rows = out.map { $0.journalEvent(netns: netnsName) }
        writer.add(rows)
        lock.lock()
        stats.events += rows.count
        stats.traced += rows.filter { $0.source != "wire" }.count
        stats.wireOnly += rows.filter { $0.source == "wire" }.count
        // Counted on the boot clock: a wall-clock jump neither starts nor hides a burst.
        let boot = clock.boot()
        recent += rows.map { _ in boot }
        recent.removeAll { $0 < boot - 1 }
        lock.unlock()
        if let cb = onEvent { for r in rows { cb(r) } }
    }

    private func burstDue() -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard recent.count >= options.burstThreshold, clock.boot() - lastBurst >= options.burstCooldown else { return false }
        lastBurst = clock.boot()
        stats.bursts += 1
        return true
    }

    private func wallMicros() -> Int64 { Int64((clock.wall() * 1_000_000).rounded()) }

    // MARK: snapshots

    /// /proc/net/netstat, snmp and snmp6 of the target namespace, parsed as the `counters` check parses them,
    /// and /proc/net/stat/nf_conntrack as the `conntrack-stat` check parses it.
    private func snapshotCounters(trigger: String) async {
        var parts: [RawOutput.Part] = []
        for path in ["/proc/net/netstat", "/proc/net/snmp", "/proc/net/snmp6"] {
            let r = await runner.read(path, timeout: 2)
            if case .exited(0) = r.outcome { parts.append(RawOutput.Part(name: path, text: r.stdout)) }
        }
        guard !parts.isEmpty, let parsed = try? ProcNetstatParser.parse(RawOutput(parts: parts)) else {
            note("limit", "could not read the counters of \(netnsName) (/proc/net/netstat, snmp)")
            return
        }
        var counters: [String: Int64] = [:]
        for (k, v) in parsed.values {
            guard k.hasPrefix("nstat."), case .int(let n) = v else { continue }
            counters[String(k.dropFirst(6))] = n
        }
        // Conntrack's counters of the namespace (invalid packets: not tracked, so never NATed), kept
        // under their fact names; absent where nf_conntrack is not loaded.
        let ct = await runner.read("/proc/net/stat/nf_conntrack", timeout: 2)
        let ctOutput = RawOutput(parts: [RawOutput.Part(name: "/proc/net/stat/nf_conntrack", text: ct.stdout)])
        if case .exited(0) = ct.outcome, let stat = try? ConntrackStatParser.parse(ctOutput) {
            for (k, v) in stat.values { if case .int(let n) = v { counters[k] = n } }
        }
        writer.add(CounterSnapshot(timeMicros: wallMicros(), netns: netnsName, trigger: trigger, counters: counters))
        lock.withLock { stats.counterSnapshots += 1 }
    }

    /// Listeners and sockets (`ss`, as the listeners and sockets checks run it) when resets burst.
    private func snapshotSockets(trigger: String) async {
        for (kind, argv) in [("listeners", ["ss", "-Hltnp"]), ("sockets", ["ss", "-Htanoi"])] {
            let r = await runner.run(argv, timeout: 3)
            guard case .exited(0) = r.outcome else { continue }
            writer.add(SocketSnapshot(timeMicros: wallMicros(), netns: netnsName, trigger: trigger, kind: kind,
                                      command: argv.joined(separator: " "), text: String(r.stdout.prefix(4 << 20))))
            lock.withLock { stats.socketSnapshots += 1 }
        }
    }
}
