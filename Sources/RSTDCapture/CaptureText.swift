import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// The text form of a capture report: a summary, then one entry per RST.
package enum CaptureText {
    package static func render(_ r: CaptureReport, classes: CaptureClasses? = nil) -> String {
        var out = "Capture \(Sanitize.line(r.source)) (link type \(Sanitize.line(r.linkType)))\n"
        var span = ""
        if let a = r.firstTime, let b = r.lastTime {
            let d = Date(timeIntervalSince1970: a)
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            span = ", from \(f.string(from: d)) over \(Seconds.render(max(0, b - a)))"
        }
        out += "  \(r.packets) packets (\(r.tcpPackets) TCP, \(r.malformed) malformed, \(r.fragments) non-first fragments"
        if r.filteredOut > 0 { out += ", \(r.filteredOut) TCP left out by --port/--peer" }
        out += ")\(span)\n"
        out += "  \(r.flows) TCP connection\(r.flows == 1 ? "" : "s"), \(r.rstCount) RST\(r.rstCount == 1 ? "" : "s")\n"
        if !r.connStates.isEmpty {
            out += "  Connections by outcome (Zeek conn_state): " + counts(r.connStates) + "\n"
        }
        if r.rstCount > 0 {
            out += "  RSTs by cause: " + counts(r.resetsByCause.reduce(into: [:]) { $0[$1.key == "none" ? "no single cause" : $1.key] = $1.value }) + "\n"
            out += "  RSTs by class: " + counts(r.resetsByClass) + "\n"
        }
        if !r.tunnels.isEmpty { out += "  Decoded inside tunnels: " + counts(r.tunnels) + " TCP segments\n" }
        for n in r.notDecoded {
            out += "  Not decoded: \(n.packets) packet\(n.packets == 1 ? "" : "s") (\(Sanitize.line(n.what))): their RSTs, if any, are not in this report.\n"
        }
        if let e = r.error { out += "  Warning: \(Sanitize.line(e))\n" }
        if !r.resets.isEmpty {
            out += "\nRSTs (frame numbers as in Wireshark):\n"
            for x in r.resets { out += line(x, classes: classes) }
        }
        if r.resetsNotListed > 0 {
            out += "  … and \(r.resetsNotListed) more RSTs not listed (listing limit; see the counts above, or use --max-resets).\n"
        }
        if r.rstCount == 0 {
            out += "\nNo RST in this capture\(r.filteredOut > 0 ? " (for the connections selected)" : ""): nothing here explains a reset. Capture while the resets happen, on the host that sees them.\n"
        } else if !r.pointsToCause {
            out += "\nNone of these RSTs points to a single cause on its own: run `rstdoctor check` for the host's side of the story.\n"
        }
        return out
    }

    /// One RST: where it came from, what it answered, class, cause, why.
    package static func line(_ x: ResetRecord, classes: CaptureClasses? = nil) -> String {
        var out = "  #\(x.frame)  +\(String(format: "%.6f", x.relTime))s  \(Sanitize.line(x.src)):\(x.sport) > \(Sanitize.line(x.dst)):\(x.dport)  [\(x.flags)]"
        out += "  sent by the \(x.sender)"
        if x.answered != "none", let f = x.answeredFrame {
            out += ", answering the \(x.answered) of frame \(f)"
            if let d = x.delay { out += " (\(Seconds.render(d)) later)" }
        } else {
            out += ", answering nothing"
        }
        if x.ttlDelta != 0 { out += ", TTL \(x.ttl) (\(x.ttlDelta > 0 ? "+" : "")\(x.ttlDelta))" }
        if let t = x.tunnel { out += ", inside \(t)" }
        out += "\n"
        let title = classes?[RSTClass(rawValue: x.class) ?? .noContext].title
        let alternatives = x.causes.dropFirst()
        out += "      \(x.class)\(title.map { " (\($0))" } ?? "") → \(x.cause ?? "no single cause")"
        if !alternatives.isEmpty { out += " or \(alternatives.joined(separator: " or ")) (the wire cannot tell them apart)" }
        out += "\n"
        out += "      \(Sanitize.line(x.explain))\n"
        if let p = x.payload, !x.explain.contains(p) { out += "      payload: \"\(Sanitize.line(p))\"\n" }
        return out
    }

    private static func counts(_ d: [String: Int]) -> String {
        d.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\(Sanitize.line($0.key)) \($0.value)" }.joined(separator: ", ")
    }
}
