import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Decodes one captured frame down to its TCP header with hand-checked loads from the buffer:
/// Ethernet (802.1Q, QinQ, LLC/SNAP, PPPoE, MPLS), Linux cooked SLL/SLL2, raw IPv4/IPv6, BSD
/// loopback/null, FDDI, NFLOG; IPv4 options, IPv6 extension headers; IP-in-IP, GRE (ERSPAN, TEB),
/// VXLAN, GTP-U and Geneve tunnels (the inner packet is the one tracked). No allocation.
package struct PacketDecoder: Sendable {
    package let linkType: Int32
    /// Set when `decode` returns `.undecodedEncapsulation`.
    package private(set) var undecoded = UndecodedKind.none

    private static let maxTunnelDepth = 4

    package init(linkType: Int32) { self.linkType = linkType }

    package mutating func decode(_ buf: UnsafeRawBufferPointer, into p: inout DecodedPacket) -> DecodeOutcome {
        undecoded = .none
        // The common frame first (PacketDecoder+Fast.swift): the same fields, without the walk.
        if linkType == LinkType.ethernet, Self.ethernetTCP(buf, &p) { return .tcp }
        return decodeGeneral(buf, into: &p)
    }

    /// Every link type, tunnel and header the decoder reads (internal for the tests that hold the
    /// fast path to it).
    @inline(never)
    mutating func decodeGeneral(_ buf: UnsafeRawBufferPointer, into p: inout DecodedPacket) -> DecodeOutcome {
        Self.reset(&p)
        switch linkType {
        case LinkType.ethernet:
            return ethernet(buf, 0, &p, depth: 0)
        case LinkType.linuxSLL:
            // 16 bytes: packet type, ARPHRD, address length, 8 address bytes, protocol.
            guard buf.count >= 16 else { return .malformed }
            let ptype = be16(buf, 0)
            // Unknown values (above 7) say nothing about direction.
            p.packetType = ptype <= 7 ? UInt8(ptype) : PacketType.unknown
            let hatype = be16(buf, 2)
            let alen = Int(be16(buf, 4))
            if hatype == 1 || hatype == 772, alen == 6 { Self.setMAC(buf, 6, &p) }
            return ethertype(be16(buf, 14), buf, 16, &p, depth: 0)
        case LinkType.linuxSLL2:
            // 20 bytes: protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes.
            guard buf.count >= 20 else { return .malformed }
            p.ifindex = Int32(bitPattern: be32(buf, 4))
            p.packetType = buf[10] <= 7 ? buf[10] : PacketType.unknown
            let hatype = be16(buf, 8)
            if hatype == 1 || hatype == 772, buf[11] == 6 { Self.setMAC(buf, 12, &p) }
            return ethertype(be16(buf, 0), buf, 20, &p, depth: 0)
        case LinkType.raw, LinkType.rawOpenBSD, LinkType.rawLinktype:
            guard buf.count >= 1 else { return .malformed }
            switch buf[0] >> 4 {
            case 4: return ipv4(buf, 0, &p, depth: 0)
            case 6: return ipv6(buf, 0, &p, depth: 0)
            default: return .malformed
            }
        case LinkType.ipv4:
            return ipv4(buf, 0, &p, depth: 0)
        case LinkType.ipv6:
            return ipv6(buf, 0, &p, depth: 0)
        case LinkType.null, LinkType.loop:
            // The address family, in the capturing host's byte order for NULL, network order for LOOP.
            guard buf.count >= 4 else { return .malformed }
            let le = UInt32(buf[0]) | UInt32(buf[1]) << 8 | UInt32(buf[2]) << 16 | UInt32(buf[3]) << 24
            let family = linkType == LinkType.loop ? be32(buf, 0) : (le > 0xFFFF ? be32(buf, 0) : le)
            switch family {
            case 2: return ipv4(buf, 4, &p, depth: 0)
            case 10, 24, 28, 30: return ipv6(buf, 4, &p, depth: 0)
            default: return .notTCP
            }
        case LinkType.fddi:
            // Frame control, two addresses, then 802.2 LLC (SNAP carries the ethertype).
            guard buf.count >= 13 else { return .malformed }
            Self.setMAC(buf, 7, &p)
            return llc(buf, 13, &p, depth: 0)
        case LinkType.nflog:
            return nflog(buf, &p)
        default:
            undecoded = .linkType
            return .unsupportedLink
        }
    }

    // MARK: link layers

    private mutating func ethernet(_ b: UnsafeRawBufferPointer, _ start: Int, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        guard b.count >= start + 14 else { return .malformed }
        Self.setMAC(b, start + 6, &p)
        return ethertype(be16(b, start + 12), b, start + 14, &p, depth: depth)
    }

    private mutating func ethertype(_ type0: UInt16, _ b: UnsafeRawBufferPointer, _ start: Int, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        var type = type0
        var off = start
        var tags = 0
        // 802.1Q, 802.1ad and the pre-standard QinQ tags, stacked.
        while type == 0x8100 || type == 0x88A8 || type == 0x9100 || type == 0x9200 {
            tags += 1
            guard tags <= 8, b.count >= off + 4 else { return .malformed }
            type = be16(b, off + 2)
            off += 4
        }
        if type <= 1500 { return llc(b, off, &p, depth: depth) }
        switch type {
        case 0x0800: return ipv4(b, off, &p, depth: depth)
        case 0x86DD: return ipv6(b, off, &p, depth: depth)
        case 0x8847, 0x8848: return mpls(b, off, &p, depth: depth)
        case 0x8864:
            // PPPoE session: 6-byte header, then the PPP protocol.
            guard b.count >= off + 8 else { return .malformed }
            mark(.pppoe, &p)
            switch be16(b, off + 6) {
            case 0x0021: return ipv4(b, off + 8, &p, depth: depth)
            case 0x0057: return ipv6(b, off + 8, &p, depth: depth)
            default: return .notTCP
            }
        default: return .notTCP
        }
    }

    private mutating func llc(_ b: UnsafeRawBufferPointer, _ off: Int, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        guard b.count >= off + 3 else { return .malformed }
        guard b[off] == 0xAA, b[off + 1] == 0xAA, b[off + 2] == 0x03 else { return .notTCP }
        guard b.count >= off + 8 else { return .malformed }
        let type = be16(b, off + 6)
        guard type > 1500 else { return .notTCP }
        return ethertype(type, b, off + 8, &p, depth: depth)
    }

    private mutating func mpls(_ b: UnsafeRawBufferPointer, _ start: Int, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        var off = start
        mark(.mpls, &p)
        for _ in 0..<16 {
            guard b.count >= off + 4 else { return .malformed }
            let bottom = b[off + 2] & 1 != 0
            off += 4
            if bottom {
                guard b.count > off else { return .malformed }
                switch b[off] >> 4 {
                case 4: return ipv4(b, off, &p, depth: depth)
                case 6: return ipv6(b, off, &p, depth: depth)
                default: return .notTCP
                }
            }
        }
        return .malformed
    }

    private mutating func nflog(_ b: UnsafeRawBufferPointer, _ p: inout DecodedPacket) -> DecodeOutcome {
        // 4-byte header (family, version, resource id), then TLVs with host-order (little-endian
        // on the hosts that write these) 16-bit length and type; type 9 is the packet payload.
        guard b.count >= 4 else { return .malformed }
        let family = b[0]
        var off = 4
        while off + 4 <= b.count {
            let len = Int(UInt16(b[off]) | UInt16(b[off + 1]) << 8)
            let type = UInt16(b[off + 2]) | UInt16(b[off + 3]) << 8
            guard len >= 4, off + len <= b.count else { return .malformed }
            if type & 0x7FFF == 9 {
                let payload = UnsafeRawBufferPointer(rebasing: b[(off + 4)..<(off + len)])
                guard let first = payload.first else { return .malformed }
                if family == 2 || first >> 4 == 4 { return ipv4(payload, 0, &p, depth: 0) }
                return ipv6(payload, 0, &p, depth: 0)
            }
            off += (len + 3) & ~3
        }
        return .notTCP
    }

    // MARK: IP

    private mutating func ipv4(_ b: UnsafeRawBufferPointer, _ start: Int, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        guard b.count >= start + 20 else { return .malformed }
        let vihl = b[start]
        guard vihl >> 4 == 4 else { return .malformed }
        let ihl = Int(vihl & 0x0F) * 4
        guard ihl >= 20, b.count >= start + ihl else { return .malformed }
        let total = Int(be16(b, start + 2))
        // A total length of 0 is what TSO captures carry: trust the captured length then.
        var end = b.count
        if total != 0 {
            guard total >= ihl else { return .malformed }
            end = min(b.count, start + total)
        }
        let frag = be16(b, start + 6)
        Self.ipv4Fields(b, start, frag, &p)
        if frag & 0x1FFF != 0 { return .fragment }
        return transport(b[start + 9], b, start + ihl, end, &p, depth: depth)
    }

    private mutating func ipv6(_ b: UnsafeRawBufferPointer, _ start: Int, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        guard b.count >= start + 40 else { return .malformed }
        let w0 = be32(b, start)
        guard w0 >> 28 == 6 else { return .malformed }
        let plen = Int(be16(b, start + 4))
        // Payload length 0 means a jumbogram (BIG TCP): the captured length is all we have.
        let end = plen == 0 ? b.count : min(b.count, start + 40 + plen)
        var next = b[start + 6]
        Self.ipv6Fields(b, start, w0, &p)
        var off = start + 40
        // Each header is at least 8 bytes and `end` bounds the walk; the count only stops loops.
        for _ in 0..<64 {
            switch next {
            case 0, 43, 60, 135, 139, 140:
                // Hop-by-hop, routing, destination options, mobility, HIP, shim6: length in 8-byte units.
                guard end >= off + 2 else { return .malformed }
                let len = (Int(b[off + 1]) + 1) * 8
                next = b[off]
                off += len
                guard off <= end else { return .malformed }
            case 44:
                guard end >= off + 8 else { return .malformed }
                let fo = be16(b, off + 2)
                next = b[off]
                off += 8
                if fo & 0xFFF8 != 0 { return .fragment }
            case 51:
                guard end >= off + 2 else { return .malformed }
                let len = (Int(b[off + 1]) + 2) * 4
                next = b[off]
                off += len
                guard off <= end else { return .malformed }
            default:
                return transport(next, b, off, end, &p, depth: depth)
            }
        }
        return .malformed
    }

    private mutating func transport(_ proto: UInt8, _ b: UnsafeRawBufferPointer, _ off: Int, _ end: Int, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        switch proto {
        case 6:
            return tcp(b, off, end, &p)
        case 4, 41:
            guard depth < Self.maxTunnelDepth else { undecoded = .tunnelDepth; return .undecodedEncapsulation }
            mark(.ipInIP, &p)
            let inner = UnsafeRawBufferPointer(rebasing: b[off..<max(off, end)])
            return proto == 4 ? ipv4(inner, 0, &p, depth: depth + 1) : ipv6(inner, 0, &p, depth: depth + 1)
        case 47:
            guard depth < Self.maxTunnelDepth else { undecoded = .tunnelDepth; return .undecodedEncapsulation }
            return gre(UnsafeRawBufferPointer(rebasing: b[off..<max(off, end)]), &p, depth: depth + 1)
        case 17:
            return udp(b, off, end, &p, depth: depth)
        case 51:
            // IPv4 AH: skip it, the payload is in clear.
            guard end >= off + 2 else { return .malformed }
            let len = (Int(b[off + 1]) + 2) * 4
            guard off + len <= end else { return .malformed }
            return transport(b[off], b, off + len, end, &p, depth: depth)
        case 50:
            undecoded = .esp
            return .undecodedEncapsulation
        default:
            return .notTCP
        }
    }

    private mutating func gre(_ b: UnsafeRawBufferPointer, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        guard b.count >= 4 else { return .malformed }
        let flags = be16(b, 0)
        let type = be16(b, 2)
        var off = 4
        if flags & 0x8000 != 0 { off += 4 }  // checksum + reserved
        if flags & 0x2000 != 0 { off += 4 }  // key
        let hasSeq = flags & 0x1000 != 0
        if hasSeq { off += 4 }
        guard b.count >= off else { return .malformed }
        mark(.gre, &p)
        switch type {
        case 0x0800: return ipv4(b, off, &p, depth: depth)
        case 0x86DD: return ipv6(b, off, &p, depth: depth)
        case 0x6558: return ethernet(b, off, &p, depth: depth)
        case 0x88BE:
            // ERSPAN type II has an 8-byte header (type I, without the sequence bit, has none).
            p.tunnel = .erspan
            return ethernet(b, hasSeq ? off + 8 : off, &p, depth: depth)
        case 0x22EB:
            // ERSPAN type III: 12 bytes, plus an 8-byte platform sub-header when the O bit is set.
            guard b.count >= off + 12 else { return .malformed }
            p.tunnel = .erspan
            let o = b[off + 11] & 0x01 != 0
            return ethernet(b, off + 12 + (o ? 8 : 0), &p, depth: depth)
        default:
            undecoded = .greOther
            return .undecodedEncapsulation
        }
    }

    private mutating func udp(_ b: UnsafeRawBufferPointer, _ off: Int, _ end: Int, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        guard end >= off + 8, depth < Self.maxTunnelDepth else { return .notTCP }
        let sport = be16(b, off)
        let dport = be16(b, off + 2)
        let inner = UnsafeRawBufferPointer(rebasing: b[(off + 8)..<end])
        // A tunnel port is only a hint: if the inner frame does not decode, this is plain UDP.
        var q = p
        var outcome = DecodeOutcome.notTCP
        if dport == 4789 || dport == 8472 || sport == 4789 {
            guard inner.count >= 8, inner[0] & 0x08 != 0 else { return .notTCP }
            mark(.vxlan, &q)
            outcome = ethernet(UnsafeRawBufferPointer(rebasing: inner[8...]), 0, &q, depth: depth + 1)
        } else if dport == 2152 || sport == 2152 {
            outcome = gtpu(inner, &q, depth: depth + 1)
        } else if dport == 6081 {
            guard inner.count >= 8 else { return .notTCP }
            let optLen = Int(inner[0] & 0x3F) * 4
            let proto = be16(inner, 2)
            guard inner.count >= 8 + optLen else { return .notTCP }
            mark(.geneve, &q)
            let payload = UnsafeRawBufferPointer(rebasing: inner[(8 + optLen)...])
            outcome = proto == 0x6558 ? ethernet(payload, 0, &q, depth: depth + 1) : ethertype(proto, payload, 0, &q, depth: depth + 1)
        } else {
            return .notTCP
        }
        if outcome == .tcp || outcome == .fragment {
            p = q
            return outcome
        }
        return .notTCP
    }

    private mutating func gtpu(_ b: UnsafeRawBufferPointer, _ p: inout DecodedPacket, depth: Int) -> DecodeOutcome {
        guard b.count >= 8 else { return .notTCP }
        let f = b[0]
        guard f >> 5 == 1, b[1] == 0xFF else { return .notTCP }  // version 1, G-PDU
        var off = 8
        if f & 0x07 != 0 {
            guard b.count >= 12 else { return .notTCP }
            var nextExt = b[11]
            off = 12
            while nextExt != 0 {
                guard b.count > off else { return .notTCP }
                let len = Int(b[off]) * 4
                guard len > 0, b.count >= off + len else { return .notTCP }
                nextExt = b[off + len - 1]
                off += len
            }
        }
        guard b.count > off else { return .notTCP }
        mark(.gtpu, &p)
        switch b[off] >> 4 {
        case 4: return ipv4(b, off, &p, depth: depth)
        case 6: return ipv6(b, off, &p, depth: depth)
        default: return .notTCP
        }
    }

    // MARK: TCP

    private func tcp(_ b: UnsafeRawBufferPointer, _ off: Int, _ end: Int, _ p: inout DecodedPacket) -> DecodeOutcome {
        guard end >= off + 20 else { return .malformed }
        let doff = Self.tcpHeader(b, off, &p)
        guard doff >= 20 else { return .malformed }
        Self.tcpRest(b, off, doff, end, &p)
        return .tcp
    }

    // MARK: helpers

    @inline(__always) private func mark(_ k: TunnelKind, _ p: inout DecodedPacket) {
        if p.tunnel == .none || p.tunnel == .mpls || p.tunnel == .pppoe { p.tunnel = k }
    }
}

// Callers check bounds before these loads.
@inline(__always) func be16(_ b: UnsafeRawBufferPointer, _ off: Int) -> UInt16 {
    UInt16(bigEndian: b.loadUnaligned(fromByteOffset: off, as: UInt16.self))
}

@inline(__always) func be32(_ b: UnsafeRawBufferPointer, _ off: Int) -> UInt32 {
    UInt32(bigEndian: b.loadUnaligned(fromByteOffset: off, as: UInt32.self))
}

@inline(__always) func be64(_ b: UnsafeRawBufferPointer, _ off: Int) -> UInt64 {
    UInt64(bigEndian: b.loadUnaligned(fromByteOffset: off, as: UInt64.self))
}
