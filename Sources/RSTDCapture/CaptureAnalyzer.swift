import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Tunables of the analysis; the defaults suit a capture of a few connections as well as a large one.
package struct CaptureOptions: Sendable {
    /// Silence before a segment that makes a RST answering it an "after idle" RST.
    package var idleThreshold: Double = 5
    /// A shorter silence also counts as idle when it stands out: at least `idleFloor` and `idleRatio`
    /// times the connection's longest earlier silence (a middlebox's idle timeout can be anything from
    /// seconds up, while a busy connection's gaps are milliseconds; RST-SIGNALS.md 8).
    package var idleFloor: Double = 1
    package var idleRatio: Double = 10
    /// Longest delay of an ACK answering a segment at once (Linux: a TIME-WAIT socket or a duplicate
    /// ACK answers at once; a delayed ACK waits at most 200 ms, TCP_DELACK_MAX).
    package var duplicateAckDelay: Double = 0.5
    /// How long a side that closed first stays in TIME-WAIT (Linux: 60 s).
    package var timeWait: Double = 60
    /// Connections tracked at once; beyond it, closed ones and then the least recently active are forgotten.
    package var maxFlows: Int = 40_000
    /// RSTs listed one by one (all are counted). Listing costs no memory that grows with the capture
    /// when the records go to a sink that writes them (the CLI's output): no limit by default.
    package var maxListedResets: Int = .max
    /// How long a connection's first RST waits for the sender's next packet before its judgement is
    /// final (an injected RST races the real answer, which comes about one round trip later).
    package var lookAhead: Double = 3
    /// RSTs waiting at once (the oldest becomes final first when more come).
    package var maxPendingResets: Int = 4096
    /// Only connections with this port on either side.
    package var port: UInt16?
    /// Only connections with this address on either side.
    package var peer: IPAddress?

    package init(idleThreshold: Double = 5, maxFlows: Int = 40_000, maxListedResets: Int = .max, port: UInt16? = nil, peer: IPAddress? = nil) {
        self.idleThreshold = idleThreshold
        self.maxFlows = max(64, maxFlows)
        self.maxListedResets = max(0, maxListedResets)
        self.port = port
        self.peer = peer
    }
}

