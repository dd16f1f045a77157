import RSTDData
import RSTDSystem
import RSTDCore
/// The first packet the RST's sender sent after it, in the same connection: the look-ahead that lets
/// a RST be judged with the packets after it (TTL, MAC, and whether the endpoint carried on).
struct LaterPacket {
    var frame: UInt64
    var time: Double
    var ttl: UInt8
    var mac: UInt64
    var hasMAC: Bool
    var flags: UInt16
    var length: Int
    var ack: UInt32 = 0
    var window: UInt16 = 0
}

/// Everything a RST is judged with, captured when it arrives: the RST, the connection before it, the
/// sender's host baselines, and (filled while the judgement is pending) what came after it.
struct ResetContext {
    var p: DecodedPacket
    var dir: Int
    var key: FlowKey
    /// The connection's state just before the RST.
    var flow: FlowState
    var hostTTL: UInt8?
    var hostMAC: UInt64?
    var hostForwarded: Bool
    var localBuilt: Bool?
    var payload: String?
    /// The sender's first packet after the RST, if one came while the judgement was pending.
    var later: LaterPacket?
    /// Packets the receiver sent after the RST (before the judgement became final).
    var receiverAfter: UInt32 = 0
    /// The connection this socketless RST answered a segment of, under other addresses.
    var twin: TwinLink?
    /// This connection's untranslated twin, already reset by its endpoint's answer.
    var victim: TwinLink?
    /// The capture's first packet time (for relative times).
    var captureStart: Double
}

/// What the classifier found: the class, and the features the explanation is made of.
struct Judgement {
    var cls: RSTClass
    var stateless: Bool
    var rstHasAck: Bool
    var hasTrigger: Bool
    /// What the RST answered: none, RST, SYN, SYN-ACK, FIN, data, challenge-ACK, ACK.
    var answered: Word
    var idle: Double
    var isIdle: Bool
    var usualTTL: UInt8?
    var usualMAC: UInt64?
    var ttlDelta: Int
    /// Which packets gave the sender's usual TTL: "before", "after", "both", "host".
    var baseline: Word
    var ipIDCopied: Bool
    /// The sender carried on after the RST (SYN-ACK or data): it had not reset anything.
    var continued: Bool
    var routerBuilt: Bool
    var roles: Word
    /// "server", "client" or "unknown", for the sender and for the receiver.
    var role: (Word, Word)
    var inflight: UInt32
}

