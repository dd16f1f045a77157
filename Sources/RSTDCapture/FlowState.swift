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
    @inline(__always)
    static func of(_ p: DecodedPacket) -> (FlowKey, Int) {
        if p.src < p.dst || (p.src == p.dst && p.sport <= p.dport) {
            return (FlowKey(a: p.src, b: p.dst, pa: p.sport, pb: p.dport), 0)
        }
        return (FlowKey(a: p.dst, b: p.src, pa: p.dport, pb: p.sport), 1)
    }

    // Fewer, wider words than the synthesized hash: this runs once per packet.
    func hash(into h: inout Hasher) {
        h.combine(a.hi ^ (b.hi &* 0x9E37_79B9_7F4A_7C15))
        h.combine(a.lo &* 0xBF58_476D_1CE4_E5B9 ^ b.lo)
        h.combine(UInt32(pa) << 16 | UInt32(pb))
    }
}

/// Sequence-space comparison (RFC 1982): whether `a` is after `b`.
@inline(__always) func seqAfter(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

/// What one side of a connection has sent, as far as the classifier needs it.
struct DirState {
    /// Packets other than RSTs.
    var packets: UInt32 = 0
    var payloadBytes: UInt64 = 0
    // Baselines from this side's non-RST packets: 0 unseen, 1 one value so far, 2 varied (no claim).
    var ttl: UInt8 = 0
    var ttlState: UInt8 = 0
    var macState: UInt8 = 0
    /// IPv6: 1 = every packet had a non-zero flow label, 2 = some had 0.
    var flowLabelState: UInt8 = 0
    var mac: UInt64 = 0
    var sawSyn = false
    var sawSynAck = false
    var sawFin = false
    var sawRst = false
    var hasSeq = false
    var hasAck = false
    var synSeq: UInt32 = 0
    /// Highest seq + length (SYN and FIN count one) sent.
    var nextSeq: UInt32 = 0
    /// Highest ack sent.
    var highestAck: UInt32 = 0
    /// The last non-RST segment's seq, the largest window advertised after the handshake (unscaled),
    /// and the window scale shift of this side's SYN or SYN-ACK (0xFF: none seen).
    var lastSeq: UInt32 = 0
    var maxWin: UInt16 = 0
    var wscale: UInt8 = 0xFF
    var synFrame: UInt64 = 0
    // The last packet sent (RSTs included).
    var lastFrame: UInt64 = 0
    var lastTime: Double = 0
    var lastNonRSTTime: Double = 0
    /// Silence in the connection (both directions) before this side's last packet.
    var lastGap: Double = 0
    /// The connection's longest silence before that one (does that silence stand out?).
    var maxGapBefore: Double = 0
    var lastLen: UInt32 = 0
    var lastFlags: UInt16 = 0
    /// IPv4 ID of the last packet sent (a forged RST may copy the one it answers).
    var lastIPID: UInt16 = 0
    /// This side's first FIN.
    var finFrame: UInt64 = 0
    var finTime: Double = 0
}

/// The tracker's state for one connection.
struct FlowState {
    var d0 = DirState()
    var d1 = DirState()
    /// Which direction is the client (-1 unknown), and whether a SYN or SYN-ACK said so.
    var client: Int8 = -1
    /// Zeek's originator: the client when known, else the first packet's sender.
    var origin: Int8 = 0
    var firstTime: Double = 0
    var lastTime: Double = 0
    /// The longest silence between two non-RST packets so far.
    var maxGap: Double = 0
    var established = false
    var challengeFrom: Int8 = -1
    var challengeAck: UInt32 = 0
    var challengeFrame: UInt64 = 0
    var firstFinDir: Int8 = -1
    var closeTime: Double = 0
    var firstRSTFrame: UInt64 = 0
    var firstRSTClass: RSTClass = .noContext
    var firstRSTCause: String?
    var resets: UInt32 = 0
    /// The slot of this connection's first RST while its judgement waits for later packets (-1: none).
    var pendingSlot: Int32 = -1

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

    /// Both sides' states in Zeek's TCP state machine.
    var zeek = ZeekTCP()
    var firstRSTFromOrigin = false
    /// Revived from `FinishedFlows` for a late packet: its outcome was already counted, as this.
    var finishedBefore = false
    var priorState = ConnState.oth
    /// Revived: whether it had been reset before it finished (its outcome then was listed already).
    var priorReset = false
}

/// Zeek's conn_state values, in a byte (a finished connection keeps its outcome in one).
enum ConnState: UInt8 {
    case s0, s1, sf, rej, s2, s3, rsto, rstr, rstos0, rstrh, sh, shr, oth

    static let names = ["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"]
    var name: String { Self.names[Int(rawValue)] }
    init(name: String) {
        self = Self.names.firstIndex(of: name).flatMap { ConnState(rawValue: UInt8($0)) } ?? .oth
    }
}
