import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Turns a judgement into the record users read: the explanation from the class's template
/// (knowledge/capture-classes.yaml) filled with the RST's evidence. Pure.
enum RSTExplainer {
    static func record(_ c: ResetContext, _ j: Judgement, classes: CaptureClasses) -> ResetRecord {
        let p = c.p, f = c.flow
        let s = c.dir == 0 ? f.d0 : f.d1
        let o = c.dir == 0 ? f.d1 : f.d0
        let info = classes[j.cls]
        let srcText = p.src.text, dstText = p.dst.text
        let sender = "\(srcText):\(p.sport)"
        let receiver = "\(dstText):\(p.dport)"
        let roleName: (String) -> String = { $0 == "unknown" ? "the sender" : "the \($0)" }
        var answeredText = "nothing (it sent the last packet itself)"
        if j.hasTrigger {
            let what: String
            switch j.answered {
            case "data": what = "\(o.lastLen) bytes of data"
            case "challenge-ACK": what = "the challenge ACK"
            default: what = "the \(j.answered)"
            }
            answeredText = "\(what) of frame \(o.lastFrame)"
        }
        let delay = j.hasTrigger ? max(0, p.time - o.lastTime) : nil
        let baselineText: String
        switch j.baseline {
        case "both": baselineText = "its other packets in this connection, before and after it"
        case "after": baselineText = "its packets after it in this connection"
        case "host": baselineText = "its packets in other connections"
        default: baselineText = "its other packets in this connection"
        }
        let ttlEvidence = { "its TTL/hop limit is \(p.ttl) where \(baselineText) had \(j.usualTTL.map { String($0) } ?? "?")" }
        // Only the placeholders the template names are computed.
        let ackNote: () -> String = {
            if j.rstHasAck && s.hasAck && seqAfter(p.ack, s.highestAck) {
                return "its ack (\(p.ack)) covers \(p.ack &- s.highestAck) byte(s) it had never acknowledged before"
            } else if j.hasTrigger && o.lastLen > 0 {
                return "it answered \(o.lastLen) byte(s) of data from \(receiver) with a RST instead of reading them"
            }
            return "received data was pending"
        }
        let senderSeen: () -> String = {
            s.packets > 0
                ? "The capture shows \(s.packets) earlier packet(s) from it in this connection (\(s.synFrame > 0 ? "first at frame \(s.synFrame)" : "the last at frame \(s.lastFrame)")), so it knew the connection before."
                : "The capture shows no earlier packet from it in this connection."
        }
        let injectedEvidence: () -> String = {
            if j.routerBuilt { return "the capturing host sent it without having received it, while it forwards that host's traffic: it built the RST itself" }
            var parts: [String] = []
            if j.ttlDelta != 0 { parts.append(ttlEvidence()) }
            if j.ipIDCopied { parts.append("its IP ID (\(p.ipID), 0x\(String(p.ipID, radix: 16))) is the one of the \(j.answered) it answers (frame \(o.lastFrame)), copied from it, while a stack numbers its own packets") }
            if j.continued, let l = c.later {
                let what = l.flags & TCPFlag.syn != 0 ? "its SYN-ACK" : "\(l.length) bytes of data"
                parts.append("\(sender) itself sent \(what) in frame \(l.frame), \(Seconds.render(max(0, l.time - p.time))) after the RST, as if nothing had been reset")
            }
            if parts.isEmpty { return "it has IPv6 flow label 0 where its other packets carry one" }
            return parts.joined(separator: "; ")
        }
        // Only the placeholders the template names are computed.
        func value(_ slot: ExplainTemplate.Slot) -> String {
            switch slot {
            case .ackNote: ackNote()
            case .senderSeen: senderSeen()
            case .sender: sender
            case .receiver: receiver
            case .senderRole: roleName(j.role.0)
            case .receiverRole: roleName(j.role.1)
            case .answered: answeredText
            case .delay: delay.map(Seconds.render) ?? "?"
            case .idle: Seconds.render(j.idle)
            case .ttl: String(p.ttl)
            case .usualTTL: j.usualTTL.map { String($0) } ?? "?"
            case .hops: String(abs(j.ttlDelta))
            case .closer: j.ttlDelta > 0 ? "closer" : "farther"
            case .mac: MAC.text(p.srcMAC)
            case .usualMAC: j.usualMAC.map(MAC.text) ?? "?"
            case .priorFrame: String(f.firstRSTFrame)
            case .priorClass: f.firstRSTClass.rawValue
            case .inflight: "\(j.inflight) byte(s)"
            case .baseline: baselineText
            case .ttlCheck: j.usualTTL == nil
                ? "no other packet from that host in the capture, before or after the RST, to compare its TTL with"
                : "the TTL matches \(baselineText), so the RST came from that host, not from a device in between"
            case .idleNote: j.isIdle ? ", idle for \(Seconds.render(j.idle)) before that segment" : ""
            case .shape: "\(j.rstHasAck ? "RST/ACK" : "RST without ACK"), window \(p.window)\(p.hasTimestamps ? ", timestamps" : (p.hasOptions ? ", options" : ", no options"))"
            case .answeredNote: j.hasTrigger ? "after \(answeredText)" : "on its own (it sent the last packet)"
            case .injectedEvidence: injectedEvidence()
            case .duplicate:
                "\(s.lastLen > 0 ? "its \(s.lastLen)-byte segment" : "its segment") of frame \(s.lastFrame), "
                    + "which \(receiver) had already received: its ACK acknowledges up to \(o.highestAck), "
                    + "beyond everything the capture saw \(sender) send (up to \(s.nextSeq))"
            case .twin: (c.twin ?? c.victim).map { "\($0.remote.text):\($0.remotePort)" } ?? "?"
            case .twinFrame: String(c.twin?.frame ?? c.victim?.frame ?? 0)
            case .rstSeq: String(p.seq)
            case .windowNote:
                { () -> String in
                    let (_, win, ack) = RSTJudge.beyondWindow(o.lastSeq, receiver: s, sender: o, later: c.later)
                    return "its seq \(o.lastSeq) lies \(o.lastSeq &- ack) bytes beyond \(sender)'s ack (\(ack)), "
                        + "where \(sender)'s window was at most \(win) bytes"
                }()
            case .ownFin: s.finFrame > 0 ? "its FIN of frame \(s.finFrame), \(Seconds.render(max(0, p.time - s.finTime))) before the RST" : "its FIN"
            }
        }
        var explain = info.template.render(value)
        if let payload = c.payload { explain += " The RST carries the text: \"\(payload)\"." }
        if j.roles == "ports" { explain += " (Roles guessed from the ports: no handshake in the capture.)" }

        // The Linux stack labels its own IPv6 RSTs; netfilter's reject leaves the flow label 0
        // (RST-SIGNALS.md, IPv6 notes): a labelled RST rules the firewall out as an alternative.
        let labelled = p.src.isV6 && p.flowLabel != 0
        let causes = labelled ? info.causes.filter { $0 != "firewall-reset" || $0 == info.cause } : info.causes
        return ResetRecord(
            frame: Int(p.frame), time: p.time, relTime: p.time - c.captureStart,
            src: srcText, sport: Int(p.sport), dst: dstText, dport: Int(p.dport),
            flags: TCPFlag.text(p.flags), seq: p.seq, ack: p.ack, window: Int(p.window), ttl: Int(p.ttl),
            sender: j.role.0, roles: j.roles, answered: j.answered, answeredFrame: j.hasTrigger ? Int(o.lastFrame) : nil,
            delay: delay, class: j.cls.rawValue, cause: info.cause, causes: causes, explain: explain, stateless: j.stateless,
            ttlDelta: j.ttlDelta, idleBefore: j.idle, payload: c.payload,
            tunnel: p.tunnel == .none ? nil : p.tunnel.name, direction: PacketType.direction(p.packetType), localBuilt: c.localBuilt)
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
