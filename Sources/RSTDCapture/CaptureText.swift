import Foundation
import RSTDData
import RSTDSystem
import RSTDCore

/// The text form of a capture report: the summary and the groups first ("55 RSTs to :9999 …"),
/// then single RSTs when asked for (`--resets`), then the conclusion.
package enum CaptureText {
    package static func render(_ r: CaptureReport, classes: CaptureClasses? = nil) -> String {
        var out = head(r, classes: classes)
        if !r.resets.isEmpty {
            out += resetsTitle
            for x in r.resets { out += line(x, classes: classes) }
        }
        return out + tail(r, listing: true)
    }

    package static let resetsTitle = "\nRSTs (frame numbers as in Wireshark):\n"

    /// Groups shown per kind; JSON has them all.
    static let shownGroups = 10

    /// The summary: packets, connections, counts by outcome, cause and class, the largest groups.
    package static func head(_ r: CaptureReport, classes: CaptureClasses? = nil) -> String {
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
        out += groups(r.groups.byPort, title: "RSTs by server port", total: r.rstCount, classes: classes) { "to :\($0.port ?? 0)" }
        out += groups(r.groups.byPeer, title: "RSTs by sender", total: r.rstCount, classes: classes) {
            "from \(Sanitize.line($0.peer ?? "?"))"
        }
        return out
    }

    /// The not-listed note and the conclusion. `listing`: single RSTs were asked for.
    package static func tail(_ r: CaptureReport, listing: Bool) -> String {
        var out = ""
        if r.resetsNotListed > 0 && listing {
            out += "  … and \(r.resetsNotListed) more RSTs not listed (--max-resets; see the counts above).\n"
        } else if r.rstCount > 0 && !listing {
            out += "\nEach RST, with what it answered and why: --resets (or --format json).\n"
        }
        if r.rstCount == 0 {
            out += "\nNo RST in this capture\(r.filteredOut > 0 ? " (for the connections selected)" : ""): nothing here explains a reset. Capture while the resets happen, on the host that sees them.\n"
        } else if !r.pointsToCause {
            out += "\nNone of these RSTs points to a single cause on its own: run `rstdoctor check` for the host's side of the story.\n"
        }
        return out
    }

    /// "55 RSTs to :9999 syn-answer (title) → no-listener, 20:45:39–20:45:45, all stateless".
    static func groups(_ gs: [ResetGroup], title: String, total: Int, classes: CaptureClasses?, _ name: (ResetGroup) -> String) -> String {
        guard !gs.isEmpty else { return "" }
        var out = "\n\(title) (largest first):\n"
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "HH:mm:ss"
        for g in gs.prefix(shownGroups) {
            let t = classes?[RSTClass(rawValue: g.class) ?? .noContext].title
            let when = f.string(from: Date(timeIntervalSince1970: g.firstTime))
            let until = f.string(from: Date(timeIntervalSince1970: g.lastTime))
            let title = t.map { " (\($0))" } ?? ""
            out += "  \(g.count) RST\(g.count == 1 ? "" : "s") \(name(g)): \(g.class)\(title) → \(g.cause ?? "no single cause")"
            out += ", \(when == until ? when : "\(when)-\(until)") UTC"
            if g.stateless > 0 {
                let who = g.stateless == g.count ? (g.count == 1 ? "stateless" : "all stateless") : "\(g.stateless) stateless"
                out += ", \(who) (a kernel's answer with no socket)"
            }
            out += ", first frame \(g.firstFrame)\n"
        }
        if gs.count > shownGroups { out += "  … and \(gs.count - shownGroups) more groups (--format json lists them).\n" }
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

/// The text output of a capture as a sink: single RSTs (`--resets`) are written to a temporary file
/// as they become final, and printed after the summary, which only the end of the capture makes.
package final class CaptureTextStream: ResetSink {
    private let out: ByteOutput
    private let spool: ByteOutput
    private let classes: CaptureClasses?
    private let listing: Bool
    private var count = 0

    /// `listing`: single RSTs were asked for (the analysis then lists them to this sink).
    package init(out: ByteOutput, classes: CaptureClasses?, listing: Bool) {
        self.out = out
        self.classes = classes
        self.listing = listing
        spool = out.fd >= 0 && listing ? (ByteOutput.temporary() ?? ByteOutput()) : ByteOutput()
    }

    package func reset(_ r: ResetRecord) -> Bool {
        spool.write(CaptureText.line(r, classes: classes))
        count += 1
        return true
    }

    package func flow(_ o: FlowOutcome) {}
    package func flow(_ d: FlowOutcomeDraft) {}

    package func finish(_ r: CaptureReport) {
        out.write(CaptureText.head(r, classes: classes))
        if count > 0 {
            out.write(CaptureText.resetsTitle)
            out.append(contentsOf: spool)
        }
        out.write(CaptureText.tail(r, listing: listing))
        out.flush()
    }
}
