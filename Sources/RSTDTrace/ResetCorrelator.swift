import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Turns a stream of trace lines into finished `ResetEvent`s: decodes tcp_send_reset,
/// tcp_receive_reset, skb:kfree_skb and sock:inet_sock_set_state, joins them within a short
/// window of trace time, classifies with the reason map, and applies the filter.
/// Pure (no I/O, no clock): the trace timestamps are the only time it knows.
package struct ResetCorrelator: Sendable {
    /// How far apart (trace seconds) joined events may be. The kernel logs them within
    /// microseconds of each other; skbaddr values are recycled quickly, so keep this short.
    package var window: Double
    package var reasons: TraceReasonMap?
    package var filter: TraceFilter
    /// Added to trace timestamps to get Unix time.
    package var clockOffset: Double
    /// Lines that looked like ours but could not be decoded, and records dropped at the bound.
    package private(set) var malformed = 0
    package private(set) var overflowed = 0
    /// Every skb:kfree_skb seen by reason (NETFILTER_DROP counts hint at a firewall).
    package private(set) var drops: [String: Int] = [:]
    /// Latest trace timestamp seen.
    package private(set) var now: Double = 0
    /// Resets of the focused port/peer that happened in another network namespace of this machine
    /// (the tracepoints are global): left out, and counted so the report can say so.
    package private(set) var elsewhere = 0
    /// Resets received in one namespace of this machine and sent by another that is also watched:
    /// one RST, reported once (as sent, with the receiver's state).
    package private(set) var merged = 0

    enum Item: Sendable {
        /// Boxed: the joins scan neighbours often, and a copy is then one reference, not every field.
        indirect case reset(ResetEvent, skaddr: String?)
        case drop(skbaddr: String, reason: String, location: String?)
        case close(local: String, lport: Int, remote: String, rport: Int, oldState: String)
    }

    private var recent: [(time: Double, item: Item)] = []
    private var pending: [Int] = []  // indexes into `recent` of resets not yet emitted (as absolute ids)
    private var base = 0              // absolute id of recent[0]
    private let maxRecords = 200_000

    package init(window: Double = 0.02, reasons: TraceReasonMap?, filter: TraceFilter = TraceFilter(), clockOffset: Double = 0) {
        self.window = window
        self.reasons = reasons
        self.filter = filter
        self.clockOffset = clockOffset
    }

    /// The events whose reason the format file says this kernel cannot report.
    package var reasonReported = true

    /// Feeds one parsed line; returns the events that are now complete.
    package mutating func add(_ line: TraceLine) -> [ResetEvent] {
        guard let item = decode(line) else { return finish(upTo: now - window) }
        now = max(now, line.timestamp)
        if recent.count >= maxRecords {
            // A flood (kfree_skb under attack): forget the older half rather than grow without bound.
            let dropCount = recent.count / 2
            recent.removeFirst(dropCount)
            base += dropCount
            pending.removeAll { $0 < base }
            overflowed += dropCount
        }
        if case .drop(_, let reason, _) = item { drops[reason, default: 0] += 1 }
        recent.append((line.timestamp, item))
        if case .reset = item { pending.append(base + recent.count - 1) }
        return finish(upTo: now - window)
    }

    /// Completes every pending event (end of trace, or the trace went quiet).
    package mutating func flush() -> [ResetEvent] { finish(upTo: .infinity) }

    /// Feeds many lines of `trace` / `trace_pipe` text and flushes: for tests and saved traces.
    package mutating func consume(_ text: String) -> [ResetEvent] {
        var out: [ResetEvent] = []
        for raw in text.utf8.split(separator: UInt8(ascii: "\n")) {
            guard let line = TraceLine.parse(Substring(raw)) else { continue }
            out += add(line)
        }
        return out + flush()
    }

    // MARK: decoding

    func decode(_ line: TraceLine) -> Item? {
        switch line.event {
        case "tcp_send_reset": return decodeSent(line)
        case "tcp_receive_reset": return decodeReceived(line)
        case "kfree_skb":
            guard let skb = line["skbaddr"], let reason = line["reason"] else { return nil }
            return .drop(skbaddr: skb, reason: reason, location: line["location"])
        case "inet_sock_set_state":
            guard line["newstate"] == "TCP_CLOSE", let (l, lp, r, rp) = sockTuple(line), let old = line["oldstate"] else { return nil }
            return .close(local: l, lport: lp, remote: r, rport: rp, oldState: old)
        default: return nil
        }
    }

    /// Linux >= 6.10: `src=ADDR:PORT dest=ADDR:PORT state=S reason=R`; older kernels print the
    /// socket's family/sport/dport/saddr/daddr and no reason.
    func decodeSent(_ line: TraceLine) -> Item? {
        var src: String, sport: Int, dst: String, dport: Int
        if let s = line["src"], let d = line["dest"] {
            guard let (sa, sp) = TraceAddress.splitEndpoint(s), let (da, dp) = TraceAddress.splitEndpoint(d) else { return nil }
            (src, sport, dst, dport) = (sa, sp, da, dp)
        } else if let t = sockTuple(line) {
            (src, sport, dst, dport) = t
        } else {
            return nil
        }
        let state = line["state"] ?? ""
        let listener = state == "TCP_LISTEN" || (TraceAddress.isWildcard(src) && sport != 0)
        let skb = line["skbaddr"].flatMap { Self.isNull($0) ? nil : $0 }
        let e = ResetEvent(traceTime: line.timestamp, time: line.timestamp + clockOffset, direction: .sent,
                           src: src, sport: sport, dst: dst, dport: dport, state: state.isEmpty ? "UNKNOWN" : state,
                           reason: line["reason"], listener: listener, task: line.task, pid: line.pid, cpu: line.cpu,
                           skbaddr: skb)
        return .reset(e, skaddr: line["skaddr"])
    }

    /// The receiving socket's own view (sport = local port); the RST travelled daddr → saddr.
    func decodeReceived(_ line: TraceLine) -> Item? {
        guard let (local, lport, remote, rport) = sockTuple(line) else { return nil }
        let e = ResetEvent(traceTime: line.timestamp, time: line.timestamp + clockOffset, direction: .received,
                           src: remote, sport: rport, dst: local, dport: lport, state: "", reason: nil,
                           task: line.task, pid: line.pid, cpu: line.cpu)
        return .reset(e, skaddr: line["skaddr"])
    }

    /// family/sport/dport/saddr/daddr/saddrv6/daddrv6 → (local, lport, remote, rport).
    func sockTuple(_ line: TraceLine) -> (String, Int, String, Int)? {
        guard let sp = line["sport"].flatMap(Int.init), let dp = line["dport"].flatMap(Int.init) else { return nil }
        let v6 = line["family"] == "AF_INET6"
        guard let s = v6 ? line["saddrv6"] : line["saddr"], let d = v6 ? line["daddrv6"] : line["daddr"] else { return nil }
        return (TraceAddress.canonical(s), sp, TraceAddress.canonical(d), dp)
    }

    static func isNull(_ pointer: String) -> Bool { pointer.allSatisfy { $0 == "0" || $0 == "x" } || pointer == "(null)" }

    // MARK: joining

    private func near(_ t: Double) -> ArraySlice<(time: Double, item: Item)> {
        // `recent` is in arrival order, which tracefs keeps sorted by timestamp across CPUs.
        var lo = 0, upper = recent.count
        while lo < upper {
            let mid = (lo + upper) / 2
            if recent[mid].time < t - window { lo = mid + 1 } else { upper = mid }
        }
        var hi = lo
        while hi < recent.count, recent[hi].time <= t + window { hi += 1 }
        return recent[lo..<hi]
    }

    /// State a received RST's socket was in, from its `... -> TCP_CLOSE` transition.
    private func stateOfReceived(_ e: ResetEvent) -> String? {
        near(e.traceTime).compactMap { entry -> (Double, String)? in
            guard case .close(let l, let lp, let r, let rp, let old) = entry.item,
                  l == e.dst, lp == e.dport, r == e.src, rp == e.sport else { return nil }
            return (abs(entry.time - e.traceTime), old)
        }.min { $0.0 < $1.0 }?.1
    }

    private mutating func finish(upTo limit: Double) -> [ResetEvent] {
        var out: [ResetEvent] = []
        // `pending` is in arrival order, which tracefs keeps sorted by time: stop at the first
        // reset still inside the join window instead of looking at every pending one per line.
        var done = 0
        while done < pending.count {
            let index = pending[done] - base
            guard index >= 0, index < recent.count else { done += 1; continue }  // forgotten at the bound
            let time = recent[index].time
            guard time <= limit else { break }
            done += 1
            guard case .reset(var e, _) = recent[index].item else { continue }
            let neighbours = near(time)
            var reportedByReceiver = false
            switch e.direction {
            case .sent:
                if let skb = e.skbaddr {
                    let d = neighbours.compactMap { n -> (Double, String, String?)? in
                        guard case .drop(let s, let r, let loc) = n.item, s == skb else { return nil }
                        return (abs(n.time - time), r, loc)
                    }.min { $0.0 < $1.0 }
                    e.dropReason = d?.1
                    e.dropLocation = d?.2
                }
                // The receiver on this host (another namespace) logged the same RST: its socket
                // gives the peer of a listener RST and the state the connection was in.
                let rx = neighbours.compactMap { n -> (Double, ResetEvent)? in
                    guard case .reset(let r, _) = n.item, r.direction == .received, r.sport == e.sport,
                          (r.src == e.src || e.listener), e.listener || (r.dst == e.dst && r.dport == e.dport) else { return nil }
                    return (abs(n.time - time), r)
                }.min { $0.0 < $1.0 }?.1
                // Received in a watched namespace: reported there, so not "elsewhere" when not here.
                if let rx, filter.matches(rx) { reportedByReceiver = true }
                if let rx {
                    e.peerState = stateOfReceived(rx)
                    if e.listener && e.peerUnknown {
                        e.src = rx.src
                        e.dst = rx.dst
                        e.dport = rx.dport
                    }
                }
            case .received:
                e.state = stateOfReceived(e) ?? ""
                // Sent from another namespace of this host: that side knows the reason.
                let local = neighbours.compactMap { n -> ResetEvent? in
                    guard case .reset(let s, _) = n.item, s.direction == .sent, s.sport == e.sport,
                          s.src == e.src || s.listener, s.listener || (s.dst == e.dst && s.dport == e.dport) else { return nil }
                    return s
                }.first
                e.alsoSentHere = local != nil
                if var s = local {
                    // A listener's event printed a wildcard; joined with this one it takes the flow's
                    // addresses (see `.sent`), and that is where it happened.
                    if s.listener && s.peerUnknown { s.src = e.src; s.dst = e.dst; s.dport = e.dport }
                    if filter.matches(s) {
                        // The sender is watched too: this RST is reported once, as the sent event.
                        merged += 1
                        continue
                    }
                }
                if local != nil && !filter.isHere(e) {
                    // Sent and received by other namespaces of this machine: one RST, which the sent
                    // event stands for (counted once in `elsewhere`).
                    continue
                }
                if var s = local, let reasons {
                    s.peerState = e.state
                    s = reasons.classify(s)
                    if s.cause != nil {
                        var classified = reasons.classify(e)
                        classified.cause = s.cause
                        classified.explain = "Sent by this host (\(s.reason ?? ResetEvent.noReasonText)): " + (s.explain ?? "")
                        classified.reason = nil
                        emit(classified, into: &out)
                        continue
                    }
                }
            }
            if let reasons { e = reasons.classify(e) }
            if e.direction == .sent && e.reason == nil && !reasonReported && e.explain == nil {
                e.explain = ResetEvent.noReasonText
            }
            if !(reportedByReceiver && !filter.matches(e)) { emit(e, into: &out) }
        }
        pending.removeFirst(done)
        prune()
        return out
    }

    /// Keeps an event the filter admits; one of the focused port/peer that happened in another
    /// namespace is counted in `elsewhere` instead.
    private mutating func emit(_ e: ResetEvent, into out: inout [ResetEvent]) {
        if filter.matches(e) { out.append(e) }
        else if !filter.isHere(e) {
            var focus = filter
            focus.addresses = []
            if focus.matches(e) { elsewhere += 1 }
        }
    }

    /// Forgets records no pending event can still join with.
    private mutating func prune() {
        var oldestNeeded = now
        for id in pending {
            let index = id - base
            if index >= 0, index < recent.count { oldestNeeded = min(oldestNeeded, recent[index].time); break }
        }
        let cutoff = min(oldestNeeded, now) - 2 * window
        var drop = 0
        while drop < recent.count, recent[drop].time < cutoff { drop += 1 }
        guard drop > 0 else { return }
        recent.removeFirst(drop)
        base += drop
    }
}
