import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDJournal
import RSTDData
import RSTDSystem
import RSTDCore

/// One RST the recorder keeps: the kernel's account, the wire's, or both joined.
package struct JoinedRST: Sendable {
    package var trace: ResetEvent?
    package var wire: WireRST?
    /// A RST on the wire from a local address with no tcp_send_reset behind it: a firewall built it.
    package var firewallBuilt = false

    package var time: Double { trace?.time ?? wire?.time ?? 0 }
    package var sport: Int { trace?.sport ?? wire?.sport ?? 0 }
    package var dport: Int { trace?.dport ?? wire?.dport ?? 0 }

    package func journalEvent(netns: String) -> JournalEvent {
        let t = trace
        let w = wire
        let direction = t?.direction.rawValue ?? (w?.direction == "in" ? "received" : "sent")
        let source = t != nil && w != nil ? "trace+wire" : (t != nil ? "trace" : "wire")
        let cause = firewallBuilt ? "firewall-reset" : t?.cause
        return JournalEvent(timeMicros: Int64((time * 1_000_000).rounded()), direction: direction, netns: netns,
                            src: t?.src ?? w?.src ?? "", sport: sport, dst: t?.dst ?? w?.dst ?? "", dport: dport,
                            reason: t?.reason, state: t.map { $0.state.isEmpty ? ($0.peerState ?? "") : $0.state },
                            listener: t?.listener ?? false, dropReason: t?.dropReason, task: t?.process?.name,
                            pid: t?.process?.pid, cause: cause, source: source, ttl: w?.ttl, payload: w?.payload, flags: w?.flags)
    }
}

/// Joins the trace's resets with the RST-only capture's by 4-tuple and time. A side goes out alone
/// only once the other side has caught up past its time (its clock: the latest event it delivered, or
/// now when it is idle), or after `maxHold` seconds: under load the trace lags the wire, and a RST
/// released too early would be counted twice (and a local one taken for a firewall's).
/// Pure: the caller gives the time.
package struct WireTraceJoin: Sendable {
    package var hold: Double = 0.3
    package var maxHold: Double = 5
    package var tolerance: Double = 0.25
    /// Whether the trace runs: only then does a local RST without a tcp_send_reset mean a firewall.
    package var traced = true
    /// RSTs of the wire that are not this namespace's: forwarded through it (seen coming in and going
    /// out), or arriving for another host. Counted, never kept; the caller takes the count.
    package private(set) var elsewhere = 0
    private var traces: [(at: Double, e: ResetEvent)] = []
    /// `forwarded`: the same RST was seen both coming in and going out (a router passing it on).
    private var wires: [String: [(at: Double, w: WireRST, forwarded: Bool)]] = [:]
    private var traceClock = 0.0, wireClock = 0.0

    package init() {}

    static func key(_ src: String, _ sport: Int) -> String { "\(src)|\(sport)" }

    static func sameFlow(_ e: ResetEvent, _ w: WireRST) -> Bool {
        guard e.src == w.src, e.sport == w.sport else { return false }
        // A listener's RST prints a wildcard peer: its source endpoint is enough.
        return e.listener && TraceAddress.isWildcard(e.dst) ? true : (e.dst == w.dst && e.dport == w.dport)
    }

    /// Adds new events from both sides; returns those that are complete at `now` (`.infinity` = flush).
    /// `traceIdle` / `wireIdle`: that side had nothing more to deliver now. `arrival`: a clock that never
    /// jumps (boot time) for `maxHold`; default `now`. With the wall clock stepped back, an event held by
    /// wall time alone would wait until the clock caught up again.
    package mutating func add(traced new: [ResetEvent], wire newWire: [WireRST], now: Double, local: Set<String>,
                             traceIdle: Bool = true, wireIdle: Bool = true, arrival monotonic: Double? = nil) -> [JoinedRST] {
        let wallNow = now.isFinite ? now : Date().timeIntervalSince1970
        let arrival = monotonic ?? wallNow
        traceClock = max(traceClock, new.map(\.time).max() ?? 0, traceIdle ? wallNow - hold : 0)
        wireClock = max(wireClock, newWire.map(\.time).max() ?? 0, wireIdle ? wallNow - hold : 0)
        traces += new.map { (arrival, $0) }
        for w in newWire {
            let k = Self.key(w.src, w.sport)
            // The same RST seen twice on `any` (in and out of a forwarding host): keep the first copy,
            // marked as forwarded.
            let twin = { (o: (at: Double, w: WireRST, forwarded: Bool)) in
                o.w.dst == w.dst && o.w.dport == w.dport && abs(o.w.time - w.time) < 0.05
            }
            if let i = wires[k]?.firstIndex(where: twin) {
                if wires[k]![i].w.direction != w.direction { wires[k]![i].forwarded = true }
                continue
            }
            wires[k, default: []].append((arrival, w, false))
        }
        var out: [JoinedRST] = []
        var keptTraces: [(at: Double, e: ResetEvent)] = []
        for t in traces {
            let k = Self.key(t.e.src, t.e.sport)
            if let list = wires[k], let i = list.firstIndex(where: { Self.sameFlow(t.e, $0.w) && abs($0.w.time - t.e.time) <= tolerance }) {
                out.append(JoinedRST(trace: t.e, wire: list[i].w))
                wires[k]!.remove(at: i)
                if wires[k]!.isEmpty { wires[k] = nil }
            } else if !now.isFinite || hold == 0 || wireClock >= t.e.time + tolerance || arrival - t.at >= maxHold {
                out.append(JoinedRST(trace: t.e, wire: nil))
            } else {
                keptTraces.append(t)
            }
        }
        traces = keptTraces
        for (k, list) in wires {
            var kept: [(at: Double, w: WireRST, forwarded: Bool)] = []
            for w in list {
                if !now.isFinite || hold == 0 || traceClock >= w.w.time + tolerance || arrival - w.at >= maxHold {
                    var j = JoinedRST(trace: nil, wire: w.w)
                    let src = TraceAddress.canonical(w.w.src)
                    let ours = local.isEmpty || local.contains(src) || local.contains(TraceAddress.canonical(w.w.dst))
                    // Neither end is ours: a RST this namespace only sent out, with no copy coming in,
                    // was built here (a reject rule in the forward hook: nf_send_reset() takes the
                    // source of the segment it answers); one it passed on (in and out) is not its own.
                    let builtForOthers = !ours && !w.forwarded && w.w.direction == "out"
                    if !ours && !(traced && builtForOthers) {
                        elsewhere += 1
                        continue
                    }
                    let isLocal = local.isEmpty ? w.w.direction == "out" : local.contains(src)
                    if traced && (isLocal || builtForOthers) && w.w.direction != "in" { j.firewallBuilt = true }
                    out.append(j)
                } else {
                    kept.append(w)
                }
            }
            wires[k] = kept.isEmpty ? nil : kept
        }
        return out.sorted { $0.time < $1.time }
    }
}
