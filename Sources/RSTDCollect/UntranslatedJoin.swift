import RSTDCapture
import RSTDTrace
import RSTDCore

/// Joins the kernel's RST tracepoints with the capture where the capture tied a RST to a connection
/// under other addresses (Capture/UntranslatedTwins.swift). The trace says what the kernel saw: no
/// socket for the 4-tuple (NO_SOCKET), or a reset taken by an established socket; its reason table
/// reads that as a peer that forgot the connection. The capture says why there was no socket: the
/// segment answered came untranslated (conntrack INVALID behind NAT), or the reset answered a segment
/// beyond the window its sender had left untranslated. The trace record of that same RST (same
/// addresses and ports, same direction) takes the capture's cause.
enum UntranslatedJoin {
    static let classes: Set<String> = [
        RSTClass.untranslatedAnswer.rawValue, RSTClass.afterUntranslatedReset.rawValue, RSTClass.beyondWindowAnswer.rawValue,
    ]

    static func mark(_ facts: [Fact]) -> [Fact] {
        guard case .records(let rs)? = facts.first(where: { $0.key == "capture.resets" })?.value else { return facts }
        var tied: [String: String] = [:]
        for r in rs {
            guard case .string(let cls)? = r["class"], classes.contains(cls), case .string(let cause)? = r["cause"],
                  let k = tuple(r) else { continue }
            tied[k] = cause
        }
        guard !tied.isEmpty else { return facts }
        return facts.map { f in
            guard f.key == "trace.resets", case .records(let ts)? = f.value else { return f }
            var g = f
            g.value = .records(ts.map { t in
                guard let k = tuple(t), let cause = tied[k] else { return t }
                var t = t
                t["cause"] = .string(cause)
                return t
            })
            return g
        }
    }

    private static func tuple(_ r: Record) -> String? {
        guard case .string(let s)? = r["src"], case .int(let sp)? = r["sport"], case .string(let d)? = r["dst"],
              case .int(let dp)? = r["dport"] else { return nil }
        return "\(TraceAddress.canonical(s)) \(sp) \(TraceAddress.canonical(d)) \(dp)"
    }
}
