import Foundation
import RSTDJournal

/// One RST the recorder keeps: the kernel's account, the wire's, or both joined.
public struct JoinedRST: Sendable {
    public var trace: ResetEvent?
    public var wire: WireRST?
    /// A RST on the wire from a local address with no tcp_send_reset behind it: a firewall built it.
    public var firewallBuilt = false

    public var time: Double { trace?.time ?? wire?.time ?? 0 }
    public var sport: Int { trace?.sport ?? wire?.sport ?? 0 }
    public var dport: Int { trace?.dport ?? wire?.dport ?? 0 }

    public func journalEvent(netns: String) -> JournalEvent {
        let t = trace
        let w = wire
        let direction = t?.direction.rawValue ?? (w?.direction == "in" ? "received" : "sent")
        let source = t != nil && w != nil ? "trace+wire" : (t != nil ? "trace" : "wire")
        let cause = firewallBuilt ? "firewall-reset" : t?.cause
        return JournalEvent(timeMicros: Int64((time * 1_000_000).rounded()), direction: direction, netns: netns,
                            src: t?.src ?? w?.src ?? "", sport: sport, dst: t?.dst ?? w?.dst ?? "", dport: dport,
                            reason: t?.reason, state: t.map { $0.state.isEmpty ? ($0.peerState ?? "") : $0.state },
                            listener: t?.listener ?? false, dropReason: t?.dropReason, task: t?.task,
                            pid: t.map(\.pid), cause: cause, source: source, ttl: w?.ttl, payload: w?.payload, flags: w?.flags)
    }
}

/// Joins the trace's resets with the RST-only capture's by 4-tuple and time. Each side waits
/// `hold` seconds for its twin; after that it goes out alone. Pure: the caller gives the time.
public struct WireTraceJoin: Sendable {
    public var hold: Double = 0.3
    public var tolerance: Double = 0.25
    /// Whether the trace runs: only then does a local RST without a tcp_send_reset mean a firewall.
    public var traced = true
    private var traces: [(at: Double, e: ResetEvent)] = []
    private var wires: [(at: Double, w: WireRST)] = []

    public init() {}

    static func sameFlow(_ e: ResetEvent, _ w: WireRST) -> Bool {
        guard e.src == w.src, e.sport == w.sport else { return false }
        // A listener's RST prints a wildcard peer: its source endpoint is enough.
        return e.listener && TraceAddress.isWildcard(e.dst) ? true : (e.dst == w.dst && e.dport == w.dport)
    }

    /// Adds new events from both sides; returns those that are complete at `now` (`.infinity` = flush).
    public mutating func add(traced new: [ResetEvent], wire newWire: [WireRST], now: Double, local: Set<String>) -> [JoinedRST] {
        let arrival = now.isFinite ? now : Date().timeIntervalSince1970
        traces += new.map { (arrival, $0) }
        // The same RST seen twice on `any` (in and out of a forwarding host): keep the first copy.
        for w in newWire where !wires.contains(where: { $0.w.src == w.src && $0.w.sport == w.sport && $0.w.dst == w.dst
                                                        && $0.w.dport == w.dport && abs($0.w.time - w.time) < 0.05 }) {
            wires.append((arrival, w))
        }
        var out: [JoinedRST] = []
        var usedWire = Set<Int>()
        var keptTraces: [(at: Double, e: ResetEvent)] = []
        for t in traces {
            if let i = wires.indices.first(where: { !usedWire.contains($0) && Self.sameFlow(t.e, wires[$0].w)
                                                   && abs(wires[$0].w.time - t.e.time) <= tolerance }) {
                usedWire.insert(i)
                var j = JoinedRST(trace: t.e, wire: wires[i].w)
                j.trace?.listener = t.e.listener
                out.append(j)
            } else if !now.isFinite || now - t.at >= hold {
                out.append(JoinedRST(trace: t.e, wire: nil))
            } else {
                keptTraces.append(t)
            }
        }
        traces = keptTraces
        var keptWires: [(at: Double, w: WireRST)] = []
        for (i, w) in wires.enumerated() where !usedWire.contains(i) {
            if !now.isFinite || now - w.at >= hold {
                var j = JoinedRST(trace: nil, wire: w.w)
                let isLocal = local.isEmpty ? w.w.direction == "out" : local.contains(TraceAddress.canonical(w.w.src))
                if traced && isLocal && w.w.direction != "in" { j.firewallBuilt = true }
                out.append(j)
            } else {
                keptWires.append(w)
            }
        }
        wires = keptWires
        return out.sorted { $0.time < $1.time }
    }
}
