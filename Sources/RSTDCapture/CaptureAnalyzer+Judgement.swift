import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// When a RST's judgement becomes final (RSTJudge classifies, RSTExplainer explains): at once, or
/// after the look-ahead (PendingResets); and the forwarded copies of RSTs in cooked captures.
extension CaptureAnalyzer {
    /// The outgoing copy of a RST the host received and forwarded: listed (tshark lists both frames)
    /// with the original's class, marked as forwarded, and nothing else changes. The copy of a RST
    /// whose judgement is pending waits with it.
    func forwardedRST(_ p: DecodedPacket, _ original: ForwardedCopies.Entry, key: FlowKey) -> Bool {
        rstCount += 1
        let copy = PendingResets.Copy(frame: p.frame, time: p.time, ttl: p.ttl)
        if original.listed == -2 {
            if let fi = flows.find(key), case let ps = flows.states[fi].pendingSlot, ps >= 0, pending.setCopy(ps, copy) {
                // It waits with its original.
            } else {
                // Its original became final within microseconds (a rare race): counted, not listed.
                notListed += 1
            }
            return true
        }
        emitCopy(copy, classIndex: Int(original.rstClass), listed: Int(original.listed))
        return true
    }

    /// Lists the forwarded copy of the record built as number `li` (still among the recent ones).
    func emitCopy(_ c: PendingResets.Copy, classIndex ci: Int, listed li: Int) {
        if ci < byClass.count { byClass[ci] += 1 }
        guard listedCount < options.maxListedResets, li >= 0, builtSeq - li <= Self.recentRecords,
              let make = recent[li % Self.recentRecords] else {
            notListed += 1
            return
        }
        let original = make()
        var r = original
        r.explain += " Frame \(c.frame) is the copy of frame \(r.frame) that the capturing host forwarded."
        r.frame = Int(c.frame)
        r.time = c.time
        r.relTime = c.time - (firstTime ?? c.time)
        r.ttl = Int(c.ttl)
        r.delay = r.delay.map { $0 + max(0, c.time - original.time) }
        r.direction = "out"
        r.localBuilt = false
        listedCount += 1
        reorder.push(ResetReorder.Held(frame: r.frame, record: r, make: nil, listed: true))
        release()
    }

    /// Hands on the held records that no pending RST precedes.
    func release() {
        let bound = pending.oldestFrame ?? .max
        while let h = reorder.pop(below: bound) {
            if wantRecords {
                let r = h.record ?? h.make!()
                ready.append(r)
                if h.listed, !sink.reset(r) { notListed += 1 }
            } else if h.listed, !(h.record.map { sink.reset($0) } ?? h.signature.map { sink.reset(making: h.make!, signature: $0) }
                                    ?? sink.reset(making: h.make!)) {
                notListed += 1
            }
        }
    }

    /// Records held at once before the oldest pending judgement is made final early (memory bound).
    var maxHeld: Int { max(64, options.maxPendingResets * 2) }

    /// Too many records wait behind pending judgements: the oldest become final now.
    func releaseHeld() {
        while reorder.count > maxHeld / 2, let o = pending.oldest { settle(o, retire: true) }
        release()
    }

    /// Whether records became final since the last `takeFinal()`.
    package var hasFinal: Bool { !ready.isEmpty }

    /// The records whose judgement became final, in that order (built only with `wantRecords`).
    package func takeFinal() -> [ResetRecord] {
        guard !ready.isEmpty else { return [] }
        defer { ready.removeAll(keepingCapacity: true) }
        return ready
    }

    /// Makes final every pending judgement older than the look-ahead time (live captures call it
    /// when no packet comes).
    package func settleDue(now: Double) {
        while let o = pending.oldest, let t = pending.oldestTime, t + options.lookAhead < now { settle(o, retire: true) }
        pendingDue = pending.oldestTime.map { $0 + options.lookAhead } ?? .infinity
    }

    func context(_ p: DecodedPacket, dir: Int, key: FlowKey, flow: FlowState, frame: UnsafeRawBufferPointer, localBuilt: Bool?) -> ResetContext {
        let h = hosts[p.src]
        return ResetContext(
            p: p, dir: dir, key: key, flow: flow, hostTTL: h?.ttlState == 1 ? h?.ttl : nil, hostMAC: h?.macState == 1 ? h?.mac : nil,
            hostForwarded: h?.forwarded == true, localBuilt: localBuilt, payload: RSTExplainer.payloadText(p, frame),
            captureStart: firstTime ?? p.time)
    }

