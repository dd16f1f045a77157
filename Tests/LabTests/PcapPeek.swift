import Foundation

/// One frame of a lab capture, decoded just enough to check that a fault happened on the wire.
struct Frame: Sendable, CustomStringConvertible {
    var number: Int
    var time: Double
    var srcMAC: String
    var isARP: Bool
    var arpOp: Int?
    var src: String
    var dst: String
    var ttl: Int
    var flowLabel: UInt32?
    var sport: Int
    var dport: Int
    var flags: UInt8
    var seq: UInt32
    var ack: UInt32
    var window: Int
    var payload: Int
    var tcpOptions: Int

    var isTCP: Bool { !isARP && sport != 0 }
    var rst: Bool { flags & 0x04 != 0 }
    var syn: Bool { flags & 0x02 != 0 }
    var fin: Bool { flags & 0x01 != 0 }
    var hasACK: Bool { flags & 0x10 != 0 }
    var flagText: String {
        var s = ""
        for (bit, c) in [(UInt8(0x02), "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x10, "A")] where flags & bit != 0 { s += c }
        return s
    }
    var description: String {
        isARP ? "#\(number) ARP op \(arpOp ?? 0) from \(srcMAC)"
            : "#\(number) \(src):\(sport) > \(dst):\(dport) [\(flagText)] seq \(seq) ack \(ack) win \(window) len \(payload) ttl \(ttl) mac \(srcMAC)"
    }
}

/// A minimal reader for the lab's own captures (pcap, Ethernet, IPv4/IPv6, TCP, ARP). It exists to
/// verify the scenarios; rstdoctor's real decoder lives in Sources/RSTDCapture.
enum PcapPeek {
    static func read(_ url: URL) -> [Frame] {
        guard let data = try? Data(contentsOf: url), data.count >= 24 else { return [] }
        let b = [UInt8](data)
        let magicLE = b[0] == 0xD4 && b[1] == 0xC3 || b[0] == 0x4D && b[1] == 0x3C
        let nano = b[0] == 0x4D || b[3] == 0x4D
        func u32(_ o: Int) -> UInt32 {
            guard o + 4 <= b.count else { return 0 }
            return magicLE
                ? UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
                : UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
        }
        func be16(_ o: Int) -> Int { o + 2 <= b.count ? Int(b[o]) << 8 | Int(b[o + 1]) : 0 }
        func be32(_ o: Int) -> UInt32 {
            o + 4 <= b.count ? UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3]) : 0
        }
        guard u32(20) == 1 else { return [] }   // Ethernet only: the lab captures on a veth
        var frames: [Frame] = []
        var off = 24, n = 0
        while off + 16 <= b.count {
            let sec = Double(u32(off)), frac = Double(u32(off + 4)), cap = Int(u32(off + 8))
            let start = off + 16
            off = start + cap
            n += 1
            guard cap >= 14, off <= b.count else { break }
            let mac = (6..<12).map { String(format: "%02x", b[start + $0]) }.joined(separator: ":")
            var f = Frame(number: n, time: sec + frac / (nano ? 1e9 : 1e6), srcMAC: mac, isARP: false, arpOp: nil,
                          src: "", dst: "", ttl: 0, flowLabel: nil, sport: 0, dport: 0, flags: 0, seq: 0, ack: 0,
                          window: 0, payload: 0, tcpOptions: 0)
            let type = be16(start + 12)
            var l4 = 0, l4end = 0
            if type == 0x0806 {
                f.isARP = true
                f.arpOp = be16(start + 14 + 6)
                frames.append(f)
                continue
            } else if type == 0x0800, cap >= 34 {
                let ip = start + 14
                let ihl = Int(b[ip] & 0x0F) * 4
                guard b[ip + 9] == 6 else { frames.append(f); continue }
                f.ttl = Int(b[ip + 8])
                f.src = (12..<16).map { String(b[ip + $0]) }.joined(separator: ".")
                f.dst = (16..<20).map { String(b[ip + $0]) }.joined(separator: ".")
                l4 = ip + ihl
                l4end = min(ip + be16(ip + 2), off)
            } else if type == 0x86DD, cap >= 54 {
                let ip = start + 14
                guard b[ip + 6] == 6 else { frames.append(f); continue }   // no extension headers in the lab
                f.flowLabel = be32(ip) & 0xFFFFF
                f.ttl = Int(b[ip + 7])
                f.src = v6(Array(b[(ip + 8)..<(ip + 24)]))
                f.dst = v6(Array(b[(ip + 24)..<(ip + 40)]))
                l4 = ip + 40
                l4end = min(l4 + be16(ip + 4), off)
            } else {
                frames.append(f)
                continue
            }
            guard l4 + 20 <= off else { frames.append(f); continue }
            f.sport = be16(l4); f.dport = be16(l4 + 2)
            f.seq = be32(l4 + 4); f.ack = be32(l4 + 8)
            let doff = Int(b[l4 + 12] >> 4) * 4
            f.flags = b[l4 + 13]
            f.window = be16(l4 + 14)
            f.tcpOptions = max(0, doff - 20)
            f.payload = max(0, l4end - l4 - doff)
            frames.append(f)
        }
        return frames
    }

    private static func v6(_ bytes: [UInt8]) -> String {
        var addr = in6_addr()
        withUnsafeMutableBytes(of: &addr) { raw in for (i, x) in bytes.prefix(16).enumerated() { raw[i] = x } }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count))
        return String(cString: buf)
    }
}
