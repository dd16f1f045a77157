import RSTDData
import RSTDSystem
import RSTDCore
/// How a connection's state follows its packets: the classifier's view (DirState) and Zeek's state
/// machine (ZeekTCP), updated in place on every segment.
extension FlowState {
    /// Updates the state with a non-RST segment from direction `dir`.
    @inline(__always)
    mutating func note(_ p: DecodedPacket, dir: Int) {
        let gap = (d0.packets | d1.packets | resets) != 0 ? max(0, p.time - lastTime) : 0
        // The peer's fields read here, the sender's side updated in place (no copy of either).
        let oSawSyn = dir == 0 ? d1.sawSyn : d0.sawSyn
        let oSynSeq = dir == 0 ? d1.synSeq : d0.synSeq
        let oSawSynAck = dir == 0 ? d1.sawSynAck : d0.sawSynAck
        let oSawFin = dir == 0 ? d1.sawFin : d0.sawFin
        let ev = dir == 0
            ? Self.update(&d0, p, gap: gap, maxGap: maxGap, oSawSyn: oSawSyn, oSynSeq: oSynSeq)
            : Self.update(&d1, p, gap: gap, maxGap: maxGap, oSawSyn: oSawSyn, oSynSeq: oSynSeq)
        if gap > maxGap { maxGap = gap }
        if ev != 0 {
            let me = Int8(dir)
            if ev & Self.evSynAck != 0, client < 0 { client = 1 - me; origin = client }
            if ev & Self.evSyn != 0, client < 0 { client = me; origin = client }
            if ev & Self.evBareAck != 0 {
                if oSawSyn && p.ack != oSynSeq &+ 1 && challengeFrom < 0 && !(dir == 0 ? d0.sawSynAck : d1.sawSynAck) {
                    // A bare ACK answering a SYN: the challenge ACK of a side that still has the 4-tuple open.
                    challengeFrom = me
                    challengeAck = p.ack
                    challengeFrame = p.frame
                } else if oSawSynAck && me == client {
                    established = true
                }
            }
            if ev & Self.evFin != 0 {
                if firstFinDir < 0 { firstFinDir = me }
                if oSawFin { closeTime = p.time }
            }
        }
        if p.time > lastTime { lastTime = p.time }
        zeek.step(dir, isOrig: Int8(dir) == origin, flags: p.flags, len: p.payloadLength)
    }

    static let evSyn: UInt8 = 1, evSynAck: UInt8 = 2, evBareAck: UInt8 = 4, evFin: UInt8 = 8

    /// Updates one side with a segment it sent; returns what the connection-level state must hear.
    @inline(__always)
    private static func update(_ s: inout DirState, _ p: DecodedPacket, gap: Double, maxGap: Double, oSawSyn: Bool, oSynSeq: UInt32) -> UInt8 {
        var ev: UInt8 = 0
        s.packets &+= 1
        s.payloadBytes &+= UInt64(p.payloadLength)
        if s.ttlState == 0 { s.ttl = p.ttl; s.ttlState = 1 } else if s.ttlState == 1, s.ttl != p.ttl { s.ttlState = 2 }
        if p.hasMAC {
            if s.macState == 0 { s.mac = p.srcMAC; s.macState = 1 } else if s.macState == 1, s.mac != p.srcMAC { s.macState = 2 }
        }
        if p.src.isV6 {
            if p.flowLabel == 0 { s.flowLabelState = 2 } else if s.flowLabelState == 0 { s.flowLabelState = 1 }
        }
        let flags = p.flags
        let hasAck = flags & TCPFlag.ack != 0
        if flags & TCPFlag.syn != 0 {
            s.wscale = p.wscale
            if hasAck {
                s.sawSynAck = true
                ev |= evSynAck
            } else {
                s.sawSyn = true
                s.synSeq = p.seq
                s.synFrame = p.frame
                ev |= evSyn
            }
        } else {
            if p.window > s.maxWin { s.maxWin = p.window }
            if hasAck { ev |= evBareAck }
        }
        if flags & TCPFlag.fin != 0 && !s.sawFin {
            s.sawFin = true
            ev |= evFin
        }
        let end = p.seq &+ UInt32(truncatingIfNeeded: p.payloadLength) &+ (flags & TCPFlag.syn != 0 ? 1 : 0) &+ (flags & TCPFlag.fin != 0 ? 1 : 0)
        if !s.hasSeq || seqAfter(end, s.nextSeq) { s.nextSeq = end; s.hasSeq = true }
        if hasAck && (!s.hasAck || seqAfter(p.ack, s.highestAck)) { s.highestAck = p.ack; s.hasAck = true }
        s.lastFrame = p.frame
        s.lastSeq = p.seq
        s.lastTime = p.time
        s.lastNonRSTTime = p.time
        s.lastGap = gap
        s.maxGapBefore = maxGap
        s.lastLen = UInt32(truncatingIfNeeded: p.payloadLength)
        s.lastFlags = flags
        s.lastIPID = p.ipID
        if flags & TCPFlag.fin != 0 && s.finFrame == 0 { s.finFrame = p.frame; s.finTime = p.time }
        return ev
    }

    /// Records a RST (its class and cause are set when its judgement is final: `settleFirstRST`).
    mutating func noteRST(_ p: DecodedPacket, dir: Int) {
        resets &+= 1
        if firstRSTFrame == 0 {
            firstRSTFrame = p.frame
            firstRSTFromOrigin = Int8(dir) == origin
        }
        let gap = max(0, p.time - lastTime)
        if dir == 0 {
            d0.sawRst = true; d0.lastFrame = p.frame; d0.lastTime = p.time; d0.lastFlags = p.flags; d0.lastLen = 0; d0.lastGap = gap
        } else {
            d1.sawRst = true; d1.lastFrame = p.frame; d1.lastTime = p.time; d1.lastFlags = p.flags; d1.lastLen = 0; d1.lastGap = gap
        }
        if p.time > lastTime { lastTime = p.time }
        zeek.step(dir, isOrig: Int8(dir) == origin, flags: p.flags, len: p.payloadLength)
    }
}
