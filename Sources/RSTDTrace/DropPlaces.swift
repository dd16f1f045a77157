import Foundation
import RSTDCore

/// A segment the kernel dropped (skb:kfree_skb) whose socket is known: the socket's own view, `local`
/// being the side that received and dropped it.
package struct PlacedDrop: Sendable, Hashable {
    /// Unix seconds.
    package var time: Double
    package var reason: String
    package var local: String
    package var lport: Int
    package var remote: String
    package var rport: Int

    package init(time: Double, reason: String, local: String, lport: Int, remote: String, rport: Int) {
        self.time = time
        self.reason = reason
        self.local = local
        self.lport = lport
        self.remote = remote
        self.rport = rport
    }
}

/// Places skb:kfree_skb drops. The event carries skbaddr, location, rx_sk and the reason, but no
/// address and no namespace. tcp:tcp_probe, which tcp_rcv_established() logs for every segment an
/// established socket receives before it validates it, carries the socket's addresses and the same
/// skbaddr: a drop of that skb microseconds later in the same softirq was that socket's segment
/// (lab, Linux 6.18: tcp_probe then kfree_skb TCP_RFC7323_PAWS at tcp_validate_incoming 12 µs apart,
/// rx_sk equal to tcp_probe's skaddr). tcp_probe fires per segment, so it is traced only with an
/// in-kernel filter on a focused port, in an instance of its own (TraceSession.Options.placeDrops); a
/// drop in another state (tcp_rcv_state_process: FIN-WAIT, CLOSE-WAIT…) has no tcp_probe and stays unplaced.
struct DropPlacer: Sendable {
    struct Probe: Sendable {
        var skbaddr: String
        var local: String
        var lport: Int
        var remote: String
        var rport: Int
    }

    /// The drop reasons placed (the others are only counted, by ResetCorrelator.drops).
    var reasons: Set<String> = ["TCP_RFC7323_PAWS"]
    private var probes = TimedLog<Probe>()
    private var bySkb = TimedIndex<String>()
    /// Drops of `reasons` tied to a probe, in trace order (bounded: a flood keeps its first ones).
    private(set) var placed: [PlacedDrop] = []
    /// Drops of `reasons` with no probe before them (another port, another state, probes not traced).
    private(set) var unplaced = 0
    private let maxPlaced = 100_000

    /// How far apart (trace seconds) a probe and the drop of its skb may be: the same softirq logs both
    /// within microseconds, and skb addresses are recycled quickly.
    var window = 0.02

    /// Feeds one line of the drops instance (tcp_probe, kfree_skb; others are ignored).
    mutating func add(_ line: TraceLine, clockOffset: Double) {
        switch line.eventName {
        case "tcp_probe":
            if let p = Self.decode(line) { add(p, at: line.timestamp) }
        case "kfree_skb":
            guard let skb = line["skbaddr"], let reason = line["reason"] else { return }
            drop(skbaddr: skb, reason: reason, at: line.timestamp, window: window, clockOffset: clockOffset)
        default:
            return
        }
        // Nothing older than a second can join: memory follows the port's segment rate.
        forget(before: line.timestamp - 1)
    }

    /// Feeds many lines of `trace` / `trace_pipe` text: for tests and saved traces.
    static func consume(_ text: String, clockOffset: Double = 0) -> DropPlacer {
        var p = DropPlacer()
        for raw in text.split(separator: "\n") {
            if let line = TraceLine.parse(raw) { p.add(line, clockOffset: clockOffset) }
        }
        return p
    }

    /// `src=LOCAL:PORT dest=REMOTE:PORT … skbaddr=…` (the socket's view).
    static func decode(_ line: TraceLine) -> Probe? {
        guard let skb = line["skbaddr"], let s = line["src"], let d = line["dest"],
              let (l, lp) = TraceAddress.splitEndpoint(s), let (r, rp) = TraceAddress.splitEndpoint(d) else { return nil }
        return Probe(skbaddr: skb, local: l, lport: lp, remote: r, rport: rp)
    }

    mutating func add(_ p: Probe, at t: Double) {
        bySkb.insert(p.skbaddr, probes.append(t, p))
    }

    /// A drop at trace time `t`: placed by the latest probe of its skb within `window` before it.
    mutating func drop(skbaddr: String, reason: String, at t: Double, window: Double, clockOffset: Double) {
        guard reasons.contains(reason) else { return }
        let id = probes.nearest(bySkb[skbaddr], to: t, window: window) { probes.time($0) <= t }
        guard let id else { unplaced += 1; return }
        guard placed.count < maxPlaced else { return }
        let p = probes[id]
        placed.append(PlacedDrop(time: t + clockOffset, reason: reason, local: p.local, lport: p.lport, remote: p.remote, rport: p.rport))
    }

    mutating func forget(before cutoff: Double) {
        probes.forget(before: cutoff)
        bySkb.sweep(below: probes.base, live: probes.count)
    }
}

extension TraceFilter {
    /// Whether a segment a socket received (its own view: `local` received it) is the watched
    /// namespace's and the focus's: the port on either side, the peer as the remote side, the local
    /// address one of the namespace's (a loopback one only where `loopbackHere`).
    package func matches(_ d: PlacedDrop) -> Bool {
        if let port, d.lport != port && d.rport != port { return false }
        if !ports.isEmpty && !ports.contains(d.lport) && !ports.contains(d.rport) { return false }
        if let peer, d.remote != peer { return false }
        return holds(d.local)
    }
}

/// The trace's account of segments dropped by PAWS (facts `trace.paws_drops`, `trace.paws_drops_here`,
/// declared in checks/kernel-trace.yaml).
package struct PawsDropCounts: Sendable, Hashable {
    /// skb:kfree_skb TCP_RFC7323_PAWS during the trace, anywhere on the machine; nil = not traced.
    package var machine: Int?
    /// Those tcp_probe placed on a socket of the watched namespace and focus; nil = not placed.
    package var here: Int?
    /// Why `machine` / `here` are unknown.
    package var whyUnknown: String

    package init(machine: Int?, here: Int?, whyUnknown: String) {
        self.machine = machine
        self.here = here
        self.whyUnknown = whyUnknown
    }

    package static func unknown(_ why: String) -> PawsDropCounts { PawsDropCounts(machine: nil, here: nil, whyUnknown: why) }

    package func facts(source: FactSource) -> [Fact] {
        [("trace.paws_drops", machine), ("trace.paws_drops_here", here)].map { key, n in
            n.map { Fact(key: key, value: .int(Int64($0)), source: source) } ?? Fact(key: key, unknown: whyUnknown, source: source)
        }
    }
}
