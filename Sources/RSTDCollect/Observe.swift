import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDData
import RSTDSystem
import RSTDCore

/// Evidence from the packet sniffer step: a saved capture (`--pcap FILE`), or a live window
/// (`--observe DURATION`) in which a capture of the focused traffic, the kernel's RST tracepoints
/// and the counters all run together. The two are joined: a RST that leaves a local address with
/// no tcp_send_reset behind it was built by a firewall, not by the TCP stack.
package enum Observation {
    /// What a capture or trace contributed: its check record (status, reason) and its facts.
    package struct Result: Sendable {
        package var records: [CheckRecord] = []
        package var facts: [Fact] = []
        /// Set when an input file is not what it claims (not a capture, a link type that cannot be
        /// decoded, cut short): what happened, how far reading got, what to do. `check` exits 3.
        package var problem: String?
    }

    static func classes(_ catalog: CheckCatalog) throws(KnowledgeProblem) -> CaptureClasses {
        guard let text = catalog.files.files[CaptureClasses.file] else {
            throw KnowledgeProblem(file: CaptureClasses.file, line: 1, "missing: the RST classes cannot be named")
        }
        return try CaptureClasses.load(yaml: text)
    }

    static func captureOptions(_ o: CollectOptions) -> CaptureOptions {
        CaptureOptions(port: o.port, peer: o.peer.flatMap { IPAddress($0) })
    }

    /// `--pcap FILE`: classify every RST of a saved capture. A file that is not a capture, whose
    /// link type cannot be decoded, or that is cut short is a failed record with `problem` set (the
    /// packets read before the cut are still analysed, but "no RST" is never concluded from them).
    package static func pcap(_ path: String, catalog: CheckCatalog, options o: CollectOptions) -> Result {
        let start = Date()
        let def = catalog.check(CaptureFacts.checkID)
        let name = Sanitize.line(path)
        do {
            let report = try CaptureFile.analyze(
                path: path, classes: try classes(catalog), options: captureOptions(o), sink: CaptureFacts.list())
            if report.packets > 0 && report.tcpPackets == 0 && report.linkType.hasPrefix("DLT ") {
                let why = "\(name) has link type \(report.linkType), which rstdoctor cannot decode: "
                    + "\(report.packets) packets read, none as IP/TCP"
                let problem = "\(why). Capture on an Ethernet, loopback or `any` interface (`tcpdump -i any -w FILE`); "
                    + "`capinfos \(name)` shows the file's encapsulation."
                return Result(records: [CheckRecord(id: CaptureFacts.checkID, status: .failed, reason: why, fix: def?.fix)], problem: problem)
            }
            if let e = report.error {
                let why = "\(name) is cut short or damaged: \(report.packets) packets (\(report.rstCount) RST) were read, "
                    + "the rest is missing — \(e)"
                let problem = "\(why) Copy the whole file again (a capture still being written is cut short), "
                    + "or analyse what was read with `rstdoctor capture \(name)`."
                var rec = CheckRecord(id: CaptureFacts.checkID, status: .failed, reason: why, fix: def?.fix)
                rec.durationMs = Int(Date().timeIntervalSince(start) * 1000)
                return Result(records: [rec], facts: CaptureFacts.store(report), problem: problem)
            }
            var rec = CheckRecord(id: CaptureFacts.checkID, status: .ok, reason: summary(report, what: "the capture \(path)"))
            rec.durationMs = Int(Date().timeIntervalSince(start) * 1000)
            return Result(records: [rec], facts: CaptureFacts.store(report))
        } catch let e as CaptureError {
            let why = "could not read \(name) as a capture: \(e)"
            return Result(records: [CheckRecord(id: CaptureFacts.checkID, status: .failed, reason: why, fix: def?.fix)],
                          problem: "\(e) (`file \(name)` says what it is.)")
        } catch {
            return Result(records: [CheckRecord(id: CaptureFacts.checkID, status: .failed, reason: "\(error)", fix: def?.fix)], problem: "\(error)")
        }
    }

    static func summary(_ r: CaptureReport, what: String) -> String {
        var s = "\(what): \(r.packets) packets, \(r.flows) TCP connections, \(r.rstCount) RST"
        if let e = r.error { s += "; \(e)" }
        return s
    }

    /// `--observe`: starts the capture and the trace, runs the collector over the window (counters
    /// read at its start and end, snapshots at its end), stops both and joins them.
    package static func observe(duration: Double, catalog: CheckCatalog, options: CollectOptions) async -> (records: [CheckRecord], extra: Result) {
        var o = options
        o.window = duration
        o.deferSnapshots = true
        var extra = Result()
        let runner = CommandRunner(target: o.target)
        // Unreadable addresses place nothing here: the trace's events of the machine are left out (said below).
        let addressesRead = await NetnsAddresses.read(runner, timeout: 2)
        let local = addressesRead ?? []

        // Kernel trace.
        var trace: TraceSession?
        let traceDef = catalog.check("kernel-trace")
        if !o.isRoot {
            extra.records.append(CheckRecord(id: "kernel-trace", status: .skipped, reason: "tracing the kernel needs "
                + "root", fix: traceDef?.fix))
            extra.facts += TraceSession.unavailableFacts(TraceUnavailable("tracing the kernel needs root", fix: "run with sudo"))
        } else {
            // The tracepoints are global: every namespace of the machine reports through them. Only
            // the events whose local side is one of this namespace's addresses are its evidence,
            // the host's own namespace included (containers beside it reset connections too).
            // With a port, the peer is applied after the window (`focused`): the capture keeps RSTs tied
            // to the peer's connections under other addresses, and their tcp_send_reset must be here.
            var filter = TraceFilter(port: o.port.map(Int.init), peer: o.port == nil ? o.peer : nil)
            filter.addresses = local
            let reasons = catalog.files.files["knowledge/trace-reasons.yaml"].flatMap { try? TraceReasonMap.load(yaml: $0) }
            var traceOptions = TraceSession.Options(filter: filter, reasons: reasons)
            traceOptions.placeDrops = true
            let session = TraceSession(options: traceOptions)
            do {
                try session.start()
                trace = session
            } catch {
                extra.records.append(CheckRecord(id: "kernel-trace", status: .skipped, reason: error.reason, fix: error.fix))
                extra.facts += TraceSession.unavailableFacts(error)
            }
        }

        // Live capture of the focused traffic in the target namespace.
        var capture: LiveCapture?
        let capDef = catalog.check(CaptureFacts.checkID)
        if !o.isRoot {
            extra.records.append(CheckRecord(id: CaptureFacts.checkID, status: .skipped, reason: "capturing packets needs root (or "
                + "CAP_NET_RAW)", fix: capDef?.fix))
        } else {
            do {
                let netns: String? = switch o.target {
                case .host: nil
                case .named(let n): n
                case .pid(let p): "/proc/\(p)/ns/net"
                }
                let live = LiveCapture(interface: o.interface, netns: netns, port: o.port, peer: o.peer, classes: try classes(catalog))
                live.sink = CaptureFacts.list()
                try live.start()
                capture = live
            } catch {
                extra.records.append(CheckRecord(id: CaptureFacts.checkID, status: .failed, reason: "could not capture: "
                    + "\(error)", fix: capDef?.fix))
            }
        }

        // Keep the trace buffer drained while the window runs, and until the capture has stopped:
        // the trace must cover every RST the capture saw, or a RST of the window's last moments
        // would look built by a firewall (no tcp_send_reset behind it).
        let captureDone = StopFlag()
        let traceTask: Task<Void, Never>? = trace.map { t in
            Task.detached {
                _ = t.observe(seconds: duration + 120, shouldStop: { captureDone.isSet || Cleanup.shared.interruptSignal != nil })
            }
        }
        let started = Date()
        var opts = o
        opts.externallyProvided.formUnion(["kernel-trace", CaptureFacts.checkID])
        let records = await Collector(catalog: catalog, options: opts).collect()

        // The capture stops first, then the trace drains what the kernel logged up to now.
        let report = capture?.stop()
        captureDone.set()
        var events: [ResetEvent] = []
        var coverage: ClosedRange<Double>?
        var foreignListeners = 0
        if let trace {
            await traceTask?.value
            events = trace.stop()
            if o.port != nil, let peer = o.peer {
                events = focused(events, peer: peer, port: o.port.map(Int.init), kept: report?.resets ?? [])
            }
            (events, foreignListeners) = withoutForeignListeners(events, listeners: records, local: local, catalog: catalog)
            let from = trace.startTime.timeIntervalSince1970, to = (trace.stopTime ?? Date()).timeIntervalSince1970
            coverage = from...max(from, to)
            // A window cut short (Ctrl-C) says so: the counters' record holds the time that really passed.
            let watched = records.compactMap(\.window).first ?? duration
            var reason = "\(events.count) resets traced in "
                + "\(Seconds.render(watched < duration ? (watched * 10).rounded() / 10 : duration))"
            if watched < duration { reason += " (the \(Seconds.render(duration)) window was stopped early)" }
            for n in trace.notes where n.hasPrefix("tracefs was not mounted") { reason += "; " + n }
            if addressesRead == nil {
                reason += "; this namespace's addresses could not be read (`ip -j addr` failed), so no traced RST could be placed "
                    + "in it and only listener RSTs of the port are kept (install iproute2)"
            }
            let elsewhere = trace.elsewhere + foreignListeners
            if elsewhere > 0 {
                reason += "; \(elsewhere) more of the same port/peer happened in other network namespaces of this machine"
                    + " and are not counted"
            }
            let paws = pawsDrops(trace, options: o, local: local)
            if let n = paws.machine, n > 0 {
                reason += "; \(n) segment(s) dropped by PAWS on this machine"
                if let here = paws.here, let port = o.port { reason += " (\(here) of port \(port) in this namespace)" }
            }
            extra.records.append(CheckRecord(id: "kernel-trace", status: .ok, reason: reason,
                                             durationMs: Int(Date().timeIntervalSince(started) * 1000)))
            let source = FactSource(check: "kernel-trace", origin: "tracefs")
            extra.facts += TraceSession.facts(events: events, reasonNames: trace.reasonNames, reasonReported: trace.reasonReported,
                                              drops: trace.drops, elsewhere: elsewhere, paws: paws, source: source)
        }
        if let report {
            extra.records.append(CheckRecord(id: CaptureFacts.checkID, status: .ok, reason: summary(report, what: "live capture on "
                + "\(o.target.display)"),
                                             durationMs: Int(Date().timeIntervalSince(started) * 1000)))
            extra.facts += join(CaptureFacts.store(report), events: events, coverage: coverage, local: local)
            // `ss` ran at the end of the window: a RST whose connection is still in TIME-WAIT there hit
            // a TIME-WAIT socket that ignored it, whatever the capture (started after the close) made of it.
            let (snapshot, _) = EvidenceBuilder.facts(from: records.filter { $0.id == "sockets" }, catalog: catalog)
            extra.facts = TimeWaitJoin.mark(extra.facts, timeWait: TimeWaitJoin.timeWait(snapshot.value("sockets")), local: local)
            extra.facts = UntranslatedJoin.mark(extra.facts)
        }
        return (records, extra)
    }

    /// Segments the kernel dropped by PAWS during the window: the machine's count (kfree_skb has no
    /// namespace), and those tcp_probe placed on a socket of this namespace (a local address) on the
    /// focused port (and peer, as the socket's remote side).
    static func pawsDrops(_ trace: TraceSession, options o: CollectOptions, local: Set<String>) -> PawsDropCounts {
        guard trace.dropsTraced else {
            let why = trace.notes.first { $0.hasPrefix("skb:kfree_skb") }.map { " (\($0))" } ?? ""
            return .unknown("skb:kfree_skb could not be traced with its drop reasons on this kernel" + why)
        }
        let machine = trace.drops["TCP_RFC7323_PAWS"] ?? 0
        guard trace.dropsPlaced else {
            let why = o.port == nil
                ? "placing a dropped segment on its connection needs --port (tcp:tcp_probe is traced only for the focused port)"
                : "tcp:tcp_probe (with skbaddr) is not available on this kernel, so a dropped segment cannot be placed on its connection"
            return PawsDropCounts(machine: machine, here: nil, whyUnknown: why)
        }
        let focus = TraceFilter(port: o.port.map(Int.init), peer: o.peer, addresses: local)
        let here = trace.placedDrops.placed.filter { focus.matches($0) }.count
        return PawsDropCounts(machine: machine, here: here, whyUnknown: "")
    }

    /// Marks each captured RST as leaving a local address or not, and — where the trace ran over
    /// its time (`coverage`, Unix seconds) — whether the TCP stack sent it (a matching
    /// tcp_send_reset). A RST outside that interval is `trace_covered: false` and proves nothing
    /// either way. A RST the capture saw arrive is not looked for in the trace; one this host
    /// built in another host's name is a firewall's.
    static func join(_ facts: [Fact], events: [ResetEvent], coverage: ClosedRange<Double>?, local: Set<String>,
                     tolerance: Double = 0.05) -> [Fact] {
        facts.map { f in
            guard f.key == "capture.resets", case .records(let rs)? = f.value else { return f }
            let out: [Record] = rs.map { r in
                var r = r
                guard case .string(let src)? = r["src"], case .int(let sport)? = r["sport"], case .string(let dst)? = r["dst"],
                      case .int(let dport)? = r["dport"], case .double(let time)? = r["time"] else { return r }
                let isLocal = local.contains(TraceAddress.canonical(src))
                r["local"] = .bool(isLocal)
                // The capture on `any` says which way the RST went here (Capture/ForwardedCopies.swift).
                let received = r["direction"] == .string("in")
                if r["local_built"] == .bool(true) && !isLocal {
                    // Sent from here with another host's address and never received: the stack only
                    // sends from its own addresses, so a firewall rule on this (forwarding) host built it.
                    r["cause"] = .string("firewall-reset")
                    r["also"] = .string("")
                    r["firewall_built"] = .bool(true)
                } else if received, let coverage, (coverage.lowerBound + tolerance)...(coverage.upperBound - tolerance) ~= time,
                          Self.sentOnThisMachine(src: src, sport: Int(sport), dst: dst, dport: Int(dport), time: time,
                                                 in: events, tolerance: tolerance),
                          case .string(let also)? = r["also"] {
                    // Another namespace of this machine sent it, and its stack traced tcp_send_reset:
                    // no firewall built it, whatever its shape.
                    r["also"] = .string(also.split(separator: ",").filter { $0 != "firewall-reset" }.joined(separator: ","))
                } else if let coverage, isLocal && !received,
                          time < coverage.lowerBound + tolerance || time > coverage.upperBound - tolerance {
                    // The trace was not running (or not yet drained) when this RST left: no verdict.
                    r["trace_covered"] = .bool(false)
                } else if coverage != nil && isLocal && !received {
                    let sent = WireJoin.tracedSender(src: src, sport: Int(sport), dst: dst, dport: Int(dport), time: time, in: events) != nil
                    r["stack_sent"] = .bool(sent)
                    // The wire shape of a firewall's RST equals the stack's (RST-SIGNALS.md 5a); only the
                    // missing tcp_send_reset tells them apart, so the record's cause is the firewall's.
                    if !sent {
                        r["cause"] = .string("firewall-reset")
                        r["also"] = .string("")
                        r["firewall_built"] = .bool(true)
                    } else if case .string(let also)? = r["also"] {
                        // The stack sent it: no firewall built it, whatever its shape.
                        r["also"] = .string(also.split(separator: ",").filter { $0 != "firewall-reset" }.joined(separator: ","))
                    }
                }
                return r
            }
            var g = f
            g.value = .records(out)
            return g
        }
    }

    /// Whether a RST received here was traced as sent by a TCP stack of another namespace of this
    /// machine: the correlator joined its tcp_send_reset to the tcp_receive_reset here (kept as the
    /// received event, or merged into the sent one when the sender, e.g. a listener, was kept too).
    static func sentOnThisMachine(src: String, sport: Int, dst: String, dport: Int, time: Double, in events: [ResetEvent],
                                  tolerance: Double) -> Bool {
        let s = TraceAddress.canonical(src), d = TraceAddress.canonical(dst)
        if WireJoin.tracedSender(src: src, sport: sport, dst: dst, dport: dport, time: time, in: events, tolerance: tolerance) != nil {
            return true
        }
        return events.contains { e in
            e.direction == .received && e.alsoSentHere && abs(e.time - time) <= tolerance
                && e.src == s && e.sport == sport && e.dst == d && e.dport == dport
        }
    }

    /// Leaves out the listener RSTs of ports nothing listens on here. A RST a listener sends (accept
    /// queue overflow, a segment for a connection the listener's port no longer has) is traced with the
    /// listener's wildcard address, so its address cannot place it; but it comes from a listening
    /// socket on its port, and a namespace with no listener on that port (`ss` at the window's end)
    /// did not send it: another namespace of the machine did. One whose receiver is here (a local
    /// destination) stays: it is the RST this namespace received. Returns the events kept and how many left.
    static func withoutForeignListeners(_ events: [ResetEvent], listeners records: [CheckRecord], local: Set<String>,
                                        catalog: CheckCatalog) -> ([ResetEvent], Int) {
        let (facts, _) = EvidenceBuilder.facts(from: records.filter { $0.id == "listeners" }, catalog: catalog)
        guard case .records(let ls)? = facts.value("listeners") else { return (events, 0) }
        let ports = Set(ls.compactMap { r -> Int? in if case .int(let p)? = r["port"] { Int(p) } else { nil } })
        let kept = events.filter { e in
            !(e.direction == .sent && e.listener && TraceAddress.isWildcard(e.src) && !ports.contains(e.sport)
                && !local.contains(TraceAddress.canonical(e.dst)))
        }
        return (kept, events.count - kept.count)
    }

    /// The trace's events of the peer, and those of a RST the capture kept although neither address
    /// is the peer's (tied to a connection with the peer by its TCP fields: UntranslatedTwins.swift).
    static func focused(_ events: [ResetEvent], peer: String, port: Int?, kept: [ResetRecord]) -> [ResetEvent] {
        let filter = TraceFilter(port: port, peer: peer)
        let p = TraceAddress.canonical(peer)
        let tied = Set(kept.compactMap { r -> String? in
            let s = TraceAddress.canonical(r.src), d = TraceAddress.canonical(r.dst)
            return s == p || d == p ? nil : "\(s) \(r.sport) \(d) \(r.dport)"
        })
        return events.filter { e in
            filter.matches(e) || tied.contains("\(e.src) \(e.sport) \(e.dst) \(e.dport)")
                || tied.contains("\(e.dst) \(e.dport) \(e.src) \(e.sport)")
        }
    }
}
