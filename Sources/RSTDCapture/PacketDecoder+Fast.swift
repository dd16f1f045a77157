import RSTDCore

/// The fields both of `PacketDecoder`'s paths write, and its fast path: the common frame (Ethernet
/// without tags, IPv4 without options or IPv6 without extension headers, not a fragment, a whole
/// TCP header) decoded without the general path's walk through link types, tunnels and headers.
/// The fast path checks everything before it writes anything: a frame it declines goes to the
/// general path untouched, and a frame it takes is decoded as the general path decodes it (the
/// same helpers; PacketDecoderFastPathTests compares the two on every frame of the fixtures).
extension PacketDecoder {
    /// The Ethernet/IPv4/TCP or Ethernet/IPv6/TCP frame, or false for the general path to decide.
    @inline(__always)
    static func ethernetTCP(_ b: UnsafeRawBufferPointer, _ p: inout DecodedPacket) -> Bool {
        let n = b.count
        guard n >= 54 else { return false }
        var end = n
        let tcp: Int
        // The ethertype compared as it lies in memory (the constants are swapped when compiled).
        let type = b.loadUnaligned(fromByteOffset: 12, as: UInt16.self)
        if type == UInt16(0x0800).bigEndian {
            // Version 4 with a 20-byte header, TCP, fragment offset 0, a total length (0 for TSO) that
            // covers the IP header and the fixed TCP header (the general path has the shorter ones).
            let total = Int(be16(b, 16))
            guard b[14] == 0x45, b[23] == 6, be16(b, 20) & 0x1FFF == 0 else { return false }
            if total != 0 {
                guard total >= 40 else { return false }
                end = min(n, 14 &+ total)
            }
            tcp = 34
        } else if type == UInt16(0x86DD).bigEndian {
            // Version 6, next header TCP; payload length 0 is a jumbogram (the captured length counts).
            guard n >= 74, b[14] >> 4 == 6, b[20] == 6 else { return false }
            let plen = Int(be16(b, 18))
            if plen != 0 {
                guard plen >= 20 else { return false }
                end = min(n, 54 &+ plen)
            }
            tcp = 54
        } else {
            return false
        }
        // A data offset of at least 5 words; `end` is past the fixed TCP header (n, total, plen checked).
        guard b[tcp &+ 12] >= 0x50 else { return false }
        // What `reset` clears that the writes below leave alone (written once: the loads from the
        // frame keep the compiler from dropping a store that a later one overwrites).
        p.ifindex = -1
        p.packetType = PacketType.unknown
        p.tunnel = .none
        p.hasTimestamps = false
        p.wscale = 0xFF
        // The source MAC as `setMAC` reads it, in one load (the frame is longer than 14 bytes).
        p.srcMAC = be64(b, 6) >> 16
        p.hasMAC = true
        if tcp == 34 {
            ipv4Fields(b, 14, be16(b, 20), &p)
        } else {
            ipv6Fields(b, 14, be32(b, 14), &p)
        }
        tcpRest(b, tcp, tcpHeader(b, tcp, &p), end, &p)
        return true
    }

    /// What every frame starts from: the fields that a link, IP or TCP header may leave unset.
    @inline(__always) static func reset(_ p: inout DecodedPacket) {
        p.hasMAC = false
        p.ifindex = -1
        p.packetType = PacketType.unknown
        p.tunnel = .none
        p.hasOptions = false
        p.hasTimestamps = false
        p.wscale = 0xFF
        p.flowLabel = 0
        p.ipID = 0
        p.dontFragment = false
    }

    /// The source MAC at `off`, when the frame holds all of it.
    @inline(__always) static func setMAC(_ b: UnsafeRawBufferPointer, _ off: Int, _ p: inout DecodedPacket) {
        guard b.count >= off + 6 else { return }
        p.srcMAC = UInt64(be16(b, off)) << 32 | UInt64(be32(b, off + 2))
        p.hasMAC = true
    }

