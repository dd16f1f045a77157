import RSTDData
import RSTDSystem
import RSTDCore
/// A TCP connection's 4-tuple with the endpoints in a fixed order, so both directions find one entry.
struct FlowKey: Hashable {
    var a: IPAddress
    var b: IPAddress
    var pa: UInt16
    var pb: UInt16

    /// The key of a packet, and whether the packet goes from `a` to `b` (direction 0) or back (1).
    /// The endpoints compare as `IPAddress <` orders them (v4 before v6, then hi, then lo), written
    /// out here so the comparison is inlined on this per-packet path.
    @inline(__always)
    static func of(_ p: DecodedPacket) -> (FlowKey, Int) {
        let s = p.src, d = p.dst
        let less = s.isV6 != d.isV6 ? !s.isV6 : (s.hi != d.hi ? s.hi < d.hi : s.lo < d.lo)
        let same = s.isV6 == d.isV6 && s.hi == d.hi && s.lo == d.lo
        if less || (same && p.sport <= p.dport) {
            return (FlowKey(a: s, b: d, pa: p.sport, pb: p.dport), 0)
        }
        return (FlowKey(a: d, b: s, pa: p.dport, pb: p.sport), 1)
    }

    @inline(__always)
    static func == (x: FlowKey, y: FlowKey) -> Bool {
        x.a.lo == y.a.lo && x.b.lo == y.b.lo && x.pa == y.pa && x.pb == y.pb && x.a.hi == y.a.hi && x.b.hi == y.b.hi
            && x.a.isV6 == y.a.isV6 && x.b.isV6 == y.b.isV6
    }

    /// A total order of keys (sweeps break ties with it).
    static func precedes(_ x: FlowKey, _ y: FlowKey) -> Bool {
        if x.a != y.a { return x.a < y.a }
        if x.b != y.b { return x.b < y.b }
        return x.pa != y.pa ? x.pa < y.pa : x.pb < y.pb
    }

    /// The slot hash of the flow tables: a multiply-fold, not SipHash (this runs once per packet).
    @inline(__always)
    static func hashValue(_ k: FlowKey) -> Int {
        var h = k.a.lo &* 0x9E37_79B9_7F4A_7C15
        h ^= k.b.lo &* 0xC2B2_AE3D_27D4_EB4F
        h ^= (k.a.hi ^ (k.b.hi &<< 1)) &* 0x1656_67B1_9E37_79F9
        h ^= UInt64(k.pa) << 16 | UInt64(k.pb) | UInt64(k.pa ^ k.pb) << 40
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }

    // Fewer, wider words than the synthesized hash.
    func hash(into h: inout Hasher) {
        h.combine(a.hi ^ (b.hi &* 0x9E37_79B9_7F4A_7C15))
        h.combine(a.lo &* 0xBF58_476D_1CE4_E5B9 ^ b.lo)
        h.combine(UInt32(pa) << 16 | UInt32(pb))
    }
}

