/// The capture filter of a live capture, built only from validated values (Validate.port / address).
public enum BPFFilter {
    /// TCP, optionally narrowed to a port and a peer address on either side. Plain and 802.1Q-tagged
    /// frames both match. `peer` must come from `Validate.address` (canonical numeric text).
    public static func build(port: UInt16?, peer: String?) -> String {
        var parts = ["tcp"]
        if let port { parts.append("port \(port)") }
        if let peer, IPAddress(peer) != nil { parts.append("host \(peer)") }
        let base = parts.joined(separator: " and ")
        return "(\(base)) or (vlan and \(base))"
    }
}
