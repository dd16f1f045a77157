import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// A RST judged for good, its record still to be made (pure): the sink makes it when it takes it,
/// maybe on its own thread, as a `ResetRecord` (`make()`), or writes it straight into its output
/// without one (CaptureJSON). One object per listed RST, handed on instead of a closure.
package final class JudgedReset {
    let ctx: ResetContext
    let j: Judgement
    let classes: CaptureClasses

    init(_ ctx: __owned ResetContext, _ j: Judgement, classes: CaptureClasses) {
        self.ctx = ctx
        self.j = j
        self.classes = classes
    }

    /// The record.
    func callAsFunction() -> ResetRecord { RSTExplainer.record(ctx, j, classes: classes) }

    var info: CaptureClassInfo { classes[j.cls] }
    /// The packet the RST answered came from the receiver: its direction's state.
    var receiverSide: DirState { ctx.dir == 0 ? ctx.flow.d1 : ctx.flow.d0 }
    var answeredFrame: Int? { j.hasTrigger ? Int(receiverSide.lastFrame) : nil }
    var delay: Double? { j.hasTrigger ? max(0, ctx.p.time - receiverSide.lastTime) : nil }

    /// The causes the wire leaves open. The Linux stack labels its own IPv6 RSTs; netfilter's reject
    /// leaves the flow label 0 (RST-SIGNALS.md, IPv6 notes): a labelled RST rules the firewall out.
    var causes: [String] {
        let info = self.info
        let labelled = ctx.p.src.isV6 && ctx.p.flowLabel != 0
        return labelled ? info.causes.filter { $0 != "firewall-reset" || $0 == info.cause } : info.causes
    }
}

/// Turns a judgement into the record users read: the explanation from the class's template
/// (knowledge/capture-classes.yaml) filled with the RST's evidence. Pure.
enum RSTExplainer {
    static func record(_ c: ResetContext, _ j: Judgement, classes: CaptureClasses) -> ResetRecord {
        let judged = JudgedReset(c, j, classes: classes)
        let p = c.p
        let text = ByteOutput()
        explain(judged, into: text)
        return ResetRecord(
            frame: Int(p.frame), time: p.time, relTime: p.time - c.captureStart,
            src: p.src.text, sport: Int(p.sport), dst: p.dst.text, dport: Int(p.dport),
            flags: TCPFlag.text(p.flags), seq: p.seq, ack: p.ack, window: Int(p.window), ttl: Int(p.ttl),
            sender: j.role.0.string, roles: j.roles.string, answered: j.answered.string, answeredFrame: judged.answeredFrame,
            delay: judged.delay, class: j.cls.rawValue, cause: judged.info.cause, causes: judged.causes,
            explain: text.string(from: 0), stateless: j.stateless,
            ttlDelta: j.ttlDelta, idleBefore: j.idle, payload: c.payload,
            tunnel: p.tunnel == .none ? nil : p.tunnel.name, direction: PacketType.direction(p.packetType), localBuilt: c.localBuilt)
    }

