import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// The JSON of `rstdoctor capture --format json` (docs/json-schema.md, `rstdoctor.capture/2`): one
/// document, the header, then every listed RST record on its own line as soon as it is final, the
/// reset connections (spooled to a temporary file meanwhile), then the summary. Memory stays fixed.
package final class CaptureJSON: ResetSink {
    package static let fullReport = CodingUserInfoKey(rawValue: "rstdoctor.capture.full")!
    private let out: ByteOutput
    private let flowSpool: ByteOutput
    private var resets = 0
    private var flows = 0
    /// An explanation that needs escaping is copied here first.
    private let scratch = ByteOutput()
    /// Per class, `,"class":…,"cause":…,"causes":[…]` as written for its RSTs (but labelled IPv6 ones).
    private var classFields = [[UInt8]?](repeating: nil, count: RSTClass.allCases.count)

    package init(out: ByteOutput, source: String) {
        self.out = out
        flowSpool = out.fd >= 0 ? (ByteOutput.temporary() ?? ByteOutput()) : ByteOutput()
        out.write("{\"schema\":\"\(CaptureReport.schemaVersion)\",\"source\":")
        out.string(source)
        out.write(",\n\"resets\":[")
    }

    package func reset(_ r: ResetRecord) -> Bool {
        out.flushIfFull()
        if resets == 0 { out.byte(0x0A) } else { out.raw(",\n") }
        Self.encode(r, out)
        resets += 1
        return true
    }

    /// Written straight from the judgement: the bytes `encode(make())` writes, without the record.
    package func reset(making make: JudgedReset) -> Bool {
        let out = self.out, scratch = self.scratch
        out.flushIfFull()
        if resets == 0 { out.byte(0x0A) } else { out.raw(",\n") }
        Self.encodeHead(make, out)
        let p = make.ctx.p
        if p.src.isV6 && p.flowLabel != 0 {
            Self.encodeClass(make, out)
        } else {
            // The same bytes for every RST of the class: made once.
            let ci = make.j.cls.index
            if classFields[ci] == nil {
                let b = ByteOutput()
                Self.encodeClass(make, b)
                classFields[ci] = b.bytes
            }
            classFields[ci]!.withUnsafeBytes { out.append($0) }
        }
        Self.encodeTail(make, out, scratch: scratch)
        resets += 1
        return true
    }

    package func flow(_ o: FlowOutcome) {
        flowEntry({ $0.field("orig", o.orig, first: true) }, o.origPort, { $0.field("resp", o.resp) }, o.respPort,
                  { $0.field("conn_state", o.connState) }, o.firstResetFrame, o.resets, o.cause)
    }

    /// Written straight from the draft: the bytes `flow(d.outcome)` writes, the addresses written as
    /// bytes (no texts made).
    package func flow(_ d: FlowOutcomeDraft) {
        let (orig, resp) = d.origA ? (d.key.a, d.key.b) : (d.key.b, d.key.a)
        let (origPort, respPort) = d.origA ? (d.key.pa, d.key.pb) : (d.key.pb, d.key.pa)
        let state = d.connState.word.text
        flowEntry({ $0.field("orig", orig, first: true) }, Int(origPort), { $0.field("resp", resp) }, Int(respPort),
                  { $0.field("conn_state", word: state) }, d.firstResetFrame, d.resets, d.cause)
    }

    /// One entry of `reset_flows`, fields in the order of `FlowOutcome.CodingKeys`.
    @inline(__always) private func flowEntry(
        _ orig: (ByteOutput) -> Void, _ origPort: Int, _ resp: (ByteOutput) -> Void, _ respPort: Int,
        _ connState: (ByteOutput) -> Void, _ firstResetFrame: Int, _ resets: Int, _ cause: String?
    ) {
        let w = flowSpool
        w.flushIfFull()
        if flows == 0 { w.raw("\n{") } else { w.raw(",\n{") }
        orig(w)
        w.field("orig_port", origPort)
        resp(w)
        w.field("resp_port", respPort)
        connState(w)
        w.field("first_reset_frame", firstResetFrame)
        w.field("resets", resets)
        w.field("cause", cause)
        w.byte(0x7D)
        flows += 1
    }

    /// Ends the document with the reset connections and the summary (sorted keys), and flushes.
    package func finish(_ r: CaptureReport) {
        out.write("\n],\n\"reset_flows\":[")
        out.append(contentsOf: flowSpool)
        out.write("\n],\n")
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let summary = (try? enc.encode(r)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        // The summary object's members continue the document.
        out.write(String(summary.dropFirst().drop { $0 == "\n" }))
        out.write("\n")
        out.flush()
    }

    /// The whole document of a report kept in memory.
    package static func document(_ r: CaptureReport) -> String {
        let out = ByteOutput()
        let w = CaptureJSON(out: out, source: r.source)
        for x in r.resets { _ = w.reset(x) }
        for o in r.resetFlows { w.flow(o) }
        w.finish(r)
        return String(decoding: out.bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    /// One record on one line, fields in the order of `ResetRecord.CodingKeys`.
    static func encode(_ x: ResetRecord, _ o: ByteOutput) {
        o.byte(0x7B)
        o.field("frame", x.frame, first: true)
        o.field("time", x.time)
        o.field("rel_time", x.relTime)
        o.field("src", x.src)
        o.field("sport", x.sport)
        o.field("dst", x.dst)
        o.field("dport", x.dport)
        o.field("flags", x.flags)
        o.field("seq", x.seq)
        o.field("ack", x.ack)
        o.field("window", x.window)
        o.field("ttl", x.ttl)
        o.field("sender", x.sender)
        o.field("roles", x.roles)
        o.field("answered", x.answered)
        if let f = x.answeredFrame { o.field("answered_frame", f) } else { o.field("answered_frame", nil as String?) }
        o.field("delay", x.delay)
        o.field("class", x.class)
        o.field("cause", x.cause)
        o.raw(",\"causes\":[")
        for (i, c) in x.causes.enumerated() {
            if i > 0 { o.byte(0x2C) }
            o.string(c)
        }
        o.byte(0x5D)
        o.field("explain", x.explain)
        o.field("stateless", x.stateless)
        o.field("ttl_delta", x.ttlDelta)
        o.field("idle_before", x.idleBefore)
        if let p = x.payload { o.field("payload", p) }
        if let t = x.tunnel { o.field("tunnel", t) }
        if let d = x.direction { o.field("direction", d) }
        if let l = x.localBuilt { o.field("local_built", l) }
        o.byte(0x7D)
    }

    /// The same record written from the judgement (`RSTExplainer.record` makes its fields), in three
    /// parts (`reset(making:)`): up to `delay`; the class and its causes; from `explain` on. The
    /// explanation is written into the output as it is made (escaped through `scratch` if it must be).
    static func encodeHead(_ r: JudgedReset, _ o: ByteOutput) {
        let j = r.j, p = r.ctx.p
        o.byte(0x7B)
        o.field("frame", Int(p.frame), first: true)
        o.field("time", p.time)
        o.field("rel_time", p.time - r.ctx.captureStart)
        o.field("src", p.src)
        o.field("sport", Int(p.sport))
        o.field("dst", p.dst)
        o.field("dport", Int(p.dport))
        o.field("flags", TCPFlag.text(p.flags))
        o.field("seq", p.seq)
        o.field("ack", p.ack)
        o.field("window", Int(p.window))
        o.field("ttl", Int(p.ttl))
        o.field("sender", word: j.role.0.text)
        o.field("roles", word: j.roles.text)
        o.field("answered", word: j.answered.text)
        if let f = r.answeredFrame { o.field("answered_frame", f) } else { o.field("answered_frame", nil as String?) }
        o.field("delay", r.delay)
    }

    static func encodeClass(_ r: JudgedReset, _ o: ByteOutput) {
        o.field("class", r.j.cls.rawValue)
        o.field("cause", r.info.cause)
        o.raw(",\"causes\":[")
        for (i, c) in r.causes.enumerated() {
            if i > 0 { o.byte(0x2C) }
            o.string(c)
        }
        o.byte(0x5D)
    }

    static func encodeTail(_ r: JudgedReset, _ o: ByteOutput, scratch: ByteOutput) {
        let j = r.j, p = r.ctx.p
        o.key("explain")
        o.byte(0x22)
        let start = o.count
        let mayNeedEscape = RSTExplainer.explain(r, into: o)
        assert(mayNeedEscape || !o.needsEscape(from: start), "an explanation's value needs a JSON escape")
        o.closeString(from: start, scratch: scratch, checked: !mayNeedEscape)
        o.field("stateless", j.stateless)
        o.field("ttl_delta", j.ttlDelta)
        o.field("idle_before", j.idle)
        if let t = r.ctx.payload { o.field("payload", t) }
        if p.tunnel != .none { o.field("tunnel", p.tunnel.name) }
        if let d = PacketType.direction(p.packetType) { o.field("direction", d) }
        if let l = r.ctx.localBuilt { o.field("local_built", l) }
        o.byte(0x7D)
    }
}
