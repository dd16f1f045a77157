import RSTDData
import RSTDSystem
import RSTDCore

/// Connections by one of their endpoints (address and port), to find the connection a segment
/// belongs to when it travels under other addresses: NAT rewrites only the packets of a conntrack
/// entry it did not find INVALID, so an invalid segment of a translated connection passes with its
/// real (untranslated) address while its ports, seq and ack are the connection's own. Direct-mapped
/// (one slot per hash, a newcomer overwrites): fixed memory, written once per direction of a
/// connection (its first packet), read only for socketless RSTs and for segments a peer filter drops.
/// A class over storage it allocates: written for every connection's first packets, so no array's
/// uniqueness check on each write; keys are read only where `side` says so (left unwritten until then).
final class EndpointIndex {
    private let keys: UnsafeMutablePointer<FlowKey>
    /// 0: empty; 1: the endpoint is the key's `a` side; 2: its `b` side.
    private let side: UnsafeMutablePointer<UInt8>
    private let mask: Int

    init(slots: Int = 4096) {
        precondition(_isPOD(FlowKey.self))
        var n = 64
        while n < slots { n <<= 1 }
        keys = .allocate(capacity: n)
        side = .allocate(capacity: n)
        side.initialize(repeating: 0, count: n)
        mask = n - 1
    }

    deinit {
        keys.deallocate()
        side.deallocate()
    }

    @inline(__always)
    private func slot(_ a: IPAddress, _ port: UInt16) -> Int {
        var h = (a.lo ^ a.hi &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9 ^ UInt64(port) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 31
        return Int(truncatingIfNeeded: h) & mask
    }

    /// Remembers that `a`:`port` is an endpoint of the connection `key`.
    @inline(__always)
    func note(_ a: IPAddress, _ port: UInt16, key: FlowKey) {
        let i = slot(a, port)
        keys[i] = key
        side[i] = key.a == a && key.pa == port ? 1 : 2
    }

    /// The last connection noted for the endpoint, and the endpoint's direction in it (0: it is `a`).
    @inline(__always)
    func lookup(_ a: IPAddress, _ port: UInt16) -> (FlowKey, Int)? {
        let i = slot(a, port)
        guard side[i] != 0 else { return nil }
        let k = keys[i]
        if side[i] == 1 { return k.a == a && k.pa == port ? (k, 0) : nil }
        return k.b == a && k.pb == port ? (k, 1) : nil
    }
}

/// An address and port.
struct Endpoint: Hashable {
    var addr: IPAddress
    var port: UInt16
}

/// A socketless RST from a sender that sent nothing else in its connection, waiting for a twin.
struct SocketlessRST {
    var key: FlowKey
    var seq: UInt32
    var frame: UInt64
    var time: Double
    var dst: IPAddress
    var dport: UInt16
}

/// A RST tied by its TCP fields to a connection whose addresses it does not carry.
struct TwinLink {
    /// The other end the tied connection really uses (the service address for an untranslated
    /// answer; the untranslated address, for the connection whose twin was reset).
    var remote: IPAddress
    var remotePort: UInt16
    /// The tied connection's first packet of the endpoint (untranslated answer), or the frame of the
    /// untranslated answer that reset the twin (for the connection it belongs to).
    var frame: UInt64
    var time: Double
    /// The direction of the endpoint that answered the untranslated segment, in the tied connection.
    var endpointDir: Int8
}

extension CaptureAnalyzer {
    /// Whether `v` is a sequence number the endpoint `e` had sent and the peer `o` may not yet have
    /// acknowledged: from `o`'s highest ack (or, when `o` was not seen acking, exactly `e`'s next
    /// byte) up to `e`'s next byte. A receiver's rcv_nxt is always in that range, and a stateless
    /// RST answering a segment with an ACK carries that segment's ack as its seq (tcp_v4_send_reset).
    @inline(__always)
    static func inUnacked(_ v: UInt32, endpoint e: DirState, peer o: DirState) -> Bool {
        guard e.hasSeq else { return false }
        let lower = o.hasAck ? o.highestAck : e.nextSeq
        return !seqAfter(lower, v) && !seqAfter(v, e.nextSeq)
    }