enum RSTJudge {
    /// Classifies a RST with the connection before it and the sender's packets after it. Pure.
    static func judge(_ c: ResetContext, options: CaptureOptions) -> Judgement {
        let p = c.p, f = c.flow, dir = c.dir
        let s = dir == 0 ? f.d0 : f.d1
        let o = dir == 0 ? f.d1 : f.d0
        let rstHasAck = p.flags & TCPFlag.ack != 0
        let stateless = p.window == 0 && !p.hasOptions && (!rstHasAck || p.seq == 0)

        // The packet this RST answers: the peer's last one, if the peer spoke last.
        let hasTrigger = o.packets > 0 && (s.packets == 0 || o.lastTime >= s.lastNonRSTTime)
        let trigSyn = hasTrigger && o.lastFlags & (TCPFlag.syn | TCPFlag.ack | TCPFlag.rst) == TCPFlag.syn
        let isChallenge = hasTrigger && f.challengeFrom == Int8(1 - dir) && f.challengeFrame == o.lastFrame
        let answered: Word
        if !hasTrigger { answered = "none" } else if o.lastFlags & TCPFlag.rst != 0 { answered = "RST" } else if o.lastFlags & TCPFlag.syn != 0 {
            answered = o.lastFlags & TCPFlag.ack != 0 ? "SYN-ACK" : "SYN"
        } else if o.lastFlags & TCPFlag.fin != 0 { answered = "FIN" } else if o.lastLen > 0 { answered = "data" } else if isChallenge {
            answered = "challenge-ACK"
        } else { answered = "ACK" }
        let idle = hasTrigger ? o.lastGap : (f.d0.packets + f.d1.packets + f.resets > 0 ? max(0, p.time - f.lastTime) : 0)
        let isIdle = idle >= options.idleThreshold
            || (hasTrigger && idle >= options.idleFloor && idle >= options.idleRatio * o.maxGapBefore)

        // Baselines: the sender's packets in this connection before and after the RST, else its
        // packets in other connections. A RST whose TTL matches either side's is the sender's.
        let before: UInt8? = s.ttlState == 1 ? s.ttl : nil
        let after: UInt8? = c.later?.ttl
        var usualTTL: UInt8?
        var baseline: Word = "before"
        switch (before, after) {
        case let (b?, a?): usualTTL = p.ttl == a ? a : b; baseline = a == b ? "both" : (p.ttl == a ? "after" : "before")
        case let (b?, nil): usualTTL = b
        case let (nil, a?): usualTTL = a; baseline = "after"
        case (nil, nil):
            if s.ttlState == 0, let h = c.hostTTL { usualTTL = h; baseline = "host" }
        }
        var usualMAC: UInt64?
        if s.macState == 1 { usualMAC = s.mac } else if let l = c.later, l.hasMAC { usualMAC = l.mac } else if s.macState == 0 { usualMAC = c.hostMAC }
        let ttlDelta = usualTTL.map { Int(p.ttl) - Int($0) } ?? 0
        let macDiff = p.hasMAC && usualMAC != nil && usualMAC != p.srcMAC
        let labelForged = p.src.isV6 && s.flowLabelState == 1 && p.flowLabel == 0
        // An IPv4 ID copied from the segment it answers: stacks number their own packets.
        let ipIDCopied = !p.src.isV6 && hasTrigger && p.ipID != 0 && p.ipID == o.lastIPID
        // The sender answered the handshake or sent data after the RST: its stack had reset nothing.
        let continued = c.later.map { $0.flags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn | TCPFlag.ack || $0.length > 0 } ?? false
        // Built here in the name of a host this one forwards for: only a firewall rule does that.
        let routerBuilt = c.localBuilt == true && c.hostForwarded

        var roles: Word = "handshake"
        var server: Int = -1
        if f.client >= 0 { server = 1 - Int(f.client) } else {
            roles = "ports"
            let sp = Int(p.sport), dp = Int(p.dport)
            if sp < 1024 && dp >= 1024 || (sp < 32768 && dp >= 32768) { server = dir } else if dp < 1024 && sp >= 1024 || (dp < 32768 && sp >= 32768) { server = 1 - dir } else { roles = "unknown" }
        }
        let role: (Word, Word) = server < 0 ? ("unknown", "unknown") : (server == dir ? ("server", "client") : ("client", "server"))

        let noHandshakeAnswerYet = s.lastFlags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn
        let cls: RSTClass
        var inflight: UInt32 = 0
        if f.reset {
            cls = .afterReset
        } else if c.twin != nil {
            cls = .untranslatedAnswer
        } else if let v = c.victim, stateless, Int8(dir) != v.endpointDir, p.time >= v.time {
            cls = .afterUntranslatedReset
        } else if s.sawSyn && !o.sawSynAck && f.challengeFrom == Int8(1 - dir) && p.seq == f.challengeAck {
            cls = .challengeAckAnswer
        } else if routerBuilt {
            cls = hasTrigger && !trigSyn && isIdle ? .afterIdle : .routerBuilt
        } else if stateless && !rstHasAck && continued && hasTrigger && o.lastLen > 0 && ttlDelta == 0 && !macDiff && p.seq == o.highestAck
            && beyondWindow(o.lastSeq, receiver: s, sender: o, later: c.later).0 {
            // A stack answers a segment beyond its window with a duplicate ACK, never a RST; this
            // socketless answer came from the peer's address while its socket went on.
            cls = .beyondWindowAnswer
        } else if continued && (ttlDelta != 0 || macDiff || ipIDCopied || c.receiverAfter == 0) {
            cls = .injectedContinued
        } else if ttlDelta != 0 {
            cls = hasTrigger && !trigSyn && isIdle ? .afterIdle : .injectedTTL
        } else if macDiff {
            cls = .injectedMAC
        } else if labelForged {
            cls = hasTrigger && !trigSyn && isIdle ? .afterIdle : .injectedFlowLabel
        } else if trigSyn && !s.sawSynAck {
            cls = .synAnswer
        } else if s.sawSyn && noHandshakeAnswerYet && (!hasTrigger || answered == "SYN-ACK") {
            cls = .ownSynAbort
        } else if f.closed && f.firstFinDir == Int8(1 - dir) && p.time - f.closeTime <= options.timeWait && hasTrigger
            && o.lastFlags & (TCPFlag.syn | TCPFlag.fin | TCPFlag.rst) == 0 && o.lastTime >= f.closeTime {
            cls = .intoTimeWait
        } else if stateless && !rstHasAck && answered == "ACK" && s.hasSeq && o.hasAck && s.lastNonRSTTime <= o.lastTime
            && o.lastTime - s.lastNonRSTTime <= options.duplicateAckDelay && seqAfter(o.highestAck, s.nextSeq) && p.seq == o.highestAck {
            // The receiver ACKed a segment of the sender with an ack beyond anything the sender was seen
            // sending (it had that segment and more already: a duplicate), and the sender answered the
            // ACK with a stateless RST: its stack has no socket, so the segment was not its own now.
            cls = .oldDuplicateAck
        } else if s.sawFin && !(f.closed && f.firstFinDir == Int8(1 - dir)) && hasTrigger && o.lastLen > 0 {
            cls = .afterOwnFin
        } else if stateless && !rstHasAck && hasTrigger && server == dir && s.sawSynAck && s.payloadBytes == 0
            && o.payloadBytes <= UInt64(o.lastLen) && o.lastFlags & (TCPFlag.syn | TCPFlag.fin) == 0 {
            cls = .afterHandshake
        } else if stateless && hasTrigger {
            cls = .statelessUnknownFlow
        } else if !stateless && (hasTrigger || s.packets > 0) {
            if hasTrigger && o.lastLen > 0 || (rstHasAck && s.hasAck && seqAfter(p.ack, s.highestAck)) {
                cls = .abortWithUnread
            } else if s.hasSeq && o.hasAck && seqAfter(s.nextSeq, o.highestAck) {
                inflight = s.nextSeq &- o.highestAck
                cls = .abortWithData
            } else {
                cls = .abort
            }
        } else if f.d0.packets + f.d1.packets == 0 {
            cls = c.payload != nil ? .withPayloadText : .noContext
        } else {
            cls = .midStream
        }
        return Judgement(
            cls: cls, stateless: stateless, rstHasAck: rstHasAck, hasTrigger: hasTrigger, answered: answered, idle: idle,
            isIdle: isIdle, usualTTL: usualTTL, usualMAC: usualMAC, ttlDelta: ttlDelta, baseline: baseline,
            ipIDCopied: ipIDCopied, continued: continued, routerBuilt: routerBuilt, roles: roles, role: role, inflight: inflight)
    }

    /// Whether a RST needs the packets after it before its judgement is final: the first RST of a
    /// connection (later ones only follow it). Everything else is final at once.
    static func needsLookAhead(_ f: FlowState) -> Bool { !f.reset }
}
