import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// The end of connections (their Zeek conn_state and outcome), eviction, and the report.
extension CaptureAnalyzer {
    /// Moves a finished connection from the live table to the compact one.
    func retire(_ key: FlowKey, slot: Int) {
        let f = flows.states[slot]
        let state = finalize(key, f)
        finishedFlows.put(key, FinishedFlow(f, state: state))
        flows.remove(at: slot)
    }

    /// Counts a connection's outcome; returns it.
    @discardableResult
    func finalize(_ key: FlowKey, _ f: FlowState) -> ConnState {
        // A connection revived for late packets was counted when it finished; its late packets move
        // Zeek's state machine on (a FIN after a FIN-then-RST turns it back to SF, for one), so the
        // count moves from the old outcome to the new one.
        let code = f.connStateCode
        if f.finishedBefore {
            if code != f.priorState {
                if connStates[Int(f.priorState.rawValue)] > 0 { connStates[Int(f.priorState.rawValue)] -= 1 }
                connStates[Int(code.rawValue)] += 1
                if f.priorReset { _ = outcomes.update(firstResetFrame: Int(f.firstRSTFrame), connState: code) }
            }
            guard f.reset, !f.priorReset else { return code }
        } else {
            connStates[Int(code.rawValue)] += 1
        }
        guard f.reset else { return code }
        // Listed as the RSTs are (--max-resets); all are counted in conn_states.
        guard flowsListed < options.maxListedResets else { return code }
        flowsListed += 1
        let o = FlowOutcomeDraft(
            key: key, origA: f.origin == 0, connState: code, firstResetFrame: Int(f.firstRSTFrame), resets: Int(f.resets),
            cause: f.firstRSTJudged ? classes[f.firstRSTClass].cause : nil)
        if let old = outcomes.add(o) { sink.flow(old) }
        return code
    }

    /// Makes room: closed and reset connections past their hold time go first, then the least
    /// recently active, down to three quarters of the limit.
    func sweep(now: Double) {
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
        // Ties broken by the key, so the order is not the table's layout.
        removable.sort { $0.0 != $1.0 ? $0.0 < $1.0 : FlowKey.precedes($0.1, $1.1) }
        for (_, k) in removable.prefix(max(0, flows.count - target)) {
            // Slots move as entries are removed: look each one up again.
            if let slot = flows.find(k) {
                if flows.states[slot].pendingSlot >= 0 { settle(flows.states[slot].pendingSlot, retire: false) }
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
        // The capture ended: every pending judgement becomes final with what it has.
        while let o = pending.oldest { settle(o, retire: false) }
        pendingDue = .infinity
        release()
        // By first RST frame, whatever slots they hold (the table's layout depends on its capacity):
        // the reset ones are listed in the order their connections were reset.
        let open = flows.all().sorted { flows.states[$0.0].firstRSTFrame < flows.states[$1.0].firstRSTFrame }
        for (slot, k) in open { finalize(k, flows.states[slot]) }
        for o in outcomes.drain() { sink.flow(o) }
        flows.removeAll()
        var classCounts: [String: Int] = [:]
        var byCause: [String: Int] = [:]
        for (i, c) in RSTClass.allCases.enumerated() where byClass[i] > 0 {
            classCounts[c.rawValue] = byClass[i]
            byCause[classes[c].cause ?? "none", default: 0] += byClass[i]
        }
        var states: [String: Int] = [:]
        for (i, n) in connStates.enumerated() where n > 0 { states[ConnState.names[i]] = n }
        var tun: [String: Int] = [:]
        for k in TunnelKind.allCases where k != .none && tunnels[Int(k.rawValue)] > 0 { tun[k.name] = tunnels[Int(k.rawValue)] }
        let nd = undecoded.sorted { $0.key < $1.key }.map { NotDecoded(what: $0.key, packets: $0.value) }
        let r = CaptureReport(
            source: source, linkType: PcapHandle.linkTypeName(linkType), packets: packets, tcpPackets: tcpPackets,
            malformed: malformed, fragments: fragments, filteredOut: filteredOut, flows: flowCount,
            firstTime: firstTime, lastTime: lastTime, rstCount: rstCount, resetsByClass: classCounts,
            resetsByCause: byCause, connStates: states, tunnels: tun, notDecoded: nd, resets: list?.resets ?? [],
            resetsNotListed: notListed, resetFlows: list?.flows ?? [], groups: groups.result(), error: error,
            resetWeights: list?.weights() ?? [])
        finished = r
        return r
    }

    /// Connections tracked right now (for progress and memory tests).
    package var trackedFlows: Int { flows.count }
}
