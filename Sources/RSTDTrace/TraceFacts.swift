import Foundation
import RSTDCore

/// The facts of a trace (DESIGN §3; declared in checks/kernel-trace.yaml), from a live session, an
/// observe window's focused events or the recorder's journal.
extension TraceSession {
    package static func facts(events: [ResetEvent], reasonNames: [String], reasonReported: Bool,
                             drops: [String: Int] = [:], elsewhere: Int = 0,
                             paws: PawsDropCounts = .unknown("this trace did not read skb:kfree_skb"), source: FactSource) -> [Fact] {
        let sent = events.filter { $0.direction == .sent }
        var facts: [Fact] = [
            Fact(key: "trace.available", value: .bool(true), source: source),
            Fact(key: "trace.reason_reported", value: .bool(reasonReported), source: source),
            Fact(key: "trace.resets", value: .records(events.map(\.record)), source: source),
            Fact(key: "trace.sent", value: .int(Int64(sent.count)), source: source),
            Fact(key: "trace.received", value: .int(Int64(events.count - sent.count)), source: source),
            Fact(key: "trace.netfilter_drops", value: .int(Int64(drops["NETFILTER_DROP"] ?? 0)), source: source),
            Fact(key: "trace.elsewhere", value: .int(Int64(elsewhere)), source: source),
        ] + paws.facts(source: source)
        var counts: [String: Int] = [:]
        for n in reasonNames { counts[n] = 0 }
        for e in sent { if let r = e.reason { counts[r, default: 0] += 1 } }
        if reasonReported {
            for (r, n) in counts.sorted(by: { $0.key < $1.key }) where r.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                facts.append(Fact(key: "trace.sent.\(r)", value: .int(Int64(n)), source: source))
            }
        }
        return facts
    }

    /// Facts when tracing could not run: available=false, every other trace fact unknown with the reason.
    package static func unavailableFacts(_ problem: TraceUnavailable,
                                         source: FactSource = FactSource(check: "kernel-trace", origin: "tracefs")) -> [Fact] {
        var facts = [Fact(key: "trace.available", value: .bool(false), source: source)]
        for k in ["trace.reason_reported", "trace.resets", "trace.sent", "trace.received", "trace.netfilter_drops", "trace.elsewhere",
                  "trace.paws_drops", "trace.paws_drops_here"] {
            facts.append(Fact(key: k, unknown: problem.reason, source: source))
        }
        return facts
    }
}
