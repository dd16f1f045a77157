import RSTDData
import RSTDSystem
import RSTDCore
/// Recent incoming TCP segments of a cooked (`-i any`) capture, so that the outgoing copy of a segment
/// the capturing host forwards can be recognised: a forwarding host sees each forwarded packet twice,
/// in on one interface, then out on another. A segment it sends without such an incoming copy was
/// built by the host itself. Direct-mapped (one slot per hash, newcomers overwrite): fixed memory,
/// and the copy follows its original within microseconds, long before the slot is reused.
struct ForwardedCopies {
    /// What is kept of an incoming segment.
    struct Entry {
        var tag: UInt64 = 0
        var time: Double = 0
        var ifindex: Int32 = -1
        /// For a RST: its class and its index in the listed records (-1 when not listed).
        var rstClass: UInt8 = 0
        var listed: Int32 = -1
    }

    private var entries: ContiguousArray<Entry>
    private let mask: Int
    /// How long after the incoming copy the outgoing one may come.
    static let window = 1.0

    init(slots: Int = 4096) {
        var n = 64
        while n < slots { n <<= 1 }
        entries = ContiguousArray(repeating: Entry(), count: n)
        mask = n - 1
    }

    /// The segment's identity: the TCP fields a router does not change. Not the addresses or ports,
    /// which NAT rewrites (a DNAT node forwards a backend's RST with the service address as its
    /// source: keyed by address, that copy would look built here); not TTL or checksums. Sequence and
    /// acknowledgment numbers are random 32-bit values, so two different segments with the same
    /// seq, ack, flags, window and length within the one-second window are not expected. Never 0 (0
    /// marks an empty slot).
    @inline(__always)
    static func tag(_ p: DecodedPacket) -> UInt64 {
        var h = (UInt64(p.seq) << 32 | UInt64(p.ack)) &* 0x9E37_79B9_7F4A_7C15
        h ^= (UInt64(p.flags) << 48 | UInt64(p.window) << 32 | UInt64(truncatingIfNeeded: p.payloadLength) << 1) &* 0xC2B2_AE3D_27D4_EB4F
        h = (h ^ (h >> 31)) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        return h == 0 ? 1 : h
    }

    /// Remembers an incoming segment.
    @inline(__always)
    mutating func noteIncoming(_ tag: UInt64, time: Double, ifindex: Int32, rstClass: UInt8 = 0, listed: Int32 = -1) {
        entries[Int(truncatingIfNeeded: tag) & mask] = Entry(tag: tag, time: time, ifindex: ifindex, rstClass: rstClass, listed: listed)
    }

    /// The incoming original of an outgoing segment, if it came in just before on another interface
    /// (or the capture does not name interfaces); taken out, so a second copy is not matched again.
    @inline(__always)
    mutating func takeOriginal(_ tag: UInt64, time: Double, ifindex: Int32) -> Entry? {
        let i = Int(truncatingIfNeeded: tag) & mask
        let e = entries[i]
        guard e.tag == tag, time >= e.time, time - e.time <= Self.window else { return nil }
        // The same interface in and out is a loopback, not forwarding.
        if ifindex >= 0, e.ifindex >= 0, ifindex == e.ifindex { return nil }
        entries[i].tag = 0
        return e
    }
}