    /// For a socketless RST (no ACK, window 0, no options) whose sender sent nothing else in this
    /// connection: the live connection of the same sender address and port, with another peer,
    /// whose sequence space the RST's seq belongs to. The sender then answered a segment of that
    /// connection that reached it under other addresses (untranslated); the connection it belongs
    /// to is remembered, so that the reset its peer suffers next is explained by this one.
    func untranslatedTwin(_ p: DecodedPacket, key: FlowKey, senderPackets: UInt32) -> TwinLink? {
        guard senderPackets == 0, let (k, e) = endpoints.lookup(p.src, p.sport), k != key, let i = flows.find(k) else { return nil }
        let f = flows.states[i]
        let me = e == 0 ? f.d0 : f.d1, peer = e == 0 ? f.d1 : f.d0
        // Established through the NAT (the endpoint acked its peer, or the peer answered under the
        // translated address): one segment of it came untranslated, not a whole reply path that
        // bypasses the NAT (asymmetric routing shows the handshake's SYN-ACK untranslated).
        guard me.hasAck || peer.packets > 0, Self.inUnacked(p.seq, endpoint: me, peer: peer) else { return nil }
        if leakVictims.count >= Self.maxTwins { leakVictims.removeAll(keepingCapacity: true) }
        leakVictims[k] = TwinLink(remote: p.dst, remotePort: p.dport, frame: p.frame, time: p.time, endpointDir: Int8(e))
        let remote = e == 0 ? (k.b, k.pb) : (k.a, k.pa)
        return TwinLink(remote: remote.0, remotePort: remote.1, frame: me.synFrame > 0 ? me.synFrame : me.lastFrame, time: f.firstTime,
                        endpointDir: Int8(e))
    }

    static let maxTwins = 4096

    /// A socketless RST whose twin was not (yet) found: its sender's connection may show up after it
    /// (a capture started mid-connection sees the sender's next segment there first).
    func noteSocketless(_ p: DecodedPacket, key: FlowKey) {
        if socketless.count >= Self.maxTwins { socketless.removeAll(keepingCapacity: true) }
        socketless[Endpoint(addr: p.src, port: p.sport)] = SocketlessRST(key: key, seq: p.seq, frame: p.frame, time: p.time,
                                                                         dst: p.dst, dport: p.dport)
    }

    /// The first segment an endpoint sends in a connection (`key`, slot `i`): when the endpoint sent a
    /// socketless RST in another connection just before, whose seq is where this segment's sequence
    /// stands, that RST answered a segment of this connection that reached it untranslated. Its pending
    /// judgement learns the twin, and this connection that its peer's socket was reset by it.
    func lateTwin(_ p: DecodedPacket, key: FlowKey, dir: Int) {
        let ep = Endpoint(addr: p.src, port: p.sport)
        guard p.flags & TCPFlag.ack != 0, let r = socketless[ep], r.key != key, p.time - r.time <= options.lookAhead,
              !seqAfter(p.seq, r.seq), !seqAfter(r.seq, p.seq &+ UInt32(truncatingIfNeeded: p.payloadLength)) else { return }
        socketless[ep] = nil
        if leakVictims.count >= Self.maxTwins { leakVictims.removeAll(keepingCapacity: true) }
        leakVictims[key] = TwinLink(remote: r.dst, remotePort: r.dport, frame: r.frame, time: r.time, endpointDir: Int8(dir))
        guard let j = flows.find(r.key), case let slot = flows.states[j].pendingSlot, slot >= 0, pending.has(slot),
              pending.frame(slot) == r.frame else { return }
        pending.setTwin(slot, TwinLink(remote: p.dst, remotePort: p.dport, frame: p.frame, time: p.time, endpointDir: Int8(dir)))
    }

    static let droppedRing = 128

    /// Remembers a segment the peer filter dropped (the last `droppedRing` ones).
    @inline(__always)
    func keepDropped(_ p: DecodedPacket) {
        if dropped.isEmpty { dropped = ContiguousArray(repeating: DecodedPacket(), count: Self.droppedRing) }
        dropped[droppedNext] = p
        droppedNext = (droppedNext + 1) % Self.droppedRing
    }

