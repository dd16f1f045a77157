import Foundation
import RSTDInfer
import RSTDCore

/// Record fields as text (shared with the remedies).
private typealias F = ResetText

/// Resets summarised before they are listed: one line per flow of resets (who sent them to whom,
/// on which service port, what the wire or the kernel made of them, when), from the capture's
/// records and the kernel trace's. Single RSTs are listed only on request (`check --resets`,
/// `resets all` in the session).
package enum ResetSummary {
    package struct Group: Sendable, Equatable {
        /// "capture" or "trace".
        package var source: String
        package var src: String
        package var dst: String
        /// The service side's port: the focus port, the server's, or the lower of the two (`ResetView.servicePort`).
        package var port: Int
        /// The capture's class, or the kernel's reason and socket state.
        package var label: String
        package var cause: String
        /// RSTs: a record that stands for unlisted ones (`rsts`) counts for them too.
        package var count: Int
        package var first: Double?
        package var last: Double?
    }

    package static func groups(_ facts: FactStore) -> [Group] {
        var out: [Group] = []
        let focus: Int? = if case .int(let p)? = facts.value("focus.port") { Int(p) } else { nil }
        for (key, source) in [("capture.resets", "capture"), ("trace.resets", "trace")] {
            guard case .records(let rs)? = facts.value(key) else { continue }
            var index: [String: Int] = [:]
            for r in rs {
                let port = ResetView.servicePort(r, focus: focus) ?? Int.max
                let label =
                    source == "capture"
                    ? F.string(r, "class")
                    : [F.string(r, "direction"), F.string(r, "reason"), F.string(r, "state")].filter { !$0.isEmpty }.joined(separator: " ")
                let g = Group(
                    source: source, src: F.string(r, "src"), dst: F.string(r, "dst"), port: port == Int.max ? 0 : port,
                    label: label, cause: F.string(r, "cause"), count: 0, first: nil, last: nil)
                let k = "\(g.src)|\(g.dst)|\(g.port)|\(g.label)|\(g.cause)"
                let i =
                    index[k]
                    ?? {
                        out.append(g); index[k] = out.count - 1; return out.count - 1
                    }()
                // A record of a bounded list stands for the unlisted RSTs of its reading too (`rsts`,
                // ResetList.weights): the groups count RSTs, not records, and add up to the capture's.
                out[i].count += max(1, F.int(r, "rsts") ?? 1)
                if case .double(let t)? = r["time"] {
                    out[i].first = min(out[i].first ?? t, t)
                    out[i].last = max(out[i].last ?? t, t)
                }
            }
        }
        return out.sorted { $0.source != $1.source ? $0.source < $1.source : $0.count > $1.count }
    }

    static func clock(_ t: Double) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "HH:mm:ss"
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    /// "55 RST 198.18.0.2 → 198.18.0.1, port 9999, 20:45:39–20:45:45: syn-answer → no-listener".
    package static func line(_ g: Group) -> String {
        var s = "\(g.count) RST \(Sanitize.line(g.src)) → \(Sanitize.line(g.dst))"
        if g.port > 0 { s += ", port \(g.port)" }
        if let a = g.first, let b = g.last { s += ", " + (b - a < 1 ? clock(a) : "\(clock(a))–\(clock(b))") }
        if !g.label.isEmpty { s += ": \(Sanitize.line(g.label))" }
        s += g.cause.isEmpty ? " (no single cause)" : " → \(Sanitize.line(g.cause))"
        return s
    }

    /// The groups as text; with `singles`, every RST too (up to `limit`).
    package static func text(_ facts: FactStore, singles: Bool, limit: Int = 200) -> String {
        let gs = groups(facts)
        guard !gs.isEmpty else {
            return "No RST was seen: `observe DURATION` (session) or `--observe` / `--pcap FILE` (check) looks for them.\n"
        }
        var out = ""
        for source in ["capture", "trace"] {
            let these = gs.filter { $0.source == source }
            guard !these.isEmpty else { continue }
            let total = these.reduce(0) { $0 + $1.count }
            out +=
                (source == "capture" ? "On the wire (capture)" : "In the kernel (tcp_send_reset / tcp_receive_reset)")
                + ": \(total) RST in \(these.count) group\(these.count == 1 ? "" : "s")\n"
            for g in these.prefix(20) { out += "  " + line(g) + "\n" }
            if these.count > 20 { out += "  … \(these.count - 20) smaller groups\n" }
        }
        guard singles else { return out }
        for (key, source) in [("capture.resets", "capture"), ("trace.resets", "trace")] {
            guard case .records(let rs)? = facts.value(key), !rs.isEmpty else { continue }
            out += "Every RST (\(source)):\n"
            for r in rs.prefix(limit) {
                let t: String = {
                    if case .double(let t)? = r["time"] {
                        return clock(t) + String(format: ".%03d", Int((t * 1000).truncatingRemainder(dividingBy: 1000)))
                    }; return ""
                }()
                let frame = F.int(r, "frame").map { "#\($0) " } ?? ""
                let what = source == "capture"
                    ? F.string(r, "class")
                    : "\(F.string(r, "direction")) \(F.string(r, "reason")) \(F.string(r, "state"))"
                out +=
                    "  \(frame)\(t) \(Sanitize.line(F.string(r, "src"))):\(F.int(r, "sport") ?? 0) → "
                        + "\(Sanitize.line(F.string(r, "dst"))):\(F.int(r, "dport") ?? 0)  \(Sanitize.line(what))"
                out += F.string(r, "cause").isEmpty ? "\n" : " → \(Sanitize.line(F.string(r, "cause")))\n"
            }
            if rs.count > limit { out += "  … \(rs.count - limit) more (`--format json` has them all)\n" }
        }
        return out
    }
}