/// Sequence-space comparison (RFC 1982): whether `a` is after `b`.
@inline(__always) func seqAfter(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

/// What one side of a connection has sent, as far as the classifier needs it.
/// Fields by size, largest first (Swift lays them out in this order): 121 bytes, 128 with padding (two
/// cache lines), where the order they were written in took 136.
struct DirState {
    var payloadBytes: UInt64 = 0
    var mac: UInt64 = 0
    var synFrame: UInt64 = 0
    // The last packet sent (RSTs included).
    var lastFrame: UInt64 = 0
    var lastTime: Double = 0
    var lastNonRSTTime: Double = 0
    /// Silence in the connection (both directions) before this side's last packet.
    var lastGap: Double = 0
    /// The connection's longest silence before that one (does that silence stand out?).
    var maxGapBefore: Double = 0
    /// This side's first FIN.
    var finFrame: UInt64 = 0
    var finTime: Double = 0
    /// Packets other than RSTs.
    var packets: UInt32 = 0
    var synSeq: UInt32 = 0
    /// Highest seq + length (SYN and FIN count one) sent.
    var nextSeq: UInt32 = 0
    /// Highest ack sent.
    var highestAck: UInt32 = 0
    /// The last non-RST segment's seq, the largest window advertised after the handshake (unscaled),
    /// and the window scale shift of this side's SYN or SYN-ACK (0xFF: none seen).
    var lastSeq: UInt32 = 0
    var lastLen: UInt32 = 0
    var maxWin: UInt16 = 0
    var lastFlags: UInt16 = 0
    /// IPv4 ID of the last packet sent (a forged RST may copy the one it answers).
    var lastIPID: UInt16 = 0
    var wscale: UInt8 = 0xFF
    // Baselines from this side's non-RST packets: 0 unseen, 1 one value so far, 2 varied (no claim).
    var ttl: UInt8 = 0
    var ttlState: UInt8 = 0
    var macState: UInt8 = 0
    /// IPv6: 1 = every packet had a non-zero flow label, 2 = some had 0.
    var flowLabelState: UInt8 = 0
    var sawSyn = false
    var sawSynAck = false
    var sawFin = false
    var sawRst = false
    var hasSeq = false
    var hasAck = false
}

/// The tracker's state for one connection. Fields by size after the two sides (as DirState's):
/// 336 bytes, where the order they were written in took 368 (the flow table prefetches all of a
/// state a few packets ahead: fewer lines to fetch, and to fault in).
struct FlowState {
    var d0 = DirState()
    var d1 = DirState()
    var firstTime: Double = 0
    var lastTime: Double = 0
    /// The longest silence between two non-RST packets so far.
    var maxGap: Double = 0
    var challengeFrame: UInt64 = 0
    var closeTime: Double = 0
    var firstRSTFrame: UInt64 = 0
    var challengeAck: UInt32 = 0
    var resets: UInt32 = 0
    /// The slot of this connection's first RST while its judgement waits for later packets (-1: none).
    var pendingSlot: Int32 = -1
    /// Which direction is the client (-1 unknown), and whether a SYN or SYN-ACK said so.
    var client: Int8 = -1
    /// Zeek's originator: the client when known, else the first packet's sender.
    var origin: Int8 = 0
    var established = false
    var challengeFrom: Int8 = -1
    var firstFinDir: Int8 = -1
    var firstRSTClass: RSTClass = .noContext
    /// The first RST's judgement is final (its class names the connection's cause; not carried
    /// into a revived connection, whose outcome was listed already).
    var firstRSTJudged = false
    var firstRSTFromOrigin = false
    /// Revived from `FinishedFlows` for a late packet: its outcome was already counted, as this.
    var finishedBefore = false
    var priorState = ConnState.oth
    /// Revived: whether it had been reset before it finished (its outcome then was listed already).
    var priorReset = false
    /// Both sides' states in Zeek's TCP state machine.
    var zeek = ZeekTCP()

    init(time: Double, origin: Int8) {
        firstTime = time
        lastTime = time
        self.origin = origin
    }

    @inline(__always) var closed: Bool { d0.sawFin && d1.sawFin }
    @inline(__always) var reset: Bool { firstRSTFrame != 0 }

    /// Zeek's conn_state for this connection so far (ZeekConnState.swift, docs/conn-state.md).
    var connState: String { connStateCode.name }

    /// The same, as a code.
    var connStateCode: ConnState { zeek.connState(origin: Int(origin)) }
}

/// Zeek's conn_state values, in a byte (a finished connection keeps its outcome in one).
enum ConnState: UInt8 {
    case s0, s1, sf, rej, s2, s3, rsto, rstr, rstos0, rstrh, sh, shr, oth

    /// The names as Words (written as bytes in reset_flows), and as Strings.
    static let words: [Word] = ["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"]
    static let names = words.map(\.string)
    var word: Word { Self.words[Int(rawValue)] }
    var name: String { Self.names[Int(rawValue)] }
    init(name: String) {
        self = Self.names.firstIndex(of: name).flatMap { ConnState(rawValue: UInt8($0)) } ?? .oth
    }
}
