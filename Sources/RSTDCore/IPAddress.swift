import Foundation

/// An IPv4 or IPv6 address in 17 bytes, cheap to hash and compare (flow keys are built per packet).
package struct IPAddress: Hashable, Sendable, Comparable {
    /// High and low 64 bits of the address; an IPv4 address lives in the low 32 bits of `lo`.
    package var hi: UInt64
    package var lo: UInt64
    package var isV6: Bool

    package init(v4: UInt32) {
        hi = 0
        lo = UInt64(v4)
        isV6 = false
    }

    package init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
        isV6 = true
    }

    package static let zero = IPAddress(v4: 0)

    /// Parses numeric text (IPv4 or IPv6), as validated by `Validate.address`.
    package init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(v4: UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { l = l << 8 | UInt64(bytes[i]) }
        self.init(hi: h, lo: l)
    }

    package static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.isV6 != b.isV6 { return !a.isV6 }
        if a.hi != b.hi { return a.hi < b.hi }
        return a.lo < b.lo
    }

    /// Writes an IPv4 address in dotted decimal (no leading zeros, as inet_ntop) into `p`, which has
    /// room for 15 bytes; returns how many it wrote.
    @inlinable package static func writeDotted(_ v: UInt32, into p: UnsafeMutablePointer<UInt8>) -> Int {
        // Unrolled, unchecked arithmetic: every value here is below 256 (capture records print many).
        var n = writeOctet(UInt8(truncatingIfNeeded: v &>> 24), into: p)
        for shift: UInt32 in [16, 8, 0] {
            p[n] = 0x2E
            n &+= 1 &+ writeOctet(UInt8(truncatingIfNeeded: v &>> shift), into: p + (n &+ 1))
        }
        return n
    }

    /// One octet in decimal without leading zeros; returns how many digits it wrote.
    @inlinable @inline(__always) static func writeOctet(_ octet: UInt8, into p: UnsafeMutablePointer<UInt8>) -> Int {
        var b = octet
        var n = 0
        if b >= 100 {
            let h: UInt8 = b >= 200 ? 2 : 1
            p[0] = 0x30 &+ h
            b &-= h &* 100
            p[1] = 0x30 &+ b / 10
            n = 2
        } else if b >= 10 {
            p[0] = 0x30 &+ b / 10
            n = 1
        }
        p[n] = 0x30 &+ b % 10
        return n &+ 1
    }

    /// The canonical text form (inet_ntop), as tshark and `ss` print it.
    package var text: String {
        if !isV6 {
            // Dotted decimal written as bytes (capture records print thousands of addresses).
            return String(unsafeUninitializedCapacity: 15) { out in
                guard let p = out.baseAddress else { return 0 }
                return Self.writeDotted(UInt32(truncatingIfNeeded: lo), into: p)
            }
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i)))
        }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(AF_INET6, raw.baseAddress, &buf, socklen_t(buf.count)) != nil }
        guard ok else { return "?" }
        return cText(buf)
    }
}

/// A MAC address as 48 bits, rendered like `ip link` does.
package enum MAC {
    package static func text(_ v: UInt64) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(17)
        for i in 0..<6 {
            let b = Int(truncatingIfNeeded: v >> (40 - 8 * UInt64(i))) & 0xFF
            if i > 0 { out.append(0x3A) }
            out.append(hex[b >> 4])
            out.append(hex[b & 0xF])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The text of a NUL-terminated C buffer (libpcap's errbuf).
package func cText(_ buf: [CChar]) -> String {
    let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
