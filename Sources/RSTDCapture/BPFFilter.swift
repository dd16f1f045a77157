import CPcap
import RSTDData
import RSTDSystem
import RSTDCore

/// The capture filter of a live capture, built only from validated values (Validate.port / address).
package enum BPFFilter {
    /// TCP, optionally narrowed to a port and a peer address on either side. On Ethernet, 802.1Q-tagged
    /// frames match too (`vlan` only compiles there). `peer` must come from `Validate.address`.
    package static func build(port: UInt16?, peer: String?, linkType: Int32 = LinkType.ethernet) -> String {
        var parts = ["tcp"]
        if let port { parts.append("port \(port)") }
        if let peer, IPAddress(peer) != nil { parts.append("host \(peer)") }
        let base = parts.joined(separator: " and ")
        return linkType == LinkType.ethernet ? "(\(base)) or (vlan and \(base))" : base
    }
}

extension BPFFilter {
    /// Compiles `filter` for a link type without opening anything; nil when it compiles, else libpcap's complaint.
    package static func compileError(_ filter: String, linkType: Int32 = LinkType.ethernet) -> String? {
        guard let p = pcap_open_dead(linkType, 262_144) else { return "libpcap could not create a handle" }
        defer { pcap_close(p) }
        var prog = bpf_program()
        guard pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else { return String(cString: pcap_geterr(p)) }
        pcap_freecode(&prog)
        return nil
    }
}
