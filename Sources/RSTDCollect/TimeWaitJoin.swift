import Foundation
import RSTDParse
import RSTDCapture
import RSTDTrace
import RSTDData
import RSTDSystem
import RSTDCore

/// Joins the RSTs of an `--observe` window with the TIME-WAIT sockets `ss` lists at its end.
///
/// A stray or old segment reaching a TIME-WAIT socket is answered with an ACK; the peer, which has
/// closed too, answers that ACK with a stateless RST (RST-SIGNALS.md row 6). On the wire that RST
/// looks like the answer of a host that forgot a live connection (half-open), and a capture started
/// after the close cannot tell. The kernel ignores a RST in TIME-WAIT when tcp_rfc1337=1 or when
/// it is out of window, and the entry then stays: a RST received for a 4-tuple this host still
/// holds in TIME-WAIT at the end of the window hit nothing alive and harmed nothing. Such RSTs
/// are marked `time_wait_kept`, relabelled `into-time-wait` and lose their cause; the rules say
/// what that means for each cause.
package enum TimeWaitJoin {
    /// A connection as this host sees it: local address and port, peer address and port.
    package struct Tuple: Hashable, Sendable {
        package var local: String, lport: Int, peer: String, pport: Int
        package init(local: String, lport: Int, peer: String, pport: Int) {
            self.local = TraceAddress.canonical(local); self.lport = lport
            self.peer = TraceAddress.canonical(peer); self.pport = pport
        }
    }

    /// The class given to a RST that hit a TIME-WAIT socket (knowledge/capture-classes.yaml).
    package static let captureClass = RSTClass.intoTimeWait.rawValue
    /// Clock difference allowed between the capture and the trace, as in `WireJoin`.
    static let tolerance = 0.05

    /// The TIME-WAIT connections of a `sockets` fact (`ss -Htanoi` records).
    package static func timeWait(_ sockets: FactValue?) -> Set<Tuple> {
        guard case .records(let rs)? = sockets else { return [] }
        var out = Set<Tuple>()
        for r in rs {
            guard case .string("TIME-WAIT")? = r["state"], case .string(let l)? = r["local"], case .int(let lp)? = r["lport"],
                  case .string(let p)? = r["peer"], case .int(let pp)? = r["pport"] else { continue }
            out.insert(Tuple(local: l, lport: Int(lp), peer: p, pport: Int(pp)))
        }
        return out
    }

    /// Marks the captured RSTs received here for a connection still in TIME-WAIT, and the traced
    /// events of the same RSTs (the sender's tcp_send_reset when it runs on this machine).
    package static func mark(_ facts: [Fact], timeWait: Set<Tuple>, local: Set<String>) -> [Fact] {
        guard !timeWait.isEmpty else { return facts }
        var hits: [(src: String, sport: Int64, dst: String, dport: Int64, time: Double)] = []
        var out = facts.map { f -> Fact in
            guard f.key == "capture.resets", case .records(let rs)? = f.value else { return f }
            var g = f
            g.value = .records(rs.map { r in
                guard case .string(let src)? = r["src"], case .int(let sport)? = r["sport"], case .string(let dst)? = r["dst"],
                      case .int(let dport)? = r["dport"], local.contains(TraceAddress.canonical(dst)),
                      timeWait.contains(Tuple(local: dst, lport: Int(dport), peer: src, pport: Int(sport))) else { return r }
                if case .double(let t)? = r["time"] { hits.append((TraceAddress.canonical(src), sport, TraceAddress.canonical(dst), dport, t)) }
                return kept(r, class: captureClass)
            })
            return g
        }
        guard !hits.isEmpty else { return out }
        out = out.map { f -> Fact in
            guard f.key == "trace.resets", case .records(let rs)? = f.value else { return f }
            var g = f
            g.value = .records(rs.map { r in
                hits.contains { sameRST(r, as: $0) } ? kept(r, class: nil) : r
            })
            return g
        }
        return out
    }

    static func kept(_ r: Record, class cls: String?) -> Record {
        var r = r
        r["time_wait_kept"] = .bool(true)
        r["cause"] = .string("")
        if r["also"] != nil { r["also"] = .string("") }
        if let cls { r["class"] = .string(cls) }
        return r
    }

    /// Whether a `trace.resets` record is the trace of that captured RST: the sender's event
    /// (a listener prints a wildcard source and often no peer) or the receiver's.
    static func sameRST(_ r: Record, as h: (src: String, sport: Int64, dst: String, dport: Int64, time: Double)) -> Bool {
        guard case .string(let dir)? = r["direction"], case .string(let s)? = r["src"], case .int(let sp)? = r["sport"],
              case .string(let d)? = r["dst"], case .int(let dp)? = r["dport"], case .double(let t)? = r["time"],
              abs(t - h.time) <= tolerance, sp == h.sport else { return false }
        let src = TraceAddress.canonical(s), dst = TraceAddress.canonical(d)
        let listener: Bool = if case .bool(true)? = r["listener"] { true } else { false }
        switch dir {
        case "sent":
            guard src == h.src || (listener && TraceAddress.isWildcard(src)) else { return false }
            return (TraceAddress.isWildcard(dst) && dp == 0) || (dst == h.dst && dp == h.dport)
        case "received":
            return src == h.src && dst == h.dst && dp == h.dport
        default:
            return false
        }
    }
}
