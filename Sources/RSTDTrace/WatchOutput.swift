import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// Text and JSON rendering of `rstdoctor watch`: one line per reset, then a summary.
/// Pure; every host-derived string is sanitized for the terminal or escaped by the JSON encoder.
package enum WatchOutput {
    package static let schema = "rstdoctor.watch/1"

    static func endpoint(_ address: String, _ port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    static func clock(_ time: Double) -> String {
        let whole = floor(time)
        var t = time_t(whole)
        var parts = tm()
        localtime_r(&t, &parts)
        let micros = Int(((time - whole) * 1e6).rounded(.down))
        return String(format: "%02d:%02d:%02d.%06d", parts.tm_hour, parts.tm_min, parts.tm_sec, micros)
    }

    /// `12:03:04.123456 sent     198.18.0.2:9 > 198.18.0.1:34250 UNKNOWN NO_SOCKET -> no-listener`
    package static func line(_ e: ResetEvent) -> String {
        let peer = e.peerUnknown ? "*:* (peer not reported)" : endpoint(e.dst, e.dport)
        let tuple = "\(endpoint(e.src, e.sport)) > \(peer)"
        let state = e.state.isEmpty ? "-" : e.state
        let reason: String
        switch e.direction {
        case .sent: reason = e.reason ?? ResetEvent.noReasonText
        case .received: reason = "(received)"
        }
        var s = "\(clock(e.time)) \(e.direction.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(tuple) \(state) \(reason)"
        if let d = e.dropReason { s += " [drop \(d)]" }
        if e.listener { s += " [listener]" }
        if e.alsoSentHere { s += " [sent by this host]" }
        s += " -> " + (e.cause ?? ResetEvent.noCauseText)
        return Sanitize.line(s)
    }

    /// Counts by (direction, reason, cause), most frequent first.
    package static func summaryRows(_ events: [ResetEvent]) -> [(direction: String, reason: String, cause: String, count: Int)] {
        summaryRows(WatchTally(events))
    }

    package static func summaryRows(_ t: WatchTally) -> [(direction: String, reason: String, cause: String, count: Int)] {
        var counts: [String: (String, String, String, Int)] = [:]
        for (e, n) in t.kinds {
            let reason = e.direction == .sent ? (e.reason ?? ResetEvent.noReasonText) : (e.state.isEmpty ? "(state unknown)" : "(in \(e.state))")
            let cause = e.cause ?? ResetEvent.noCauseText
            let key = "\(e.direction.rawValue)|\(reason)|\(cause)"
            let old = counts[key]?.3 ?? 0
            counts[key] = (e.direction.rawValue, reason, cause, old + n)
        }
        return counts.values.map { (direction: $0.0, reason: $0.1, cause: $0.2, count: $0.3) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : ($0.direction, $0.reason) < ($1.direction, $1.reason) }
    }

    package static func causeCounts(_ t: WatchTally) -> [(cause: String, count: Int)] {
        var c: [String: Int] = [:]
        for (e, n) in t.kinds { if let cause = e.cause { c[cause, default: 0] += n } }
        return c.map { (cause: $0.key, count: $0.value) }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.cause < $1.cause }
    }

    package static func summaryText(_ events: [ResetEvent], seconds: Double, explanations: Bool = true, elsewhere: Int = 0) -> String {
        summaryText(WatchTally(events), seconds: seconds, explanations: explanations, elsewhere: elsewhere)
    }

    package static func summaryText(_ t: WatchTally, seconds: Double, explanations: Bool = true, elsewhere: Int = 0) -> String {
        let sent = t.sent, total = t.total
        var out = "\n\(total) reset\(total == 1 ? "" : "s") in \(Seconds.render(seconds)) (\(sent) sent, \(total - sent) received)\n"
        let both = t.receivedHereToo
        if both > 0 { out += "\(both) of the sent resets were received by another network namespace of this machine: each is counted once.\n" }
        if elsewhere > 0 {
            out += "\(elsewhere) reset\(elsewhere == 1 ? "" : "s") of the same port/peer happened in other network namespaces of this machine (the kernel's tracepoints are global) and are not counted here.\n"
        }
        guard total > 0 else {
            return out + "No TCP reset was sent or received while watching. If resets happen elsewhere, watch longer or on the other host.\n"
        }
        out += "\nBy reason:\n"
        for r in summaryRows(t) {
            out += "  \(String(r.count).leftPad(5))  \(r.direction.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.reason.padding(toLength: 30, withPad: " ", startingAt: 0)) -> \(r.cause)\n"
        }
        let causes = causeCounts(t)
        if !causes.isEmpty {
            out += "\nBy cause:\n"
            for c in causes {
                out += "  \(String(c.count).leftPad(5))  \(c.cause)\n"
                if explanations, let e = t.kinds.first(where: { $0.event.cause == c.cause })?.event, let x = e.explain {
                    out += "         \(x)\n"
                }
            }
        } else {
            out += "\nNone of these resets points to a known cause by itself; the reason is on the sending side (run `rstdoctor watch` there) or see `rstdoctor check`.\n"
        }
        return Sanitize.terminal(out)
    }

    static func eventObject(_ e: ResetEvent) -> [String: Any] {
        var o: [String: Any] = [
            "type": "reset", "schema": schema, "time": e.time, "direction": e.direction.rawValue,
            "src": e.src, "sport": e.sport, "dst": e.dst, "dport": e.dport, "state": e.state,
            "reason": e.reason ?? NSNull(), "listener": e.listener, "cause": e.cause ?? NSNull(),
            "explain": e.explain ?? NSNull(), "task": e.task, "pid": e.pid, "cpu": e.cpu,
            "context": e.context.rawValue,
        ]
        // Who sent or received it, only where the trace can say (process context): see ResetEvent.process.
        if let p = e.process { o["process"] = ["name": p.name, "pid": p.pid] as [String: Any] }
        if let d = e.dropReason { o["drop_reason"] = d }
        if let l = e.dropLocation { o["drop_location"] = l }
        if let p = e.peerState { o["peer_state"] = p }
        if e.direction == .received { o["sent_by_this_host"] = e.alsoSentHere }
        return o
    }

    /// One JSON object per line (JSON Lines), so a consumer can stream `watch`.
    package static func jsonLine(_ e: ResetEvent) -> String { encode(eventObject(e)) }

    package static func jsonSummary(_ events: [ResetEvent], seconds: Double, reasonReported: Bool, notes: [String], filter: TraceFilter,
                                   elsewhere: Int = 0) -> String {
        jsonSummary(WatchTally(events), seconds: seconds, reasonReported: reasonReported, notes: notes, filter: filter, elsewhere: elsewhere)
    }

    package static func jsonSummary(_ t: WatchTally, seconds: Double, reasonReported: Bool, notes: [String], filter: TraceFilter,
                                   elsewhere: Int = 0) -> String {
        let sent = t.sent
        var focus: [String: Any] = ["port": filter.port ?? NSNull(), "peer": filter.peer ?? NSNull()]
        if let a = filter.addresses { focus["addresses"] = a.sorted() }
        let o: [String: Any] = [
            "type": "summary", "schema": schema, "seconds": seconds, "resets": t.total, "sent": sent,
            "received": t.total - sent, "elsewhere": elsewhere,
            "received_here_too": t.receivedHereToo, "reason_reported": reasonReported, "notes": notes, "focus": focus,
            "by_reason": summaryRows(t).map { ["direction": $0.direction, "reason": $0.reason, "cause": $0.cause, "count": $0.count] },
            "by_cause": causeCounts(t).map { ["cause": $0.cause, "count": $0.count] },
        ]
        return encode(o)
    }

    static func encode(_ o: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension String {
    fileprivate func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