    /// Writes the explanation of a judged RST to `o`: its class's template filled with the RST's
    /// evidence (only the placeholders the template names are computed), then the payload and roles
    /// notes. Returns whether a byte written may need a JSON escape: the template's literals may (looked
    /// at once), the payload's text may; the values written here are numbers, addresses, MACs, times
    /// and this file's own words, which need none (CaptureJSON asserts it in debug builds).
    @discardableResult
    static func explain(_ r: JudgedReset, into o: ByteOutput) -> Bool {
        let j = r.j
        let p = r.ctx.p, f = r.ctx.flow
        let s = r.ctx.dir == 0 ? f.d0 : f.d1
        let o2 = r.receiverSide
        func endpoint(_ a: IPAddress, _ port: UInt16, _ o: ByteOutput) {
            o.address(a)
            o.byte(0x3A)
            o.decimal(Int(port))
        }
        func sender() -> String { "\(p.src.text):\(p.sport)" }
        func receiver() -> String { "\(p.dst.text):\(p.dport)" }
        func role(_ name: Word, _ o: ByteOutput) {
            if name == "unknown" { o.raw("the sender") } else { o.raw("the "); o.raw(name.text) }
        }
        func answered(_ o: ByteOutput) {
            guard j.hasTrigger else { return o.raw("nothing (it sent the last packet itself)") }
            switch j.answered {
            case "data": o.decimal(Int(o2.lastLen)); o.raw(" bytes of data")
            case "challenge-ACK": o.raw("the challenge ACK")
            default: o.raw("the "); o.raw(j.answered.text)
            }
            o.raw(" of frame ")
            o.decimal(o2.lastFrame)
        }
        func baseline(_ o: ByteOutput) {
            switch j.baseline {
            case "both": o.raw("its other packets in this connection, before and after it")
            case "after": o.raw("its packets after it in this connection")
            case "host": o.raw("its packets in other connections")
            default: o.raw("its other packets in this connection")
            }
        }
        func usualTTL(_ o: ByteOutput) {
            if let t = j.usualTTL { o.decimal(Int(t)) } else { o.raw("?") }
        }
        // The rarer, longer pieces are made as text.
        func ackNote() -> String {
            if j.rstHasAck && s.hasAck && seqAfter(p.ack, s.highestAck) {
                return "its ack (\(p.ack)) covers \(p.ack &- s.highestAck) byte(s) it had never acknowledged before"
            } else if j.hasTrigger && o2.lastLen > 0 {
                return "it answered \(o2.lastLen) byte(s) of data from \(receiver()) with a RST instead of reading them"
            }
            return "received data was pending"
        }
        func injectedEvidence() -> String {
            if j.routerBuilt { return "the capturing host sent it without having received it, while it forwards that host's traffic: it built the RST itself" }
            var parts: [String] = []
            if j.ttlDelta != 0 {
                let b = ByteOutput()
                b.raw("its TTL/hop limit is ")
                b.decimal(Int(p.ttl))
                b.raw(" where ")
                baseline(b)
                b.raw(" had ")
                usualTTL(b)
                parts.append(b.string(from: 0))
            }
            if j.ipIDCopied { parts.append("its IP ID (\(p.ipID), 0x\(String(p.ipID, radix: 16))) is the one of the \(j.answered) it answers (frame \(o2.lastFrame)), copied from it, while a stack numbers its own packets") }
            if j.continued, let l = r.ctx.later {
                let what = l.flags & TCPFlag.syn != 0 ? "its SYN-ACK" : "\(l.length) bytes of data"
                parts.append("\(sender()) itself sent \(what) in frame \(l.frame), \(Seconds.render(max(0, l.time - p.time))) after the RST, as if nothing had been reset")
            }
            if parts.isEmpty { return "it has IPv6 flow label 0 where its other packets carry one" }
            return parts.joined(separator: "; ")
        }
        var mayNeedEscape = r.info.template.render(into: o) { slot, o in
            switch slot {
            case .ackNote: o.text(ackNote())
            case .senderSeen:
                if s.packets > 0 {
                    o.raw("The capture shows ")
                    o.decimal(Int(s.packets))
                    o.raw(" earlier packet(s) from it in this connection (")
                    if s.synFrame > 0 { o.raw("first at frame ") } else { o.raw("the last at frame ") }
                    o.decimal(s.synFrame > 0 ? s.synFrame : s.lastFrame)
                    o.raw("), so it knew the connection before.")
                } else {
                    o.raw("The capture shows no earlier packet from it in this connection.")
                }
            case .sender: endpoint(p.src, p.sport, o)
            case .receiver: endpoint(p.dst, p.dport, o)
            case .senderRole: role(j.role.0, o)
            case .receiverRole: role(j.role.1, o)
            case .answered: answered(o)
            case .delay: if let d = r.delay { o.seconds(d) } else { o.raw("?") }
            case .idle: o.seconds(j.idle)
            case .ttl: o.decimal(Int(p.ttl))
            case .usualTTL: usualTTL(o)
            case .hops: o.decimal(abs(j.ttlDelta))
            case .closer: if j.ttlDelta > 0 { o.raw("closer") } else { o.raw("farther") }
            case .mac: o.text(MAC.text(p.srcMAC))
            case .usualMAC: o.text(j.usualMAC.map(MAC.text) ?? "?")
            case .priorFrame: o.decimal(f.firstRSTFrame)
            case .priorClass: o.text(f.firstRSTClass.rawValue)
            case .inflight: o.decimal(Int(j.inflight)); o.raw(" byte(s)")
            case .baseline: baseline(o)
            case .ttlCheck:
                if j.usualTTL == nil {
                    o.raw("no other packet from that host in the capture, before or after the RST, to compare its TTL with")
                } else {
                    o.raw("the TTL matches ")
                    baseline(o)
                    o.raw(", so the RST came from that host, not from a device in between")
                }
            case .idleNote: if j.isIdle { o.raw(", idle for "); o.seconds(j.idle); o.raw(" before that segment") }
            case .shape:
                if j.rstHasAck { o.raw("RST/ACK, window ") } else { o.raw("RST without ACK, window ") }
                o.decimal(Int(p.window))
                if p.hasTimestamps { o.raw(", timestamps") } else if p.hasOptions { o.raw(", options") } else { o.raw(", no options") }
            case .answeredNote: if j.hasTrigger { o.raw("after "); answered(o) } else { o.raw("on its own (it sent the last packet)") }
            case .injectedEvidence: o.text(injectedEvidence())
            case .duplicate:
                o.text("\(s.lastLen > 0 ? "its \(s.lastLen)-byte segment" : "its segment") of frame \(s.lastFrame), "
                    + "which \(receiver()) had already received: its ACK acknowledges up to \(o2.highestAck), "
                    + "beyond everything the capture saw \(sender()) send (up to \(s.nextSeq))")
            case .twin: o.text((r.ctx.twin ?? r.ctx.victim).map { "\($0.remote.text):\($0.remotePort)" } ?? "?")
            case .twinFrame: o.decimal(r.ctx.twin?.frame ?? r.ctx.victim?.frame ?? 0)
            case .rstSeq: o.decimal(Int(p.seq))
            case .windowNote:
                let (_, win, ack) = RSTJudge.beyondWindow(o2.lastSeq, receiver: s, sender: o2, later: r.ctx.later)
                o.text("its seq \(o2.lastSeq) lies \(o2.lastSeq &- ack) bytes beyond \(sender())'s ack (\(ack)), "
                    + "where \(sender())'s window was at most \(win) bytes")
            case .ownFin:
                o.text(s.finFrame > 0
                    ? "its FIN of frame \(s.finFrame), \(Seconds.render(max(0, p.time - s.finTime))) before the RST" : "its FIN")
            }
        }
        if let payload = r.ctx.payload {
            o.raw(" The RST carries the text: \"")
            mayNeedEscape = true
            o.text(payload)
            o.raw("\".")
        }
        if j.roles == "ports" { o.raw(" (Roles guessed from the ports: no handshake in the capture.)") }
        return mayNeedEscape
    }

    /// The printable text of a RST's captured payload (RFC 1122 diagnostic text, a middlebox's reason).
    static func payloadText(_ p: DecodedPacket, _ frame: UnsafeRawBufferPointer) -> String? {
        guard p.payloadCaptured > 0, p.payloadOffset >= 0, p.payloadOffset + p.payloadCaptured <= frame.count else { return nil }
        let n = min(p.payloadCaptured, 256)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(n)
        var letters = 0
        for i in 0..<n {
            let ch = frame[p.payloadOffset + i]
            if ch >= 0x20 && ch < 0x7F {
                bytes.append(ch)
                if (ch >= 0x41 && ch <= 0x5A) || (ch >= 0x61 && ch <= 0x7A) { letters += 1 }
            } else if ch == 0x0A || ch == 0x0D || ch == 0x09 {
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
}
