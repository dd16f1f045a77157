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
        case reset(ResetEvent)
        case drop(Drop)
        case close(Close)
    }

    /// skb:kfree_skb: the reason a segment was dropped, joined to tcp_send_reset by skbaddr.
    struct Drop: Sendable {
        var skbaddr: String
        var reason: String
        var location: String?
    }

    /// sock:inet_sock_set_state to TCP_CLOSE: the state a reset socket left.
    struct Close: Sendable {
        var local: String
        var lport: Int
        var remote: String
        var rport: Int
        var oldState: String
    }

    /// How far apart (trace seconds) a NO_SOCKET RST and a live socket on the same local address:port
    /// may be to read as the answer to an untranslated segment (UntranslatedAnswer.swift). Such a RST
    /// is completed only once this much trace time has passed after it (or the trace stops), when a socket
    /// of this host took it in a live state (`awaitsLiveSocket`).
    package var untranslatedWindow: Double = 1.0

    // Recent records by kind, each indexed by the key its join looks up (no scan of every neighbour).
    // Internal, not private: UntranslatedAnswer.swift reads them.
    var resets = TimedLog<ResetEvent>()
    var resetsBySport = TimedIndex<Int>()
    /// Resets by the local port of their socket (sent: sport, received: dport).
    var resetsByLocalPort = TimedIndex<Int>()
    private var dropLog = TimedLog<Drop>()
    private var dropsBySkb = TimedIndex<String>()
    var closes = TimedLog<Close>()
    var closesByLport = TimedIndex<Int>()
    /// Id of the oldest reset not yet emitted: resets complete in arrival order.
    private var nextToFinish = 0
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
        add(decode(line), at: line.timestamp)
    }

    /// Feeds one decoded record at trace time `t` (nil: a record it does not take); returns the events now complete.
    mutating func add(_ decoded: Item?, at t: Double) -> [ResetEvent] {
        guard let item = decoded else { return finish(upTo: now - window, held: now - untranslatedWindow) }
        now = max(now, t)
        if resets.count + dropLog.count + closes.count >= maxRecords {
            // A flood (kfree_skb under attack): forget the older half rather than grow without bound.
            let n = (resets.count / 2, dropLog.count / 2, closes.count / 2)
            resets.forgetFirst(n.0)
            dropLog.forgetFirst(n.1)
            closes.forgetFirst(n.2)
            overflowed += n.0 + n.1 + n.2
        }
        switch item {
        case .reset(let e):
            let id = resets.append(t, e)
            resetsBySport.insert(e.sport, id)
            resetsByLocalPort.insert(e.direction == .sent ? e.sport : e.dport, id)
        case .drop(let d):
            drops[d.reason, default: 0] += 1
            dropsBySkb.insert(d.skbaddr, dropLog.append(t, d))
        case .close(let c):
            closesByLport.insert(c.lport, closes.append(t, c))
        }
        return finish(upTo: now - window, held: now - untranslatedWindow)
    }

    /// Completes every pending event (end of trace).
    package mutating func flush() -> [ResetEvent] { finish(upTo: .infinity, held: .infinity) }

    /// The trace went quiet at trace time `traceNow`: nothing more can join the pending events, but
    /// a NO_SOCKET RST waits for `untranslatedWindow` after it (a live socket on its port may show).
    package mutating func quiet(at traceNow: Double) -> [ResetEvent] {
        finish(upTo: .infinity, held: max(now, traceNow) - untranslatedWindow)
    }

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
        switch line.eventName {
        case "tcp_send_reset": return decodeSent(line)
        case "tcp_receive_reset": return decodeReceived(line)
        case "kfree_skb":
            guard let skb = line["skbaddr"], let reason = line["reason"] else { return nil }
            return .drop(Drop(skbaddr: skb, reason: reason, location: line["location"]))
        case "inet_sock_set_state":
            guard line["newstate"] == "TCP_CLOSE", let (l, lp, r, rp) = sockTuple(line), let old = line["oldstate"] else { return nil }
            return .close(Close(local: l, lport: lp, remote: r, rport: rp, oldState: old))
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
                           context: line.context,
                           skbaddr: skb)
        return .reset(e)
    }

    /// The receiving socket's own view (sport = local port); the RST travelled daddr → saddr.
    func decodeReceived(_ line: TraceLine) -> Item? {
        guard let (local, lport, remote, rport) = sockTuple(line) else { return nil }
        let e = ResetEvent(traceTime: line.timestamp, time: line.timestamp + clockOffset, direction: .received,
                           src: remote, sport: rport, dst: local, dport: lport, state: "", reason: nil,
                           task: line.task, pid: line.pid, cpu: line.cpu, context: line.context)
        return .reset(e)
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

    /// State a received RST's socket was in, from its `... -> TCP_CLOSE` transition.
    func stateOfReceived(_ e: ResetEvent) -> String? {
        closes.nearest(closesByLport[e.dport], to: e.traceTime, window: window) { id in
            closes[id].rport == e.sport && closes[id].local == e.dst && closes[id].remote == e.src
        }.map { closes[$0].oldState }
    }

    /// A NO_SOCKET RST that a socket of this host took in a live state (what would read as half-open) waits
    /// `untranslatedWindow` for a live socket on its port (UntranslatedAnswer.swift). Others complete at once:
    /// the recorder's wire join waits only 0.3 s for a traced twin.
    private func awaitsLiveSocket(_ id: Int, at time: Double) -> Bool {
        guard Self.isNoSocketAnswer(resets[id]), let rx = receiver(of: resets[id], at: time) else { return false }
        return Self.liveStates.contains(stateOfReceived(rx) ?? "")
    }

    /// The RST another namespace of this host received for sent `e` (closest in time).
    private func receiver(of e: ResetEvent, at time: Double) -> ResetEvent? {
        resets.nearest(resetsBySport[e.sport], to: time, window: window) { id in
            resets[id].direction == .received && (e.listener || resets[id].dport == e.dport)
                && (resets[id].src == e.src || e.listener) && (e.listener || resets[id].dst == e.dst)
        }.map { resets[$0] }
    }

    /// The RST another namespace of this host sent that received `e` stands for (the first in the window).
    private func sender(of e: ResetEvent, at time: Double) -> ResetEvent? {
        var found: Int?
        resets.visit(resetsBySport[e.sport], near: time, window: window) { id in
            let listener = resets[id].listener
            if resets[id].direction == .sent, listener || resets[id].dport == e.dport,
               listener || resets[id].src == e.src, listener || resets[id].dst == e.dst {
                found = id
                return false
            }
            return true
        }
        return found.map { resets[$0] }
    }

    /// `held`: the latest time a NO_SOCKET RST may have to be completed (see `untranslatedWindow`).
    private mutating func finish(upTo limit: Double, held: Double) -> [ResetEvent] {
        var out: [ResetEvent] = []
        // Resets complete in arrival order, which tracefs keeps sorted by time: stop at the first
        // one still inside the join window.
        while nextToFinish < resets.endID {
            if nextToFinish < resets.base { nextToFinish = resets.base; continue }  // forgotten at the bound
            let id = nextToFinish
            let time = resets.time(id)
            guard time <= limit, time <= held || !awaitsLiveSocket(id, at: time) else { break }
            nextToFinish += 1
            var e = resets[id]
            var reportedByReceiver = false
            // Sent: the answer to an untranslated segment, or the RST of its aftermath (UntranslatedAnswer.swift).
            var untranslated: String?
            switch e.direction {
            case .sent:
                if let skb = e.skbaddr, let d = dropLog.nearest(dropsBySkb[skb], to: time, window: window, where: { _ in true }) {
                    e.dropReason = dropLog[d].reason
                    e.dropLocation = dropLog[d].location
                }
                // The receiver on this host (another namespace) logged the same RST: its socket
                // gives the peer of a listener RST and the state the connection was in.
                untranslated = untranslatedAnswer(e, at: time)
                if let rx = receiver(of: e, at: time) {
                    if untranslated == nil { untranslated = afterUntranslated(rx, at: rx.traceTime).map { "Answered for: " + $0 } }
                    // Received in a watched namespace: reported there, so not "elsewhere" when not here.
                    if filter.matches(rx) { reportedByReceiver = true }
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
                let local = sender(of: e, at: time)
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
                // An untranslated segment's answer (sent here, or by this socket's peer), or its aftermath.
                if let why = afterUntranslated(e, at: time) ?? local.flatMap({ untranslatedAnswer($0, at: $0.traceTime) }) {
                    var classified = reasons?.classify(e) ?? e
                    classified.cause = Self.untranslatedCause
                    classified.explain = why
                    emit(classified, into: &out)
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
            if let why = untranslated {
                e.cause = Self.untranslatedCause
                e.explain = why
            }
            if e.direction == .sent && e.reason == nil && !reasonReported && e.explain == nil {
                e.explain = ResetEvent.noReasonText
            }
            if !(reportedByReceiver && !filter.matches(e)) { emit(e, into: &out) }
        }
        prune()
        return out
    }

    /// Keeps an event the filter admits; one of the focused port/peer that happened in another
    /// namespace is counted in `elsewhere` instead.
    private mutating func emit(_ e: ResetEvent, into out: inout [ResetEvent]) {
        if filter.matches(e) { out.append(e) }
        else if !filter.isHere(e) {
            var focus = filter
            focus.addresses = nil
            if focus.matches(e) { elsewhere += 1 }
        }
    }

    /// Forgets records no pending event can still join with.
    private mutating func prune() {
        let oldestNeeded = resets.contains(nextToFinish) ? resets.time(nextToFinish) : now
        // Kept for the untranslated-answer look-back too (UntranslatedAnswer.swift).
        let cutoff = min(oldestNeeded, now) - max(2 * window, untranslatedWindow + window)
        resets.forget(before: cutoff, limit: nextToFinish)
        dropLog.forget(before: cutoff)
        closes.forget(before: cutoff)
        resetsBySport.sweep(below: resets.base, live: resets.count)
        resetsByLocalPort.sweep(below: resets.base, live: resets.count)
        dropsBySkb.sweep(below: dropLog.base, live: dropLog.count)
        closesByLport.sweep(below: closes.base, live: closes.count)
    }
}
