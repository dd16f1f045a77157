import RSTDData
import RSTDSystem
import RSTDCore
/// TCP flag bits as they appear in the 12-bit flags field (NS/AE and the reserved bits above 0xFF).
package enum TCPFlag {
    package static let fin: UInt16 = 0x01
    package static let syn: UInt16 = 0x02
    package static let rst: UInt16 = 0x04
    package static let psh: UInt16 = 0x08
    package static let ack: UInt16 = 0x10
    package static let urg: UInt16 = 0x20
    package static let ece: UInt16 = 0x40
    package static let cwr: UInt16 = 0x80
    package static let ae: UInt16 = 0x100

    /// Letters in tcpdump's order (F S R P A U E C, then N for AE/NS): "RA" is RST+ACK. Made once
    /// for each of the 4096 values of the 12-bit field (every one is short: no allocation).
    package static func text(_ f: UInt16) -> String { texts[Int(f & 0xFFF)] }

    private static let texts: [String] = (0..<4096).map { spell(UInt16($0)) }

    private static func spell(_ f: UInt16) -> String {
        var s = ""
        if f & fin != 0 { s += "F" }
        if f & syn != 0 { s += "S" }
        if f & rst != 0 { s += "R" }
        if f & psh != 0 { s += "P" }
        if f & ack != 0 { s += "A" }
        if f & urg != 0 { s += "U" }
        if f & ece != 0 { s += "E" }
        if f & cwr != 0 { s += "C" }
        if f & ae != 0 { s += "N" }
        if f & 0xE00 != 0 { s += "r" }
        return s.isEmpty ? "none" : s
    }
}

/// What carried a packet to us when it came out of a tunnel we opened.
package enum TunnelKind: UInt8, Sendable, CaseIterable {
    case none = 0, ipInIP, gre, erspan, vxlan, gtpu, geneve, mpls, pppoe

    package var name: String {
        switch self {
        case .none: "none"
        case .ipInIP: "IP-in-IP"
        case .gre: "GRE"
        case .erspan: "GRE/ERSPAN"
        case .vxlan: "VXLAN"
        case .gtpu: "GTP-U"
        case .geneve: "Geneve"
        case .mpls: "MPLS"
        case .pppoe: "PPPoE"
        }
    }
}

/// One decoded TCP segment: everything the flow tracker reads, in fixed-size fields (no allocation).
/// The fields are ordered so the small ones fill the padding after the addresses: 128 bytes, copied
/// inline (a packet is copied out of the reader thread's batch; at 145 bytes each copy was a call to
/// memcpy).
package struct DecodedPacket: Sendable {
    /// Frame number counted from 1 in file order, as Wireshark numbers frames.
    package var frame: UInt64 = 0
    /// Seconds since the epoch.
    package var time: Double = 0
    package var src = IPAddress.zero
    /// IPv4 TTL or IPv6 hop limit of the innermost IP header.
    package var ttl: UInt8 = 0
    package var hasMAC = false
    /// Linux cooked (SLL/SLL2) packet type: which way the packet went on the capturing host
    /// (`PacketType`); `PacketType.unknown` for link types that do not say.
    package var packetType: UInt8 = PacketType.unknown
    /// TCP options present (any), and the timestamp option's values when present.
    package var hasOptions = false
    package var hasTimestamps = false
    package var dontFragment = false
    package var tunnel = TunnelKind.none
    package var dst = IPAddress.zero
    /// The window scale option's shift (SYN and SYN-ACK only), or 0xFF when absent.
    package var wscale: UInt8 = 0xFF
    package var sport: UInt16 = 0
    package var dport: UInt16 = 0
    package var seq: UInt32 = 0
    package var ack: UInt32 = 0
    package var flags: UInt16 = 0
    package var window: UInt16 = 0
    package var ipID: UInt16 = 0
    /// IPv6 flow label (0 for IPv4).
    package var flowLabel: UInt32 = 0
    /// Interface index from an SLL2 header (captures on `any`), or -1.
    package var ifindex: Int32 = -1
    package var tsVal: UInt32 = 0
    package var tsEcr: UInt32 = 0
    /// Source MAC of the innermost link header that had one (Ethernet, SLL), 48 bits.
    package var srcMAC: UInt64 = 0
    /// TCP payload length from the IP length fields (may exceed what was captured).
    package var payloadLength: Int = 0
    /// Offset and length of the captured part of the payload in the frame buffer.
    package var payloadOffset: Int = 0
    package var payloadCaptured: Int = 0

    package init() {}

    package var isRST: Bool { flags & TCPFlag.rst != 0 }
}

/// The packet types of Linux cooked captures (`-i any`): the kernel's PACKET_* values.
package enum PacketType {
    /// Addressed to the capturing host.
    package static let host: UInt8 = 0
    package static let broadcast: UInt8 = 1
    package static let multicast: UInt8 = 2
    /// Addressed to another host (promiscuous, bridged).
    package static let otherHost: UInt8 = 3
    /// Sent by the capturing host: built by it, or forwarded.
    package static let outgoing: UInt8 = 4
    /// Not a cooked capture: the direction is not known.
    package static let unknown: UInt8 = 0xFF

    /// Received (a copy of a packet arriving on an interface).
    @inline(__always) package static func isIncoming(_ t: UInt8) -> Bool { t <= otherHost }
    /// "in", "out", or nil when the capture does not say.
    package static func direction(_ t: UInt8) -> String? { t == outgoing ? "out" : (isIncoming(t) ? "in" : nil) }
}

/// What the decoder made of one frame.
package enum DecodeOutcome: UInt8, Sendable {
    /// A TCP segment: the packet is filled in.
    case tcp
    /// IP, but not TCP (UDP, ICMP…), or a non-IP frame (ARP, LLDP…).
    case notTCP
    /// A non-first IP fragment: no TCP header in it.
    case fragment
    /// Cut short or inconsistent headers: counted as malformed and skipped.
    case malformed
    /// A link type this decoder does not read.
    case unsupportedLink
    /// An encapsulation this decoder does not open (ESP, unknown GRE payload…).
    case undecodedEncapsulation
}

/// Link-layer header types (pcap DLT values as libpcap reports them on Linux).
package enum LinkType {
    package static let null: Int32 = 0
    package static let ethernet: Int32 = 1
    package static let fddi: Int32 = 10
    package static let raw: Int32 = 12
    package static let rawOpenBSD: Int32 = 14
    package static let rawLinktype: Int32 = 101
    package static let loop: Int32 = 108
    package static let linuxSLL: Int32 = 113
    package static let ipv4: Int32 = 228
    package static let ipv6: Int32 = 229
    package static let nflog: Int32 = 239
    package static let linuxSLL2: Int32 = 276

    /// Whether `PacketDecoder` reads this link type.
    package static func isDecoded(_ t: Int32) -> Bool {
        [null, ethernet, fddi, raw, rawOpenBSD, rawLinktype, loop, linuxSLL, ipv4, ipv6, nflog, linuxSLL2].contains(t)
    }
}

/// Encapsulations the decoder recognises but does not open; reported as "not decoded".
package enum UndecodedKind: UInt8, Sendable, CaseIterable {
    case none = 0, esp, greOther, tunnelDepth, linkType

    package var name: String {
        switch self {
        case .none: "none"
        case .esp: "IPsec ESP (encrypted)"
        case .greOther: "GRE with an unknown payload type"
        case .tunnelDepth: "tunnels nested too deep"
        case .linkType: "link type"
        }
    }
}