    /// An IPv4 header's fields at `start` (bounds checked by the caller); `frag` is its flags and offset.
    @inline(__always) static func ipv4Fields(_ b: UnsafeRawBufferPointer, _ start: Int, _ frag: UInt16, _ p: inout DecodedPacket) {
        p.ttl = b[start &+ 8]
        p.ipID = be16(b, start &+ 4)
        p.dontFragment = frag & 0x4000 != 0
        p.flowLabel = 0
        // Stored field by field: IPAddress's initialisers are calls from here (another module).
        p.src.hi = 0
        p.src.lo = UInt64(be32(b, start &+ 12))
        p.src.isV6 = false
        p.dst.hi = 0
        p.dst.lo = UInt64(be32(b, start &+ 16))
        p.dst.isV6 = false
    }

    /// An IPv6 header's fields at `start` (bounds checked by the caller); `w0` is its first word.
    @inline(__always) static func ipv6Fields(_ b: UnsafeRawBufferPointer, _ start: Int, _ w0: UInt32, _ p: inout DecodedPacket) {
        p.ttl = b[start &+ 7]
        p.flowLabel = w0 & 0xFFFFF
        p.ipID = 0
        p.dontFragment = false
        p.src.hi = be64(b, start &+ 8)
        p.src.lo = be64(b, start &+ 16)
        p.src.isV6 = true
        p.dst.hi = be64(b, start &+ 24)
        p.dst.lo = be64(b, start &+ 32)
        p.dst.isV6 = true
    }

    /// The fixed TCP header at `off` (20 bytes, checked by the caller); returns the data offset in bytes.
    @inline(__always) static func tcpHeader(_ b: UnsafeRawBufferPointer, _ off: Int, _ p: inout DecodedPacket) -> Int {
        // Ports, then sequence and acknowledgement numbers, each pair from one load (the compiler
        // stores each pair at once: the fields lie side by side in DecodedPacket too).
        let ports = be32(b, off)
        p.sport = UInt16(truncatingIfNeeded: ports >> 16)
        p.dport = UInt16(truncatingIfNeeded: ports)
        let numbers = be64(b, off &+ 4)
        p.seq = UInt32(truncatingIfNeeded: numbers >> 32)
        p.ack = UInt32(truncatingIfNeeded: numbers)
        p.flags = be16(b, off &+ 12) & 0x0FFF
        p.window = be16(b, off &+ 14)
        return Int(b[off &+ 12] >> 4) &* 4
    }

    /// The options and the payload's place of a TCP header at `off` with data offset `doff` (at least
    /// 20), in an IP packet ending at `end`. `reset` has cleared the option fields.
    @inline(__always)
    static func tcpRest(_ b: UnsafeRawBufferPointer, _ off: Int, _ doff: Int, _ end: Int, _ p: inout DecodedPacket) {
        // Options: what was captured of them; a bad option ends the walk, not the packet.
        let optEnd = min(off &+ doff, end)
        p.hasOptions = doff > 20
        if doff == 32, optEnd == off &+ 32, be32(b, off &+ 20) == 0x0101_080A {
            // NOP, NOP, timestamps: Linux's options on every segment after the handshake (the walk
            // below reads them the same way).
            p.hasTimestamps = true
            p.tsVal = be32(b, off &+ 24)
            p.tsEcr = be32(b, off &+ 28)
        } else if doff > 20 {
            tcpOptions(b, off &+ 20, optEnd, &p)
        }
        let payloadStart = off &+ doff
        p.payloadLength = max(0, end &- payloadStart)
        p.payloadOffset = payloadStart
        p.payloadCaptured = max(0, min(end, b.count) &- payloadStart)
    }

    /// Walks the TCP options in `[start, optEnd)`: timestamps and window scale are kept.
    static func tcpOptions(_ b: UnsafeRawBufferPointer, _ start: Int, _ optEnd: Int, _ p: inout DecodedPacket) {
        var o = start
        while o < optEnd {
            let kind = b[o]
            if kind == 0 { break }
            if kind == 1 { o += 1; continue }
            guard o + 1 < optEnd else { break }
            let len = Int(b[o + 1])
            guard len >= 2, o + len <= optEnd else { break }
            if kind == 8, len == 10 {
                p.hasTimestamps = true
                p.tsVal = be32(b, o + 2)
                p.tsEcr = be32(b, o + 6)
            } else if kind == 3, len == 3 {
                p.wscale = b[o + 2]
            }
            o += len
        }
    }
}