    /// Judges a RST for good: counted, grouped, listed, queued for `takeFinal()`; returns its class
    /// and the number of its record (-1 when not listed).
    @discardableResult
    func finish(_ ctx: ResetContext, copy: PendingResets.Copy?) -> (RSTClass, Int) {
        withUnsafePointer(to: ctx) { finish(at: UnsafeMutablePointer(mutating: $0), consume: false, copy: copy) }
    }

    /// `finish` of the RST at `c`, read in place; with `consume`, its record takes it (moved, not
    /// copied: a RST's context is hundreds of bytes) and `c` is left uninitialized.
    func finish(at c: UnsafeMutablePointer<ResetContext>, consume: Bool, copy: PendingResets.Copy?) -> (RSTClass, Int) {
        let j = RSTJudge.judge(c.pointee, options: options)
        let ci = j.cls.index
        byClass[ci] += 1
        let (sport, dport, src) = (c.pointee.p.sport, c.pointee.p.dport, c.pointee.p.src)
        let (frame, time) = (c.pointee.p.frame, c.pointee.p.time)
        // The server's port: the sender's when it is the server, the receiver's otherwise.
        let port = j.role.0 == "server" ? sport : dport
        groups.add(classIndex: ci, cls: j.cls, cause: classes[j.cls].cause, port: port,
                   sender: src, stateless: j.stateless, frame: Int(frame), time: time)
        let listIt = listedCount < options.maxListedResets
        if !listIt { notListed += 1 }
        var li = -1
        if listIt || wantRecords {
            // A bounded list decides from the signature whether to make the record at all.
            let signature = list == nil ? nil : ResetList.Signature(
                cls: j.cls.rawValue, cause: classes[j.cls].cause, sender: j.role.0.string, answered: j.answered.string,
                stateless: j.stateless, direction: PacketType.direction(c.pointee.p.packetType), localBuilt: c.pointee.localBuilt,
                payload: c.pointee.payload != nil)
            // Made when it goes to the sink (which may make it on its own thread).
            let make = consume ? JudgedReset(c.move(), j, classes: classes) : JudgedReset(c.pointee, j, classes: classes)
            if listIt {
                li = builtSeq
                // Kept for the forwarded copy of this RST (cooked captures only).
                if copies != nil { recent[builtSeq % Self.recentRecords] = make }
                builtSeq += 1
                listedCount += 1
            }
            reorder.push(ResetReorder.Held(frame: Int(frame), record: nil, make: make, listed: listIt, signature: signature))
            release()
        } else if consume {
            c.deinitialize(count: 1)
        }
        if let copy { emitCopy(copy, classIndex: ci, listed: li) }
        return (j.cls, li)
    }

    /// A pending RST becomes final; its connection (if still tracked) learns the verdict. With
    /// `retire`, a connection the RST ended moves to the finished ones (only where no slot index is held).
    func settle(_ slot: Int32, retire canRetire: Bool) {
        guard let (e, copy) = pending.take(slot) else { return }
        let key = e.pointee.key
        let (cls, _) = finish(at: e, consume: true, copy: copy)
        pendingDue = pending.oldestTime.map { $0 + options.lookAhead } ?? .infinity
        // The next to become final, and its connection, on their way to the cache meanwhile.
        if let h = pending.prefetchOldest() {
            flows.prefetch(hash: h)
            finishedFlows.prefetch(hash: h)
        }
        guard let i = flows.find(key), flows.states[i].pendingSlot == slot else { return }
        flows.states[i].pendingSlot = -1
        if cls == .injectedContinued {
            // The endpoints carried on: the connection was not reset (Zeek's state machine keeps the RST).
            flows.states[i].firstRSTFrame = 0
            flows.states[i].firstRSTFromOrigin = false
            return
        }
        flows.states[i].firstRSTClass = cls
        flows.states[i].firstRSTJudged = true
        if canRetire { retire(key, slot: i) }
    }

}
