import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Which resets to keep: by port, peer address, or a set of local addresses (a network
/// namespace's: see `isHere`). Applied after the joins, so a listener RST (printed with a wildcard address)
/// is kept when its port matches and its peer is unknown rather than silently dropped.
package struct TraceFilter: Sendable, Hashable {
    package var port: Int?
    package var peer: String?
    /// Addresses of the namespace being watched (loopback excluded); nil = no address restriction.
    /// An empty set is a namespace with no address but loopback: nothing of the machine's is its,
    /// except listener RSTs of its port (and loopback ones where `loopbackHere`).
    package var addresses: Set<String>?
    /// Several ports (the recorder's repeated `--port`); empty = no restriction beyond `port`.
    package var ports: Set<Int> = []
    /// Whether a reset on a loopback address (127.0.0.0/8, ::1: every namespace has them, so they cannot be
    /// placed) is this namespace's: the host recorder keeps them, a namespace's watch leaves them out.
    package var loopbackHere = false

    package init(port: Int? = nil, peer: String? = nil, addresses: Set<String>? = nil, ports: Set<Int> = []) {
        self.port = port
        self.ports = ports
        self.peer = peer.map(TraceAddress.canonical)
        self.addresses = addresses.map { Set($0.map(TraceAddress.canonical)) }
    }

    package var isEmpty: Bool { port == nil && peer == nil && addresses == nil && ports.isEmpty }

    package func matches(_ e: ResetEvent) -> Bool {
        if let port, e.sport != port && e.dport != port { return false }
        if !ports.isEmpty && !ports.contains(e.sport) && !ports.contains(e.dport) { return false }
        let srcKnown = !TraceAddress.isWildcard(e.src)
        let dstKnown = !(TraceAddress.isWildcard(e.dst) && e.dport == 0)
        if let peer {
            // A listener RST's peer is unknown unless a join found it: keep it.
            let hit = (srcKnown && e.src == peer) || (dstKnown && e.dst == peer)
            if !hit && (srcKnown && dstKnown) { return false }
            if !hit && !e.listener { return false }
        }
        if addresses != nil, !isHere(e) { return false }
        return true
    }

    /// Whether the event happened in the watched namespace. The tcp tracepoints are global: every
    /// namespace of the machine reports through them, and they carry no namespace. What places an
    /// event is its local side: a sent RST leaves from its `src`, a received one arrives at its
    /// `dst`. The other side's address says nothing (a RST this namespace sent is also received,
    /// and traced, in the peer's namespace when the peer is on this machine).
    package func isHere(_ e: ResetEvent) -> Bool {
        guard addresses != nil else { return true }
        let local = e.direction == .sent ? e.src : e.dst
        // A listener RST printed with the listener's wildcard address cannot be placed by address:
        // it is kept (marked as a listener RST); its port was already matched above.
        if e.direction == .sent && TraceAddress.isWildcard(local) { return e.listener }
        return holds(local)
    }

    /// Whether a local address (canonical) is the watched namespace's: one of its addresses, a loopback
    /// one only where `loopbackHere`; any address without an address restriction.
    package func holds(_ local: String) -> Bool {
        guard let addresses else { return true }
        if TraceAddress.isLoopback(local) { return loopbackHere }
        return addresses.contains(local)
    }
}
