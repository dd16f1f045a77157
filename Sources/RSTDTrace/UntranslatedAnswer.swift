import Foundation

/// The trace-side signature of a segment that left a NAT untranslated (conntrack marked it INVALID:
/// net/netfilter/nf_conntrack_proto_tcp.c: tcp_in_window(), nf_conntrack_tcp_be_liberal=0; only tracked
/// packets are translated, net/netfilter/nf_nat_core.c). A NO_SOCKET RST sent from local L:p to X while,
/// within `untranslatedWindow`, a socket on the same L:p is in a synchronized state with another address
/// Y ≠ X: the segment came from an address this connection never used (the backend's own, instead of the
/// service's), so the RST answers a segment the NAT did not translate, not a connection this host forgot.
/// The live socket shows as a RST it received or sent, or its `-> TCP_CLOSE` transition.
/// The aftermath is marked too: the RST that live socket L:p↔Y then receives (the peer lost its side to
/// the first RST), and the RST the peer sent for it when both ends are traced here.
extension ResetCorrelator {
    static let untranslatedCause = "conntrack-invalid"
    /// States of a socket that had a connection (a live one on the port).
    static let liveStates: Set<String> = ["TCP_ESTABLISHED", "TCP_FIN_WAIT1", "TCP_FIN_WAIT2", "TCP_CLOSE_WAIT"]
    /// Records looked at per search: a flood on one port must not make each RST scan a second of others.
    static let untranslatedScanLimit = 256

    /// A RST sent without a socket (NO_SOCKET; before Linux 6.10: no reason, state UNKNOWN), not by a listener.
    static func isNoSocketAnswer(_ e: ResetEvent) -> Bool {
        e.direction == .sent && !e.listener && e.state == "UNKNOWN" && (e.reason == "NO_SOCKET" || e.reason == nil)
    }

    /// For sent `e`: why it answers an untranslated segment, or nil.
    func untranslatedAnswer(_ e: ResetEvent, at time: Double) -> String? {
        guard Self.isNoSocketAnswer(e), !TraceAddress.isWildcard(e.src) else { return nil }
        guard let other = liveSocket(local: e.src, port: e.sport, notTo: e.dst, near: time) else { return nil }
        return "No socket matched a segment from \(e.dst):\(e.dport) to \(e.src):\(e.sport), while a socket on "
            + "\(e.src):\(e.sport) was connected to \(other): the segment came from an address this connection never "
            + "used, as a segment conntrack marked INVALID leaves a NAT untranslated (the backend's own address)."
    }

    /// For received `r` (taken by an ESTABLISHED-like socket): why it follows the answer to an untranslated
    /// segment sent from the same local address:port to another address, or nil.
    func afterUntranslated(_ r: ResetEvent, at time: Double) -> String? {
        guard r.direction == .received else { return nil }
        let state = r.state.isEmpty ? (stateOfReceived(r) ?? "") : r.state
        guard Self.liveStates.contains(state) else { return nil }
        var found: ResetEvent?
        var seen = 0
        resets.visit(resetsByLocalPort[r.dport], near: time, window: untranslatedWindow) { id in
            seen += 1
            if resets[id].sport == r.dport, resets[id].src == r.dst, resets[id].dst != r.src, Self.isNoSocketAnswer(resets[id]) {
                found = resets[id]
            }
            return found == nil && seen < Self.untranslatedScanLimit
        }
        guard let s = found else { return nil }
        return "This \(state) socket \(r.dst):\(r.dport) ↔ \(r.src):\(r.sport) took a RST after its host answered a "
            + "segment from \(s.dst):\(s.dport) on the same port with NO_SOCKET: that segment came untranslated (conntrack "
            + "INVALID behind a NAT), the peer took the answer and lost its side of this connection."
    }

    /// `address:port` of a socket on local:port in a live state with a remote address other than `excluded`.
    private func liveSocket(local: String, port: Int, notTo excluded: String, near time: Double) -> String? {
        var found: String?
        var seen = 0
        resets.visit(resetsByLocalPort[port], near: time, window: untranslatedWindow) { id in
            seen += 1
            // Read in place (no copy of the event per neighbour: a flood on one port visits many).
            switch resets[id].direction {
            case .received:
                if resets[id].dport == port, resets[id].dst == local, resets[id].src != excluded,
                   !TraceAddress.isWildcard(resets[id].src), Self.liveStates.contains(stateOfReceived(resets[id]) ?? "") {
                    found = "\(resets[id].src):\(resets[id].sport)"
                }
            case .sent:
                if !resets[id].listener, resets[id].src == local, resets[id].dst != excluded,
                   !TraceAddress.isWildcard(resets[id].dst), Self.liveStates.contains(resets[id].state) {
                    found = "\(resets[id].dst):\(resets[id].dport)"
                }
            }
            return found == nil && seen < Self.untranslatedScanLimit
        }
        if let found { return found }
        seen = 0
        closes.visit(closesByLport[port], near: time, window: untranslatedWindow) { id in
            seen += 1
            if closes[id].local == local, closes[id].remote != excluded, !TraceAddress.isWildcard(closes[id].remote),
               Self.liveStates.contains(closes[id].oldState) {
                found = "\(closes[id].remote):\(closes[id].rport)"
            }
            return found == nil && seen < Self.untranslatedScanLimit
        }
        return found
    }
}