/// Follows every TCP connection of a capture and classifies each RST (RST-SIGNALS.md): answer to a
/// SYN, right after the handshake, stateless answer to an unknown connection, into TIME-WAIT, after a
/// challenge ACK, socket abort with unread data or data in flight, injected (TTL, hop limit, MAC or
/// IPv6 flow label unlike the sender's other packets), after idle. Pure: fed decoded packets, no I/O.
/// Records go to a `ResetSink` as soon as their judgement is final, in frame order; the summary is
/// made of counters. Memory is bounded by `maxFlows`, the look-ahead and the sink, whatever the
/// capture's size.
package final class CaptureAnalyzer {
    package let classes: CaptureClasses
    package let options: CaptureOptions
    package let source: String
    package let linkType: Int32
    /// Build a record for every RST (for a caller printing them as they come), even past the listing limit.
    package var wantRecords = false

    // Unchecked exclusivity: these are touched on every packet or RST, only from the thread feeding the
    // analyzer (checked, finalize, finish and release each paid a runtime call per access: 38M
    // instructions on the 1 GB capture).
    let flows: FlowTable<FlowState>
    /// Connections closed or reset, kept small so the live table stays in cache.
    let finishedFlows: FinishedFlows
    let hosts = HostTable(limit: CaptureAnalyzer.maxHosts, filler: HostBaseline())
    /// Cooked captures only (made on first use): incoming segments, to recognise forwarded copies.
    @exclusivity(unchecked) var copies: ForwardedCopies?
    /// Connections by endpoint, and those whose untranslated twin was answered with a RST (UntranslatedTwins.swift).
    let endpoints = EndpointIndex()
    @exclusivity(unchecked) var leakVictims: [FlowKey: TwinLink] = [:]
    @exclusivity(unchecked) var socketless: [Endpoint: SocketlessRST] = [:]
    /// The last segments the peer filter dropped (a ring), and whether one of them is being fed again.
    @exclusivity(unchecked) var dropped = ContiguousArray<DecodedPacket>()
    @exclusivity(unchecked) var droppedNext = 0
    @exclusivity(unchecked) var replaying = false
    static let maxHosts = 16_384

    @exclusivity(unchecked) package internal(set) var packets = 0
    @exclusivity(unchecked) package internal(set) var tcpPackets = 0
    @exclusivity(unchecked) package internal(set) var malformed = 0
    @exclusivity(unchecked) package internal(set) var fragments = 0
    @exclusivity(unchecked) package internal(set) var filteredOut = 0
    @exclusivity(unchecked) package internal(set) var flowCount = 0
    @exclusivity(unchecked) package internal(set) var rstCount = 0
    @exclusivity(unchecked) var firstTime: Double?
    @exclusivity(unchecked) var lastTime: Double?
    @exclusivity(unchecked) var byClass = [Int](repeating: 0, count: RSTClass.allCases.count)
    /// Connections by outcome, indexed by `ConnState` (made a dictionary for the report).
    @exclusivity(unchecked) var connStates = [Int](repeating: 0, count: ConnState.names.count)
    @exclusivity(unchecked) var tunnels = [Int](repeating: 0, count: TunnelKind.allCases.count)
    @exclusivity(unchecked) var undecoded: [String: Int] = [:]
    /// Where final records and reset connections go; `list` when it is the default in-memory one.
    let sink: any ResetSink
    let list: ResetList?
    /// Records offered to the sink (for the listing limit), and those not listed.
    @exclusivity(unchecked) var listedCount = 0
    @exclusivity(unchecked) var notListed = 0
    @exclusivity(unchecked) var flowsListed = 0
    /// Final records waiting for the ones before them (frame order), and the last ones built (the
    /// forwarded copy of a RST is its record with a few fields changed).
    @exclusivity(unchecked) var reorder = ResetReorder()
    @exclusivity(unchecked) var recent = [JudgedReset?](repeating: nil, count: CaptureAnalyzer.recentRecords)
    @exclusivity(unchecked) var builtSeq = 0
    static let recentRecords = 512
    @exclusivity(unchecked) var outcomes = OutcomeWindow(capacity: 4096)
    @exclusivity(unchecked) var groups = ResetGroupCounter()
    @exclusivity(unchecked) var finished: CaptureReport?
    /// First RSTs of connections waiting for the packets after them, and when the oldest is due.
    let pending: PendingResets
    @exclusivity(unchecked) var pendingDue = Double.infinity
    /// Final records not yet taken (only with `wantRecords`).
    @exclusivity(unchecked) var ready: [ResetRecord] = []


    package init(classes: CaptureClasses, options: CaptureOptions = CaptureOptions(), source: String, linkType: Int32,
                 sink: (any ResetSink)? = nil) {
        let list = (sink as? ResetList) ?? (sink == nil ? ResetList() : nil)
        self.list = list
        self.sink = sink ?? list!
        self.classes = classes
        self.options = options
        self.source = source
        self.linkType = linkType
        self.flows = FlowTable(limit: options.maxFlows, filler: FlowState(time: 0, origin: 0))
        // 16k finished connections suffice for late segments; a fixed, small cache keeps startup cheap.
        self.finishedFlows = FinishedFlows(limit: min(16_384, max(64, options.maxFlows)))
        self.pending = PendingResets(capacity: max(1, options.maxPendingResets))
    }

    /// Counts a frame that is not a TCP segment (or could not be read as one).
    package func count(_ outcome: DecodeOutcome, undecoded kind: UndecodedKind = .none, time: Double, linkType lt: Int32? = nil) {
        packets += 1
        noteTime(time)
        switch outcome {
        case .tcp, .notTCP: break
        case .malformed: malformed += 1
        case .fragment: fragments += 1
        case .unsupportedLink:
            undecoded["link type \(PcapHandle.linkTypeName(lt ?? linkType))", default: 0] += 1
        case .undecodedEncapsulation:
            undecoded[kind.name, default: 0] += 1
        }
    }

    @inline(__always) func noteTime(_ t: Double) {
        if firstTime == nil { firstTime = t }
        if let l = lastTime, l >= t {} else { lastTime = t }
    }

    /// Decodes one captured frame and feeds it: a TCP segment is analysed, anything else counted.
    /// `decoder` and `p` are the caller's, reused frame after frame (the readers' loops). True when
    /// the frame was a RST (records whose judgement became final wait in `takeFinal()`).
    @inline(__always)
    package func take(_ buf: UnsafeRawBufferPointer, frame: UInt64, time: Double, decoder: inout PacketDecoder, into p: inout DecodedPacket) -> Bool {
        let outcome = decoder.decode(buf, into: &p)
        guard outcome == .tcp else {
            count(outcome, undecoded: decoder.undecoded, time: time, linkType: decoder.linkType)
            return false
        }
        p.frame = frame
        p.time = time
        let rst = ingest(p, frame: buf)
        if rst, reorder.count > maxHeld { releaseHeld() }
        return rst
    }

    /// `take` for a frame decoded by the reader's thread (frame number and time set in `p`).
    @inline(__always)
    func take(decoded outcome: DecodeOutcome, undecoded: UndecodedKind, linkType lt: Int32, packet p: DecodedPacket,
              frame buf: UnsafeRawBufferPointer) -> Bool {
        guard outcome == .tcp else {
            count(outcome, undecoded: undecoded, time: p.time, linkType: lt)
            return false
        }
        let rst = ingest(p, frame: buf)
        if rst, reorder.count > maxHeld { releaseHeld() }
        return rst
    }

    /// Feeds one TCP segment (frame number and time set). `frame` is the captured frame, for the
    /// RST payload. Returns the records whose judgement became final meanwhile (see `wantRecords`).
    @discardableResult
    package func feed(_ p: DecodedPacket, frame: UnsafeRawBufferPointer) -> [ResetRecord] {
        if ingest(p, frame: frame), reorder.count > maxHeld { releaseHeld() }
        return takeFinal()
    }

    /// `feed` without handing back a record: true when the segment was a RST (the file loop's fast path).
    @inline(__always)
    func ingest(_ p: DecodedPacket, frame: UnsafeRawBufferPointer) -> Bool {
        packets += 1
        noteTime(p.time)
        if let port = options.port, p.sport != port, p.dport != port {
            filteredOut += 1
            return false
        }
        // A segment tied by its TCP fields to a focused connection is kept whatever its addresses
        // (an untranslated leak of that connection, and the RST answering it).
        if let peer = options.peer, !replaying, p.src != peer, p.dst != peer, !tiedToFocused(p, peer: peer) {
            filteredOut += 1
            keepDropped(p)
            return false
        }
        tcpPackets += 1
        if p.tunnel != .none { tunnels[Int(p.tunnel.rawValue)] += 1 }
        // RSTs whose look-ahead time has passed become final (before any slot index is taken).
        if p.time > pendingDue { settleDue(now: p.time) }
        let (key, dir) = FlowKey.of(p)
        let isRST = p.flags & TCPFlag.rst != 0
        let isSyn = p.flags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn

        // Cooked captures say which way each packet went on the capturing host. An outgoing copy of a
        // segment that just came in was forwarded: counted once (the incoming copy), and it shows the
        // host routes between both ends. A RST sent without one was built by the host itself.
        var incomingTag: UInt64 = 0
        var localBuilt: Bool?
        if p.packetType != PacketType.unknown {
            if copies == nil { copies = ForwardedCopies() }
            let tag = ForwardedCopies.tag(p)
            if p.packetType == PacketType.outgoing {
                if let original = copies?.takeOriginal(tag, time: p.time, ifindex: p.ifindex) {
                    markForwarded(p.src)
                    markForwarded(p.dst)
                    if isRST { return forwardedRST(p, original, key: key) }
                    return false
                }
                localBuilt = true
            } else if PacketType.isIncoming(p.packetType) {
                localBuilt = false
                if isRST { incomingTag = tag } else { copies?.noteIncoming(tag, time: p.time, ifindex: p.ifindex) }
            }
        }

        var idx = flows.find(key)
        // A new focused connection: segments dropped just before may be its own under other addresses.
        if idx == nil, !dropped.isEmpty, !replaying, !isRST { replayTied(p) }
        if let i = idx, isSyn, !isRST {
            // A new SYN on a known 4-tuple starts a new connection unless it repeats the pending one.
            let sawSyn = dir == 0 ? flows.states[i].d0.sawSyn : flows.states[i].d1.sawSyn
            let synSeq = dir == 0 ? flows.states[i].d0.synSeq : flows.states[i].d1.synSeq
            let hadTraffic = flows.states[i].d0.packets + flows.states[i].d1.packets > 0
            // After a RST (kept here while its judgement waits) a SYN starts a new connection, as it
            // would after the connection was retired.
            if !(sawSyn && synSeq == p.seq && !flows.states[i].reset) && hadTraffic {
                var fresh = FlowState(time: p.time, origin: Int8(dir))
                // Same hosts: keep what their packets look like.
                Self.carryBaselines(from: flows.states[i].d0, to: &fresh.d0)
                Self.carryBaselines(from: flows.states[i].d1, to: &fresh.d1)
                if flows.states[i].pendingSlot >= 0 { settle(flows.states[i].pendingSlot, retire: false) }
                finalize(key, flows.states[i])
                flows.states[i] = fresh
                flowCount += 1
            }
        }
        if idx == nil {
            if flows.isFull { sweep(now: p.time) }
            // A SYN starts a new connection whatever came before (host baselines cover TTL and MAC):
            // only other segments look for the finished connection they belong to.
            if !isSyn || isRST, let done = finishedFlows.take(key) {
                let revived = done.revived
                // A SYN after the end starts a new connection; anything else belongs to the finished one.
                if isSyn && !isRST {
                    var fresh = FlowState(time: p.time, origin: Int8(dir))
                    Self.carryBaselines(from: revived.d0, to: &fresh.d0)
                    Self.carryBaselines(from: revived.d1, to: &fresh.d1)
                    idx = flows.insert(key, fresh)
                    flowCount += 1
                } else {
                    idx = flows.insert(key, revived)
                }
            } else {
                idx = flows.insert(key, FlowState(time: p.time, origin: Int8(dir)))
                flowCount += 1
            }
        }
        guard let i = idx else { return false }

        if isRST {
            rstCount += 1
            // A connection's first RST waits for the packets after it; a later one follows it, so the
            // first one's judgement becomes final before.
            if flows.states[i].pendingSlot >= 0 { settle(flows.states[i].pendingSlot, retire: false) }
            var ctx = context(p, dir: dir, key: key, flow: flows.states[i], frame: frame, localBuilt: localBuilt)
            if p.flags & TCPFlag.ack == 0, p.window == 0, !p.hasOptions {
                let sent = dir == 0 ? flows.states[i].d0.packets : flows.states[i].d1.packets
                ctx.twin = untranslatedTwin(p, key: key, senderPackets: sent)
                if ctx.twin == nil && sent == 0 { noteSocketless(p, key: key) }
            }
            if !leakVictims.isEmpty { ctx.victim = leakVictims[key] }
            flows.states[i].noteRST(p, dir: dir)
            if RSTJudge.needsLookAhead(ctx.flow) {
                var i = i
                if let o = pending.oldest, pending.isFull {
                    // The oldest waiting RST becomes final, and its connection, if the RST ended it,
                    // moves to the finished ones as on time (slots may move: this one is looked up again).
                    settle(o, retire: true)
                    guard let j = flows.find(key) else { finish(ctx, copy: nil); return true }
                    i = j
                }
                let slot = pending.add(consume ctx)
                flows.states[i].pendingSlot = slot
                if pending.count == 1 || p.time < pendingDue { pendingDue = p.time + options.lookAhead }
                if incomingTag != 0 { copies?.noteIncoming(incomingTag, time: p.time, ifindex: p.ifindex, listed: -2) }
                return true
            }
            let (cls, seq) = finish(ctx, copy: nil)
            if incomingTag != 0 {
                copies?.noteIncoming(incomingTag, time: p.time, ifindex: p.ifindex, rstClass: UInt8(cls.index),
                                     listed: Int32(clamping: seq))
            }
            retire(key, slot: i)
            return true
        }
        let first = (dir == 0 ? flows.states[i].d0.packets : flows.states[i].d1.packets) == 0
        if first {
            endpoints.note(p.src, p.sport, key: key)
            if !socketless.isEmpty { lateTwin(p, key: key, dir: dir) }
        }
        flows.states[i].note(p, dir: dir)
        // Host baselines serve RSTs from a host with no other packet in their connection: servers
        // answering SYNs, mostly. Their SYN-ACKs, and first packets of connections seen mid-stream, suffice.
        if p.flags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn | TCPFlag.ack || (first && flows.states[i].client < 0) { noteHost(p) }
        let ps = flows.states[i].pendingSlot
        if ps >= 0, pending.has(ps) {
            if pending.dir(ps) == dir {
                // The sender's next packet: its TTL, MAC, and whether it carried on, judge the RST.
                pending.setLater(ps, LaterPacket(frame: p.frame, time: p.time, ttl: p.ttl, mac: p.srcMAC, hasMAC: p.hasMAC,
                                                 flags: p.flags, length: p.payloadLength, ack: p.ack, window: p.window))
                settle(ps, retire: false)
                if flows.states[i].reset {
                    retire(key, slot: i)
                    return false
                }
            } else {
                pending.countReceiver(ps)
            }
        }
        // The last ACK of a FIN close (from the side that closed first): the connection is done.
        if flows.states[i].closed, flows.states[i].pendingSlot < 0, Int8(dir) == flows.states[i].firstFinDir, p.flags & TCPFlag.fin == 0 {
            retire(key, slot: i)
        }
        return false
    }

    // MARK: host baselines (for a sender with no other packet in this connection)

    struct HostBaseline {
        var ttl: UInt8 = 0
        var ttlState: UInt8 = 0
        var mac: UInt64 = 0
        var macState: UInt8 = 0
        /// The capturing host forwarded packets from or to it: it is reached through that host.
        var forwarded = false
    }

    func markForwarded(_ a: IPAddress) {
        if hosts[a]?.forwarded == true { return }
        if hosts.count >= Self.maxHosts, hosts[a] == nil { hosts.removeAll() }
        var h = hosts[a] ?? HostBaseline()
        h.forwarded = true
        hosts.set(a, h)
    }

    func noteHost(_ p: DecodedPacket) {
        // One lookup for a known host (most: servers answering SYNs), changed in place.
        if hosts.update(p.src, { Self.learn(&$0, p) }) { return }
        if hosts.count >= Self.maxHosts { hosts.removeAll() }
        var h = HostBaseline()
        Self.learn(&h, p)
        hosts.set(p.src, h)
    }

    @inline(__always)
    private static func learn(_ h: inout HostBaseline, _ p: DecodedPacket) {
        if h.ttlState == 0 { h.ttl = p.ttl; h.ttlState = 1 } else if h.ttl != p.ttl { h.ttlState = 2 }
        if p.hasMAC {
            if h.macState == 0 { h.mac = p.srcMAC; h.macState = 1 } else if h.mac != p.srcMAC { h.macState = 2 }
        }
    }

    private static func carryBaselines(from old: DirState, to new: inout DirState) {
        new.ttl = old.ttl
        new.ttlState = old.ttlState
        new.mac = old.mac
        new.macState = old.macState
        new.flowLabelState = old.flowLabelState
    }

}
