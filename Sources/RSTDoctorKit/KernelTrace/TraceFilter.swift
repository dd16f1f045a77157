import Foundation

/// Which resets to keep: by port, peer address, or a set of local addresses (a network
/// namespace's). Applied after the joins, so a listener RST (printed with a wildcard address)
/// is kept when its port matches and its peer is unknown rather than silently dropped.
public struct TraceFilter: Sendable, Hashable {
    public var port: Int?
    public var peer: String?
    /// Addresses of the namespace being watched; empty = no address restriction.
    public var addresses: Set<String>

    public init(port: Int? = nil, peer: String? = nil, addresses: Set<String> = []) {
        self.port = port
        self.peer = peer.map(TraceAddress.canonical)
        self.addresses = Set(addresses.map(TraceAddress.canonical))
    }

    public var isEmpty: Bool { port == nil && peer == nil && addresses.isEmpty }

    public func matches(_ e: ResetEvent) -> Bool {
        if let port, e.sport != port && e.dport != port { return false }
        let srcKnown = !TraceAddress.isWildcard(e.src)
        let dstKnown = !(TraceAddress.isWildcard(e.dst) && e.dport == 0)
        if let peer {
            // A listener RST's peer is unknown unless a join found it: keep it.
            let hit = (srcKnown && e.src == peer) || (dstKnown && e.dst == peer)
            if !hit && (srcKnown && dstKnown) { return false }
            if !hit && !e.listener { return false }
        }
        if !addresses.isEmpty {
            let hit = (srcKnown && addresses.contains(e.src)) || (dstKnown && addresses.contains(e.dst))
            // A wildcard listener RST cannot be placed in a namespace: keep it (marked as listener).
            if !hit && !(e.listener && !srcKnown) { return false }
        }
        return true
    }
}