    /// The first segment of a focused connection in the capture (`p`): dropped segments tied to it by
    /// their TCP fields — arriving at its endpoint with an ack, or leaving it with a seq, where this
    /// segment's sequence stands — are fed after all, in their order (a capture that starts after the
    /// handshake meets the untranslated leak and the RST answering it before the connection itself).
    func replayTied(_ p: DecodedPacket) {
        let len = UInt32(truncatingIfNeeded: p.payloadLength)
        func here(_ v: UInt32) -> Bool { !seqAfter(p.seq, v) && !seqAfter(v, p.seq &+ len) }
        var picks: [Int] = []
        for k in 0..<Self.droppedRing {
            let i = (droppedNext + k) % Self.droppedRing
            let q = dropped[i]
            guard q.frame != 0, p.time - q.time <= options.lookAhead else { continue }
            let toIt = q.dst == p.src && q.dport == p.sport && q.flags & TCPFlag.ack != 0 && here(q.ack)
            let fromIt = q.src == p.src && q.sport == p.sport && here(q.seq)
            if toIt || fromIt { picks.append(i) }
        }
        guard !picks.isEmpty else { return }
        replaying = true
        defer { replaying = false }
        for i in picks {
            let q = dropped[i]
            dropped[i].frame = 0
            filteredOut -= 1
            packets -= 1
            _ = ingest(q, frame: UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    /// Whether a segment the peer filter would drop (neither address is the peer) belongs to a
    /// connection with the peer under other addresses: one of its endpoints is an endpoint of a
    /// focused connection, and its ack (arriving there) or seq (leaving from there) is in that
    /// connection's unacknowledged range. A leaked untranslated segment and the RST answering it.
    func tiedToFocused(_ p: DecodedPacket, peer: IPAddress) -> Bool {
        if p.flags & TCPFlag.ack != 0, let (k, e) = endpoints.lookup(p.dst, p.dport), k.a == peer || k.b == peer, let i = flows.find(k) {
            let f = flows.states[i]
            if Self.inUnacked(p.ack, endpoint: e == 0 ? f.d0 : f.d1, peer: e == 0 ? f.d1 : f.d0) { return true }
        }
        if let (k, e) = endpoints.lookup(p.src, p.sport), k.a == peer || k.b == peer, let i = flows.find(k) {
            let f = flows.states[i]
            if Self.inUnacked(p.seq, endpoint: e == 0 ? f.d0 : f.d1, peer: e == 0 ? f.d1 : f.d0) { return true }
        }
        return false
    }
}

extension RSTJudge {
    /// Whether `seq` lies beyond the receiver's window by more than its largest window: past the
    /// upper bound conntrack's tcp_in_window() accepts (the receiver's highest ack plus its window,
    /// with a tolerance up to its largest window), so conntrack marks such a segment INVALID when
    /// nf_conntrack_tcp_be_liberal=0. Windows are scaled by the handshake's window scale; without a
    /// handshake in the capture the largest shift (14) keeps the claim safe.
    /// When the capture holds no ACK of the receiver before, its first packet after (`later`) gives
    /// the ack and window. Returns the verdict, the window and the ack it was measured from.
    static func beyondWindow(_ seq: UInt32, receiver r: DirState, sender s: DirState, later: LaterPacket?) -> (Bool, UInt64, UInt32) {
        var ack = r.highestAck, maxWin = r.maxWin
        if !r.hasAck {
            guard let l = later, l.flags & TCPFlag.ack != 0 else { return (false, 0, 0) }
            ack = l.ack
            maxWin = l.window
        }
        guard maxWin > 0 else { return (false, 0, ack) }
        let handshake = (r.sawSyn || r.sawSynAck) && (s.sawSyn || s.sawSynAck)
        let shift = handshake ? (r.wscale != 0xFF && s.wscale != 0xFF ? min(r.wscale, 14) : 0) : 14
        let win = UInt64(maxWin) << UInt64(shift)
        let d = seq &- ack
        return (d < 0x8000_0000 && UInt64(d) > 2 * win, win, ack)
    }
}
