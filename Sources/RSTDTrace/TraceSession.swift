import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// A running kernel RST trace: what `rstdoctor watch` streams and what `check --observe` runs
/// during its window. `start()` sets up the tracefs instance, `poll` returns the resets that
/// completed since the last call, `stop()` removes the instance and returns every reset seen.
package final class TraceSession: @unchecked Sendable {
    package struct Options: Sendable {
        package var root: String = TracefsInstance.defaultRoot
        package var instanceName: String = TracefsInstance.namePrefix + String(getpid())
        package var filter: TraceFilter = TraceFilter()
        /// knowledge/trace-reasons.yaml, loaded; nil = no causes, and kfree_skb is not joined.
        package var reasons: TraceReasonMap?
        package var window: Double = 0.02
        /// Ring buffer per CPU; kfree_skb bursts need room between two reads.
        package var bufferKB: Int = 2048
        /// Take over an instance of the same name this process left (set up again after a removal).
        package var reclaim = false
        /// Read the per-CPU binary pages (`trace_pipe_raw`) instead of the text `trace_pipe` when this
        /// kernel's layout is the one RawEventDecoder knows (the text otherwise; `readPath` says which).
        package var binary = false
        /// Also trace tcp:tcp_probe of the filter's port (in-kernel filter) to place the segments kfree_skb
        /// drops by PAWS on their sockets (DropPlaces.swift): `check --observe --port`. Text reader only.
        /// They go to an instance of their own (`instanceName`-drops): a busy port's probes may fill that
        /// ring buffer, never the one of the RSTs.
        package var placeDrops = false
        package init(filter: TraceFilter = TraceFilter(), reasons: TraceReasonMap? = nil) {
            self.filter = filter
            self.reasons = reasons
        }
    }

    package let options: Options
    package let instance: TracefsInstance
    private let lock = NSLock()
    private var correlator: ResetCorrelator
    private var all: [ResetEvent] = []
    /// Keep every reset for `events`, `stop()` and the facts (`check --observe`); `watch` prints
    /// them as they come and counts them (WatchTally), so it turns this off: no memory per reset.
    package var keepEvents = true
    private var started = false
    private var stopped = false

    /// Whether tcp_send_reset has a `reason` field on this kernel (Linux 6.10+).
    package private(set) var reasonReported = false
    /// Every reason name this kernel can report, from the format file.
    package private(set) var reasonNames: [String] = []
    /// What was enabled, and anything the user should know (missing optional events…).
    package private(set) var notes: [String] = []
    package private(set) var startTime = Date()
    /// How the trace is read: `binary` (per-CPU trace_pipe_raw pages) or `text` (trace_pipe).
    package private(set) var readPath = "text"
    private var raw: (layout: RingBufferLayout, decoder: RawEventDecoder)?
    private var rawStats = RawTraceStats()
    private let taskNames: TaskNames
    package private(set) var stopTime: Date?
    /// Whether skb:kfree_skb ran (its counts are known), and whether tcp:tcp_probe ran to place its drops.
    package private(set) var dropsTraced = false
    package private(set) var dropsPlaced = false
    private var dropInstance: TracefsInstance?
    private var placer = DropPlacer()

    package init(options: Options) {
        self.options = options
        self.instance = TracefsInstance(root: options.root, name: options.instanceName)
        self.taskNames = TaskNames(tracefsRoot: options.root)
        self.correlator = ResetCorrelator(window: options.window, reasons: options.reasons, filter: options.filter)
    }

    /// Creates the instance and enables tcp_send_reset, tcp_receive_reset and (when available)
    /// skb:kfree_skb and sock:inet_sock_set_state with filters. On failure nothing is left behind.
    package func start() throws(TraceUnavailable) {
        lock.lock()
        guard !started else { lock.unlock(); return }
        started = true
        lock.unlock()
        do {
            try setUp()
        } catch {
            instance.remove()
            dropInstance?.remove()
            throw error
        }
    }

    private func setUp() throws(TraceUnavailable) {
        try instance.create(reclaim: options.reclaim)
        if instance.mountedByUs {
            notes.append("tracefs was not mounted: rstdoctor mounted it at \(options.root) (as systemd does at boot) and leaves it mounted, since other tracers may use it.")
        }
        let send = try instance.format(system: "tcp", event: "tcp_send_reset")
        _ = try instance.format(system: "tcp", event: "tcp_receive_reset")
        reasonReported = send.hasField("reason")
        reasonNames = send.names(in: "reason")
        if !reasonReported {
            notes.append("This kernel's tcp_send_reset has no reason field (added in Linux 6.10): resets are shown with \"\(ResetEvent.noReasonText)\", and resets sent without a full socket (no listener) may not be traced at all.")
        }
        let clockSet = configure(instance, bootClock: true)
        var offset = Self.realtimeNow() - (clockSet ? Self.boottimeNow() : Self.localTraceClockGuess())
        if !clockSet { notes.append("Could not set trace_clock=boot; event times are approximate.") }
        if offset.isNaN { offset = 0 }

        if let port = options.filter.port {
            // In-kernel filters where the event has port fields: less to copy, same result.
            try? instance.setFilter(system: "tcp", event: "tcp_receive_reset", "sport == \(port) || dport == \(port)")
        }
        try instance.enable(system: "tcp", event: "tcp_send_reset")
        try instance.enable(system: "tcp", event: "tcp_receive_reset")
        var dropFormat: EventFormat?, closeFormat: EventFormat?

        if let reasons = options.reasons, instance.hasEvent(system: "skb", event: "kfree_skb"),
           let drop = try? instance.format(system: "skb", event: "kfree_skb") {
            let codes = reasons.dropReasons.compactMap { drop.value(of: $0, in: "reason") }
            if !codes.isEmpty {
                // kfree_skb fires for every freed packet: only the drop reasons worth joining pass.
                var expr = "(" + codes.map { "reason == \($0)" }.joined(separator: " || ") + ")"
                if drop.hasField("protocol") { expr += " && (protocol == 2048 || protocol == 34525)" }
                do {
                    try instance.setFilter(system: "skb", event: "kfree_skb", expr)
                    try instance.enable(system: "skb", event: "kfree_skb")
                    dropFormat = drop
                    dropsTraced = true
                } catch {
                    notes.append("skb:kfree_skb not joined: \(error.reason)")
                }
            }
        }
        if dropsTraced, options.placeDrops, !options.binary, let port = options.filter.port {
            do {
                try openDropInstance(port: port, clock: clockSet)
                dropsPlaced = true
            } catch {
                notes.append("Segments dropped by PAWS cannot be placed on port \(port): \(error.reason)")
            }
        }
        if instance.hasEvent(system: "sock", event: "inet_sock_set_state"),
           let st = try? instance.format(system: "sock", event: "inet_sock_set_state"),
           let close = st.value(of: "TCP_CLOSE", in: "newstate") {
            var expr = "newstate == \(close)"
            if let tcp = st.value(of: "IPPROTO_TCP", in: "protocol") { expr += " && protocol == \(tcp)" }
            if let port = options.filter.port { expr += " && (sport == \(port) || dport == \(port))" }
            do {
                try instance.setFilter(system: "sock", event: "inet_sock_set_state", expr)
                try instance.enable(system: "sock", event: "inet_sock_set_state")
                closeFormat = st
            } catch {
                notes.append("States of received resets unavailable: \(error.reason)")
            }
        }
        if options.binary {
            openBinary(send: send, receive: try instance.format(system: "tcp", event: "tcp_receive_reset"),
                       drop: dropFormat, close: closeFormat)
        }
        if !instance.readsRawPipes { try instance.openPipe() }
        lock.lock()
        correlator.clockOffset = offset
        correlator.reasonReported = reasonReported
        startTime = Date()
        lock.unlock()
    }

    /// The clock and buffer of an instance of this session; returns whether the boot clock was set. The
    /// boot clock keeps counting in suspend and converts to wall time with one offset (the drops instance
    /// takes it only when the main one has it, so both run on one clock).
    @discardableResult
    private func configure(_ inst: TracefsInstance, bootClock: Bool) -> Bool {
        let clockSet = bootClock && inst.setOption("trace_clock", "boot")
        inst.setOption("buffer_size_kb", String(options.bufferKB))
        // 0 = wake a reader on any data (the default 50 would wait for a half-full buffer).
        inst.setOption("buffer_percent", "0")
        return clockSet
    }

    /// The drops instance: tcp:tcp_probe of `port` (every segment an established socket of that port
    /// receives) and skb:kfree_skb TCP_RFC7323_PAWS, read by DropPlacer. Removed again on failure.
    private func openDropInstance(port: Int, clock: Bool) throws(TraceUnavailable) {
        let drops = TracefsInstance(root: options.root, name: options.instanceName + "-drops")
        dropInstance = drops
        do throws(TraceUnavailable) {
            try drops.create(reclaim: options.reclaim)
            configure(drops, bootClock: clock)
            let probe = try drops.format(system: "tcp", event: "tcp_probe")
            guard probe.hasField("skbaddr") else {
                throw TraceUnavailable("this kernel's tcp:tcp_probe has no skbaddr field", fix: "")
            }
            let free = try drops.format(system: "skb", event: "kfree_skb")
            guard let paws = free.value(of: "TCP_RFC7323_PAWS", in: "reason") else {
                throw TraceUnavailable("this kernel's skb:kfree_skb has no TCP_RFC7323_PAWS reason", fix: "")
            }
            // Every segment of every established socket passes tcp_probe: only the focused port's.
            try drops.setFilter(system: "tcp", event: "tcp_probe", "sport == \(port) || dport == \(port)")
            try drops.setFilter(system: "skb", event: "kfree_skb", "reason == \(paws)")
            try drops.enable(system: "tcp", event: "tcp_probe")
            try drops.enable(system: "skb", event: "kfree_skb")
            try drops.openPipe()
        } catch {
            drops.remove()
            dropInstance = nil
            throw error
        }
    }

    /// Feeds what the drops instance logged since the last call to the placer; returns how many lines.
    @discardableResult
    private func pollDrops() -> Int {
        guard let drops = dropInstance else { return 0 }
        let lines = drops.readLines(timeout: 0)
        guard !lines.isEmpty else { return 0 }
        lock.lock()
        defer { lock.unlock() }
        for raw in lines {
            if let line = TraceLine.parse(raw) { placer.add(line, clockOffset: correlator.clockOffset) }
        }
        return lines.count
    }

    /// Waits up to `timeout` seconds and returns the resets completed meanwhile (filtered).
    package func poll(timeout: Double) -> [ResetEvent] {
        pollDrops()
        if raw != nil { return pollBinary(timeout: timeout) }
        let lines = instance.readLines(timeout: timeout)
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return [] }
        var out: [ResetEvent] = []
        for raw in lines {
            guard let line = TraceLine.parse(raw) else { continue }
            out += correlator.add(line)
        }
        // Quiet: nothing more can join the pending events.
        if lines.isEmpty { out += correlator.quiet(at: Date().timeIntervalSince1970 - correlator.clockOffset) }
        if keepEvents { all += out }
        return out
    }

    /// Traces for `seconds` (or until `shouldStop` returns true), then stops: for `check --observe`.
    package func observe(seconds: Double, shouldStop: @Sendable () -> Bool = { false }) -> [ResetEvent] {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end && !shouldStop() {
            _ = poll(timeout: min(0.2, max(0, end.timeIntervalSinceNow)))
        }
        return stop()
    }

    /// Drains the buffer, removes the instance, and returns every reset seen (without
    /// `keepEvents`: the ones completed while stopping).
    @discardableResult
    package func stop() -> [ResetEvent] {
        lock.lock()
        let wasStopped = stopped
        lock.unlock()
        var last: [ResetEvent] = []
        if !wasStopped && started {
            _ = instance.setOption("tracing_on", "0")
            _ = dropInstance?.setOption("tracing_on", "0")
            var reads = 0
            while pollDrops() > 0 && reads < 64 { reads += 1 }
            let lines = raw == nil ? instance.readLines(timeout: 0) : []
            let pages = raw != nil ? instance.readRawPages(timeout: 0, maxPages: .max) : RawPages()
            lock.lock()
            for raw in lines {
                guard let line = TraceLine.parse(raw) else { continue }
                last += correlator.add(line)
            }
            for r in binaryRecords(pages) { last += correlator.add(r.item, at: r.time) }
            last += correlator.flush()
            if keepEvents { all += last }
            stopped = true
            stopTime = Date()
            lock.unlock()
        }
        instance.remove()
        dropInstance?.remove()
        lock.lock()
        defer { lock.unlock() }
        stopped = true
        return keepEvents ? all : last
    }

    package var events: [ResetEvent] {
        lock.lock(); defer { lock.unlock() }
        return all
    }

    /// Resets of the focused port/peer that happened in other namespaces of this machine.
    package var elsewhere: Int {
        lock.lock(); defer { lock.unlock() }
        return correlator.elsewhere
    }

    /// New addresses of the watched namespace (they change: DHCP, containers coming and going);
    /// applies to the events completed from now on.
    package func setAddresses(_ addresses: Set<String>?) {
        lock.lock(); defer { lock.unlock() }
        correlator.filter.addresses = addresses.map { Set($0.map(TraceAddress.canonical)) }
    }

    /// skb:kfree_skb counts by reason (NETFILTER_DROP included) over the session.
    package var drops: [String: Int] {
        lock.lock(); defer { lock.unlock() }
        return correlator.drops
    }

    /// Segments kfree_skb dropped by PAWS that tcp_probe tied to their socket (any namespace: the
    /// caller applies its filter), and those it could not.
    package var placedDrops: (placed: [PlacedDrop], unplaced: Int) {
        lock.lock(); defer { lock.unlock() }
        return (placer.placed, placer.unplaced)
    }

    // MARK: binary reader

    /// Sets up the binary reader, or says why the text one runs (`notes`, `readPath`).
    private func openBinary(send: EventFormat, receive: EventFormat, drop: EventFormat?, close: EventFormat?) {
        let (layout, why) = instance.ringBufferLayout()
        var problem = why
        if let layout {
            switch RawEventDecoder.make(send: send, receive: receive, drop: drop, close: close) {
            case .success(let decoder):
                do {
                    try instance.openRawPipes()
                    lock.lock()
                    raw = (layout, decoder)
                    readPath = "binary"
                    lock.unlock()
                    notes.append("The trace is read in binary from the per-CPU trace_pipe_raw pages of \(instance.path).")
                    return
                } catch {
                    problem = error.reason
                }
            case .failure(let error):
                problem = error.reason
            }
        }
        notes.append("The trace is read as text from trace_pipe: \(problem).")
    }

    private func pollBinary(timeout: Double) -> [ResetEvent] {
        let pages = instance.readRawPages(timeout: timeout)
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return [] }
        var out: [ResetEvent] = []
        let records = binaryRecords(pages)
        for r in records { out += correlator.add(r.item, at: r.time) }
        if records.isEmpty { out += correlator.quiet(at: Date().timeIntervalSince1970 - correlator.clockOffset) }
        if keepEvents { all += out }
        return out
    }

    /// Called with `lock` held (pollBinary) or before the session is shared (stop).
    private func binaryRecords(_ pages: RawPages) -> [(time: Double, item: ResetCorrelator.Item?)] {
        guard let raw, !pages.isEmpty else { return [] }
        let names = taskNames
        return RawTraceBatch.records(pages, layout: raw.layout, decoder: raw.decoder, clockOffset: correlator.clockOffset,
                                     comm: { names.name($0) }, stats: &rawStats)
    }

    /// Pages and records read in binary, and pages the kernel marked as following lost events.
    package var binaryStats: RawTraceStats {
        lock.lock(); defer { lock.unlock() }
        return rawStats
    }

    // MARK: facts

    /// The session's facts (DESIGN §3; declared in checks/kernel-trace.yaml).
    package func facts(source: FactSource = FactSource(check: "kernel-trace", origin: "tracefs")) -> [Fact] {
        Self.facts(events: events, reasonNames: reasonNames, reasonReported: reasonReported, drops: drops, elsewhere: elsewhere, source: source)
    }

    // MARK: clocks

    static func realtimeNow() -> Double { clock(CLOCK_REALTIME) }
    static func boottimeNow() -> Double { clock(CLOCK_BOOTTIME) }
    /// The default `local` trace clock is close to CLOCK_MONOTONIC.
    static func localTraceClockGuess() -> Double { clock(CLOCK_MONOTONIC) }
    private static func clock(_ id: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
