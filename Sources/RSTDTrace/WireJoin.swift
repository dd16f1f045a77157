import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Joins a RST seen on the wire (a capture) with the kernel's trace: a RST leaving this host
/// that no tcp_send_reset accounts for was built by a firewall (nft/iptables `reject with tcp
/// reset`), not by the TCP stack (RST-SIGNALS.md, row 5a).
package enum WireJoin {
    /// The traced sent RST that explains a captured one, if any. `time` is Unix seconds;
    /// `tolerance` covers clock skew between libpcap and the trace (the kernel logs the event
    /// tens of microseconds before the packet is captured). Listener RSTs whose peer is unknown
    /// match on the source port alone.
    package static func tracedSender(src: String, sport: Int, dst: String, dport: Int, time: Double,
                                    in events: [ResetEvent], tolerance: Double = 0.05) -> ResetEvent? {
        let s = TraceAddress.canonical(src), d = TraceAddress.canonical(dst)
        return events.filter { e in
            guard e.direction == .sent, abs(e.time - time) <= tolerance, e.sport == sport else { return false }
            if e.peerUnknown { return TraceAddress.isWildcard(e.src) || e.src == s }
            return e.src == s && e.dst == d && e.dport == dport
        }.min { abs($0.time - time) < abs($1.time - time) }
    }

    /// True when the trace ran, the RST left a local address, and no sent event explains it.
    package static func builtByFirewall(src: String, sport: Int, dst: String, dport: Int, time: Double,
                                       in events: [ResetEvent], localAddresses: Set<String>, tolerance: Double = 0.05) -> Bool {
        guard localAddresses.contains(TraceAddress.canonical(src)) else { return false }
        return tracedSender(src: src, sport: sport, dst: dst, dport: dport, time: time, in: events, tolerance: tolerance) == nil
    }
}
