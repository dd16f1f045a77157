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
    /// How long a side that closed first stays in TIME-WAIT (Linux: 60 s).
    package var timeWait: Double = 60
    /// Connections tracked at once; beyond it, closed ones and then the least recently active are forgotten.
    package var maxFlows: Int = 40_000
    /// RSTs listed one by one in the report (all are counted).
    package var maxListedResets: Int = 20_000
    /// Only connections with this port on either side.
    package var port: UInt16?
    /// Only connections with this address on either side.
    package var peer: IPAddress?

    package init(idleThreshold: Double = 5, maxFlows: Int = 40_000, maxListedResets: Int = 20_000, port: UInt16? = nil, peer: IPAddress? = nil) {
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
/// Memory is bounded by `maxFlows` and `maxListedResets`, whatever the capture's size.
package final class CaptureAnalyzer {
    package let classes: CaptureClasses
    package let options: CaptureOptions
    package let source: String
    package let linkType: Int32
    /// Build a record for every RST (for a caller printing them as they come), even past the listing limit.
    package var wantRecords = false

    // Unchecked exclusivity: these are touched on every packet, only from the thread feeding the analyzer.
    @exclusivity(unchecked) private var flows: FlowTable<FlowState>
    /// Connections closed or reset, kept small so the live table stays in cache.
    @exclusivity(unchecked) private var finishedFlows: FinishedFlows
    @exclusivity(unchecked) private var hosts: [IPAddress: HostBaseline] = [:]
    /// Cooked captures only (made on first use): incoming segments, to recognise forwarded copies.
    @exclusivity(unchecked) private var copies: ForwardedCopies?
    private static let maxHosts = 16_384

    package private(set) var packets = 0
    package private(set) var tcpPackets = 0
    package private(set) var malformed = 0
    package private(set) var fragments = 0
    package private(set) var filteredOut = 0
    package private(set) var flowCount = 0
    package private(set) var rstCount = 0
    private var firstTime: Double?
    private var lastTime: Double?
    private var byClass = [Int](repeating: 0, count: RSTClass.allCases.count)
    private var connStates: [String: Int] = [:]
    private var tunnels = [Int](repeating: 0, count: TunnelKind.allCases.count)
    private var undecoded: [String: Int] = [:]
    private var listed: [ResetRecord] = []
    private var notListed = 0
    private var outcomes: [FlowOutcome] = []
    private var outcomesNotListed = 0
    private var finished: CaptureReport?

    private static let classIndex: [RSTClass: Int] = Dictionary(uniqueKeysWithValues: RSTClass.allCases.enumerated().map { ($1, $0) })

    package init(classes: CaptureClasses, options: CaptureOptions = CaptureOptions(), source: String, linkType: Int32) {
        self.classes = classes
        self.options = options
        self.source = source
        self.linkType = linkType
        self.flows = FlowTable(limit: options.maxFlows, filler: FlowState(time: 0, origin: 0))
        // 16k finished connections suffice for late segments; a fixed, small cache keeps startup cheap.
        self.finishedFlows = FinishedFlows(limit: min(16_384, max(64, options.maxFlows)))
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

    @inline(__always) private func noteTime(_ t: Double) {
        if firstTime == nil { firstTime = t }
        if let l = lastTime, l >= t {} else { lastTime = t }
    }

    /// Decodes one captured frame and feeds it: a TCP segment is analysed, anything else counted.
    /// `decoder` and `p` are the caller's, reused frame after frame (the readers' loops). True when
    /// the frame was a RST (its record, if built, is `lastRecord`).
    @inline(__always)
    package func take(_ buf: UnsafeRawBufferPointer, frame: UInt64, time: Double, decoder: inout PacketDecoder, into p: inout DecodedPacket) -> Bool {
        let outcome = decoder.decode(buf, into: &p)
        guard outcome == .tcp else {
            count(outcome, undecoded: decoder.undecoded, time: time, linkType: decoder.linkType)
            return false
        }
        p.frame = frame
        p.time = time
        return ingest(p, frame: buf)
    }

    /// Feeds one TCP segment (frame number and time set). `frame` is the captured frame, for the
    /// RST payload. Returns the record of a RST, for callers that print as they go.
    @discardableResult
    package func feed(_ p: DecodedPacket, frame: UnsafeRawBufferPointer) -> ResetRecord? {
        lastRecord = nil
        return ingest(p, frame: frame) ? lastRecord : nil
    }

    /// The record of the last RST fed, when one was built (see `wantRecords`).
    package private(set) var lastRecord: ResetRecord?

    /// `feed` without handing back a record: true when the segment was a RST (the file loop's fast path).
    @inline(__always)
    func ingest(_ p: DecodedPacket, frame: UnsafeRawBufferPointer) -> Bool {
        packets += 1
        noteTime(p.time)
        if let port = options.port, p.sport != port, p.dport != port {
            filteredOut += 1
            return false
        }
        if let peer = options.peer, p.src != peer, p.dst != peer {
            filteredOut += 1
            return false
        }
        tcpPackets += 1
        if p.tunnel != .none { tunnels[Int(p.tunnel.rawValue)] += 1 }
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
            let tag = ForwardedCopies.tag(p, key: key, dir: dir)
            if p.packetType == PacketType.outgoing {
                if let original = copies?.takeOriginal(tag, time: p.time, ifindex: p.ifindex) {
                    markForwarded(p.src)
                    markForwarded(p.dst)
                    if isRST { return forwardedRST(p, original) }
                    return false
                }
                localBuilt = true
            } else if PacketType.isIncoming(p.packetType) {
                localBuilt = false
                if isRST { incomingTag = tag } else { copies?.noteIncoming(tag, time: p.time, ifindex: p.ifindex) }
            }
        }

        var idx = flows.find(key)
        if let i = idx, isSyn, !isRST {
            // A new SYN on a known 4-tuple starts a new connection unless it repeats the pending one.
            let sawSyn = dir == 0 ? flows.states[i].d0.sawSyn : flows.states[i].d1.sawSyn
            let synSeq = dir == 0 ? flows.states[i].d0.synSeq : flows.states[i].d1.synSeq
            let hadTraffic = flows.states[i].d0.packets + flows.states[i].d1.packets > 0
            if !(sawSyn && synSeq == p.seq) && hadTraffic {
                var fresh = FlowState(time: p.time, origin: Int8(dir))
                // Same hosts: keep what their packets look like.
                Self.carryBaselines(from: flows.states[i].d0, to: &fresh.d0)
                Self.carryBaselines(from: flows.states[i].d1, to: &fresh.d1)
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
            let before = listed.count
            let (cls, record) = classify(p, dir: dir, flow: flows.states[i], key: key, frame: frame, localBuilt: localBuilt)
            if incomingTag != 0 {
                copies?.noteIncoming(incomingTag, time: p.time, ifindex: p.ifindex, rstClass: UInt8(Self.classIndex[cls] ?? 0),
                                     listed: listed.count > before ? Int32(before) : -1)
            }
            flows.states[i].noteRST(p, dir: dir, class: cls, cause: classes[cls].cause)
            retire(key, slot: i)
            lastRecord = record
            return true
        }
        let first = (dir == 0 ? flows.states[i].d0.packets : flows.states[i].d1.packets) == 0
        flows.states[i].note(p, dir: dir)
        // Host baselines serve RSTs from a host with no other packet in their connection: servers
        // answering SYNs, mostly. Their SYN-ACKs, and first packets of connections seen mid-stream, suffice.
        if p.flags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn | TCPFlag.ack || (first && flows.states[i].client < 0) { noteHost(p) }
        // The last ACK of a FIN close (from the side that closed first): the connection is done.
        if flows.states[i].closed, Int8(dir) == flows.states[i].firstFinDir, p.flags & TCPFlag.fin == 0 {
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

    private func markForwarded(_ a: IPAddress) {
        if hosts[a]?.forwarded == true { return }
        if hosts.count >= Self.maxHosts, hosts[a] == nil { hosts.removeAll(keepingCapacity: true) }
        hosts[a, default: HostBaseline()].forwarded = true
    }

    /// The outgoing copy of a RST the host received and forwarded: listed (tshark lists both frames)
    /// with the original's class, marked as forwarded, and nothing else changes.
    private func forwardedRST(_ p: DecodedPacket, _ original: ForwardedCopies.Entry) -> Bool {
        rstCount += 1
        let ci = Int(original.rstClass)
        if ci < byClass.count { byClass[ci] += 1 }
        lastRecord = nil
        let li = Int(original.listed)
        guard listed.count < options.maxListedResets, li >= 0, li < listed.count else {
            notListed += 1
            return true
        }
        var r = listed[li]
        r.explain += " Frame \(p.frame) is the copy of frame \(r.frame) that the capturing host forwarded."
        r.frame = Int(p.frame)
        r.time = p.time
        r.relTime = p.time - (firstTime ?? p.time)
        r.ttl = Int(p.ttl)
        r.delay = r.delay.map { $0 + max(0, p.time - listed[li].time) }
        r.direction = "out"
        r.localBuilt = false
        listed.append(r)
        lastRecord = r
        return true
    }

    private func noteHost(_ p: DecodedPacket) {
        if hosts.count >= Self.maxHosts, hosts[p.src] == nil { hosts.removeAll(keepingCapacity: true) }
        var h = hosts[p.src] ?? HostBaseline()
        if h.ttlState == 0 { h.ttl = p.ttl; h.ttlState = 1 } else if h.ttl != p.ttl { h.ttlState = 2 }
        if p.hasMAC {
            if h.macState == 0 { h.mac = p.srcMAC; h.macState = 1 } else if h.mac != p.srcMAC { h.macState = 2 }
        }
        hosts[p.src] = h
    }

    private static func carryBaselines(from old: DirState, to new: inout DirState) {
        new.ttl = old.ttl
        new.ttlState = old.ttlState
        new.mac = old.mac
        new.macState = old.macState
        new.flowLabelState = old.flowLabelState
    }

    // MARK: classification

    /// Classifies a RST with the connection's state before it. The record (with its explanation) is
    /// only built when it will be listed or handed to `onReset`: counting is all a large capture needs.
    private func classify(_ p: DecodedPacket, dir: Int, flow f: FlowState, key: FlowKey, frame: UnsafeRawBufferPointer,
                          localBuilt: Bool?) -> (RSTClass, ResetRecord?) {
        let s = dir == 0 ? f.d0 : f.d1
        let o = dir == 0 ? f.d1 : f.d0
        let rstHasAck = p.flags & TCPFlag.ack != 0
        let stateless = p.window == 0 && !p.hasOptions && (!rstHasAck || p.seq == 0)

        // The packet this RST answers: the peer's last one, if the peer spoke last.
        let hasTrigger = o.packets > 0 && (s.packets == 0 || o.lastTime >= s.lastNonRSTTime)
        let trigSyn = hasTrigger && o.lastFlags & (TCPFlag.syn | TCPFlag.ack | TCPFlag.rst) == TCPFlag.syn
        let isChallenge = hasTrigger && f.challengeFrom == Int8(1 - dir) && f.challengeFrame == o.lastFrame
        let answered: String
        if !hasTrigger { answered = "none" } else if o.lastFlags & TCPFlag.rst != 0 { answered = "RST" } else if o.lastFlags & TCPFlag.syn != 0 {
            answered = o.lastFlags & TCPFlag.ack != 0 ? "SYN-ACK" : "SYN"
        } else if o.lastFlags & TCPFlag.fin != 0 { answered = "FIN" } else if o.lastLen > 0 { answered = "data" } else if isChallenge {
            answered = "challenge-ACK"
        } else { answered = "ACK" }
        let idle = hasTrigger ? o.lastGap : (f.d0.packets + f.d1.packets + f.resets > 0 ? max(0, p.time - f.lastTime) : 0)
        let isIdle = idle >= options.idleThreshold
            || (hasTrigger && idle >= options.idleFloor && idle >= options.idleRatio * o.maxGapBefore)

        // Baselines: this connection's other packets from the sender, else the sender's other connections.
        var usualTTL: UInt8?
        var usualMAC: UInt64?
        if s.ttlState == 1 { usualTTL = s.ttl } else if s.ttlState == 0, let h = hosts[p.src], h.ttlState == 1 { usualTTL = h.ttl }
        if s.macState == 1 { usualMAC = s.mac } else if s.macState == 0, let h = hosts[p.src], h.macState == 1 { usualMAC = h.mac }
        let ttlDelta = usualTTL.map { Int(p.ttl) - Int($0) } ?? 0
        let macDiff = p.hasMAC && usualMAC != nil && usualMAC != p.srcMAC
        let labelForged = p.src.isV6 && s.flowLabelState == 1 && p.flowLabel == 0
        // Built here in the name of a host this one forwards for: only a firewall rule does that
        // (nft/iptables reject with tcp reset in the forward path).
        let routerBuilt = localBuilt == true && hosts[p.src]?.forwarded == true

        let role: (String, String)
        var roles = "handshake"
        var server: Int = -1
        if f.client >= 0 { server = 1 - Int(f.client) } else {
            roles = "ports"
            let sp = Int(p.sport), dp = Int(p.dport)
            if sp < 1024 && dp >= 1024 || (sp < 32768 && dp >= 32768) { server = dir } else if dp < 1024 && sp >= 1024 || (dp < 32768 && sp >= 32768) { server = 1 - dir } else { roles = "unknown" }
        }
        role = server < 0 ? ("unknown", "unknown") : (server == dir ? ("server", "client") : ("client", "server"))

        let cls: RSTClass
        var inflight: UInt32 = 0
        if f.reset {
            cls = .afterReset
        } else if s.sawSyn && !o.sawSynAck && f.challengeFrom == Int8(1 - dir) && p.seq == f.challengeAck {
            cls = .challengeAckAnswer
        } else if routerBuilt {
            cls = hasTrigger && !trigSyn && isIdle ? .afterIdle : .routerBuilt
        } else if ttlDelta != 0 {
            cls = hasTrigger && !trigSyn && isIdle ? .afterIdle : .injectedTTL
        } else if macDiff {
            cls = .injectedMAC
        } else if labelForged {
            cls = hasTrigger && !trigSyn && isIdle ? .afterIdle : .injectedFlowLabel
        } else if trigSyn && !s.sawSynAck {
            cls = .synAnswer
        } else if f.closed && f.firstFinDir == Int8(1 - dir) && p.time - f.closeTime <= options.timeWait && hasTrigger
            && o.lastFlags & (TCPFlag.syn | TCPFlag.fin | TCPFlag.rst) == 0 && o.lastTime >= f.closeTime {
            cls = .intoTimeWait
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
            cls = payloadText(p, frame) != nil ? .withPayloadText : .noContext
        } else {
            cls = .midStream
        }

        rstCount += 1
        byClass[Self.classIndex[cls] ?? 0] += 1
        let listIt = listed.count < options.maxListedResets
        if !listIt { notListed += 1 }
        guard listIt || wantRecords else { return (cls, nil) }
        let info = classes[cls]

        let sender = "\(p.src.text):\(p.sport)"
        let receiver = "\(p.dst.text):\(p.dport)"
        let roleName: (String) -> String = { $0 == "unknown" ? "the sender" : "the \($0)" }
        var answeredText = "nothing (it sent the last packet itself)"
        if hasTrigger {
            let what: String
            switch answered {
            case "data": what = "\(o.lastLen) bytes of data"
            case "challenge-ACK": what = "the challenge ACK"
            default: what = "the \(answered)"
            }
            answeredText = "\(what) of frame \(o.lastFrame)"
        }
        let delay = hasTrigger ? max(0, p.time - o.lastTime) : nil
        // Only the placeholders the template names are computed.
        let ackNote: () -> String = {
            if rstHasAck && s.hasAck && seqAfter(p.ack, s.highestAck) {
                return "its ack (\(p.ack)) covers \(p.ack &- s.highestAck) byte(s) it had never acknowledged before"
            } else if hasTrigger && o.lastLen > 0 {
                return "it answered \(o.lastLen) byte(s) of data from \(receiver) with a RST instead of reading them"
            }
            return "received data was pending"
        }
        let senderSeen: () -> String = {
            s.packets > 0
                ? "The capture shows \(s.packets) earlier packet(s) from it in this connection (\(s.synFrame > 0 ? "first at frame \(s.synFrame)" : "the last at frame \(s.lastFrame)")), so it knew the connection before."
                : "The capture shows no earlier packet from it in this connection."
        }
        let values: [String: () -> String] = [
            "ack_note": ackNote, "sender_seen": senderSeen,
            "sender": { sender }, "receiver": { receiver },
            "sender_role": { roleName(role.0) }, "receiver_role": { roleName(role.1) },
            "answered": { answeredText }, "delay": { delay.map(Seconds.render) ?? "?" },
            "idle": { Seconds.render(idle) }, "ttl": { String(p.ttl) }, "usual_ttl": { usualTTL.map { String($0) } ?? "?" },
            "hops": { String(abs(ttlDelta)) }, "closer": { ttlDelta > 0 ? "closer" : "farther" },
            "mac": { MAC.text(p.srcMAC) }, "usual_mac": { usualMAC.map(MAC.text) ?? "?" },
            "prior_frame": { String(f.firstRSTFrame) }, "prior_class": { f.firstRSTClass.rawValue },
            "inflight": { "\(inflight) byte(s)" },
            "baseline": { s.ttlState == 1 ? "its other packets in this connection" : "its packets in other connections" },
            "ttl_check": { usualTTL == nil
                ? "no other packet from that host in the capture to compare its TTL with"
                : "the TTL matches the host's other packets, so the RST came from that host, not from a device in between" },
            "idle_note": { isIdle ? ", idle for \(Seconds.render(idle)) before that segment" : "" },
            "shape": { "\(rstHasAck ? "RST/ACK" : "RST without ACK"), window \(p.window)\(p.hasTimestamps ? ", timestamps" : (p.hasOptions ? ", options" : ", no options"))" },
            "answered_note": { hasTrigger ? "after \(answeredText)" : "on its own (it sent the last packet)" },
            "injected_evidence": {
                if routerBuilt { return "the capturing host sent it without having received it, while it forwards that host's traffic: it built the RST itself" }
                if ttlDelta != 0 {
                    return "its TTL/hop limit is \(p.ttl) where \(s.ttlState == 1 ? "its other packets in this connection" : "its packets in other connections") had \(usualTTL.map { String($0) } ?? "?") (\(abs(ttlDelta)) hop(s) \(ttlDelta > 0 ? "closer" : "farther"))"
                }
                return "it has IPv6 flow label 0 where its other packets carry one"
            },
        ]
        var explain = CaptureClasses.render(info.explain) { values[$0]?() }
        if let c = explain.first, c.isLowercase { explain = c.uppercased() + explain.dropFirst() }
        let payload = payloadText(p, frame)
        if let payload { explain += " The RST carries the text: \"\(payload)\"." }
        if roles == "ports" { explain += " (Roles guessed from the ports: no handshake in the capture.)" }

        var causes = info.cause.map { [$0] } ?? []
        // The Linux stack labels its own IPv6 RSTs; netfilter's reject leaves the flow label 0
        // (RST-SIGNALS.md, IPv6 notes): a labelled RST rules the firewall out as an alternative.
        causes += info.also.filter { !($0 == "firewall-reset" && p.src.isV6 && p.flowLabel != 0) }
        let record = ResetRecord(
            frame: Int(p.frame), time: p.time, relTime: p.time - (firstTime ?? p.time),
            src: p.src.text, sport: Int(p.sport), dst: p.dst.text, dport: Int(p.dport),
            flags: TCPFlag.text(p.flags), seq: p.seq, ack: p.ack, window: Int(p.window), ttl: Int(p.ttl),
            sender: role.0, roles: roles, answered: answered, answeredFrame: hasTrigger ? Int(o.lastFrame) : nil,
            delay: delay, class: cls.rawValue, cause: info.cause, causes: causes, explain: explain, stateless: stateless,
            ttlDelta: ttlDelta, idleBefore: idle, payload: payload,
            tunnel: p.tunnel == .none ? nil : p.tunnel.name, direction: PacketType.direction(p.packetType), localBuilt: localBuilt)
        if listIt { listed.append(record) }
        return (cls, record)
    }

    /// The printable text of a RST's captured payload (RFC 1122 diagnostic text, a middlebox's reason).
    private func payloadText(_ p: DecodedPacket, _ frame: UnsafeRawBufferPointer) -> String? {
        guard p.payloadCaptured > 0, p.payloadOffset >= 0, p.payloadOffset + p.payloadCaptured <= frame.count else { return nil }
        let n = min(p.payloadCaptured, 256)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(n)
        var letters = 0
        for i in 0..<n {
            let c = frame[p.payloadOffset + i]
            if c >= 0x20 && c < 0x7F {
                bytes.append(c)
                if (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) { letters += 1 }
            } else if c == 0x0A || c == 0x0D || c == 0x09 {
                bytes.append(0x20)
            } else {
                bytes.append(0x2E)
            }
        }
        // Binary payloads (segments of a TLS stream, padding) are not text.
        guard letters >= 3, letters * 2 >= n / 2 else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }

    // MARK: eviction and the report

    /// Moves a finished connection from the live table to the compact one.
    private func retire(_ key: FlowKey, slot: Int) {
        let f = flows.states[slot]
        let state = finalize(key, f)
        finishedFlows.put(key, FinishedFlow(f, state: state))
        flows.remove(at: slot)
    }

    /// Counts a connection's outcome; returns it.
    @discardableResult
    private func finalize(_ key: FlowKey, _ f: FlowState) -> ConnState {
        // A connection revived for late packets was counted when it finished. A first RST arriving
        // after its FINs (into TIME-WAIT) changes its outcome, as in Zeek, where a RST outranks the
        // FINs: the count moves from the old outcome to RSTO/RSTR.
        var code: ConnState
        if f.finishedBefore {
            guard f.reset, [.s1, .s2, .s3, .sf].contains(f.priorState) else { return f.priorState }
            code = f.firstRSTFromOrigin ? .rsto : .rstr
            let old = f.priorState.name
            if let n = connStates[old] { connStates[old] = n > 1 ? n - 1 : nil }
        } else {
            code = f.connStateCode
        }
        let state = code.name
        connStates[state, default: 0] += 1
        guard f.reset else { return code }
        guard outcomes.count < options.maxListedResets else { outcomesNotListed += 1; return code }
        let origA = f.origin == 0
        outcomes.append(FlowOutcome(
            orig: (origA ? key.a : key.b).text, origPort: Int(origA ? key.pa : key.pb),
            resp: (origA ? key.b : key.a).text, respPort: Int(origA ? key.pb : key.pa),
            connState: state, firstResetFrame: Int(f.firstRSTFrame), resets: Int(f.resets), cause: f.firstRSTCause))
        return code
    }

    /// Makes room: closed and reset connections past their hold time go first, then the least
    /// recently active, down to three quarters of the limit.
    private func sweep(now: Double) {
        let target = options.maxFlows * 3 / 4
        var removable: [(Double, FlowKey)] = []
        removable.reserveCapacity(flows.count)
        for (slot, k) in flows.all() {
            let f = flows.states[slot]
            // Done connections sort before live ones of the same age.
            let done = f.reset || f.closed
            let expired = done && now - f.lastTime > (f.closed ? options.timeWait : 10)
            removable.append((expired ? -Double.infinity : (done ? f.lastTime - 1e9 : f.lastTime), k))
        }
        removable.sort { $0.0 < $1.0 }
        for (_, k) in removable.prefix(max(0, flows.count - target)) {
            // Slots move as entries are removed: look each one up again.
            if let slot = flows.find(k) {
                finalize(k, flows.states[slot])
                flows.remove(at: slot)
            }
        }
    }

    /// The report of everything fed so far; finalizes the connections still open (call once, at the end).
    package func report(error: String? = nil) -> CaptureReport {
        if var r = finished {
            r.error = error ?? r.error
            return r
        }
        for (slot, k) in flows.all() { finalize(k, flows.states[slot]) }
        flows.removeAll()
        var classCounts: [String: Int] = [:]
        var byCause: [String: Int] = [:]
        for (i, c) in RSTClass.allCases.enumerated() where byClass[i] > 0 {
            classCounts[c.rawValue] = byClass[i]
            byCause[classes[c].cause ?? "none", default: 0] += byClass[i]
        }
        var tun: [String: Int] = [:]
        for k in TunnelKind.allCases where k != .none && tunnels[Int(k.rawValue)] > 0 { tun[k.name] = tunnels[Int(k.rawValue)] }
        let nd = undecoded.sorted { $0.key < $1.key }.map { NotDecoded(what: $0.key, packets: $0.value) }
        let r = CaptureReport(
            source: source, linkType: PcapHandle.linkTypeName(linkType), packets: packets, tcpPackets: tcpPackets,
            malformed: malformed, fragments: fragments, filteredOut: filteredOut, flows: flowCount,
            firstTime: firstTime, lastTime: lastTime, rstCount: rstCount, resetsByClass: classCounts,
            resetsByCause: byCause, connStates: connStates, tunnels: tun, notDecoded: nd, resets: listed,
            resetsNotListed: notListed, resetFlows: outcomes, error: error)
        finished = r
        return r
    }

    /// Connections tracked right now (for progress and memory tests).
    package var trackedFlows: Int { flows.count }
}

extension FlowState {
    /// Updates the state with a non-RST segment from direction `dir`.
    @inline(__always)
    mutating func note(_ p: DecodedPacket, dir: Int) {
        let gap = (d0.packets + d1.packets + resets) > 0 ? max(0, p.time - lastTime) : 0
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
            if hasAck {
                s.sawSynAck = true
                ev |= evSynAck
            } else {
                s.sawSyn = true
                s.synSeq = p.seq
                s.synFrame = p.frame
                ev |= evSyn
            }
        } else if hasAck {
            ev |= evBareAck
        }
        if flags & TCPFlag.fin != 0 && !s.sawFin {
            s.sawFin = true
            ev |= evFin
        }
        let end = p.seq &+ UInt32(truncatingIfNeeded: p.payloadLength) &+ (flags & TCPFlag.syn != 0 ? 1 : 0) &+ (flags & TCPFlag.fin != 0 ? 1 : 0)
        if !s.hasSeq || seqAfter(end, s.nextSeq) { s.nextSeq = end; s.hasSeq = true }
        if hasAck && (!s.hasAck || seqAfter(p.ack, s.highestAck)) { s.highestAck = p.ack; s.hasAck = true }
        s.lastFrame = p.frame
        s.lastTime = p.time
        s.lastNonRSTTime = p.time
        s.lastGap = gap
        s.maxGapBefore = maxGap
        s.lastLen = UInt32(truncatingIfNeeded: p.payloadLength)
        s.lastFlags = flags
        return ev
    }

    /// Records a RST (after it was classified with the state before it).
    mutating func noteRST(_ p: DecodedPacket, dir: Int, class cls: RSTClass, cause: String?) {
        resets &+= 1
        if firstRSTFrame == 0 {
            firstRSTFrame = p.frame
            firstRSTClass = cls
            firstRSTCause = cause
            firstRSTFromOrigin = Int8(dir) == origin
        }
        let gap = max(0, p.time - lastTime)
        if dir == 0 {
            d0.sawRst = true; d0.lastFrame = p.frame; d0.lastTime = p.time; d0.lastFlags = p.flags; d0.lastLen = 0; d0.lastGap = gap
        } else {
            d1.sawRst = true; d1.lastFrame = p.frame; d1.lastTime = p.time; d1.lastFlags = p.flags; d1.lastLen = 0; d1.lastGap = gap
        }
        if p.time > lastTime { lastTime = p.time }
    }
}
